"""Checks every request passes before any route sees it: no NUL, valid UTF-8, bounded JSON nesting.

PostgreSQL refuses the NUL character in text and SQLite would store it silently, so a NUL in a path,
a query string or any JSON string (keys included) is refused here, once for every route, with
``InvalidParameterValue.NulCharacter``. A JSON body must be UTF-8 text whose strings are valid
Unicode (no lone surrogates) and that nests at most :data:`MAX_JSON_DEPTH` levels; otherwise it is
``InvalidParameter.MalformedJSON``.

The checks are cheap on ordinary bodies (megabytes of base64): an ASCII test (else a strict UTF-8
decode), two byte counts and one search for ``\\u0000`` / ``\\uD8xx``-style escapes, about 2.5 ms
per MB here, less than parsing the body once. Only a body that could break a rule (more brackets
than the depth limit, a suspicious escape) is parsed here to be checked exactly.
"""

from __future__ import annotations

import json
import re
from typing import Any

from openkyc.errors import MalformedJSON, NulCharacter

MAX_JSON_DEPTH = 32
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def check_path(path: str) -> None:
    if "\x00" in path:
        raise NulCharacter("The path contains a NUL character (U+0000).")


def check_query(query_string: bytes) -> None:
    if b"%00" in query_string or b"\x00" in query_string:
        raise NulCharacter("The query string contains a NUL character (U+0000).")


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI will parse the body as JSON (no content type, or a JSON media type)."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def check_json_body(body: bytes) -> None:
    """Raises ``NulCharacter`` or ``MalformedJSON``; syntax errors are left to the JSON parser."""
    if not body:
        return
    if not body.isascii():  # ASCII is UTF-8; base64 media keeps most bodies ASCII
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJSON("The request body is not valid UTF-8.") from exc
    if body.count(b"{") + body.count(b"[") <= MAX_JSON_DEPTH and not _SUSPECT_ESCAPE.search(body):
        return  # cannot nest too deep, and holds no NUL or surrogate escape
    try:
        value = json.loads(body)
    except RecursionError as exc:
        raise MalformedJSON(f"The JSON body nests more than {MAX_JSON_DEPTH} levels.") from exc
    except ValueError:
        return  # not JSON at all: the route's parser answers MalformedJSON
    _check_value(value)


def _check_value(root: Any) -> None:
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise MalformedJSON(f"The JSON body nests more than {MAX_JSON_DEPTH} levels.")
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise NulCharacter("A JSON string contains a NUL character (U+0000).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedJSON("A JSON string holds an unpaired surrogate escape.") from exc
