"""FastAPI dependencies: the runtime, the authenticated caller, a database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from openkyc.accounts.service import Caller
from openkyc.errors import AuthFailure
from openkyc.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_caller(request: Request) -> Caller:
    caller = getattr(request.state, "caller", None)
    if not isinstance(caller, Caller):
        raise AuthFailure()
    return caller


def get_session(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with runtime.transaction() as session:
        yield session


def metered(request: Request, result_code: str | None = None) -> None:
    """Marks the call billable (counted only when it answers 2xx) with its verification result."""
    request.state.billable = True
    if result_code is not None:
        request.state.result_code = result_code


def request_id(request: Request) -> str:
    return str(request.state.request_id)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CallerDep = Annotated[Caller, Depends(get_caller)]
SessionDep = Annotated[Session, Depends(get_session)]
RequestIdDep = Annotated[str, Depends(request_id)]
