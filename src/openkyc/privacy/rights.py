"""Subject rights over one app's data: access (export) and erasure, each audited.

The export lists every item held about the subject with its category, element, purposes and
expiry: enrolments (identification fields decrypted through ``SubjectRepository.of_subject``),
stored blobs (metadata, never content), consents and model-improvement items. Erasure removes the
subject from every collection (the 1:N index follows through ``index_events``), deletes the blobs,
consents and consented items, and stores an :class:`~openkyc.privacy.subjects.ErasureReceipt`
that names the subject only by a salted hash. On SQLite, deleted pages are zeroed
(``secure_delete``) and the WAL is checkpointed, so the subject's rows do not linger in the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from openkyc.biometrics.repository import IDENTIFICATION_FIELDS, SubjectRepository
from openkyc.privacy import audit
from openkyc.privacy.consent import ConsentRepository
from openkyc.privacy.service import subject_salt
from openkyc.privacy.subjects import ExportItem, SubjectExport, export_item, new_receipt, save_receipt
from openkyc.privacy.vocabulary import DataElement, Purpose
from openkyc.runtime import Runtime
from openkyc.store.models.privacy import ModelImprovementItem
from openkyc.verification.repository import ResultRepository

__all__ = ["BLOB_ELEMENTS", "SubjectRights"]

BLOB_ELEMENTS = {
    "face_image": DataElement.FACE_IMAGE,
    "best_frame": DataElement.FACE_IMAGE,
    "video": DataElement.FACE_VIDEO,
    "document_image": DataElement.DOCUMENT_IMAGE,
}
_FIELD_ELEMENTS = {
    "name": DataElement.NAME,
    "id_number": DataElement.ID_NUMBER,
    "date_of_birth": DataElement.DATE_OF_BIRTH,
    "address": DataElement.ADDRESS,
    "country": DataElement.COUNTRY,
}
_SERVICE = (Purpose.PROVIDE_FEATURES, Purpose.TROUBLESHOOTING)


@dataclass
class SubjectRights:
    runtime: Runtime
    app_id: int
    actor: str

    def _repo(self, session: Session) -> SubjectRepository:
        return SubjectRepository(session, self.runtime.gate, self.runtime.keyring)

    def export(self, subject_id: str) -> dict[str, Any]:
        """Everything held about ``subject_id`` in this app (``GET /v1/privacy/subjects/{id}``)."""
        policy = self.runtime.gate.policy
        items: list[ExportItem] = []
        with self.runtime.transaction() as session:
            for enrolment in self._repo(session).of_subject(self.app_id, subject_id, purpose=Purpose.PROVIDE_FEATURES):
                where = {"collection_id": enrolment["collection_id"]}
                items.append(
                    export_item(
                        policy,
                        DataElement.TEMPLATE,
                        {**where, **enrolment["template"]},
                        kind="face_template",
                        purposes=_SERVICE,
                    )
                )
                for field in IDENTIFICATION_FIELDS:
                    value = (enrolment["identification"] or {}).get(field)
                    if value is not None:
                        items.append(
                            export_item(
                                policy,
                                _FIELD_ELEMENTS[field],
                                {**where, field: value},
                                kind="identification",
                                purposes=_SERVICE,
                            )
                        )
            results = ResultRepository(session, self.runtime.gate, self.runtime.keyring)
            for stored in results.of_subject(self.app_id, subject_id, purpose=Purpose.PROVIDE_FEATURES):
                where = {"verification_id": stored["verification_id"]}
                items.append(
                    export_item(
                        policy,
                        DataElement.OPERATION_STATUS,
                        {**where, "kind": stored["kind"], "Result": stored["Result"], "sim": stored["sim"]},
                        kind="verification_result",
                        purposes=_SERVICE,
                    )
                )
                for field, value in (stored["identification"] or {}).items():
                    element = _FIELD_ELEMENTS.get(field)
                    if element is not None and value is not None:
                        items.append(
                            export_item(
                                policy, element, {**where, field: value}, kind="identification", purposes=_SERVICE
                            )
                        )
            improvement = dict(self._improvement_rows(session, subject_id))
            for blob in self.runtime.blobs.of_subject(session, self.app_id, subject_id):
                row = improvement.get(blob.id)
                items.append(
                    export_item(
                        policy,
                        BLOB_ELEMENTS.get(blob.kind, DataElement.FACE_IMAGE),
                        {"blob_id": blob.id, "bytes": blob.size, "dataset": row.kind if row else None},
                        kind="model_improvement_item" if row else blob.kind,
                        purposes=(Purpose.MODEL_IMPROVEMENT,) if row else _SERVICE,
                        created_at=blob.created_at,
                        expires_at=blob.expires_at,
                    )
                )
            consents = [
                {
                    "consent_id": c.id,
                    "purpose": c.purpose.value,
                    "text_version": c.text_version,
                    "granted_at": c.granted_at.isoformat(),
                    "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
                }
                for c in ConsentRepository(session).history(self.app_id, subject_id)
            ]
            now = self.runtime.clock()
            result = SubjectExport(
                app_id=self.app_id,
                subject_id=subject_id,
                generated_at=now,
                items=tuple(items),
                consents=tuple(consents),
            )
            audit.append(
                session,
                audit.AuditEvent.EXPORT,
                actor=self.actor,
                app_id=self.app_id,
                now=now,
                details={
                    "items": len(items),
                    "consents": len(consents),
                    "categories": sorted(c.value for c in result.categories()),
                },
            )
        return result.model_dump(mode="json")

    def _improvement_rows(self, session: Session, subject_id: str) -> list[tuple[str, ModelImprovementItem]]:
        rows = session.scalars(
            select(ModelImprovementItem).where(
                ModelImprovementItem.app_id == self.app_id, ModelImprovementItem.subject_id == subject_id
            )
        )
        return [(row.blob_ref, row) for row in rows]

    def erase(self, subject_id: str) -> dict[str, Any]:
        """Erase the subject everywhere in this app; returns the stored receipt (no personal data)."""
        requested_at = self.runtime.clock()
        with self.runtime.transaction() as session:
            sqlite = session.get_bind().dialect.name == "sqlite"
            if sqlite:
                session.execute(text("PRAGMA secure_delete=ON"))
            repo = self._repo(session)
            enrolments = repo.of_subject(self.app_id, subject_id, purpose=Purpose.PROVIDE_FEATURES)
            consents = ConsentRepository(session, clock=self.runtime.clock)
            refs = set(consents.item_refs(self.app_id, subject_id))
            refs |= {e["image_blob_id"] for e in enrolments if e["image_blob_id"]}
            refs |= {b.id for b in self.runtime.blobs.of_subject(session, self.app_id, subject_id)}
            subjects = repo.erase_subject(
                self.app_id, subject_id, now=self.runtime.clock(), purpose=Purpose.PROVIDE_FEATURES
            )
            removed = consents.erase_subject(self.app_id, subject_id)
            results = ResultRepository(session, self.runtime.gate, self.runtime.keyring).erase_subject(
                self.app_id, subject_id, purpose=Purpose.PROVIDE_FEATURES
            )
            blobs = sum(self.runtime.blobs.delete(session, ref) for ref in sorted(refs))
            receipt = new_receipt(
                salt=subject_salt(self.runtime.keyring),
                app_id=self.app_id,
                subject_id=subject_id,
                items={
                    "subjects": subjects,
                    "index_entries": subjects,
                    "blobs": blobs,
                    "consents": removed["consents"],
                    "model_improvement_items": removed["model_improvement_items"],
                    "verification_results": results,
                    # call records hold no subject ids today (app, credential, route template, status)
                    "call_records_pseudonymised": 0,
                },
                requested_at=requested_at,
                completed_at=max(self.runtime.clock(), requested_at),
            )
            save_receipt(session, receipt)
            audit.append(
                session,
                audit.AuditEvent.ERASURE,
                actor=self.actor,
                app_id=self.app_id,
                now=receipt.completed_at,
                details=receipt.audit_details(),
            )
        self._after_erase(sqlite)
        return receipt.model_dump(mode="json")

    def _after_erase(self, sqlite: bool) -> None:
        """Drop the subject from this process's 1:N index and flush SQLite's WAL into the zeroed file."""
        with self.runtime.transaction() as session:
            self.runtime.face_index.sync(session, self._repo(session), self.app_id)
        if sqlite:
            with self.runtime.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA secure_delete=ON")
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
