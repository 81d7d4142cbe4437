"""Subject rights: access/portability (export) and erasure, for end users, staff and accounts.

:class:`SubjectRights` runs every registered step (:mod:`openkyc.compliance.registry`) in one short
transaction and audits the answer. Answering a person is a legal obligation (GDPR Art. 6(1)(c),
Art. 12-20), not one of the policy's purposes: the steps read the tables directly rather than
through the purpose-gated repositories, so a narrower policy never refuses an export or an
erasure (the export reports, per item, the purposes the policy in force still allows).

Erasure deletes rows and blob files, stores an :class:`~openkyc.compliance.subjects.ErasureReceipt`
(kinds and counts; the person only as a keyed hash) and appends an ``erasure`` audit record. On
SQLite deleted pages are zeroed (``secure_delete``) and the WAL is checkpointed afterwards. The
1:N index of this process follows at once (``index_events``), other processes at their next sync.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.search import IndexManager
from openkyc.compliance.registry import steps
from openkyc.compliance.subjects import ErasureReceipt, ExportFile, ExportItem, SubjectExport, new_receipt, save_receipt
from openkyc.errors import ResourceNotFound
from openkyc.privacy import audit
from openkyc.privacy.access import DataAccess
from openkyc.privacy.reach import EndUser, Found, MediaFile, ReachContext, StaffUser, Target, WholeAccount
from openkyc.privacy.service import subject_salt
from openkyc.privacy.vocabulary import DataElement, Obligation, Purpose
from openkyc.store import db
from openkyc.store.models.accounts import Account, App, User
from openkyc.store.subject_keys import SUBJECT_TABLES, SubjectKeys, subject_keys_of

__all__ = ["AccountErasure", "RightsExport", "SubjectRights"]

ACCOUNT_SCOPE = 0  # the app_id of receipts for staff users and whole accounts


@dataclass(frozen=True)
class RightsExport:
    """An export and its files (kept out of the JSON answer; the ZIP archive carries them)."""

    export: SubjectExport
    files: tuple[MediaFile, ...]


@dataclass(frozen=True)
class AccountErasure:
    receipt: ErasureReceipt
    app_ids: tuple[int, ...]


@dataclass
class SubjectRights:
    """Export and erasure over every context, audited under ``actor``."""

    data: DataAccess
    actor: str
    index: IndexManager | None = None

    # --- plumbing --------------------------------------------------------------------------------

    def _context(self, session: Session) -> ReachContext:
        return ReachContext(
            session=session,
            keyring=self.data.keyring,
            blobs=self.data.blobs,
            policy=self.data.gate.policy,
            now=self.data.clock(),
            salt=subject_salt(self.data.keyring),
            gate=self.data.gate,
        )

    def _item(self, ctx: ReachContext, found: Found) -> ExportItem:
        return ExportItem(
            category=found.use.category,
            element=found.use.element,
            purposes=found.purposes,
            legal_basis=ctx.legal_basis(found.purposes, found.use.element),
            kind=found.kind,
            source=found.source,
            table=found.table,
            column=found.column,
            field=found.field,
            record=found.record,
            created_at=found.created_at,
            expires_at=found.expires_at,
            retention=found.retention,
            file=found.file.name if found.file else None,
            value=found.value,
        )

    def _collect(self, session: Session, target: Target) -> tuple[ReachContext, list[Found]]:
        ctx = self._context(session)
        found: list[Found] = []
        for step in steps():
            found.extend(step.export(ctx, target))
        return ctx, found

    # --- export ----------------------------------------------------------------------------------

    def export(self, target: EndUser | StaffUser) -> RightsExport:
        """Everything held about the person, decrypted, with purpose, basis, source and expiry."""
        with self.data.transaction() as session:
            if isinstance(target, StaffUser):
                self._user(session, target)
            ctx, found = self._collect(session, target)
            items = tuple(self._item(ctx, f) for f in found)
            files: dict[str, MediaFile] = {f.file.name: f.file for f in found if f.file is not None}
            consents = _consents(items)
            result = SubjectExport(
                target="staff_user" if isinstance(target, StaffUser) else "end_user",
                app_id=target.app_id if isinstance(target, EndUser) else None,
                subject_id=target.subject_id if isinstance(target, EndUser) else None,
                biz_tokens=target.biz_tokens if isinstance(target, EndUser) else (),
                account_id=target.account_id if isinstance(target, StaffUser) else None,
                user_id=target.user_id if isinstance(target, StaffUser) else None,
                generated_at=ctx.now,
                items=items,
                consents=consents,
                files=tuple(ExportFile(name=n, media_type=f.media_type, bytes=len(f.data)) for n, f in files.items()),
            )
            audit.append(
                session,
                audit.AuditEvent.EXPORT,
                actor=self.actor,
                app_id=result.app_id,
                now=ctx.now,
                details={
                    "target": result.target,
                    "items": len(items),
                    "files": len(files),
                    "consents": len(consents),
                    "categories": sorted(c.value for c in result.categories()),
                    "basis": "legal_obligation",
                },
            )
        return RightsExport(result, tuple(files.values()))

    # --- erasure ---------------------------------------------------------------------------------

    def erase(self, target: EndUser | StaffUser) -> ErasureReceipt:
        """Erase the person everywhere in reach; returns the stored receipt (no personal data)."""
        if isinstance(target, EndUser):
            app_id, reference = target.app_id, _end_user_reference(target)
        else:
            app_id, reference = ACCOUNT_SCOPE, f"staff\x1f{target.account_id}\x1f{target.user_id}"
            with self.data.transaction() as session:
                self._user(session, target)
        receipt = self._erase(target, app_id, reference)
        return receipt

    def erase_account(self, account_id: int) -> AccountErasure:
        """Offboarding: the account, all its apps' data and its users, with one receipt."""
        with self.data.transaction() as session:
            if session.get(Account, account_id) is None:
                raise ResourceNotFound("The account does not exist.", code="ResourceNotFound.Account")
            app_ids = tuple(session.scalars(select(App.id).where(App.account_id == account_id).order_by(App.id)))
        target = WholeAccount(account_id, app_ids)
        receipt = self._erase(target, ACCOUNT_SCOPE, f"account\x1f{account_id}")
        return AccountErasure(receipt, app_ids)

    def _erase(self, target: Target, app_id: int, reference: str) -> ErasureReceipt:
        requested_at = self.data.clock()
        shredded = _shred(subject_keys_of(self.data.sessions), target)  # first: every copy unreadable at once
        with self.data.transaction() as session:
            sqlite = session.get_bind().dialect.name == "sqlite"
            if sqlite:
                session.execute(text("PRAGMA secure_delete=ON"))
            ctx = self._context(session)
            counts: Counter[str] = Counter()
            if shredded is not None:
                counts["subject_keys_destroyed"] = shredded
            for step in steps():
                counts.update(step.erase(ctx, target))
            counts["blobs"] += sum(
                self.data.blobs.delete(session, blob_id, purpose=Obligation.SUBJECT_RIGHTS)
                for blob_id in sorted(ctx.blob_ids)
            )
            receipt = new_receipt(
                salt=ctx.salt,
                app_id=app_id,
                subject_id=reference,
                items=dict(counts),
                requested_at=requested_at,
                completed_at=max(self.data.clock(), requested_at),
            )
            save_receipt(session, receipt)
            audit.append(
                session,
                audit.AuditEvent.ERASURE,
                actor=self.actor,
                app_id=app_id or None,
                now=receipt.completed_at,
                details={**receipt.audit_details(), "target": _target_name(target), "basis": "legal_obligation"},
            )
        self._after_erase(target, sqlite)
        return receipt

    def _after_erase(self, target: Target, sqlite: bool) -> None:
        """This process's 1:N index drops the erased templates; SQLite's WAL is flushed into the
        zeroed database file."""
        gate = self.data.gate
        if self.index is not None and gate.allows(Purpose.PROVIDE_FEATURES, DataElement.TEMPLATE):
            app_ids = (target.app_id,) if isinstance(target, EndUser) else getattr(target, "app_ids", ())
            with self.data.transaction() as session:
                repo = SubjectRepository(session, gate, self.data.keyring)
                for app_id in app_ids:
                    self.index.sync(session, repo, app_id)
        if sqlite:
            with self.data.sessions() as session:
                connection = session.connection()
                connection.exec_driver_sql("PRAGMA secure_delete=ON")
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.vacuum(self.data.sessions.kw["bind"], SUBJECT_TABLES)  # PostgreSQL: dead tuples leave the pages

    @staticmethod
    def _user(session: Session, target: StaffUser) -> User:
        user = session.get(User, target.user_id)
        if user is None or user.account_id != target.account_id:
            raise ResourceNotFound("The user does not exist.", code="ResourceNotFound.User")
        return user


def _shred(keys: SubjectKeys, target: Target) -> int | None:
    """Crypto-shredding: destroy the keys sealing the target's data; None when keys are not per target."""
    if isinstance(target, EndUser):
        return keys.destroy(target.app_id, target.subject_id) if target.subject_id is not None else None
    if isinstance(target, WholeAccount):
        return sum(keys.destroy_app(app_id) for app_id in target.app_ids)
    return None


def _end_user_reference(target: EndUser) -> str:
    if target.subject_id is not None:
        return target.subject_id  # the same reference as receipts before sessions were in reach
    return "session\x1f" + "\x1f".join(sorted(target.biz_tokens))


def _target_name(target: Target) -> str:
    if isinstance(target, EndUser):
        return "end_user" if target.subject_id is not None else "hosted_session"
    return "staff_user" if isinstance(target, StaffUser) else "account"


def _consents(items: tuple[ExportItem, ...]) -> tuple[dict[str, Any], ...]:
    """The consent history in the shape the JSON answer always had."""
    by_id: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.table != "consents" or item.record is None:
            continue
        entry = by_id.setdefault(item.record, {"consent_id": int(item.record)})
        if item.column in ("purpose", "text_version", "granted_at", "withdrawn_at"):
            entry[item.column] = item.value.get(item.column)
    return tuple(by_id.values())
