"""The base of the operations (:mod:`openkyc.client._operations`): the answer types the transport
fills in, the transport's two calls, and the helpers that build a path and a body."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

T = TypeVar("T")  # dict[str, Any] for Client, Awaitable[dict[str, Any]] for AsyncClient
R = TypeVar("R")  # bytes, or Awaitable[bytes]

Json = dict[str, Any]
Mode = Literal["silent", "action", "reflection"]


def path_part(value: str) -> str:
    """``value`` quoted as one path segment."""
    return quote(value, safe="")


def body(**fields: Any) -> Json:
    """The JSON body: the fields that are not ``None``."""
    return {name: value for name, value in fields.items() if value is not None}


class OperationsBase(Generic[T, R]):
    """The transport's calls: ``_call`` (JSON answers) and ``_call_raw`` (bytes)."""

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        service: str = "openkyc",
    ) -> T:
        raise NotImplementedError

    def _call_raw(self, method: str, path: str, *, query: dict[str, Any] | None = None) -> R:
        raise NotImplementedError
