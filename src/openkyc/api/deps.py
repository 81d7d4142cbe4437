"""FastAPI dependencies: the runtime, the authenticated caller, a database session, the services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from openkyc.accounts.service import Caller
from openkyc.biometrics.service import FaceService
from openkyc.documents.service import DocumentService
from openkyc.errors import AuthFailure
from openkyc.jobs import jobs_for
from openkyc.runtime import Runtime
from openkyc.verification.service import VerificationService
from openkyc.verification.sessions import SessionService


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_caller(request: Request) -> Caller:
    caller = getattr(request.state, "caller", None)
    if not isinstance(caller, Caller):
        raise AuthFailure()
    return caller


def get_session(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    """One transaction for a route that only reads and writes the database (no model work).

    Used with ``scope="function"``: the commit happens when the route function returns, before
    the response is sent, so a 200 means committed and a failed commit is an error answer.
    """
    with runtime.transaction() as session:
        yield session


def client_ip(request: Request) -> str | None:
    """The client address the gateway resolved (behind ``OPENKYC_TRUSTED_PROXIES``)."""
    value = getattr(request.state, "client_ip", None)
    return value if isinstance(value, str) else None


def face_service(
    runtime: Annotated[Runtime, Depends(get_runtime)],
    caller: Annotated[Caller, Depends(get_caller)],
    address: Annotated[str | None, Depends(client_ip)],
) -> FaceService:
    return FaceService(
        runtime.access,
        runtime.models,
        runtime.face_index,
        caller.app_id,
        address,
        template_bits=runtime.settings.template_bits,
    )


def verification_service(
    runtime: Annotated[Runtime, Depends(get_runtime)],
    caller: Annotated[Caller, Depends(get_caller)],
    address: Annotated[str | None, Depends(client_ip)],
) -> VerificationService:
    return VerificationService(runtime.access, runtime.models, jobs_for(runtime), caller.app_id, address)


def document_service(
    runtime: Annotated[Runtime, Depends(get_runtime)],
    caller: Annotated[Caller, Depends(get_caller)],
    address: Annotated[str | None, Depends(client_ip)],
) -> DocumentService:
    return DocumentService(runtime.access, runtime.models, caller.app_id, address)


def session_service(runtime: Annotated[Runtime, Depends(get_runtime)]) -> SessionService:
    return SessionService(runtime.access, runtime.models, jobs_for(runtime), runtime.settings.public_base_url)


def metered(request: Request, result_code: str | None = None) -> None:
    """Marks the call billable (counted only when it answers 2xx) with its verification result."""
    request.state.billable = True
    if result_code is not None:
        request.state.result_code = result_code


def request_id(request: Request) -> str:
    return str(request.state.request_id)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CallerDep = Annotated[Caller, Depends(get_caller)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
FaceServiceDep = Annotated[FaceService, Depends(face_service)]
VerificationServiceDep = Annotated[VerificationService, Depends(verification_service)]
DocumentServiceDep = Annotated[DocumentService, Depends(document_service)]
SessionServiceDep = Annotated[SessionService, Depends(session_service)]
RequestIdDep = Annotated[str, Depends(request_id)]
ClientIpDep = Annotated[str | None, Depends(client_ip)]
