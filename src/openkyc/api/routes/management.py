"""The management API: paged lists (``limit``, ``cursor``) with filters, and administrative changes.

A credential acts as ``admin`` of its own account (see openkyc.accounts.roles): it lists and
changes the account's apps and credentials, and the resources of its own app (or of ``app_id``
when the list takes one). Every change is audited with the SecretId as actor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import Field

from openkyc.accounts.roles import API_ROLE
from openkyc.api.deps import CallerDep, FaceServiceDep, RequestIdDep, RuntimeDep, SessionDep, metered
from openkyc.api.payloads import Base64Media, Body, decode_b64
from openkyc.jobs import jobs_for
from openkyc.management import changes, listing
from openkyc.management.listing import Scope

router = APIRouter()

Limit = Annotated[int | None, Query(ge=1, le=200, description="Rows per page (default 50, at most 200).")]
Cursor = Annotated[str | None, Query(max_length=512, description="The next_cursor of the previous page.")]
AppId = Annotated[int | None, Query(description="An app of the caller's account (default: the caller's app).")]


def _scope(caller: Any) -> Scope:
    return Scope(account_id=caller.account_id, app_id=caller.app_id, role=API_ROLE, actor=caller.secret_id)


# --- apps, credentials, users --------------------------------------------------------------------


class AppIn(Body):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[\w .\-]+$")


class RotateIn(Body):
    keep_old: bool = False


class CredentialIn(Body):
    app_id: int | None = None


@router.get("/v1/apps", name="ListApps")
def list_apps(
    caller: CallerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rid: RequestIdDep,
    limit: Limit = None,
    cursor: Cursor = None,
    disabled: bool | None = None,
) -> dict[str, Any]:
    found = listing.apps(session, runtime.gate, _scope(caller), limit=limit, cursor=cursor, disabled=disabled)
    return {**found.as_dict("apps", listing.app_view), "RequestId": rid}


@router.post("/v1/apps", name="CreateApp")
def create_app(
    body: AppIn, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, rid: RequestIdDep
) -> dict[str, Any]:
    created = changes.create_app(session, runtime.gate, runtime.keyring, _scope(caller), body.name)
    return {**created, "RequestId": rid}


@router.post("/v1/apps/{app_id}/disable", name="DisableApp")
def disable_app(
    app_id: int, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, rid: RequestIdDep
) -> dict[str, Any]:
    return {**changes.set_app_disabled(session, runtime.gate, _scope(caller), app_id, True), "RequestId": rid}


@router.post("/v1/apps/{app_id}/enable", name="EnableApp")
def enable_app(
    app_id: int, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, rid: RequestIdDep
) -> dict[str, Any]:
    return {**changes.set_app_disabled(session, runtime.gate, _scope(caller), app_id, False), "RequestId": rid}


@router.get("/v1/credentials", name="ListCredentials")
def list_credentials(
    caller: CallerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rid: RequestIdDep,
    app_id: AppId = None,
    limit: Limit = None,
    cursor: Cursor = None,
    status: Literal["active", "disabled"] | None = None,
) -> dict[str, Any]:
    found = listing.credentials(
        session, runtime.gate, _scope(caller), app_id=app_id, limit=limit, cursor=cursor, status=status
    )
    return {**found.as_dict("credentials", listing.credential_view), "RequestId": rid}


@router.post("/v1/credentials", name="CreateCredential")
def create_credential(
    body: CredentialIn, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, rid: RequestIdDep
) -> dict[str, Any]:
    created = changes.create_credential(session, runtime.gate, runtime.keyring, _scope(caller), body.app_id)
    return {**created, "RequestId": rid}


@router.post("/v1/credentials/{secret_id}/rotate", name="RotateCredential")
def rotate_credential(
    secret_id: str, body: RotateIn, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, rid: RequestIdDep
) -> dict[str, Any]:
    rotated = changes.rotate_credential(
        session, runtime.gate, runtime.keyring, _scope(caller), secret_id, keep_old=body.keep_old
    )
    return {**rotated, "RequestId": rid}


@router.post("/v1/credentials/{secret_id}/disable", name="DisableCredential")
def disable_credential(
    secret_id: str, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, rid: RequestIdDep
) -> dict[str, Any]:
    return {**changes.disable_credential(session, runtime.gate, _scope(caller), secret_id), "RequestId": rid}


@router.get("/v1/users", name="ListUsers")
def list_users(
    caller: CallerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rid: RequestIdDep,
    limit: Limit = None,
    cursor: Cursor = None,
    role: Literal["owner", "admin", "developer", "auditor", "billing"] | None = None,
) -> dict[str, Any]:
    found = listing.users(session, runtime.gate, _scope(caller), limit=limit, cursor=cursor, role=role)
    return {**found.as_dict("users", listing.user_view), "RequestId": rid}


# --- rules, collections, subjects -----------------------------------------------------------------


@router.get("/v1/rules", name="ListRules")
def list_rules(
    caller: CallerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rid: RequestIdDep,
    app_id: AppId = None,
    limit: Limit = None,
    cursor: Cursor = None,
    name: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    found = listing.rules(session, runtime.gate, _scope(caller), app_id=app_id, limit=limit, cursor=cursor, name=name)
    return {**found.as_dict("rules", listing.rule_summary), "RequestId": rid}


@router.get("/v1/collections", name="ListCollections")
def list_collections(
    caller: CallerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rid: RequestIdDep,
    app_id: AppId = None,
    limit: Limit = None,
    cursor: Cursor = None,
    name: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    scope = _scope(caller)
    found = listing.collections(session, runtime.gate, scope, app_id=app_id, limit=limit, cursor=cursor, name=name)
    counts = listing.subject_counts(session, runtime.gate, scope.app(session, app_id), [c.id for c, _ in found.items])
    return {**found.as_dict("collections", lambda item: listing.collection_summary(item, counts)), "RequestId": rid}


@router.delete("/v1/collections/{collection_id}", name="DeleteCollection")
def delete_collection(
    collection_id: str, caller: CallerDep, faces: FaceServiceDep, rid: RequestIdDep
) -> dict[str, Any]:
    return {**faces.delete_collection(collection_id, actor=caller.secret_id), "RequestId": rid}


@router.get("/v1/collections/{collection_id}/subjects", name="ListSubjects")
def list_subjects(
    collection_id: str,
    caller: CallerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rid: RequestIdDep,
    limit: Limit = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    found = listing.subjects(
        session,
        runtime.gate,
        runtime.keyring,
        _scope(caller),
        app_id=None,
        collection_id=collection_id,
        limit=limit,
        cursor=cursor,
    )
    return {"subjects": found.items, "next_cursor": found.next_cursor, "RequestId": rid}


class PhotoIn(Body):
    image: Base64Media
    retain_image: bool = False
    rule_id: str | None = None  # its compare_threshold decides the duplicate check (default 70)


@router.put("/v1/collections/{collection_id}/subjects/{subject_id}/photo", name="ReplaceSubjectPhoto")
def replace_photo(
    collection_id: str,
    subject_id: str,
    body: PhotoIn,
    request: Request,
    caller: CallerDep,
    faces: FaceServiceDep,
    rid: RequestIdDep,
) -> dict[str, Any]:
    image = decode_b64(body.image, "image")
    result = faces.replace_photo(
        collection_id,
        subject_id,
        image,
        retain_image=body.retain_image,
        rule_id=body.rule_id,
        actor=caller.secret_id,
    )
    metered(request)
    return {**result, "RequestId": rid}


# --- outcomes -------------------------------------------------------------------------------------


@router.get("/v1/verifications", name="ListVerifications")
def list_verifications(
    caller: CallerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rid: RequestIdDep,
    app_id: AppId = None,
    limit: Limit = None,
    cursor: Cursor = None,
    kind: Literal["selfie", "identity", "liveness"] | None = None,
    result: Annotated[str | None, Query(max_length=96)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    found = listing.verifications(
        session,
        runtime.gate,
        _scope(caller),
        app_id=app_id,
        limit=limit,
        cursor=cursor,
        kind=kind,
        result=result,
        since=since,
        until=until,
    )
    return {**found.as_dict("verifications", listing.verification_view), "RequestId": rid}


@router.get("/v1/sessions", name="ListSessions")
def list_sessions(
    caller: CallerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rid: RequestIdDep,
    app_id: AppId = None,
    limit: Limit = None,
    cursor: Cursor = None,
    state: Literal["created", "completed"] | None = None,
) -> dict[str, Any]:
    found = listing.sessions(
        session, runtime.gate, _scope(caller), app_id=app_id, limit=limit, cursor=cursor, state=state
    )
    now = runtime.clock()
    return {**found.as_dict("sessions", lambda row: listing.session_view(row, now)), "RequestId": rid}


@router.get("/v1/audit-log", name="ListAuditRecords")
def list_audit(
    caller: CallerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rid: RequestIdDep,
    app_id: AppId = None,
    limit: Limit = None,
    cursor: Cursor = None,
    event_type: Annotated[str | None, Query(max_length=48)] = None,
) -> dict[str, Any]:
    found = listing.audit_log(
        session, runtime.gate, _scope(caller), limit=limit, cursor=cursor, event_type=event_type, app_id=app_id
    )
    return {**found.as_dict("records", listing.audit_view), "RequestId": rid}


@router.get("/v1/webhooks/deliveries", name="ListWebhookDeliveries")
def list_deliveries(
    caller: CallerDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rid: RequestIdDep,
    app_id: AppId = None,
    limit: Limit = None,
    cursor: Cursor = None,
    state: Literal["pending", "delivered", "failed"] | None = None,
    event: Literal["verification.result", "session.finished"] | None = None,
) -> dict[str, Any]:
    found = listing.deliveries(
        session, runtime.gate, _scope(caller), app_id=app_id, limit=limit, cursor=cursor, state=state, event=event
    )
    return {**found.as_dict("deliveries", listing.delivery_view), "RequestId": rid}


@router.post("/v1/webhooks/deliveries/{delivery_id}/redeliver", name="RedeliverWebhook")
def redeliver_webhook(
    delivery_id: str, caller: CallerDep, session: SessionDep, runtime: RuntimeDep, rid: RequestIdDep
) -> dict[str, Any]:
    row = changes.redeliver_webhook(session, runtime.gate, _scope(caller), delivery_id, runtime.clock())
    jobs_for(runtime).enqueue_webhook(row.id, base=row.attempts, after_commit=session)
    return {**listing.delivery_view(row), "RequestId": rid}


__all__ = ["router"]
