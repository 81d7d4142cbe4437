"""How far data-subject rights reach: the steps each context contributes, and their contract.

Every context that stores personal data contributes a :class:`ReachStep` (in a module named
``reach`` or ``reach_*`` inside the context, registered with ``@REACH.register``). A step knows
its own tables: it *exports* what it holds about a :data:`Target` as :class:`Found` values (one per
stored column or sealed field, decrypted, with any image or video as a :class:`MediaFile`) and
*erases* it, returning counts per kind. :mod:`openkyc.compliance` runs every registered step. The
columns a step covers are not declared here but in the one data map
(:data:`openkyc.privacy.datamap.TABLES`, ``reach=<step name>``); a test walks the SQLAlchemy
schema against it and fails for a column it does not classify or that no step exports and erases.

Targets (the people, or the whole customer, the request is about):

* :class:`EndUser`: an end user of one app, by ``subject_id`` and/or the hosted sessions
  (``biz_tokens``) the customer says were theirs;
* :class:`StaffUser`: a user of the customer's own account (console user);
* :class:`WholeAccount`: offboarding: the account and every one of its apps.

Steps read and write tables directly, not through the purpose-gated repositories: answering a
data subject is a legal obligation (GDPR Art. 6(1)(c), 12-20), not a purpose the policy can
refuse, so a narrower policy never blocks an export or an erasure. Each run is audited instead.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete, inspect
from sqlalchemy.orm import Session

from openkyc.errors import ResourceNotFound
from openkyc.privacy.crypto import DecryptionError, Keyring, sealed_key_id
from openkyc.privacy.datamap import ColumnUse
from openkyc.privacy.gate import PurposeGate
from openkyc.privacy.policy import Policy
from openkyc.privacy.vocabulary import DataCategory, DataElement, LegalBasis, Obligation, Purpose, RetentionKind
from openkyc.store.blobs import BlobStore
from openkyc.store.subject_keys import subject_keys_for

__all__ = [
    "REACH",
    "ColumnUse",
    "EndUser",
    "Found",
    "MediaFile",
    "ReachContext",
    "ReachRegistry",
    "ReachStep",
    "StaffUser",
    "Target",
    "WholeAccount",
    "deletion_time",
    "staff_reference",
]

_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)
_Row = TypeVar("_Row")


@dataclass(frozen=True)
class EndUser:
    """An end user of one app: rows carrying ``subject_id``, and the hosted sessions named."""

    app_id: int
    subject_id: str | None = _field(default=None, repr=False)
    biz_tokens: tuple[str, ...] = _field(default=(), repr=False)


@dataclass(frozen=True)
class StaffUser:
    """A console user of the customer's account."""

    account_id: int
    user_id: int


@dataclass(frozen=True)
class WholeAccount:
    """An account and all of its apps (offboarding)."""

    account_id: int
    app_ids: tuple[int, ...]


Target = EndUser | StaffUser | WholeAccount


@dataclass(frozen=True)
class MediaFile:
    """An image or video, decrypted, for the export archive."""

    name: str
    media_type: str
    data: bytes = _field(repr=False)


@dataclass(frozen=True)
class Found:
    """One stored value about the target: where it is, what it is, why and until when it is held."""

    table: str
    column: str
    use: ColumnUse
    kind: str
    source: str
    purposes: tuple[Purpose, ...]
    value: Any = _field(repr=False)
    record: str | None = None  # the row's id (verification id, blob id, ...)
    field: str | None = None  # a field inside a sealed JSON column
    created_at: datetime | None = None
    expires_at: datetime | None = None
    file: MediaFile | None = _field(default=None, repr=False)
    retention: RetentionKind | None = None


@dataclass
class ReachContext:
    """What steps get: one transaction's session, keys, blobs, the policy and the time."""

    session: Session
    keyring: Keyring
    blobs: BlobStore
    policy: Policy
    now: datetime
    salt: bytes = _field(repr=False)
    gate: PurposeGate = _field(repr=False)  # for repositories the steps use (obligations: never refused)
    blob_ids: set[str] = _field(default_factory=set)  # blobs to delete at the end of an erasure
    # noted by the verification steps for the call-record step: the calls that produced the
    # target's results, and the hosted pages' lifetimes (app id, opened, closed)
    request_ids: set[str] = _field(default_factory=set)
    linked_ids: set[str] = _field(default_factory=set)  # verification ids of the target's results
    hosted_windows: list[tuple[int, datetime, datetime]] = _field(default_factory=list)

    def subject_ref(self, app_id: int, subject_id: str) -> str:
        """What the tables hold instead of the subject id (a keyed hash, openkyc.store.subject_keys)."""
        return subject_keys_for(self.session).subject_ref(app_id, subject_id)

    def token_refs(self, tokens: Iterable[str]) -> dict[str, str]:
        """Stored keyed hash -> BizToken, for the tokens the customer named."""
        keys = subject_keys_for(self.session)
        return {keys.token_ref(token): token for token in tokens}

    def opens(self, token: bytes | None) -> bool:
        """Whether a sealed value can still be opened (False once its subject's key is destroyed)."""
        return token is not None and self.keyring.key_for(sealed_key_id(token)) is not None

    def purposes(
        self, element: DataElement | None, category: DataCategory, used_for: Iterable[Purpose]
    ) -> tuple[Purpose, ...]:
        """The purposes the service uses the value for, as far as the policy in force allows them."""
        allowed = self.policy.allowed_purposes(element if element is not None else category)
        return tuple(p for p in Purpose if p in set(used_for) and p in allowed)

    def legal_basis(self, purposes: Iterable[Purpose], element: DataElement | None) -> tuple[LegalBasis, ...]:
        bases: list[LegalBasis] = []
        for purpose in purposes:
            spec = self.policy.purposes[purpose]
            chosen = spec.legal_basis
            if element is not None and self.policy.needs_consent(purpose, element):
                chosen = (*spec.legal_basis, *spec.sensitive_legal_basis)
            bases.extend(b for b in chosen if b not in bases)
        return tuple(bases)

    def delete_rows(self, rows: Iterable[_Row]) -> list[_Row]:
        """Delete ``rows`` by primary key; returns those this transaction deleted.

        Another erasure of the same person running at the same moment may have deleted some of them
        after they were read: those are left out, so each receipt counts only what its own erasure
        removed (an ORM ``session.delete`` would count them again, with only a warning).
        """
        gone: list[_Row] = []
        for row in rows:
            mapper = inspect(row).mapper
            key = zip(mapper.primary_key, mapper.primary_key_from_instance(row), strict=True)
            result = self.session.execute(
                delete(mapper.class_)
                .where(*(column == value for column, value in key))
                .execution_options(synchronize_session=False)
            )
            if int(getattr(result, "rowcount", 0) or 0) == 1:
                gone.append(row)
            self.session.expunge(row)
        return gone

    def read_blob(self, app_id: int, blob_id: str) -> bytes | None:
        """A blob's plain content, or ``None`` when its file is gone (export only)."""
        try:  # an expired blob the sweep has not removed yet is still held, so still exported
            return self.blobs.get(self.session, app_id, blob_id, now=_LONG_AGO, purpose=Obligation.SUBJECT_RIGHTS)
        except (ResourceNotFound, DecryptionError):
            return None


def staff_reference(salt: bytes, account_id: int, user_id: int) -> str:
    """The pseudonym naming a console user in the audit log (``staff-`` and 16 hex characters).

    A keyed hash: once the user is erased nothing maps it back to a person, and the audit chain,
    which never held the user name, stays intact.
    """
    digest = hmac.new(salt, f"staff\x1f{account_id}\x1f{user_id}".encode(), hashlib.sha256).hexdigest()
    return "staff-" + digest[:16]


def deletion_time(
    policy: Policy, kind: RetentionKind | None, created_at: datetime | None, row_expiry: datetime | None = None
) -> datetime | None:
    """When a value is deleted at the latest: its row's own expiry or the policy's period, earlier first."""
    candidates = [t for t in (row_expiry,) if t is not None]
    if kind is not None and created_at is not None:
        candidates.append(created_at + timedelta(hours=policy.max_retention_hours(kind)))
    return min(candidates) if candidates else None


class ReachStep(Protocol):
    """One context's share of subject rights."""

    name: str
    # table -> column -> what it holds: the personal-data columns this step exports and erases
    covers: Mapping[str, Mapping[str, ColumnUse]]
    # table -> columns of those tables that hold no personal data (ids, sizes, states, keys' ids)
    plain: Mapping[str, tuple[str, ...]]
    order: int  # erasure order: lower first (accounts, whose deletion cascades, go last)

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]: ...

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]: ...


S = TypeVar("S")


class ReachRegistry:
    """The registered steps, in erasure order; filled by ``@REACH.register`` on step classes."""

    def __init__(self) -> None:
        self._steps: dict[str, ReachStep] = {}

    def register(self, cls: Callable[[], S]) -> Callable[[], S]:
        step = cls()
        name = getattr(step, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError("a reach step needs a name")
        self._steps[name] = step  # type: ignore[assignment]
        return cls

    @property
    def steps(self) -> tuple[ReachStep, ...]:
        return tuple(sorted(self._steps.values(), key=lambda s: (s.order, s.name)))

    def covered(self) -> dict[str, dict[str, ColumnUse]]:
        """Every covered personal-data column: table -> column -> use."""
        out: dict[str, dict[str, ColumnUse]] = {}
        for step in self.steps:
            for table, columns in step.covers.items():
                out.setdefault(table, {}).update(columns)
        return out

    def plain(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for step in self.steps:
            for table, columns in step.plain.items():
                out.setdefault(table, set()).update(columns)
        return out

    def discover(self, package: str = "openkyc", prefix: str = "reach") -> list[str]:
        """Import every module of ``package`` whose last name starts with ``prefix`` (registration
        happens at import). Returns the modules imported."""
        root: Any = importlib.import_module(package)
        imported: list[str] = []
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if info.name.rsplit(".", 1)[-1].startswith(prefix):
                importlib.import_module(info.name)
                imported.append(info.name)
        return imported


REACH = ReachRegistry()
