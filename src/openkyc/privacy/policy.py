"""The data-processing policy file, validated at load.

``load_policy()`` reads the ``policy.yaml`` shipped in this package, or the file a setting names
(``Settings.policy_file``), and returns a frozen :class:`Policy`. A file that breaks the rules
below is refused with :class:`PolicyInvalid`, so the service never runs on a broken policy:

* every purpose, category, element and retention kind of :mod:`openkyc.privacy.vocabulary` is
  defined, and nothing else is;
* an element's purposes, when narrowed, stay within its category's purposes;
* a purpose's legal basis is given; a purpose that needs explicit consent for sensitive data says
  which basis covers it;
* every sensitive element is covered by a retention kind.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from openkyc.errors import InternalError
from openkyc.privacy.vocabulary import (
    DataCategory,
    DataElement,
    LegalBasis,
    Obligation,
    Purpose,
    RetentionKind,
    elements_of,
)

__all__ = [
    "CategorySpec",
    "DataSubjectSpec",
    "ElementSpec",
    "ObligationSpec",
    "Policy",
    "PolicyInvalid",
    "PurposeSpec",
    "RetentionSpec",
    "default_policy_text",
    "load_policy",
    "parse_policy",
]


class PolicyInvalid(InternalError):
    code = "InternalError.PolicyInvalid"
    default_message = "The data-processing policy file is invalid."


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PurposeSpec(_Frozen):
    title: str
    description: str
    legal_basis: tuple[LegalBasis, ...] = Field(min_length=1)
    sensitive_requires_explicit_consent: bool = False
    sensitive_legal_basis: tuple[LegalBasis, ...] = ()
    fideslang: str | None = None

    @model_validator(mode="after")
    def _consent_basis(self) -> PurposeSpec:
        if self.sensitive_requires_explicit_consent and (LegalBasis.EXPLICIT_CONSENT not in self.sensitive_legal_basis):
            raise ValueError("a purpose that needs consent for sensitive data must list explicit_consent")
        return self


class DataSubjectSpec(_Frozen):
    title: str
    description: str
    fideslang: str | None = None


class ElementSpec(_Frozen):
    title: str
    sensitive: bool = False
    purposes: tuple[Purpose, ...] | None = None
    fideslang: tuple[str, ...] = ()


class CategorySpec(_Frozen):
    title: str
    description: str
    data_subjects: tuple[str, ...] = Field(min_length=1)
    purposes: tuple[Purpose, ...]
    retention: str
    elements: dict[str, ElementSpec]


class RetentionSpec(_Frozen):
    max_hours: float = Field(gt=0)
    elements: tuple[DataElement, ...] = Field(min_length=1)
    description: str


class ObligationSpec(_Frozen):
    """Processing the law requires (:class:`~openkyc.privacy.vocabulary.Obligation`): described
    here for the record of processing; the gate never refuses it, whatever the purposes say."""

    title: str
    description: str
    basis: str = "legal obligation (GDPR Art. 6(1)(c))"


DEFAULT_OBLIGATIONS: dict[Obligation, ObligationSpec] = {
    Obligation.RETENTION: ObligationSpec(
        title="Retention",
        description="Deleting what the retention periods say must go (storage limitation).",
        basis="legal obligation (GDPR Art. 5(1)(e), 6(1)(c))",
    ),
    Obligation.SUBJECT_RIGHTS: ObligationSpec(
        title="Data-subject rights",
        description="Access, export and erasure for a person, and the deletion a withdrawn consent requires.",
        basis="legal obligation (GDPR Art. 6(1)(c), 7(3), 15-20)",
    ),
}


class Recipient(_Frozen):
    name: str
    description: str


class Policy(_Frozen):
    """The whole policy. Look-ups by enum are on the methods below."""

    version: int
    name: str
    fideslang_version: str = ""
    purposes: dict[Purpose, PurposeSpec]
    data_subjects: dict[str, DataSubjectSpec]
    categories: dict[DataCategory, CategorySpec]
    retention: dict[RetentionKind, RetentionSpec]
    obligations: dict[Obligation, ObligationSpec] = Field(default_factory=lambda: dict(DEFAULT_OBLIGATIONS))
    recipients: tuple[Recipient, ...] = ()
    transfers: tuple[str, ...] = ()
    security_measures: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _complete_and_consistent(self) -> Policy:
        _require_all("purpose", set(self.purposes), set(Purpose))
        _require_all("category", set(self.categories), set(DataCategory))
        _require_all("retention kind", set(self.retention), set(RetentionKind))
        for category, spec in self.categories.items():
            expected = {element.short_name for element in elements_of(category)}
            _require_all(f"element of {category.value}", set(spec.elements), expected)
            for subject in spec.data_subjects:
                if subject not in self.data_subjects:
                    raise ValueError(f"category {category.value}: unknown data subject {subject!r}")
            for name, element in spec.elements.items():
                extra = set(element.purposes or ()) - set(spec.purposes)
                if extra:
                    raise ValueError(
                        f"element {category.value}.{name} allows purposes its category does not: "
                        f"{sorted(p.value for p in extra)}"
                    )
        covered = {element for spec in self.retention.values() for element in spec.elements}
        missing = sorted(e.value for e in self.sensitive_elements() if e not in covered)
        if missing:
            raise ValueError(f"sensitive elements without a retention limit: {missing}")
        return self

    def element(self, element: DataElement) -> ElementSpec:
        return self.categories[element.category].elements[element.short_name]

    def is_sensitive(self, element: DataElement) -> bool:
        return self.element(element).sensitive

    def sensitive_elements(self) -> tuple[DataElement, ...]:
        return tuple(element for element in DataElement if self.is_sensitive(element))

    def allowed_purposes(self, item: DataCategory | DataElement) -> frozenset[Purpose]:
        """Purposes the policy allows for a whole category, or for one element."""
        if isinstance(item, DataElement):
            spec = self.element(item)
            category_purposes = self.categories[item.category].purposes
            return frozenset(spec.purposes if spec.purposes is not None else category_purposes)
        return frozenset(self.categories[item].purposes)

    def needs_consent(self, purpose: Purpose, element: DataElement) -> bool:
        """Whether ``purpose`` on ``element`` needs the subject's recorded explicit consent."""
        return self.purposes[purpose].sensitive_requires_explicit_consent and self.is_sensitive(element)

    def max_retention_hours(self, kind: RetentionKind) -> float:
        return self.retention[kind].max_hours

    def fideslang_export(self) -> dict[str, Any]:
        """Categories, elements, purposes and subjects mapped to fideslang taxonomy keys.

        ``None`` marks an entry with no fideslang key (see docs/privacy.md).
        """
        return {
            "fideslang_version": self.fideslang_version,
            "data_uses": {p.value: spec.fideslang for p, spec in self.purposes.items()},
            "data_subjects": {name: spec.fideslang for name, spec in self.data_subjects.items()},
            "data_categories": {
                f"{category.value}.{name}": list(element.fideslang)
                for category, spec in self.categories.items()
                for name, element in spec.elements.items()
            },
            "categories": {
                category.value: sorted({key for element in spec.elements.values() for key in element.fideslang})
                for category, spec in self.categories.items()
            },
        }


def _require_all(what: str, present: set[Any], expected: set[Any]) -> None:
    missing = sorted(str(item) for item in expected - present)
    unknown = sorted(str(item) for item in present - expected)
    if missing:
        raise ValueError(f"missing {what}: {missing}")
    if unknown:
        raise ValueError(f"unknown {what}: {unknown}")


def default_policy_text() -> str:
    return (resources.files("openkyc.privacy") / "policy.yaml").read_text(encoding="utf-8")


def parse_policy(text: str) -> Policy:
    """Parse and validate policy YAML; raises :class:`PolicyInvalid` with the reason."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyInvalid("The data-processing policy file is not valid YAML.") from exc
    if not isinstance(data, dict):
        raise PolicyInvalid("The data-processing policy file must hold a mapping.")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'policy'}: {error['msg']}"
            for error in exc.errors(include_input=False)
        )
        raise PolicyInvalid(f"The data-processing policy file is invalid: {reasons}") from exc


def load_policy(path: Path | None = None) -> Policy:
    """The policy at ``path`` (from ``Settings.policy_file``), or the one shipped in the package."""
    if path is None:
        return parse_policy(default_policy_text())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyInvalid("The data-processing policy file cannot be read.") from exc
    return parse_policy(text)
