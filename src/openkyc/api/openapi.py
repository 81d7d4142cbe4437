"""The OpenAPI contract and its viewer, served from installed package files only.

- ``/docs`` (Swagger UI 5) and ``/redoc`` (ReDoc), from the static files that the PyPI package
  ``fastapi-offline`` ships (served under ``/docs/static/``; its app class is not used), so both
  pages work on a machine with no internet. (``swagger-ui-bundle`` ships Swagger UI 4, which
  cannot read the OpenAPI 3.1 document FastAPI writes.)
- ``/openapi.json``: the document, with operation ids equal to the action names (``VerifySelfie``)
  and the TC3-HMAC-SHA256 scheme described as a security scheme on every signed operation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.staticfiles import StaticFiles

from openkyc.api import error_codes
from openkyc.api.schemas import ANSWERS, OTHER_CONTENT, ErrorEnvelope

# The pages may load nothing from elsewhere (ReDoc's footer logo points at its CDN): the browser
# blocks it before any request leaves.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'"
)
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
STATIC_PATH = "/docs/static"
TC3_SCHEME = "TC3-HMAC-SHA256"
TC3_DESCRIPTION = (
    "Tencent Cloud API v3 signing with an OpenKYC credential: `Authorization: TC3-HMAC-SHA256 "
    "Credential=SecretId/YYYY-MM-DD/openkyc/tc3_request, SignedHeaders=content-type;host[;x-tc-nonce], "
    "Signature=...` and `X-TC-Timestamp` (Unix seconds, within 5 minutes of the server's clock). "
    "The signature is HMAC-SHA256 over the canonical request (method, path, query, the signed headers, "
    "sha256 of the body) with a key derived from `TC3` + SecretKey, the date, the service and "
    "`tc3_request`. The Tencent-compatible `POST /` is signed for service `faceid` or `ocr`. "
    "See docs/api.md#authentication; `openkyc.client` signs for you."
)


def static_dir() -> Path:
    """Swagger UI and ReDoc files of the installed ``fastapi-offline`` package."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def operation_id(route: APIRoute) -> str:
    """Operation ids are the route names (``VerifySelfie``), as in usage records and bills."""
    return route.name


REF = "#/components/schemas/{model}"
ERROR_STATUSES = {
    400: "Bad input",
    401: "Authentication failed: missing, malformed, expired, wrong or replayed signature; unknown or disabled SecretId",
    403: "Not allowed: the policy's purpose gate, a rule's ip_allow_list, a role, a finished session",
    404: "No such resource for the calling app",
    408: "The body was not received in time",
    409: "In progress or changed meanwhile: retry (Retry-After where sent)",
    413: "The body is larger than OPENKYC_MAX_BODY_BYTES",
    422: "The input was understood but the check could not be done (e.g. no face), or a reused Idempotency-Key",
    429: "The app's rate or quota, or the client address's rate (Retry-After)",
    500: "Internal error, logged with the RequestId",
    501: "The embedder is not installed on this server",
    503: "The model queue is full (Retry-After)",
}


def _schemas(components: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    """Adds ``model`` (and the models it uses) to the components; the reference to it."""
    schema = model.model_json_schema(ref_template=REF, by_alias=True)
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)
    return {"$ref": REF.format(model=model.__name__)}


def _body_schema(doc: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    """The request body's JSON schema, references and an optional body's ``anyOf`` resolved."""
    schema: Any = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    while isinstance(schema, dict) and ("$ref" in schema or "anyOf" in schema):
        if "anyOf" in schema:  # an optional body: the model or null
            schema = next((s for s in schema["anyOf"] if s.get("type") != "null"), None)
            continue
        schema = doc["components"]["schemas"].get(schema["$ref"].rsplit("/", 1)[-1])
    return schema if isinstance(schema, dict) else None


def _answers(schemas: dict[str, Any], name: str, responses: dict[str, Any]) -> None:
    """The operation's 2xx answer: its JSON model, and other media types where it has them."""
    ok = responses.setdefault("200", {"description": "Successful Response"})
    content: dict[str, Any] = {}
    model = ANSWERS.get(name)
    if model is not None:
        content["application/json"] = {"schema": _schemas(schemas, model)}
    for media_type, description in OTHER_CONTENT.get(name, {}).items():
        content[media_type] = {"schema": {"type": "string", "description": description}}
    if content:
        ok["content"] = content


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, built once per app: answers and errors per route, the TC3 scheme."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_ref = _schemas(schemas, ErrorEnvelope)
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            name = str(operation.get("operationId", ""))
            if operation.get("summary") == name.replace("_", " ").title():  # FastAPI's "Describeaccount"
                operation["summary"] = name
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's validation answer: OpenKYC answers 400 instead
            _answers(schemas, name, responses)
            if path == "/":  # Tencent's protocol: errors are 200 answers with Response.Error
                _tencent(operation)
                continue
            if name == "Readiness":  # 503 until start-up has finished: the same answer, not an error
                responses["503"] = {"description": "Not ready yet.", "content": responses["200"]["content"]}
            found = error_codes.codes(name, method, path, operation, _body_schema(doc, operation))
            for status, codes in found.items():
                if str(status) in responses:
                    continue
                responses[str(status)] = {
                    "description": f"{ERROR_STATUSES[status]}: {', '.join(codes)}.",
                    "content": {"application/json": {"schema": error_ref}},
                    "x-error-codes": codes,
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        if not any(unused in str(operations) for operations in doc.get("paths", {}).values()):
            schemas.pop(unused, None)
    components.setdefault("securitySchemes", {})[TC3_SCHEME] = {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": TC3_DESCRIPTION,
    }
    for path, operations in doc.get("paths", {}).items():
        if error_codes.signed(path):
            for operation in operations.values():
                operation["security"] = [{TC3_SCHEME: []}]
    app.openapi_schema = doc
    return doc


def install(app: FastAPI) -> None:
    """``/docs`` and ``/redoc`` from package files, Swagger UI's OAuth redirect page, the document."""
    app.mount(STATIC_PATH, StaticFiles(directory=static_dir()), name="docs-static")

    def openapi() -> dict[str, Any]:
        return document(app)

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _contained(
            get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} API",
                swagger_js_url=f"{STATIC_PATH}/swagger-ui-bundle.js",
                swagger_css_url=f"{STATIC_PATH}/swagger-ui.css",
                swagger_favicon_url=f"{STATIC_PATH}/favicon.png",
                oauth2_redirect_url=f"{DOCS_PATH}/oauth2-redirect",
            )
        )

    @app.get(REDOC_PATH, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _contained(
            get_redoc_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} API",
                redoc_js_url=f"{STATIC_PATH}/redoc.standalone.js",
                redoc_favicon_url=f"{STATIC_PATH}/favicon.png",
                with_google_fonts=False,
            )
        )

    @app.get(f"{DOCS_PATH}/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def _contained(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = PAGE_POLICY
    return page


def _tencent(operation: dict[str, Any]) -> None:
    """``POST /``: the action in headers, Tencent's parameters in the body (docs/tencent.md)."""
    operation["parameters"] = [
        {"name": "X-TC-Action", "in": "header", "required": True, "schema": {"type": "string"}},
        {
            "name": "X-TC-Version",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "enum": ["2018-03-01", "2018-11-19"]},
        },
    ]
    operation["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
    operation["description"] = (
        "Tencent Cloud eKYC (faceid 2018-03-01) and OCR (ocr 2018-11-19) actions, signed for service "
        "faceid or ocr. Every answer is HTTP 200: the action's fields, or Response.Error."
    )
