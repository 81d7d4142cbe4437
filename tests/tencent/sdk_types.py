"""Tencent's SDK field types, checked on OpenKYC's answers.

Tencent's SDK models (``tencentcloud-sdk-python-intl-en``: ``faceid/v20180301/models.py``,
``ocr/v20181119/models.py``) declare each field's type in their docstrings (``:type Sim: float``,
``:type OCRResult: list of OCRResult``, ``:type CardInfo: :class:`...models.CardInfo```).
:func:`problems` walks an answer's ``Response`` against the action's ``<Action>Response`` model,
into every nested model, and names each field whose value has another type than the SDK's, each
field the SDK's model does not have (apart from the documented extras), and each warning the
SDK's ``_deserialize`` raises. ``null`` is allowed everywhere (Tencent answers it for fields it
has no value for). A typed SDK (Go, Java) would fail to read a field of the wrong type, so the
Tencent tests run this on every answer they get.
"""

from __future__ import annotations

import importlib
import re
import warnings
from functools import cache
from types import ModuleType
from typing import Any

MODULES = ("tencentcloud.faceid.v20180301.models", "tencentcloud.ocr.v20181119.models")
# fields OpenKYC answers that Tencent's answers lack (docs/tencent.md): the hosted page that replaces
# the native SDK
EXTRAS: dict[str, frozenset[str]] = {
    "ApplyLivenessToken": frozenset({"VerificationURL"}),
    "GetFaceIdTokenIntl": frozenset({"VerificationURL"}),
    "ApplySdkVerificationToken": frozenset({"VerificationURL"}),
}
_TYPE = re.compile(r":type (\w+): (.+)")
_CLASS = re.compile(r":class:`([\w.]+)\.(\w+)`")


@cache
def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def response_model(action: str) -> Any:
    """The SDK's ``<action>Response`` class (None: no SDK model of that name)."""
    for name in MODULES:
        module = _module(name)
        if module is not None and hasattr(module, f"{action}Response"):
            return getattr(module, f"{action}Response")
    return None


@cache
def field_types(model: type) -> dict[str, str]:
    """A model's fields and their declared types, from its ``__init__`` docstring."""
    return {m.group(1): m.group(2).strip() for m in _TYPE.finditer(model.__init__.__doc__ or "")}


def _nested(model: type, declared: str) -> type | None:
    match = _CLASS.fullmatch(declared)
    if match:
        return getattr(_module(match.group(1)), match.group(2), None)
    module = _module(model.__module__)
    return getattr(module, declared, None) if module is not None else None


def _check(model: type, declared: str, value: Any, path: str, out: list[str]) -> None:
    if value is None:
        return
    if declared.startswith("list of "):
        if not isinstance(value, list):
            out.append(f"{path}: {type(value).__name__}, the SDK declares {declared}")
            return
        for i, item in enumerate(value):
            _check(model, declared.removeprefix("list of "), item, f"{path}[{i}]", out)
        return
    scalar = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}.get(declared)
    if scalar is not None:
        if isinstance(value, bool) != (declared == "bool") or not isinstance(value, scalar):
            out.append(f"{path}: {type(value).__name__} {value!r:.40}, the SDK declares {declared}")
        return
    nested = _nested(model, declared)
    if nested is None:
        out.append(f"{path}: the SDK's type {declared} was not found")
        return
    if not isinstance(value, dict):
        out.append(f"{path}: {type(value).__name__}, the SDK declares the model {nested.__name__}")
        return
    _walk(nested, value, path, frozenset(), out)


def _walk(model: type, data: dict[str, Any], path: str, extras: frozenset[str], out: list[str]) -> None:
    types = field_types(model)
    for name, value in data.items():
        if name not in types:
            if name not in extras:
                out.append(f"{path}.{name}: not a field of the SDK's {model.__name__}")
            continue
        _check(model, types[name], value, f"{path}.{name}", out)


def problems(action: str, response: dict[str, Any]) -> list[str]:
    """What in a successful answer's ``Response`` differs from the SDK's model; an error answer,
    or an action the SDK has no model of, has none to check."""
    model = response_model(action)
    if model is None or "Error" in response:
        return []
    out: list[str] = []
    _walk(model, response, action, EXTRAS.get(action, frozenset()), out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model()._deserialize(response)
    out.extend(f"{action}: the SDK warns: {w.message}" for w in caught)
    return out
