from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from conftest import NOW
from openkyc.errors import InvalidParameterValue, RetentionExceedsPolicy
from openkyc.privacy.policy import Policy
from openkyc.privacy.retention import (
    cutoffs,
    effective_hours,
    expires_at,
    is_expired,
    strictest,
    validate_override,
)
from openkyc.privacy.vocabulary import RetentionKind as K


def test_default_cutoffs(policy: Policy) -> None:
    cut = cutoffs(policy, NOW)
    assert cut[K.FACE_IMAGE] == NOW - timedelta(hours=2)
    assert cut[K.VERIFICATION_RESULT] == NOW - timedelta(days=3)
    assert cut[K.CALL_RECORD] == NOW - timedelta(days=730)
    assert set(cut) == set(K)


@pytest.mark.parametrize(
    ("kind", "age", "expired"),
    [
        (K.FACE_IMAGE, timedelta(hours=1, minutes=59), False),
        (K.FACE_IMAGE, timedelta(hours=2), True),
        (K.FACE_VIDEO, timedelta(hours=3), True),
        (K.DOCUMENT_IMAGE, timedelta(minutes=5), False),
        (K.VERIFICATION_RESULT, timedelta(days=2, hours=23), False),
        (K.VERIFICATION_RESULT, timedelta(days=3, seconds=1), True),
        (K.CALL_RECORD, timedelta(days=729), False),
        (K.CALL_RECORD, timedelta(days=731), True),
    ],
)
def test_expiry_with_fixed_clock(policy: Policy, kind: K, age: timedelta, expired: bool) -> None:
    assert is_expired(policy, kind, NOW - age, NOW) is expired


def test_rule_may_shorten(policy: Policy) -> None:
    hours = effective_hours(policy, {"face_image": 0.5, K.VERIFICATION_RESULT: 24})
    assert hours[K.FACE_IMAGE] == 0.5
    assert hours[K.VERIFICATION_RESULT] == 24
    assert hours[K.DOCUMENT_IMAGE] == 2
    assert expires_at(policy, K.FACE_IMAGE, NOW, {"face_image": 0}) == NOW
    both = strictest(policy, {"face_image": 1}, {"face_image": 1.5, "call_record": 100}, None)
    assert both[K.FACE_IMAGE] == 1 and both[K.CALL_RECORD] == 100


@pytest.mark.parametrize(
    ("kind", "hours", "error", "code"),
    [
        ("face_image", 3, RetentionExceedsPolicy, "InvalidParameterValue.RetentionExceedsPolicy"),
        ("call_record", 17521, RetentionExceedsPolicy, "InvalidParameterValue.RetentionExceedsPolicy"),
        ("face_image", -1, InvalidParameterValue, "InvalidParameterValue.RetentionHours"),
        ("face_image", float("inf"), InvalidParameterValue, "InvalidParameterValue.RetentionHours"),
        ("face_image", "2", InvalidParameterValue, "InvalidParameterValue.RetentionHours"),
        ("face_image", True, InvalidParameterValue, "InvalidParameterValue.RetentionHours"),
        ("selfies", 1, InvalidParameterValue, "InvalidParameterValue.RetentionKind"),
    ],
)
def test_overrides_are_validated(policy: Policy, kind: str, hours: object, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as info:
        validate_override(policy, kind, hours)  # type: ignore[arg-type]
    assert type(info.value) is error
    assert info.value.error_code == code  # type: ignore[attr-defined]
    assert info.value.status_code == 400  # type: ignore[attr-defined]
    with pytest.raises(error):
        cutoffs(policy, NOW, {kind: hours})  # type: ignore[dict-item]


def test_naive_times_refused(policy: Policy) -> None:
    with pytest.raises(ValueError):
        cutoffs(policy, datetime(2025, 1, 1))
