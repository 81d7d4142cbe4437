"""Every answer the API tests receive, checked against the OpenAPI document as it is served.

:class:`ContractCheck` is a response hook of the test client (``tests/conftest.py`` installs it on
the ``client`` fixture): for each answer to an operation of the document it validates a JSON 2xx
answer with the operation's answer model (``openkyc.api.schemas.ANSWERS``, strict), an error answer
with the error envelope, and checks that the error's status and code are among those the document
lists for the operation (``x-error-codes``). The test fails at teardown on any mismatch, so every
API test is also a contract test. ``OPENKYC_CONTRACT_LOG=FILE`` appends what was seen (operation,
status, code or answer keys) as JSON lines, to survey a test run.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from openkyc.api.schemas import ANSWERS, ErrorEnvelope

TENCENT = "TencentAction"


@dataclass
class Operation:
    name: str
    method: str
    pattern: re.Pattern[str]
    responses: dict[str, Any]


def operations(document: dict[str, Any]) -> list[Operation]:
    """The document's operations, literal paths before templated ones (``/v1/rules`` before ``{id}``)."""
    found = []
    for path, methods in document.get("paths", {}).items():
        regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"
        for method, operation in methods.items():
            found.append(Operation(operation["operationId"], method.upper(), re.compile(regex), operation["responses"]))
    return sorted(found, key=lambda op: op.pattern.pattern.count("[^/]+"))


def declared_codes(operation: dict[str, Any] | Operation, status: int | str) -> list[str]:
    responses = operation.responses if isinstance(operation, Operation) else operation["responses"]
    return list(responses.get(str(status), {}).get("x-error-codes", []))


@dataclass
class ContractCheck:
    document: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # operations whose 2xx JSON answer was validated
    errors: set[tuple[str, int, str]] = field(default_factory=set)  # (operation, status, code) answered

    def __post_init__(self) -> None:
        self._operations = operations(self.document)
        self._log = os.environ.get("OPENKYC_CONTRACT_LOG")

    def match(self, method: str, path: str) -> Operation | None:
        for operation in self._operations:
            if operation.method == method and operation.pattern.match(path):
                return operation
        return None

    def __call__(self, response: httpx.Response) -> None:
        operation = self.match(response.request.method, response.request.url.path)
        if operation is None:
            return  # not an operation of the document (console, metrics, docs pages, unknown paths)
        response.read()
        if "json" not in response.headers.get("content-type", ""):
            return
        try:
            answer = response.json()
        except ValueError:
            self.problems.append(f"{operation.name}: a JSON content type with a body that is not JSON")
            return
        status = response.status_code
        if status < 400 or _answer_schema(operation, status):
            self._answer(operation, status, answer)
        else:
            self._error(operation, status, answer)

    def _answer(self, operation: Operation, status: int, answer: Any) -> None:
        self._record({"operation": operation.name, "status": status, "shape": _shape(answer)})
        model = ANSWERS.get(operation.name)
        if model is None:
            self.problems.append(f"{operation.name}: no answer model")
            return
        if str(status) not in operation.responses:
            self.problems.append(f"{operation.name}: status {status} is not in the document")
        try:
            model.model_validate(answer)
        except ValidationError as exc:
            self.problems.append(f"{operation.name} {status}: the answer does not match {model.__name__}: {exc}")
            return
        self.seen.add(operation.name)

    def _error(self, operation: Operation, status: int, answer: Any) -> None:
        try:
            error = ErrorEnvelope.model_validate(answer)
        except ValidationError as exc:
            self.problems.append(f"{operation.name} {status}: not the error envelope: {exc}")
            return
        code = error.Error.Code
        self.errors.add((operation.name, status, code))
        self._record({"operation": operation.name, "status": status, "code": code})
        if code not in declared_codes(operation, status):
            self.problems.append(f"{operation.name}: {status} {code} is not listed in the document")

    def _record(self, entry: dict[str, Any]) -> None:
        if self._log:
            with open(self._log, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")

    def report(self) -> str:
        return "the OpenAPI document does not describe what was served:\n" + "\n".join(sorted(set(self.problems)))


def _answer_schema(operation: Operation, status: int) -> bool:
    """Whether the document describes this status with the operation's answer (Readiness's 503)."""
    content = operation.responses.get(str(status), {}).get("content", {}).get("application/json", {})
    return "schema" in content and content["schema"] != {"$ref": "#/components/schemas/ErrorEnvelope"}


def _shape(value: Any, depth: int = 0) -> Any:
    """The types in an answer, for the survey log (never the values)."""
    if depth > 4:
        return "..."
    if isinstance(value, dict):
        return {key: _shape(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0], depth + 1)] if value else []
    return type(value).__name__
