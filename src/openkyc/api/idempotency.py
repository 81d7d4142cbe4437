"""``Idempotency-Key`` on signed writes: the first 2xx answer is kept and sent again to retries.

A signed ``POST``, ``PUT`` or ``DELETE`` with an ``Idempotency-Key`` header (1 to 255 visible
ASCII characters) is claimed for its app before the route runs (see ``openkyc.store.idempotency``).
Its answer is held back until the route has finished and, when it is a 2xx, stored (encrypted)
before it is sent, so a retry that follows the answer always finds it. A retry gets the stored
status and body with ``Idempotent-Replayed: true`` and the route does not run again.

Stored answers expire after ``OPENKYC_IDEMPOTENCY_TTL_SECONDS``, but never later than the data-
processing policy keeps face images (an answer may hold one, the best frame of ``/v1/liveness``).

Keeping and replaying an answer is a gated touch of personal data (issue 10): the answers carry
no response model, so what each route's answer can hold is declared here, by route name, in
:data:`ANSWERS` (the route's purpose and the data elements of its answer). The claim asks the purpose
gate for that purpose and those elements before the stored row is read (a replay) or the route
runs; storing the answer is recorded as a write of them. A signed write with no declaration (a
route added without one) is treated as holding every element a stored answer can hold, for the
purpose of providing the features; a test fails on every undeclared signed write.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError
from starlette.routing import Match

from openkyc.errors import IdempotencyKeyInProgress, InvalidParameterValue
from openkyc.privacy.vocabulary import DataElement, Obligation, Purpose, RetentionKind
from openkyc.runtime import Runtime
from openkyc.store import idempotency as store

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("openkyc.api")
METHODS = frozenset({"POST", "PUT", "DELETE"})
HEADER = "idempotency-key"


E = DataElement


@dataclass(frozen=True)
class AnswerLabel:
    """What a route's stored answer is kept for and can hold (``elements == ()``: nothing personal)."""

    purpose: Purpose | Obligation
    elements: tuple[DataElement, ...]


_DOCUMENT = (
    E.NAME, E.ADDRESS, E.ID_NUMBER, E.COUNTRY, E.DATE_OF_BIRTH, E.SEX, E.DOCUMENT_TYPE, E.DOCUMENT_EXPIRY,
    E.OPTIONAL_DATA,
)  # fmt: skip
_FEATURES = Purpose.PROVIDE_FEATURES

#: Signed writes by route name: the purpose the route serves and the elements its answer can hold.
ANSWERS: dict[str, AnswerLabel] = {
    "CreateRule": AnswerLabel(Purpose.MAINTAIN_CONFIGURATION, (E.RULE,)),
    "ModifyRule": AnswerLabel(Purpose.MAINTAIN_CONFIGURATION, (E.RULE,)),
    "CreateCollection": AnswerLabel(Purpose.MAINTAIN_CONFIGURATION, (E.RESOURCE_ATTRIBUTES,)),
    "DetectFace": AnswerLabel(_FEATURES, (E.KEYPOINTS,)),  # boxes, keypoints, quality
    "CompareFace": AnswerLabel(_FEATURES, (E.OPERATION_STATUS,)),  # a score and a match flag
    "CreateSubject": AnswerLabel(_FEATURES, (E.SUBJECT_ID, E.OPERATION_STATUS)),
    "SearchFaces": AnswerLabel(_FEATURES, (E.SUBJECT_ID, E.OPERATION_STATUS)),  # matched subject ids
    "DeleteSubject": AnswerLabel(_FEATURES, (E.SUBJECT_ID, E.OPERATION_STATUS)),
    "CreateReflectSequence": AnswerLabel(_FEATURES, ()),  # random colours and an expiry
    "DetectLiveness": AnswerLabel(_FEATURES, (E.FACE_IMAGE, E.OPERATION_STATUS)),  # the best frame
    "VerifySelfie": AnswerLabel(_FEATURES, (E.OPERATION_STATUS,)),
    "RecognizeDocument": AnswerLabel(_FEATURES, (*_DOCUMENT, E.FACE_IMAGE, E.OPERATION_STATUS)),  # the portrait
    "VerifyIdentity": AnswerLabel(_FEATURES, (*_DOCUMENT, E.OPERATION_STATUS)),
    "CreateSession": AnswerLabel(_FEATURES, (E.OPERATION_STATUS,)),  # biz_token, URL
    "RecordConsent": AnswerLabel(Purpose.MODEL_IMPROVEMENT, (E.SUBJECT_ID, E.CONSENT_RECORD)),
    "AddImprovementSample": AnswerLabel(Purpose.MODEL_IMPROVEMENT, (E.SUBJECT_ID, E.CONSENT_RECORD)),
    "WithdrawConsent": AnswerLabel(Obligation.SUBJECT_RIGHTS, (E.SUBJECT_ID, E.CONSENT_RECORD)),
    "EraseSubject": AnswerLabel(Obligation.SUBJECT_RIGHTS, (E.OPERATION_STATUS,)),  # a receipt: counts, refs
    "EraseSessionData": AnswerLabel(Obligation.SUBJECT_RIGHTS, (E.OPERATION_STATUS,)),
    "CreateLivenessChallenge": AnswerLabel(_FEATURES, ()),  # a random schedule and an expiry
    # management: the app and credential answers carry ids, names and a SecretKey shown once
    "CreateApp": AnswerLabel(Purpose.MAINTAIN_CONFIGURATION, (E.APP_ID, E.RESOURCE_NAME, E.SECURITY_SETTINGS)),
    "DisableApp": AnswerLabel(Purpose.MAINTAIN_CONFIGURATION, (E.APP_ID,)),  # the app id and its state
    "EnableApp": AnswerLabel(Purpose.MAINTAIN_CONFIGURATION, (E.APP_ID,)),
    "CreateCredential": AnswerLabel(Purpose.MAINTAIN_CONFIGURATION, (E.APP_ID, E.SECURITY_SETTINGS)),
    "RotateCredential": AnswerLabel(Purpose.MAINTAIN_CONFIGURATION, (E.APP_ID, E.SECURITY_SETTINGS)),
    "DisableCredential": AnswerLabel(Purpose.MAINTAIN_CONFIGURATION, (E.APP_ID, E.SECURITY_SETTINGS)),
    "DeleteCollection": AnswerLabel(_FEATURES, (E.RESOURCE_ATTRIBUTES, E.OPERATION_STATUS)),  # ids and counts
    "ReplaceSubjectPhoto": AnswerLabel(_FEATURES, (E.SUBJECT_ID, E.OPERATION_STATUS)),
    "RedeliverWebhook": AnswerLabel(_FEATURES, (E.OPERATION_STATUS,)),  # a delivery id and its state
}
UNDECLARED = AnswerLabel(Purpose.PROVIDE_FEATURES, store.ANSWER_ELEMENTS)


def route_name(scope: MutableMapping[str, Any]) -> str | None:
    """The name of the route that will serve ``scope`` (its method and path), or ``None``.

    Routers are included without a prefix (every route states its whole path), so the routes of
    included routers are matched as they are."""

    def leaves(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from leaves(list(inner.routes))
            else:
                yield route

    router = getattr(scope.get("app"), "router", None)
    for route in leaves(list(getattr(router, "routes", []))):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "name", "") or "") or None
    return None


def label_for(scope: MutableMapping[str, Any]) -> AnswerLabel:
    name = route_name(scope)
    return ANSWERS.get(name, UNDECLARED) if name else UNDECLARED


def requested_key(method: str, headers: dict[str, list[str]]) -> str | None:
    """The request's key, or ``None`` when the request is not an idempotent write."""
    values = headers.get(HEADER)
    if method not in METHODS or not values:
        return None
    key = values[0].strip()
    if len(values) != 1 or not 1 <= len(key) <= 255 or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidParameterValue(
            "Idempotency-Key must be one header of 1 to 255 visible ASCII characters.",
            code="InvalidParameterValue.IdempotencyKey",
        )
    return key


def ttl(runtime: Runtime) -> timedelta:
    configured = timedelta(seconds=runtime.settings.idempotency_ttl_seconds)
    images = timedelta(hours=runtime.gate.policy.max_retention_hours(RetentionKind.FACE_IMAGE))
    return min(configured, images)


class Claim:
    """One claimed key: replays a stored answer or runs the request and keeps its 2xx answer."""

    def __init__(self, runtime: Runtime, app_id: int, key: str, label: AnswerLabel = UNDECLARED) -> None:
        self.runtime = runtime
        self.app_id = app_id
        self.key = key
        self.label = label

    def _answers(self, session: Any) -> store.AnswerStore:
        return store.AnswerStore(session, self.runtime.gate, self.runtime.keyring)

    async def acquire(self, request_hash: str) -> store.StoredAnswer | None:
        return await anyio.to_thread.run_sync(self._acquire, request_hash)

    def _acquire(self, request_hash: str) -> store.StoredAnswer | None:
        runtime = self.runtime
        for attempt in range(2):
            try:
                with runtime.transaction() as session:
                    return self._answers(session).claim(
                        self.app_id,
                        self.key,
                        request_hash,
                        runtime.clock(),
                        ttl(runtime),
                        purpose=self.label.purpose,
                        elements=self.label.elements,
                    )
            except IntegrityError:
                if attempt:
                    break  # lost the insert race twice: the other request holds it
        raise IdempotencyKeyInProgress(retry_after=1)

    async def finish(self, captured: Captured) -> None:
        """Keeps a 2xx answer; releases the key otherwise. A failure here never loses the answer."""
        try:
            await anyio.to_thread.run_sync(self._finish, captured)
        except Exception:
            log.exception("idempotent answer not stored")
            await self.release()

    def _finish(self, captured: Captured) -> None:
        with self.runtime.transaction() as session:
            if captured.complete and 200 <= captured.status < 300:
                self._answers(session).complete(
                    self.app_id,
                    self.key,
                    captured.status,
                    captured.header("content-type"),
                    captured.body,
                    purpose=self.label.purpose,
                    elements=self.label.elements,
                )
            else:
                self._answers(session).release(self.app_id, self.key, purpose=self.label.purpose)

    async def release(self) -> None:
        def run() -> None:
            with self.runtime.transaction() as session:
                self._answers(session).release(self.app_id, self.key, purpose=self.label.purpose)

        try:
            await anyio.to_thread.run_sync(run)
        except Exception:
            log.exception("idempotency key not released")


class Captured:
    """An answer held back (start message and body) until it is stored."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        self.complete = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True

    @property
    def status(self) -> int:
        return int(self.start["status"]) if self.start else 500

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def header(self, name: str) -> str | None:
        for raw_name, raw_value in (self.start or {}).get("headers", []):
            if raw_name.decode("latin-1").lower() == name:
                return str(raw_value.decode("latin-1"))
        return None

    async def forward(self, send: Send) -> None:
        if self.start is None:
            return
        await send(self.start)
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


async def replay(answer: store.StoredAnswer, send: Send) -> None:
    headers = [
        (b"content-length", str(len(answer.body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    if answer.content_type:
        headers.append((b"content-type", answer.content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": answer.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})
