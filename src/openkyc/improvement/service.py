"""Adding a subject's sample to a consented model-improvement dataset.

Model improvement on face images needs the subject's recorded explicit consent. The purpose gate
is asked *before* anything is written: a refusal raises ``UnauthorizedOperation.ConsentRequired``
and its audit record is written in its own transaction (on SQLite it would otherwise wait on the
request's write lock). With consent the image is sealed as a blob that expires after the policy's
period for model-improvement items and registered with ``ConsentRepository.add_item``; withdrawing
the consent deletes both. The service takes :class:`DataAccess` (DESIGN.md section 7), not the runtime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from openkyc.biometrics.images import decode_image
from openkyc.errors import InvalidParameterValue
from openkyc.privacy.access import DataAccess
from openkyc.privacy.consent import ConsentRepository
from openkyc.privacy.vocabulary import DataElement, Purpose, RetentionKind

__all__ = ["DATASET_PATTERN", "ImprovementService"]

DATASET_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,36}$")


@dataclass
class ImprovementService:
    data: DataAccess
    app_id: int

    def add_sample(self, subject_id: str, image: bytes, dataset: str) -> dict[str, Any]:
        if not DATASET_PATTERN.match(dataset):
            raise InvalidParameterValue(
                "dataset must be 1-36 letters, digits, '.', '_' or '-'.", code="InvalidParameterValue.Dataset"
            )
        self.data.gate.check(  # everything the request stores: the image, the item's consent and subject
            Purpose.MODEL_IMPROVEMENT,
            [DataElement.FACE_IMAGE, DataElement.CONSENT_RECORD, DataElement.SUBJECT_ID],
            subject=subject_id,
            app_id=self.app_id,
        )
        decode_image(image)  # refuse what is not an image before storing it
        hours = self.data.gate.policy.max_retention_hours(RetentionKind.MODEL_IMPROVEMENT_ITEM)
        now = self.data.clock()
        expires_at = now + timedelta(hours=hours)
        with self.data.transaction() as session:
            blob_id = self.data.blobs.put(
                session,
                app_id=self.app_id,
                kind="face_image",
                data=image,
                now=now,
                expires_at=expires_at,
                subject_id=subject_id,
                purpose=Purpose.MODEL_IMPROVEMENT,
            )
            item_id = ConsentRepository(session, self.data.gate, clock=self.data.clock).add_item(
                self.app_id, subject_id, f"face_image:{dataset}", blob_id, purpose=Purpose.MODEL_IMPROVEMENT
            )
        return {
            "item_id": item_id,
            "subject_id": subject_id,
            "dataset": dataset,
            "expires_at": expires_at.isoformat(),
        }
