"""Subject rights over enrolments: protected templates and the identification given at enrolment.

Registered with :data:`openkyc.privacy.reach.REACH`; run by :mod:`openkyc.compliance`. Removals
append ``index_events`` rows, so every process drops the subject from its 1:N index.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping

from sqlalchemy import select

from openkyc.biometrics.repository import _aad, _id_aad, template_aad
from openkyc.biometrics.templates import FaceTemplate
from openkyc.privacy.datamap import covers_of, plain_of
from openkyc.privacy.reach import (
    REACH,
    ColumnUse,
    EndUser,
    Found,
    ReachContext,
    Target,
    WholeAccount,
    deletion_time,
)
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose, RetentionKind
from openkyc.store.models.faces import IndexEvent, Subject

__all__ = ["IDENTIFICATION_ELEMENTS", "EnrolmentReach", "identification_use"]

# fields given at enrolment or read from a document -> the policy element that names them
IDENTIFICATION_ELEMENTS: dict[str, DataElement] = {
    "name": DataElement.NAME,
    "surname": DataElement.NAME,
    "given_names": DataElement.NAME,
    "full_name": DataElement.NAME,
    "id_number": DataElement.ID_NUMBER,
    "document_number": DataElement.ID_NUMBER,
    "date_of_birth": DataElement.DATE_OF_BIRTH,
    "birth_date": DataElement.DATE_OF_BIRTH,
    "birth_date_iso": DataElement.DATE_OF_BIRTH,
    "address": DataElement.ADDRESS,
    "country": DataElement.COUNTRY,
    "nationality": DataElement.COUNTRY,
    "issuing_state": DataElement.COUNTRY,
}
_SERVICE = (Purpose.PROVIDE_FEATURES, Purpose.TROUBLESHOOTING)
_SOURCE = "given by the customer at enrolment (POST /v1/collections/{id}/subjects)"


def _subject_id(ctx: ReachContext, row: Subject, target: Target) -> str:
    """The subject id of a row: the one asked about, else opened from its sealed copy."""
    if isinstance(target, EndUser) and target.subject_id is not None:
        return target.subject_id
    if row.subject_id_enc is not None and ctx.opens(row.subject_id_enc):
        return ctx.keyring.decrypt(row.subject_id_enc, _id_aad(row.app_id, row.subject_id)).decode()
    return row.subject_id  # shredded: only the keyed hash is left


def identification_use(field: str) -> ColumnUse:
    """The element of an identification field; fields the policy does not name yet (sex, document
    expiry, optional data) are still identification data and are exported all the same."""
    element = IDENTIFICATION_ELEMENTS.get(field)
    return ColumnUse(element, DataCategory.IDENTIFICATION)


@REACH.register
class EnrolmentReach:
    name = "biometrics.enrolments"
    order = 10
    # the columns come from the one data map (openkyc.privacy.datamap.TABLES: reach="biometrics.enrolments")
    covers: Mapping[str, Mapping[str, ColumnUse]] = covers_of("biometrics.enrolments")
    plain: Mapping[str, tuple[str, ...]] = plain_of("biometrics.enrolments")

    def _rows(self, ctx: ReachContext, target: Target) -> list[Subject]:
        if isinstance(target, EndUser) and target.subject_id is not None:
            ref = ctx.subject_ref(target.app_id, target.subject_id)
            query = select(Subject).where(Subject.app_id == target.app_id, Subject.subject_id == ref)
        elif isinstance(target, WholeAccount) and target.app_ids:
            query = select(Subject).where(Subject.app_id.in_(target.app_ids))
        else:
            return []
        return list(ctx.session.scalars(query.order_by(Subject.id)))

    @staticmethod
    def _found(
        ctx: ReachContext,
        row: Subject,
        column: str,
        use: ColumnUse,
        value: dict[str, object],
        source: str = _SOURCE,
        name: str | None = None,
    ) -> Found:
        return Found(
            table="subjects",
            column=column,
            use=use,
            kind="enrolment",
            source=source,
            purposes=ctx.purposes(use.element, use.category, _SERVICE),
            value={"collection_id": row.collection_id, **value},
            record=row.collection_id,
            field=name,
            created_at=row.created_at,
            expires_at=deletion_time(ctx.policy, RetentionKind.FACE_TEMPLATE, row.created_at),
            retention=RetentionKind.FACE_TEMPLATE,
        )

    def export(self, ctx: ReachContext, target: Target) -> Iterable[Found]:
        covers = self.covers["subjects"]
        for row in self._rows(ctx, target):
            subject_id = _subject_id(ctx, row, target)
            hashed: dict[str, object] = {"subject_id": subject_id, "stored_as": "keyed hash (HMAC-SHA256)"}
            yield self._found(ctx, row, "subject_id", covers["subject_id"], hashed)
            if row.subject_id_enc is not None:
                sealed: dict[str, object] = {
                    "subject_id": subject_id,
                    "stored_as": "sealed under the subject's own key",
                }
                yield self._found(ctx, row, "subject_id_enc", covers["subject_id_enc"], sealed)
            if ctx.opens(row.template):  # sealed under the subject's key: gone once it is destroyed
                template = ctx.keyring.decrypt(
                    row.template, template_aad(row.app_id, row.collection_id, row.subject_id)
                )
                yield self._found(
                    ctx,
                    row,
                    "template",
                    covers["template"],
                    {
                        "template": base64.b64encode(template).decode(),
                        "bits": FaceTemplate.from_bytes(template).bits,
                        "template_version": row.template_version,
                        "key_id": row.key_id,
                        "stored_as": "sealed under the subject's own key",
                        "note": "a protected binary template: it cannot be turned back into a face",
                    },
                    source="computed by the face models from the enrolment image",
                )
            if ctx.opens(row.identification_enc) and row.identification_enc is not None:
                plain = ctx.keyring.decrypt(row.identification_enc, _aad(row.app_id, row.collection_id, subject_id))
                for name, value in sorted(json.loads(plain).items()):
                    if value is not None:
                        use = identification_use(name)
                        yield self._found(ctx, row, "identification_enc", use, {name: value}, name=name)
            if row.image_blob_id is not None:
                yield self._found(
                    ctx,
                    row,
                    "image_blob_id",
                    covers["image_blob_id"],
                    {"blob_id": row.image_blob_id, "note": "the image itself is listed as a stored file"},
                )

    def erase(self, ctx: ReachContext, target: Target) -> Mapping[str, int]:
        rows = ctx.delete_rows(self._rows(ctx, target))  # only those this erasure removed
        for row in rows:
            ctx.session.add(
                IndexEvent(collection_id=row.collection_id, subject_row=row.id, op="remove", created_at=ctx.now)
            )
            if row.image_blob_id is not None:
                ctx.blob_ids.add(row.image_blob_id)
        ctx.session.flush()
        return {"subjects": len(rows), "index_entries": len(rows)}
