"""The data map's tables of the customer's account and configuration (``accounts``, ``config``):
accounts, staff users and their console sign-ins, apps, credentials, resources, rules and their
history, webhook deliveries. Kept while the account (or app) exists, unless a note says otherwise.
"""

from __future__ import annotations

from openkyc.privacy.datamap_columns import ACCOUNT_LIFETIME, NOT_PERSONAL, ColumnUse, E, K, TableMap

ACCOUNT_TABLES: dict[str, TableMap] = {
    "accounts": TableMap(
        {"id": (E.ACCOUNT_ID,), "name": (E.RESOURCE_NAME,), "created_at": NOT_PERSONAL},
        note=ACCOUNT_LIFETIME,
        reach="accounts.account",
    ),
    "users": TableMap(
        {
            "id": (E.USER_ID,),
            "account_id": (E.ACCOUNT_ID,),
            "user_name": (E.USER_NAME,),
            "password_hash": (E.PASSWORD_HASH,),
            "role": (E.SECURITY_SETTINGS,),
            "disabled": (E.SECURITY_SETTINGS,),
            "created_at": NOT_PERSONAL,
            "failed_logins": (E.SECURITY_SETTINGS,),
            "locked_until": (E.SECURITY_SETTINGS,),
            "last_login_at": (E.SECURITY_SETTINGS,),
        },
        note=ACCOUNT_LIFETIME,
        reach="accounts.staff",
        exported={
            "id": ColumnUse.of(E.USER_ID),
            "user_name": ColumnUse.of(E.USER_NAME),
            "password_hash": ColumnUse.of(E.PASSWORD_HASH),
        },
    ),
    "console_sessions": TableMap(
        {
            "token_hash": (E.SECURITY_SETTINGS,),
            "user_id": NOT_PERSONAL,  # a reference to the users row
            "csrf_token": (E.SECURITY_SETTINGS,),
            "created_at": NOT_PERSONAL,
            "expires_at": NOT_PERSONAL,
        },
        note="Console sign-ins: removed at sign-out and when they expire (OPENKYC_CONSOLE_SESSION_HOURS).",
        reach="accounts.staff",  # erasing the user deletes them (ON DELETE CASCADE)
    ),
    "webhook_deliveries": TableMap(
        {
            "id": NOT_PERSONAL,
            "app_id": (E.APP_ID,),
            "event": NOT_PERSONAL,
            "url": (E.SERVICE_SETTINGS,),  # the customer's endpoint, from the rule
            "body": (E.OPERATION_STATUS,),  # ids and result codes only, never personal data
            "state": (E.OPERATION_STATUS,),
            "attempts": (E.OPERATION_STATUS,),
            "last_status": (E.OPERATION_STATUS,),
            "last_error": (E.ERROR,),
            "next_attempt_at": NOT_PERSONAL,
            "created_at": NOT_PERSONAL,
            "delivered_at": NOT_PERSONAL,
            "history": (E.OPERATION_STATUS,),  # per attempt: time, HTTP status, error class
        },
        retention=(K.WEBHOOK_DELIVERY,),
        reach="accounts.account",  # offboarding deletes them with the apps (ON DELETE CASCADE)
    ),
    "apps": TableMap(
        {
            "id": (E.APP_ID,),
            "account_id": (E.ACCOUNT_ID,),
            "name": (E.RESOURCE_NAME,),
            "created_at": NOT_PERSONAL,
            "qps_limit": (E.SERVICE_SETTINGS,),
            "monthly_quota": (E.SERVICE_SETTINGS,),
            "disabled_at": (E.SERVICE_SETTINGS,),
        },
        note=ACCOUNT_LIFETIME,
        reach="accounts.account",
    ),
    "credentials": TableMap(
        {
            "id": NOT_PERSONAL,
            "secret_id": (E.SECURITY_SETTINGS,),
            "app_id": (E.APP_ID,),
            "secret_key_enc": (E.SECURITY_SETTINGS,),
            "status": (E.SECURITY_SETTINGS,),
            "created_at": NOT_PERSONAL,
            "last_used_at": (E.SECURITY_SETTINGS,),
            "disabled_at": (E.SECURITY_SETTINGS,),
        },
        note=ACCOUNT_LIFETIME,
        reach="accounts.account",
    ),
    "resources": TableMap(
        {
            "id": (E.RESOURCE_ATTRIBUTES,),
            "app_id": (E.APP_ID,),
            "kind": (E.RESOURCE_ATTRIBUTES,),
            "name": (E.RESOURCE_NAME,),
            "created_at": NOT_PERSONAL,
        },
        note=ACCOUNT_LIFETIME,
        reach="accounts.account",
    ),
    "rules": TableMap(
        {
            "id": (E.RESOURCE_ATTRIBUTES,),
            "app_id": (E.APP_ID,),
            "version": (E.RULE,),
            "config": (E.RULE,),
            "created_at": NOT_PERSONAL,
            "updated_at": NOT_PERSONAL,
        },
        note=ACCOUNT_LIFETIME,
        reach="accounts.account",
    ),
    "rule_changes": TableMap(
        {
            "id": NOT_PERSONAL,
            "rule_id": (E.RESOURCE_ATTRIBUTES,),
            "version": (E.RULE,),
            "changed_by": (E.SECURITY_SETTINGS,),  # the SecretId of the credential that made the change
            "changed_at": NOT_PERSONAL,
            "old_config": (E.RULE,),
            "new_config": (E.RULE,),
        },
        note="Rule versions are kept for the audit trail while the app exists.",
        reach="accounts.account",
    ),
}
