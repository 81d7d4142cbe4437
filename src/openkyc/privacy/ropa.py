"""The GDPR Article 30 record of processing, generated from the policy and live configuration.

Never written by hand: :func:`build_record` combines the policy file (purposes, the obligations
the law imposes, categories, retention) with the controller and processor details (from settings)
and the retention overrides of the apps' rules, and
:func:`render` writes it as Markdown, JSON or HTML (Jinja2 templates in ``templates/``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict

from openkyc.privacy.policy import Policy
from openkyc.privacy.retention import validate_overrides
from openkyc.privacy.vocabulary import RetentionKind

__all__ = [
    "AppRetention",
    "Party",
    "RecordOfProcessing",
    "RopaObligation",
    "build_record",
    "human_hours",
    "render",
]

Format = Literal["md", "json", "html"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Party(_Frozen):
    name: str
    contact: str
    dpo_contact: str | None = None
    address: str | None = None


class AppRetention(_Frozen):
    """An app's rule that shortens retention periods (hours per kind)."""

    app_id: int
    app_name: str
    rule_id: str | None = None
    overrides: dict[RetentionKind, float]


class RopaElement(_Frozen):
    key: str
    title: str
    sensitive: bool
    fideslang: tuple[str, ...]


class RopaObligation(_Frozen):
    """Processing the law requires of the service (the policy's ``obligations:``): never refused."""

    key: str
    title: str
    description: str
    basis: str


class RopaCategory(_Frozen):
    key: str
    title: str
    description: str
    data_subjects: tuple[str, ...]
    purposes: tuple[str, ...]
    retention: str
    elements: tuple[RopaElement, ...]


class RopaPurpose(_Frozen):
    key: str
    title: str
    description: str
    legal_basis: tuple[str, ...]
    sensitive_legal_basis: tuple[str, ...]
    categories: tuple[str, ...]
    fideslang: str | None


class RopaRetention(_Frozen):
    kind: str
    max_hours: float
    period: str
    description: str
    elements: tuple[str, ...]


class RopaSubject(_Frozen):
    key: str
    title: str
    description: str


class RecordOfProcessing(_Frozen):
    generated_at: datetime
    policy_name: str
    policy_version: int
    policy_sha256: str | None
    controller: Party
    processor: Party
    purposes: tuple[RopaPurpose, ...]
    obligations: tuple[RopaObligation, ...]
    categories: tuple[RopaCategory, ...]
    data_subjects: tuple[RopaSubject, ...]
    recipients: tuple[tuple[str, str], ...]
    transfers: tuple[str, ...]
    retention: tuple[RopaRetention, ...]
    retention_overrides: tuple[AppRetention, ...]
    security_measures: tuple[str, ...]


def human_hours(hours: float) -> str:
    def unit(n: float, word: str) -> str:
        return f"{n:g} {word}{'' if n == 1 else 's'}"

    if hours >= 8760 and hours % 8760 == 0:
        return unit(hours / 8760, "year")
    if hours >= 24 and hours % 24 == 0:
        return unit(hours / 24, "day")
    return unit(hours, "hour")


def build_record(
    policy: Policy,
    *,
    controller: Party,
    processor: Party,
    generated_at: datetime,
    apps: Sequence[AppRetention] = (),
    policy_text: str | None = None,
) -> RecordOfProcessing:
    """The record for ``policy``; app overrides are validated against the policy's maxima."""
    for app in apps:
        validate_overrides(policy, app.overrides)
    purposes = tuple(
        RopaPurpose(
            key=purpose.value,
            title=spec.title,
            description=spec.description,
            legal_basis=tuple(b.value for b in spec.legal_basis),
            sensitive_legal_basis=tuple(b.value for b in spec.sensitive_legal_basis),
            categories=tuple(c.value for c, cs in policy.categories.items() if purpose in cs.purposes),
            fideslang=spec.fideslang,
        )
        for purpose, spec in policy.purposes.items()
    )
    categories = tuple(
        RopaCategory(
            key=category.value,
            title=spec.title,
            description=spec.description,
            data_subjects=tuple(policy.data_subjects[s].title for s in spec.data_subjects),
            purposes=tuple(p.value for p in spec.purposes),
            retention=spec.retention,
            elements=tuple(
                RopaElement(
                    key=f"{category.value}.{name}",
                    title=element.title,
                    sensitive=element.sensitive,
                    fideslang=element.fideslang,
                )
                for name, element in spec.elements.items()
            ),
        )
        for category, spec in policy.categories.items()
    )
    retention = tuple(
        RopaRetention(
            kind=kind.value,
            max_hours=spec.max_hours,
            period=human_hours(spec.max_hours),
            description=spec.description,
            elements=tuple(e.value for e in spec.elements),
        )
        for kind, spec in policy.retention.items()
    )
    return RecordOfProcessing(
        generated_at=generated_at,
        policy_name=policy.name,
        policy_version=policy.version,
        policy_sha256=hashlib.sha256(policy_text.encode()).hexdigest() if policy_text else None,
        controller=controller,
        processor=processor,
        purposes=purposes,
        obligations=tuple(
            RopaObligation(key=key.value, title=spec.title, description=spec.description, basis=spec.basis)
            for key, spec in policy.obligations.items()
        ),
        categories=categories,
        data_subjects=tuple(
            RopaSubject(key=key, title=s.title, description=s.description) for key, s in policy.data_subjects.items()
        ),
        recipients=tuple((r.name, r.description) for r in policy.recipients),
        transfers=policy.transfers,
        retention=retention,
        retention_overrides=tuple(apps),
        security_measures=policy.security_measures,
    )


def render(record: RecordOfProcessing, fmt: Format = "md") -> str:
    """The record as Markdown (``md``), JSON (``json``) or a standalone HTML page (``html``)."""
    if fmt == "json":
        return record.model_dump_json(indent=2)
    if fmt not in ("md", "html"):
        raise ValueError(f"unknown record format {fmt!r}")
    env = Environment(
        loader=PackageLoader("openkyc.privacy", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["hours"] = human_hours
    env.filters["cell"] = lambda value: str(value).replace("|", "\\|").replace("\n", " ")
    return env.get_template(f"ropa.{fmt}.j2" if fmt == "md" else "ropa.html").render(r=record)
