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
from starlette.staticfiles import StaticFiles

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


def _signed(path: str) -> bool:
    return (path.startswith("/v1/") and path != "/v1/health") or path == "/"


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, built once per app."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = doc.setdefault("components", {})
    components.setdefault("securitySchemes", {})[TC3_SCHEME] = {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": TC3_DESCRIPTION,
    }
    for path, operations in doc.get("paths", {}).items():
        if _signed(path):
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
