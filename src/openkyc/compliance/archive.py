"""The export as a ZIP archive (GDPR Art. 20: a structured, commonly used, machine-readable form).

The archive holds ``manifest.json`` (the same document as the JSON answer), every image and video
as a file under ``media/`` and ``summary.html``, a page a person can read: each item with what it
is, where it came from, why it is held, on which legal basis, since when and until when.
"""

from __future__ import annotations

import html
import io
import json
import zipfile
from typing import Any

from openkyc.compliance.rights import RightsExport
from openkyc.compliance.subjects import ExportItem

__all__ = ["MANIFEST_NAME", "SUMMARY_NAME", "build_archive", "summary_html"]

MANIFEST_NAME = "manifest.json"
SUMMARY_NAME = "summary.html"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def build_archive(result: RightsExport) -> bytes:
    """The ZIP bytes: manifest, media files, human-readable summary."""
    manifest = result.export.model_dump(mode="json")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_entry(MANIFEST_NAME), json.dumps(manifest, indent=2, ensure_ascii=False))
        for media in result.files:
            archive.writestr(_entry(media.name), media.data)
        archive.writestr(_entry(SUMMARY_NAME), summary_html(manifest, result.export.items))
    return buffer.getvalue()


def _show(value: Any) -> str:
    if isinstance(value, dict):
        parts = [f"{key}: {_show(item)}" for key, item in value.items()]
        return "; ".join(parts)
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value)
    return "" if value is None else str(value)


def summary_html(manifest: dict[str, Any], items: tuple[ExportItem, ...]) -> str:
    e = html.escape
    who = (
        f"end user <code>{e(str(manifest.get('subject_id') or ''))}</code> of app {manifest.get('app_id')}"
        if manifest["target"] == "end_user"
        else f"user {manifest.get('user_id')} of account {manifest.get('account_id')}"
    )
    rows = []
    for item in items:
        element = item.element.value if item.element else f"{item.category.value} (not named in the policy)"
        what = item.column + (f".{item.field}" if item.field else "")
        value = e(_show(item.value))
        if item.file:
            value += f' &mdash; file <a href="{e(item.file)}">{e(item.file)}</a>'
        rows.append(
            "<tr>"
            f"<td>{e(item.kind)}</td><td>{e(element)}</td><td>{e(item.table)}.{e(what)}</td>"
            f"<td>{value}</td><td>{e(item.source)}</td>"
            f"<td>{e(', '.join(p.value for p in item.purposes) or 'none (kept as proof or for a legal duty)')}</td>"
            f"<td>{e(', '.join(b.value for b in item.legal_basis) or 'legal obligation')}</td>"
            f"<td>{e(item.created_at.isoformat() if item.created_at else '')}</td>"
            f"<td>{e(item.expires_at.isoformat() if item.expires_at else 'until erased or the account is closed')}</td>"
            "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "Kind",
            "Data element",
            "Stored in",
            "Value",
            "Source",
            "Purposes",
            "Legal basis",
            "Stored at",
            "Deleted by",
        )
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Your data held by OpenKYC</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px;vertical-align:top;font-size:90%}</style></head><body>"
        f"<h1>Data held about the {who}</h1>"
        f"<p>Generated at {e(str(manifest['generated_at']))}. {len(items)} items; "
        f"{len(manifest.get('files', []))} files under <code>media/</code>. "
        f"This answer is given under a {e(str(manifest['legal_basis_of_answer']))}. "
        "The same content, machine-readable, is in <code>manifest.json</code>.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>\n"
    )
