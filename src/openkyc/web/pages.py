"""The end user's hosted pages: the verification page and the page for a link that is not (or no
longer) valid. Rendered from ``templates/`` with the strings of one catalog; every page carries a
strict Content-Security-Policy with a per-response nonce."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from openkyc.web.i18n import catalog

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(message: str, **values: Any) -> str:
    """``message`` with its ``{name}`` placeholders filled (unknown names are left as they are)."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), message)


def hours_text(hours: float) -> str:
    return str(int(hours)) if float(hours).is_integer() else f"{hours:g}"


_templates = Environment(loader=PackageLoader("openkyc.web", "templates"), autoescape=select_autoescape(["html"]))
_templates.filters["fill"] = fill
_templates.filters["hours"] = hours_text


def _headers(nonce: str, image_origin: str | None = None) -> dict[str, str]:
    images = "'self' data: blob:" + (f" {image_origin}" if image_origin else "")
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            f"connect-src 'self'; media-src 'self' blob: mediastream:; img-src {images}; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Permissions-Policy": "camera=(self), microphone=()",
    }


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _brand(context: dict[str, Any], t: dict[str, Any]) -> dict[str, Any]:
    name = context.get("operator_name")
    return {
        "operator": name or t["operator_default"],
        "operator_name": name,
        "logo_url": context.get("logo_url"),
        "theme_color": context.get("theme_color") or "#1f6feb",
    }


def verify_page(context: dict[str, Any], language: str) -> HTMLResponse:
    t = catalog(language)
    nonce = secrets.token_urlsafe(16)
    brand = _brand(context, t)
    html = _templates.get_template("verify.html").render(**{**context, **brand}, t=t, nonce=nonce)
    return HTMLResponse(html, headers=_headers(nonce, _origin(brand["logo_url"])))


def link_page(
    state: str, language: str, *, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """The page for a link that is unknown (404), or expired, completed or declined (200)."""
    t = catalog(language)
    nonce = secrets.token_urlsafe(16)
    brand = _brand(context or {}, t)
    reason = state if state in {"unknown", "completed", "declined"} else "expired"
    html = _templates.get_template("link.html").render(**brand, reason=reason, t=t, nonce=nonce)
    return HTMLResponse(html, status_code=status_code, headers=_headers(nonce, _origin(brand["logo_url"])))
