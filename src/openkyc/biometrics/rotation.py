"""Template-key rotation: a new secret projection for an app, templates re-issued.

A template whose enrolment photo is still retained (``retain_image``, at most 2 hours) is re-issued
at once under the new key. The others keep their old key id until the subject's next enrolment or
verification; searches protect the query under every key still in use, so nothing goes missing
meanwhile. Inactive keys no template uses any more are deleted. Each template is re-issued with
its collection's embedder (under that embedder's sub-key of the new key), and stored sealed under
its subject's own key (:meth:`SubjectRepository.replace_template`): rotation leaves no plain copy.

The function takes the narrow pieces it uses (stored data through :class:`DataAccess`, the model
pool), not the runtime (DESIGN.md section 7); the adapters (CLI, job worker) build them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from openkyc.biometrics import keystore
from openkyc.biometrics.calibration import new_key_format
from openkyc.biometrics.repository import SubjectRepository
from openkyc.biometrics.service import FaceModels
from openkyc.errors import OpenKYCError
from openkyc.pool import ModelPool
from openkyc.privacy.access import DataAccess
from openkyc.privacy.vocabulary import Purpose
from openkyc.store.models.faces import Collection, Subject


@dataclass(frozen=True)
class RotationReport:
    app_id: int
    new_key_id: str
    reissued: int
    pending: int
    retired_keys: int

    def as_dict(self) -> dict[str, object]:
        return {
            "app_id": self.app_id,
            "new_key_id": self.new_key_id,
            "reissued": self.reissued,
            "pending_reenrolment": self.pending,
            "retired_keys": self.retired_keys,
        }


def rotate_template_key(
    data: DataAccess,
    models: ModelPool[FaceModels],
    app_id: int,
    progress: Callable[[int, int], None] | None = None,
    *,
    bits: int,
) -> RotationReport:
    """Moves the app to a new key of ``bits`` (``OPENKYC_TEMPLATE_BITS``) and the current template
    version, re-issuing what it can (module docstring)."""
    now = data.clock()
    key_bits, version = new_key_format("sface", bits)
    with data.transaction() as session:
        key = keystore.create_key(session, data.keyring, app_id, key_bits, now, version=version)
        rows = session.execute(
            select(Subject.id, Subject.image_blob_id, Collection.embedder)
            .join(Collection, Collection.id == Subject.collection_id)
            .where(Subject.app_id == app_id)
        ).all()
    reissued = pending = 0
    for done, (row_id, blob_id, embedder) in enumerate(rows, start=1):
        try:
            if blob_id is None:
                raise LookupError
            with data.transaction() as session:
                image = data.blobs.get(session, app_id, blob_id, now=now, purpose=Purpose.PROVIDE_FEATURES)
            with models.lease() as leased:  # no transaction open during inference
                engine = leased.face_engine(embedder)
                embedding, _ = engine.embed(image)
                template = engine.protector(key).protect(embedding)
        except (LookupError, OpenKYCError):
            pending += 1
        else:
            with data.transaction() as session:
                replaced = SubjectRepository(session, data.gate, data.keyring).replace_template(
                    app_id,
                    row_id,
                    template=template.to_bytes(),
                    template_version=template.version,
                    key_id=key.key_id,
                    now=now,
                    purpose=Purpose.PROVIDE_FEATURES,
                )
            reissued += int(replaced)  # False: removed or erased meanwhile, nothing to re-issue
        if progress is not None:
            progress(done, len(rows))
    with data.transaction() as session:
        in_use = set(session.scalars(select(Subject.key_id).where(Subject.app_id == app_id)))
        retired = keystore.retire_unused(session, app_id, in_use | {key.key_id})
    return RotationReport(app_id, key.key_id, reissued, pending, retired)
