"""``POST /`` (and ``OPENKYC_TENCENT_PATH_PREFIX``): Tencent Cloud compatible actions.

The gateway has already checked the TC3-HMAC-SHA256 signature (service ``faceid`` or ``ocr``), the
app's limits and the body; this route picks the action named by ``X-TC-Action``, checks
``X-TC-Version`` and the signed service, validates the parameters and runs the action's handler in
a worker thread. Every answer is HTTP 200 in Tencent's envelope.
"""

from __future__ import annotations

import json
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from openkyc.api import deps
from openkyc.api.deps import CallerDep, ClientIpDep, RequestIdDep, RuntimeDep
from openkyc.api.tencent import faceid, ocr, sdk
from openkyc.api.tencent.actions import Action, Context, InvalidAction, NoSuchVersion, parse
from openkyc.api.tencent.envelope import tencent_envelope, tencent_response
from openkyc.errors import InvalidAuthorization, InvalidParameter, OpenKYCError
from openkyc.settings import Settings

ACTIONS: dict[str, Action] = {action.name: action for action in (*faceid.ACTIONS, *sdk.ACTIONS, *ocr.ACTIONS)}


def _context(
    request: Request, runtime: RuntimeDep, caller: CallerDep, address: ClientIpDep, rid: RequestIdDep
) -> Context:
    return Context(
        app_id=caller.app_id,
        verifications=deps.verification_service(runtime, caller, address),
        documents=deps.document_service(runtime, caller, address),
        sessions=deps.session_service(runtime),
        base_url=str(request.base_url),
        client_ip=address,
        request_id=rid,
    )


ContextDep = Annotated[Context, Depends(_context)]


def _action(request: Request) -> Action:
    name = request.headers.get("x-tc-action", "")
    action = ACTIONS.get(name)
    if action is None:
        raise InvalidAction(f"The action '{name[:64]}' does not exist." if name else "X-TC-Action is missing.")
    version = request.headers.get("x-tc-version", "")
    if version != action.api_version:
        raise NoSuchVersion(f"{action.name} is served at X-TC-Version {action.api_version}.")
    signed = getattr(request.state, "signed_service", None)
    if signed != action.service:
        raise InvalidAuthorization(f"{action.name} must be signed for service '{action.service}'.")
    return action


async def tencent_action(request: Request, ctx: ContextDep) -> JSONResponse:
    """Runs one Tencent-compatible action; errors are answered in Tencent's shape with HTTP 200."""
    service = "faceid"
    try:
        action = _action(request)
        service = action.service
        request.state.action = action.native_action
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            raise InvalidParameter("The request body is not JSON.") from exc
        params = parse(action.params, data)
        outcome = await anyio.to_thread.run_sync(action.handler, ctx, params)
    except OpenKYCError as error:
        request.state.error_code = error.error_code
        return tencent_envelope(error, ctx.request_id, service)
    if outcome.billable:
        deps.metered(request, outcome.result_code)
    return tencent_response(outcome.fields, ctx.request_id)


def router(settings: Settings) -> APIRouter:
    """The compatible endpoint at ``/`` and, when set, at ``settings.tencent_path_prefix``."""
    routes = APIRouter()
    paths = ["/"]
    if settings.tencent_path_prefix and settings.tencent_path_prefix.rstrip("/") not in {"", "/"}:
        paths.append(settings.tencent_path_prefix.rstrip("/"))
    for path in paths:
        routes.add_api_route(
            path,
            tencent_action,
            methods=["POST"],
            name="TencentAction",
            response_class=JSONResponse,
            summary="Tencent Cloud eKYC and OCR compatible actions (X-TC-Action)",
            include_in_schema=path == "/",
        )
    return routes
