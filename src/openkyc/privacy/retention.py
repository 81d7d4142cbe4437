"""Retention, the policy side: how long each kind of record may live, and the cut-offs.

The policy gives a maximum per :class:`RetentionKind` (face images, videos and document images
2 hours, verification results 3 days, call records 2 years, ...). A rule (verification template)
may shorten a period for its app, never lengthen it: :func:`validate_overrides` refuses a longer
one with :class:`~openkyc.errors.RetentionExceedsPolicy`. The sweep deletes records whose
``created_at`` is before :func:`cutoffs` ``[kind]``. Everything here is a pure function of the
policy, the overrides and ``now``, so tests drive it with a fixed clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from openkyc.errors import InvalidParameterValue, RetentionExceedsPolicy
from openkyc.privacy.policy import Policy
from openkyc.privacy.vocabulary import RetentionKind

__all__ = [
    "Overrides",
    "cutoffs",
    "effective_hours",
    "expires_at",
    "is_expired",
    "strictest",
    "validate_override",
    "validate_overrides",
]

Overrides = Mapping[RetentionKind, float] | Mapping[str, float]


def validate_override(policy: Policy, kind: RetentionKind | str, hours: float) -> float:
    """``hours`` if it is a valid period for ``kind`` (0 means: delete right after processing)."""
    kind = _kind(kind)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not math.isfinite(hours):
        raise InvalidParameterValue(
            "A retention period must be a number of hours.",
            code="InvalidParameterValue.RetentionHours",
        )
    if hours < 0:
        raise InvalidParameterValue(
            "A retention period cannot be negative.", code="InvalidParameterValue.RetentionHours"
        )
    limit = policy.max_retention_hours(kind)
    if hours > limit:
        raise RetentionExceedsPolicy(f"The retention of {kind.value} is at most {limit:g} hours under the policy.")
    return float(hours)


def validate_overrides(policy: Policy, overrides: Overrides | None) -> dict[RetentionKind, float]:
    """Validated overrides keyed by kind; unknown kinds and longer periods are refused."""
    return {_kind(k): validate_override(policy, k, v) for k, v in (overrides or {}).items()}


def effective_hours(policy: Policy, overrides: Overrides | None = None) -> dict[RetentionKind, float]:
    """The period in force for every kind: the override where given, else the policy maximum."""
    chosen = validate_overrides(policy, overrides)
    return {kind: chosen.get(kind, policy.max_retention_hours(kind)) for kind in RetentionKind}


def strictest(policy: Policy, *overrides: Overrides | None) -> dict[RetentionKind, float]:
    """The shortest period per kind over several rules (for a sweep over a table of many apps)."""
    result = effective_hours(policy)
    for override in overrides:
        for kind, hours in validate_overrides(policy, override).items():
            result[kind] = min(result[kind], hours)
    return result


def cutoffs(policy: Policy, now: datetime, overrides: Overrides | None = None) -> dict[RetentionKind, datetime]:
    """Per kind, the instant before which a record has expired (``created_at < cutoff``)."""
    _aware(now)
    return {kind: now - timedelta(hours=h) for kind, h in effective_hours(policy, overrides).items()}


def expires_at(
    policy: Policy,
    kind: RetentionKind | str,
    created_at: datetime,
    overrides: Overrides | None = None,
) -> datetime:
    _aware(created_at)
    return created_at + timedelta(hours=effective_hours(policy, overrides)[_kind(kind)])


def is_expired(
    policy: Policy,
    kind: RetentionKind | str,
    created_at: datetime,
    now: datetime,
    overrides: Overrides | None = None,
) -> bool:
    _aware(now)
    return now >= expires_at(policy, kind, created_at, overrides)


def _kind(kind: RetentionKind | str) -> RetentionKind:
    try:
        return RetentionKind(kind)
    except ValueError as exc:
        raise InvalidParameterValue(
            "Unknown kind of data for retention.", code="InvalidParameterValue.RetentionKind"
        ) from exc


def _aware(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError("retention needs timezone-aware datetimes")
