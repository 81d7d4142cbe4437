"""The console's pages: Apps, credentials and rules."""

from __future__ import annotations

import difflib
import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openkyc.accounts.console_auth import SignedIn
from openkyc.accounts.roles import Permission, allowed, require
from openkyc.api.inputs import check_json_body
from openkyc.config import service as rules_service
from openkyc.config.rules import RuleIn
from openkyc.errors import InvalidParameterValue, ResourceNotFound
from openkyc.management import changes, listing
from openkyc.management.listing import Scope, iso
from openkyc.runtime import Runtime
from openkyc.web.console.app import (
    page,
    posted,
    runtime_of,
)
from openkyc.web.console.pages.common import (
    PAGE_ROWS,
    app_param,
    back,
    base,
    cursor_of,
    more_link,
    router,
    scope_for,
    view,
)


@router.get("/apps", name="apps_page")
async def apps_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.apps(session, runtime.gate, scope, limit=PAGE_ROWS, cursor=cursor_of(request), disabled=None)
        rows = []
        for app in found.items:
            action = "enable" if app.disabled_at else "disable"
            rows.append(
                {
                    "cells": [app.id, app.name, "disabled" if app.disabled_at else "active", iso(app.created_at)],
                    "actions": [
                        {
                            "label": action.capitalize(),
                            "url": request.url_for("app_change", app_id=app.id, action=action),
                        }
                    ]
                    if allowed(user.role, Permission.MANAGE_APPS)
                    else [],
                }
            )
        create = None
        if allowed(user.role, Permission.MANAGE_APPS):
            create = {
                "title": "Create an app",
                "url": request.url_for("app_create"),
                "fields": [("name", "App name", "text")],
            }
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["APPID", "Name", "State", "Created"],
            "rows": rows,
            "create": create,
        }

    return await view(request, "Apps", work)


@router.post("/apps", name="app_create")
async def app_create(request: Request) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> dict[str, Any]:
        with runtime.transaction() as session:
            scope, apps = scope_for(runtime, session, user, app_param(fields))
            created = changes.create_app(session, runtime.gate, runtime.keyring, scope, fields.get("name", ""))
            return base(request, user, scope, apps, "App created", secret=created)

    return page(request, "secret.html", await run_in_threadpool(run))


@router.post("/apps/{app_id}/{action}", name="app_change")
async def app_change(request: Request, app_id: int, action: str) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)
    if action not in {"disable", "enable"}:
        raise ResourceNotFound("No such action.")

    def run() -> None:
        with runtime.transaction() as session:
            scope, _ = scope_for(runtime, session, user, app_param(fields))
            changes.set_app_disabled(session, runtime.gate, scope, app_id, action == "disable")

    await run_in_threadpool(run)
    return back(request, "apps_page")


@router.get("/credentials", name="credentials_page")
async def credentials_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.credentials(
            session, runtime.gate, scope, app_id=None, limit=PAGE_ROWS, cursor=cursor_of(request), status=None
        )
        manage = allowed(user.role, Permission.MANAGE_APPS)
        rows = []
        for c in found.items:
            actions = []
            if manage and c.status == "active":
                actions = [
                    {
                        "label": "Rotate",
                        "url": request.url_for("credential_change", secret_id=c.secret_id, action="rotate"),
                    },
                    {
                        "label": "Disable",
                        "url": request.url_for("credential_change", secret_id=c.secret_id, action="disable"),
                    },
                ]
            rows.append(
                {
                    "cells": [c.secret_id, c.status, iso(c.created_at), iso(c.last_used_at) or "never"],
                    "actions": actions,
                }
            )
        create = None
        if manage:
            create = {
                "title": "Create a credential for this app",
                "url": request.url_for("credential_create"),
                "fields": [],
            }
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["SecretId", "Status", "Created", "Last used"],
            "rows": rows,
            "create": create,
        }

    return await view(request, "Credentials", work)


@router.post("/credentials", name="credential_create")
async def credential_create(request: Request) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> dict[str, Any]:
        with runtime.transaction() as session:
            scope, apps = scope_for(runtime, session, user, app_param(fields))
            created = changes.create_credential(session, runtime.gate, runtime.keyring, scope, None)
            return base(request, user, scope, apps, "Credential created", secret=created)

    return page(request, "secret.html", await run_in_threadpool(run))


@router.post("/credentials/{secret_id}/{action}", name="credential_change")
async def credential_change(request: Request, secret_id: str, action: str) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> dict[str, Any] | None:
        with runtime.transaction() as session:
            scope, apps = scope_for(runtime, session, user, app_param(fields))
            if action == "rotate":
                rotated = changes.rotate_credential(
                    session, runtime.gate, runtime.keyring, scope, secret_id, keep_old=False
                )
                return base(request, user, scope, apps, "Credential rotated", secret=rotated)
            if action == "disable":
                changes.disable_credential(session, runtime.gate, scope, secret_id)
                return None
            raise ResourceNotFound("No such action.")

    context = await run_in_threadpool(run)
    if context is not None:
        return page(request, "secret.html", context)
    return back(request, "credentials_page", app_param(fields))


# --- rules ------------------------------------------------------------------------------------------


@router.get("/rules", name="rules_page")
async def rules_page(request: Request) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        found = listing.rules(
            session, runtime.gate, scope, app_id=None, limit=PAGE_ROWS, cursor=cursor_of(request), name=None
        )
        rows = [
            {
                "cells": [rule.id, name, rule.version, iso(rule.updated_at)],
                "link": str(request.url_for("rule_page", rule_id=rule.id)) + f"?app={scope.app_id}",
                "actions": [],
            }
            for rule, name in found.items
        ]
        create = None
        if allowed(user.role, Permission.EDIT_RULES):
            create = {
                "title": "Create a rule",
                "url": request.url_for("rule_create"),
                "fields": [("name", "Rule name", "text")],
            }
        return {
            "more": more_link(request, scope, found.next_cursor),
            "columns": ["Rule id", "Name", "Version", "Updated"],
            "rows": rows,
            "create": create,
        }

    return await view(request, "Rules", work)


@router.post("/rules", name="rule_create")
async def rule_create(request: Request) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> tuple[str, int | None]:
        require(user.role, Permission.EDIT_RULES)
        with runtime.transaction() as session:
            scope, _ = scope_for(runtime, session, user, app_param(fields))
            body = _rule_in(fields.get("name", ""), "{}")
            rule, _ = rules_service.create_rule(session, scope.app(session), body, actor=scope.actor, gate=runtime.gate)
            return rule.id, scope.app_id

    rule_id, app_id = await run_in_threadpool(run)
    return RedirectResponse(str(request.url_for("rule_page", rule_id=rule_id)) + f"?app={app_id}", status_code=303)


def _rule_in(name: str, config_text: str) -> RuleIn:
    check_json_body(config_text.encode("utf-8"))  # the API's limits: nesting depth, NUL, surrogates
    try:
        config = json.loads(config_text or "{}")
        return RuleIn.model_validate({"name": name, "config": config})
    except json.JSONDecodeError as exc:
        raise InvalidParameterValue(f"The configuration is not JSON (line {exc.lineno}).") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if '[' not in str(p))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        )
        raise InvalidParameterValue(problems) from None


def _pretty(config: Any) -> str:
    return json.dumps(config, indent=2, sort_keys=True)


@router.get("/rules/{rule_id}", name="rule_page")
async def rule_page(request: Request, rule_id: str) -> HTMLResponse:
    def work(runtime: Runtime, session: Session, user: SignedIn, scope: Scope) -> dict[str, Any]:
        require(user.role, Permission.VIEW)
        app_id = scope.app(session)
        rule, name = rules_service.describe_rule(session, app_id, rule_id, gate=runtime.gate)
        history = rules_service.rule_history(session, app_id, rule_id, gate=runtime.gate)
        changes_ = []
        for change in reversed(history):
            old = _pretty(change["old"]) if change.get("old") is not None else ""
            new = _pretty(change["new"])
            diff = "\n".join(
                difflib.unified_diff(
                    old.splitlines(), new.splitlines(), f"version {change['version'] - 1}",
                    f"version {change['version']}", lineterm="",
                )
            )  # fmt: skip
            changes_.append({**change, "diff": diff or "(no change to the configuration)"})
        return {"rule": rule, "name": name, "config_text": _pretty(rule.config), "history": changes_}

    return await view(request, "Rule", work, "rule.html")


@router.post("/rules/{rule_id}", name="rule_update")
async def rule_update(request: Request, rule_id: str) -> Response:
    user, fields = await posted(request)
    runtime = runtime_of(request)

    def run() -> int | None:
        require(user.role, Permission.EDIT_RULES)
        body = _rule_in(fields.get("name", ""), fields.get("config", ""))
        with runtime.transaction() as session:
            scope, _ = scope_for(runtime, session, user, app_param(fields))
            rules_service.update_rule(session, scope.app(session), rule_id, body, actor=scope.actor, gate=runtime.gate)
            return scope.app_id

    app_id = await run_in_threadpool(run)
    return RedirectResponse(str(request.url_for("rule_page", rule_id=rule_id)) + f"?app={app_id}", status_code=303)


# --- collections, verifications, sessions ---------------------------------------------------------------
