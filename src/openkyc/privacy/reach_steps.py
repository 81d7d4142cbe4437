"""Subject rights over stored files (blobs), consents and consented model-improvement items.

The blob store lives in :mod:`openkyc.store` (below privacy), so its step is registered here. The
export carries each file decrypted (:class:`~openkyc.privacy.reach.MediaFile`); erasure queues the
blob ids on the context and :mod:`openkyc.compliance` deletes rows and files at the end, together
with the blobs other steps queued (an enrolment's image, a hosted session's reference photo).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from sqlalchemy import ColumnElement, delete, select

from openkyc.privacy.crypto import DecryptionError, sealed_key_id
from openkyc.privacy.datamap import covers_of, plain_of
from openkyc.privacy.reach import (
    REACH,
    ColumnUse,
    EndUser,
    Found,
    MediaFile,
    ReachContext,
    Target,
    WholeAccount,
    deletion_time,
)
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose, RetentionKind
from openkyc.store.idempotency import _aad as idempotency_aad
from openkyc.store.models.idempotency import IdempotentRequest
from openkyc.store.models.media import Blob
from openkyc.store.models.privacy import Consent, ModelImprovementItem
from openkyc.store.subject_keys import subject_keys_for

__all__ = [
    "BLOB_ELEMENTS",
    "BLOB_RETENTION",
    "BlobReach",
    "ConsentReach",
    "IdempotencyReach",
    "media_file",
    "media_type_of",
]

BLOB_ELEMENTS = {
    "face_image": DataElement.FACE_IMAGE,
    "best_frame": DataElement.FACE_IMAGE,
    "video": DataElement.FACE_VIDEO,
    "document_image": DataElement.DOCUMENT_IMAGE,
}
BLOB_RETENTION = {
    "face_image": RetentionKind.FACE_IMAGE,
    "best_frame": RetentionKind.FACE_IMAGE,
    "video": RetentionKind.FACE_VIDEO,
    "document_image": RetentionKind.DOCUMENT_IMAGE,
}
_SERVICE = (Purpose.PROVIDE_FEATURES, Purpose.TROUBLESHOOTING)
_RECORD = ColumnUse.of(DataElement.CONSENT_RECORD)


def media_type_of(data: bytes) -> tuple[str, str]:
    """``(media type, file extension)`` from a file's first bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    if data[4:8] == b"ftyp":
        return "video/mp4", "mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm", "webm"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "video/x-msvideo", "avi"
    return "application/octet-stream", "bin"


def media_file(ctx: ReachContext, app_id: int, blob_id: str) -> MediaFile | None:
    """The decrypted file of a blob for the export archive, or ``None`` when the file is gone."""
    data = ctx.read_blob(app_id, blob_id)
    if data is None:
        return None
    media_type, extension = media_type_of(data)
    return MediaFile(f"media/{blob_id}.{extension}", media_type, data)


def _improvement(ctx: ReachContext, target: EndUser) -> list[ModelImprovementItem]:
    if target.subject_id is None:
        return []
    return list(
        ctx.session.scalars(
            select(ModelImprovementItem)
            .where(
                ModelImprovementItem.app_id == target.app_id,
                ModelImprovementItem.subject_id == ctx.subject_ref(target.app_id, target.subject_id),
            )
            .order_by(ModelImprovementItem.id)
        )
    )


@REACH.register
class BlobReach:
    name = "store.blobs"
    order = 40
    # the columns come from the one data map (openkyc.privacy.datamap.TABLES: reach="store.blobs")
    covers: Mapping[str, Mapping[str, ColumnUse]] = covers_of("store.blobs")
    plain: Mapping[str, tuple[str, ...]] = plain_of("store.blobs")

    def _rows(self, ctx: ReachContext, target: Target) -> list[Blob]:
        if isinstance(target, EndUser) and target.subject_id is not None:
            ref = ctx.subject_ref(target.app_id, target.subject_id)
            query = select(Blob).where(Blob.app_id == target.app_id, Blob.subject_id == ref)
        elif isinstance(target, WholeAccount) and target.app_ids:
            query = select(Blob).where(Blob.app_id.in_(target.app_ids))
        else:
            return []
        return list(ctx.session.scalars(query.order_by(Blob.created_at, Blob.id)))

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]:
        if not isinstance(target, EndUser):
            return
        improvement = {item.blob_ref: item for item in _improvement(ctx, target)}
        rows = self._rows(ctx, target)
        if rows:  # the files are filed under the subject id
            yield Found(
                table="blobs",
                column="subject_id",
                use=_RECORD,
                kind="stored_file",
                source="given by the customer with the files",
                purposes=ctx.purposes(None, DataCategory.IDENTIFICATION, _SERVICE),
                value={"subject_id": target.subject_id, "files": len(rows)},
            )
        for blob in rows:
            element = BLOB_ELEMENTS.get(blob.kind, DataElement.FACE_IMAGE)
            item = improvement.get(blob.id)
            retention = RetentionKind.MODEL_IMPROVEMENT_ITEM if item else BLOB_RETENTION.get(blob.kind)
            media = media_file(ctx, blob.app_id, blob.id)
            yield Found(
                table="blobs",
                column="id",
                use=ColumnUse.of(element),
                kind="model_improvement_item" if item else blob.kind,
                source=(
                    "given by the customer for the consented evaluation set (POST /v1/improvement/samples)"
                    if item
                    else "given by the customer or captured during a verification"
                ),
                purposes=ctx.purposes(element, element.category, (Purpose.MODEL_IMPROVEMENT,) if item else _SERVICE),
                value={
                    "blob_id": blob.id,
                    "bytes": blob.size,
                    "dataset": item.kind if item else None,
                    "file": media.name if media else None,
                    "media_type": media.media_type if media else None,
                },
                record=blob.id,
                created_at=blob.created_at,
                expires_at=deletion_time(ctx.policy, retention, blob.created_at, blob.expires_at),
                file=media,
                retention=retention,
            )

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]:
        ctx.blob_ids.update(blob.id for blob in self._rows(ctx, target))
        return {}  # counted once, when compliance deletes every queued blob


@REACH.register
class ConsentReach:
    name = "privacy.consents"
    order = 50
    # the columns come from the one data map (openkyc.privacy.datamap.TABLES: reach="privacy.consents")
    covers: Mapping[str, Mapping[str, ColumnUse]] = covers_of("privacy.consents")
    plain: Mapping[str, tuple[str, ...]] = plain_of("privacy.consents")

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]:
        if not isinstance(target, EndUser) or target.subject_id is None:
            return
        consents = ctx.session.scalars(
            select(Consent)
            .where(
                Consent.app_id == target.app_id, Consent.subject_id == ctx.subject_ref(target.app_id, target.subject_id)
            )
            .order_by(Consent.granted_at, Consent.id)
        )
        for consent in consents:
            for column in ("subject_id", "purpose", "text_version", "granted_at", "withdrawn_at"):
                value = target.subject_id if column == "subject_id" else getattr(consent, column)  # stored hashed
                yield Found(
                    table="consents",
                    column=column,
                    use=_RECORD,
                    kind="consent",
                    source="recorded by the customer (POST /v1/privacy/consents)",
                    purposes=(),  # kept as proof of consent (GDPR Art. 7(1)), used for no purpose
                    value={
                        "consent_id": consent.id,
                        column: value.isoformat() if hasattr(value, "isoformat") else value,
                    },
                    record=str(consent.id),
                    created_at=consent.granted_at,
                    expires_at=None,
                )
        for item in _improvement(ctx, target):
            for column, value in (("subject_id", target.subject_id), ("kind", item.kind), ("blob_ref", item.blob_ref)):
                use = self.covers["model_improvement_items"][column]
                yield Found(
                    table="model_improvement_items",
                    column=column,
                    use=use,
                    kind="model_improvement_item",
                    source="given by the customer for the consented evaluation set (POST /v1/improvement/samples)",
                    purposes=ctx.purposes(use.element, use.category, (Purpose.MODEL_IMPROVEMENT,)),
                    value={"item_id": item.id, "consent_id": item.consent_id, column: value},
                    record=str(item.id),
                    created_at=item.created_at,
                    expires_at=deletion_time(ctx.policy, RetentionKind.MODEL_IMPROVEMENT_ITEM, item.created_at),
                    retention=RetentionKind.MODEL_IMPROVEMENT_ITEM,
                )

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]:
        if isinstance(target, EndUser) and target.subject_id is not None:
            items = _improvement(ctx, target)
            consent_filter: tuple[ColumnElement[bool], ...] = (
                Consent.app_id == target.app_id,
                Consent.subject_id == ctx.subject_ref(target.app_id, target.subject_id),
            )
        elif isinstance(target, WholeAccount) and target.app_ids:
            items = list(
                ctx.session.scalars(select(ModelImprovementItem).where(ModelImprovementItem.app_id.in_(target.app_ids)))
            )
            consent_filter = (Consent.app_id.in_(target.app_ids),)
        else:
            return {}
        items = ctx.delete_rows(items)  # only those this erasure removed
        ctx.blob_ids.update(item.blob_ref for item in items)
        result = ctx.session.execute(delete(Consent).where(*consent_filter))
        return {"consents": int(getattr(result, "rowcount", 0) or 0), "model_improvement_items": len(items)}


def _mentions(value: object, needles: set[str]) -> bool:
    if isinstance(value, str):
        return value in needles
    if isinstance(value, dict):
        return any(_mentions(v, needles) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, needles) for v in value)
    return False


@REACH.register
class IdempotencyReach:
    """Answers kept for retried writes (``Idempotency-Key``): an answer that names the person (their
    subject id, one of their sessions or verification results) is exported and erased."""

    name = "store.idempotent_answers"
    order = 60  # after the verification steps, which note the verification ids
    # the columns come from the one data map (openkyc.privacy.datamap.TABLES: reach="store.idempotent_answers")
    covers: Mapping[str, Mapping[str, ColumnUse]] = covers_of("store.idempotent_answers")
    plain: Mapping[str, tuple[str, ...]] = plain_of("store.idempotent_answers")

    def _rows(self, ctx: ReachContext, target: Target) -> list[tuple[IdempotentRequest, object]]:
        if isinstance(target, WholeAccount) and target.app_ids:
            rows = ctx.session.scalars(select(IdempotentRequest).where(IdempotentRequest.app_id.in_(target.app_ids)))
            return [(row, None) for row in rows]
        if not isinstance(target, EndUser):
            return []
        needles = {*target.biz_tokens, *ctx.linked_ids}
        if target.subject_id is not None:
            needles.add(target.subject_id)
        found = []
        for row in ctx.session.scalars(
            select(IdempotentRequest).where(
                IdempotentRequest.app_id == target.app_id, IdempotentRequest.response_enc.is_not(None)
            )
        ):
            try:
                body = json.loads(ctx.keyring.decrypt(row.response_enc or b"", idempotency_aad(row.app_id, row.key)))
            except (ValueError, DecryptionError):
                continue
            if _mentions(body, needles):
                found.append((row, body))
        return found

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]:
        if not isinstance(target, EndUser):
            return
        use = self.covers["idempotency_keys"]["response_enc"]
        for row, body in self._rows(ctx, target):
            yield Found(
                table="idempotency_keys",
                column="response_enc",
                use=use,
                kind="stored_answer",
                source="the service's answer to a retried call (Idempotency-Key), kept for replays",
                purposes=ctx.purposes(use.element, use.category, (Purpose.PROVIDE_FEATURES,)),
                value={"idempotency_key": row.key, "answer": body},
                record=row.key,
                created_at=row.created_at,
                expires_at=row.expires_at,
            )

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]:
        rows = ctx.delete_rows(row for row, _ in self._rows(ctx, target))  # only those this erasure removed
        by_app: dict[int, list[str]] = {}
        for row in rows:
            if row.response_enc is not None:
                by_app.setdefault(row.app_id, []).append(sealed_key_id(bytes(row.response_enc)))
        # each answer has a record key of its own: destroyed now, so its copies (WAL, backups) stop opening
        keys = subject_keys_for(ctx.session)
        destroyed = sum(keys.destroy_records(app_id, key_ids) for app_id, key_ids in by_app.items())
        return {"stored_answers": len(rows), "answer_keys_destroyed": destroyed}
