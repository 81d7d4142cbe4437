"""The OpenAPI contract and its viewer, served from installed package files only.

- ``/docs``: Swagger UI from the PyPI package ``swagger-ui-bundle`` (its files under
  ``/docs/static/``), so the page works on a machine with no internet. ReDoc is not served: no
  Python package ships its script, and a CDN copy would break the offline promise.
- ``/openapi.json``: the document, with operation ids equal to the action names (``VerifySelfie``)
  and the TC3-HMAC-SHA256 scheme described as a security scheme on every signed operation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.staticfiles import StaticFiles

DOCS_PATH = "/docs"
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


def swagger_ui_dir() -> Path:
    """The Swagger UI files of the installed ``swagger-ui-bundle`` package."""
    import swagger_ui_bundle  # type: ignore[import-untyped]

    return Path(swagger_ui_bundle.swagger_ui_path)


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
    """``/docs`` (Swagger UI from package files), its OAuth redirect page, and the document."""
    app.mount(STATIC_PATH, StaticFiles(directory=swagger_ui_dir()), name="swagger-ui")

    def openapi() -> dict[str, Any]:
        return document(app)

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{STATIC_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_PATH}/favicon-32x32.png",
            oauth2_redirect_url=f"{DOCS_PATH}/oauth2-redirect",
        )

    @app.get(f"{DOCS_PATH}/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
