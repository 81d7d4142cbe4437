"""The single JSON error envelope: ``{"Error": {"Code", "Message"}, "RequestId"}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from openkyc.errors import (
    InternalError,
    InvalidParameterValue,
    MalformedJSON,
    MissingParameter,
    OpenKYCError,
    RequestSizeLimitExceeded,
    ResourceNotFound,
    UnsupportedOperation,
)

log = logging.getLogger("openkyc.api")


def envelope(error: OpenKYCError, request_id: str | None) -> JSONResponse:
    body: dict[str, Any] = {
        "Error": {"Code": error.error_code, "Message": error.message},
        "RequestId": request_id,
    }
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return JSONResponse(body, status_code=error.status_code, headers=headers)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _mark(request: Request, error: OpenKYCError) -> None:
    request.state.error_code = error.error_code


def validation_error(exc: RequestValidationError) -> OpenKYCError:
    """Pydantic's errors without their input values (which may hold personal data)."""
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return MalformedJSON()
    if any(tuple(err.get("loc", ())) == ("body",) and isinstance(err.get("input"), bytes) for err in errors):
        # a body sent with another media type (``curl -d`` sends a form type): FastAPI did not parse it
        return MalformedJSON("The request body must be JSON, sent with Content-Type: application/json.")
    parts = []
    for err in errors[:5]:
        # pydantic names the members of a union in the location (``lax-or-strict[...]``): not for users
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body" and "[" not in str(p))
        parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    message = "; ".join(parts)
    if errors and all(err.get("type") == "missing" for err in errors):
        return MissingParameter(f"Missing: {message}")
    return InvalidParameterValue(message or None)


def install(app: FastAPI) -> None:
    @app.exception_handler(OpenKYCError)
    async def _openkyc(request: Request, exc: OpenKYCError) -> JSONResponse:
        _mark(request, exc)
        if exc.status_code >= 500:
            log.error("request failed", exc_info=exc, extra={"code": exc.error_code, "exc_class": type(exc).__name__})
        return envelope(exc, _request_id(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        error = validation_error(exc)
        _mark(request, error)
        return envelope(error, _request_id(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error: OpenKYCError
        if exc.status_code == 404:
            error = ResourceNotFound("No such path.", code="ResourceNotFound.Path")
        elif exc.status_code == 405:
            error = UnsupportedOperation()
        elif exc.status_code == 400:
            # FastAPI's only 400: a JSON body its parser failed on in a way that is not a syntax error
            error = MalformedJSON()
        elif exc.status_code == 413:
            error = RequestSizeLimitExceeded()
        else:
            log.error("HTTP error without an OpenKYC code", extra={"status": exc.status_code})
            error = InternalError()
        _mark(request, error)
        return envelope(error, _request_id(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # the Gateway answers unhandled errors itself; this is the last resort for anything outside it
        log.error("unexpected error", exc_info=exc, extra={"exc_class": type(exc).__name__})
        error = InternalError()
        _mark(request, error)
        return envelope(error, _request_id(request))
