"""The request checks shared by every route: NUL, UTF-8, surrogates and nesting, exactly."""

from __future__ import annotations

import pytest

from openkyc.api import inputs
from openkyc.errors import MalformedJSON, NulCharacter


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{}",
        b'{"name": "plain", "image": "' + b"QUFB" * 100_000 + b'"}',
        b'{"name": "a\\\\u0000"}',  # an escaped backslash, then the text u0000
        b'{"name": "\\ud83d\\ude00"}',  # a surrogate pair: one emoji
        b'{"a": ' * 31 + b"{}" + b"}" * 31,  # 32 levels: the limit
        b"[" + b"{}, " * 200 + b"{}]",  # many brackets, shallow
        b"{not json at all",  # syntax errors are the JSON parser's to report
        b'"\\u0000',  # unterminated: left to the parser too
    ],
)
def test_accepted(raw: bytes) -> None:
    inputs.check_json_body(raw)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b'{"name": "\xff"}', MalformedJSON),
        (b'{"name": "\xed\xa0\x80"}', MalformedJSON),
        (b'{"name": "\\ud800"}', MalformedJSON),
        (b'{"name": "\\uDC00\\uD800"}', MalformedJSON),
        (b'{"a": ' * 32 + b"{}" + b"}" * 32, MalformedJSON),
        (b"[" * 1000 + b"]" * 1000, MalformedJSON),
        (b"[" * 100_000 + b"]" * 100_000, MalformedJSON),
        (b'{"name": "\\u0000"}', NulCharacter),
        (b'{"\\u0000": 1}', NulCharacter),
        (b'[[["ok", {"k": "x\\u0000y"}]]]', NulCharacter),
        (b'{"name": "\\\\\\u0000"}', NulCharacter),  # backslash escaped, then a real NUL escape
    ],
)
def test_refused(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        inputs.check_json_body(raw)
    assert type(caught.value) is error


def test_path_and_query() -> None:
    inputs.check_path("/v1/rules/rule-1")
    inputs.check_query(b"from=2024-01-01&to=2024-01-31")
    with pytest.raises(NulCharacter):
        inputs.check_path("/verify/tok\x00")
    with pytest.raises(NulCharacter):
        inputs.check_query(b"from=2024%00")


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (None, True),
        ("", True),
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/problem+json", True),
        ("multipart/form-data; boundary=x", False),
        ("text/plain", False),
    ],
)
def test_is_json(content_type: str | None, expected: bool) -> None:
    assert inputs.is_json(content_type) is expected
