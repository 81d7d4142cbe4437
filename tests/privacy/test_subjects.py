from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from conftest import NOW
from openkyc.compliance.subjects import (
    ExportItem,
    SubjectExport,
    get_receipt,
    new_receipt,
    save_receipt,
    subject_reference,
)
from openkyc.privacy.vocabulary import DataCategory, DataElement, Purpose

SALT = b"s" * 32


def test_subject_reference_is_keyed_and_stable() -> None:
    ref = subject_reference(SALT, 1, "subject-1")
    assert ref == subject_reference(SALT, 1, "subject-1") and len(ref) == 64
    assert ref != subject_reference(SALT, 2, "subject-1")
    assert ref != subject_reference(b"t" * 32, 1, "subject-1")
    with pytest.raises(ValueError):
        subject_reference(b"short", 1, "x")


def test_receipt_round_trip_holds_no_subject(factory: sessionmaker[Session]) -> None:
    receipt = new_receipt(
        salt=SALT, app_id=1, subject_id="ANNA-42",
        items={"face_images": 2, "templates": 1, "consents": 0},
        requested_at=NOW, completed_at=NOW + timedelta(seconds=2),
    )  # fmt: skip
    assert receipt.total == 3
    assert "ANNA-42" not in receipt.model_dump_json()
    assert "ANNA-42" not in str(receipt.audit_details())
    with factory() as session, session.begin():
        save_receipt(session, receipt)
    with factory() as session:
        assert get_receipt(session, receipt.receipt_id) == receipt
        assert get_receipt(session, "nope") is None


@pytest.mark.parametrize("items", [{"x": -1}, {"": 1}, {"x": 1.5}, {"x": True}])
def test_receipt_counts_validated(items: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        new_receipt(salt=SALT, app_id=1, subject_id="s", items=items,
                    requested_at=NOW, completed_at=NOW)  # fmt: skip


def test_export_items_mask_their_values() -> None:
    item = ExportItem(
        category=DataCategory.IDENTIFICATION, element=DataElement.NAME, purposes=(Purpose.PROVIDE_FEATURES,),
        kind="enrolment", table="subjects", column="identification_enc", field="name", value={"name": "Anna"},
    )  # fmt: skip
    assert "Anna" not in repr(item)
    export = SubjectExport(target="end_user", app_id=1, subject_id="ANNA-42", generated_at=NOW, items=(item,))
    assert export.categories() == {DataCategory.IDENTIFICATION}
    assert "ANNA-42" not in repr(export)
