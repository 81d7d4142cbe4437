"""Rules (verification templates): the validated configuration a verification follows."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

Action = Literal["blink", "mouth", "nod", "shake"]
DocumentWarning = Literal[
    "WarnBlurred",
    "WarnGlare",
    "WarnTooDark",
    "WarnIncomplete",
    "WarnScreenCapture",
    "WarnBlackWhiteCopy",
    "WarnTamperingHint",
]
LivenessMode = Literal["silent", "action", "reflection", "challenge"]
DocumentType = Literal["TD1", "TD2", "TD3", "MRVA", "MRVB", "HK_ID", "MY_MYKAD", "SG_NRIC", "ID_NIK", "GENERIC_ID"]

DEFAULT_DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    "TD1",
    "TD2",
    "TD3",
    "MRVA",
    "MRVB",
    "HK_ID",
    "MY_MYKAD",
    "SG_NRIC",
    "ID_NIK",
)

DEFAULT_FAILING_WARNINGS: tuple[DocumentWarning, ...] = ("WarnScreenCapture", "WarnBlackWhiteCopy", "WarnIncomplete")

# Upper bounds from the data-processing policy; a rule may shorten retention, never lengthen it.
POLICY_MAX_MEDIA_HOURS = 2.0
POLICY_MAX_RESULT_HOURS = 72.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LivenessSettings(_Strict):
    mode: LivenessMode = "silent"
    actions: list[Action] = Field(default_factory=list, max_length=2)
    randomize_order: bool = False

    @model_validator(mode="after")
    def _actions_match_mode(self) -> LivenessSettings:
        if self.mode == "action" and not self.actions:
            raise ValueError("action mode needs one or two actions")
        if self.mode != "action" and self.actions:
            raise ValueError("actions are only used in action mode")
        if len(set(self.actions)) != len(self.actions):
            raise ValueError("actions must not repeat")
        return self


class VideoLimits(_Strict):
    max_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024, le=12 * 1024 * 1024)
    max_seconds: float = Field(default=20.0, gt=0, le=60.0)
    min_seconds_silent: float = Field(default=2.0, ge=0.5, le=10.0)


class Retention(_Strict):
    media_hours: float = Field(default=POLICY_MAX_MEDIA_HOURS, gt=0)
    result_hours: float = Field(default=POLICY_MAX_RESULT_HOURS, gt=0)

    @field_validator("media_hours")
    @classmethod
    def _media_within_policy(cls, value: float) -> float:
        if value > POLICY_MAX_MEDIA_HOURS:
            raise ValueError(f"media retention may not exceed the policy's {POLICY_MAX_MEDIA_HOURS} hours")
        return value

    @field_validator("result_hours")
    @classmethod
    def _results_within_policy(cls, value: float) -> float:
        if value > POLICY_MAX_RESULT_HOURS:
            raise ValueError(f"result retention may not exceed the policy's {POLICY_MAX_RESULT_HOURS} hours")
        return value


class Security(_Strict):
    ip_allow_list: list[IPv4Network | IPv6Network] = Field(default_factory=list, max_length=256)
    session_ttl_minutes: int = Field(default=30, ge=1, le=24 * 60)
    max_retries: int = Field(default=3, ge=0, le=10)

    def allows(self, client_ip: str | None) -> bool:
        """Whether a call from ``client_ip`` (the gateway's resolved client address) may use the rule.

        An empty list allows every address; otherwise the address must lie in one of the networks.
        An unknown or unparsable address is refused (fail closed). An IPv4-mapped IPv6 address
        (``::ffff:10.0.0.1``) is compared as the IPv4 address it carries.
        """
        if not self.ip_allow_list:
            return True
        address = _parse_address(client_ip)
        if address is None:
            return False
        return any(address.version == network.version and address in network for network in self.ip_allow_list)


def _parse_address(text: str | None) -> IPv4Address | IPv6Address | None:
    if not text:
        return None
    try:
        address = ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""

    def luminance(colour: str) -> float:
        red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * _linear(red) + 0.7152 * _linear(green) + 0.0722 * _linear(blue)

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# The hosted page writes white text on the theme colour and the theme colour on a white page.
MIN_TEXT_CONTRAST = 4.5


class HostedPage(_Strict):
    """The end user's hosted page (``/verify/{biz_token}``): the operator's branding and notice link.

    ``theme_color`` is refused unless white text on it, and it on the white page, reach the WCAG
    2.2 AA contrast of 4.5:1. ``silent_instead_of_reflection`` lets an end user who should not look
    at flashing colours choose silent liveness instead of reflection. ``challenge`` (the default):
    the page checks liveness with a timed challenge drawn for each recording (prompts at random
    times, and the colours in reflection mode), and the session refuses a video without one.
    """

    operator_name: str | None = Field(default=None, min_length=1, max_length=80)
    logo_url: HttpUrl | None = None
    theme_color: str = Field(default="#1f6feb", pattern=r"^#[0-9a-fA-F]{6}$")
    privacy_notice_url: HttpUrl | None = None
    silent_instead_of_reflection: bool = False
    challenge: bool = True

    @field_validator("logo_url", "privacy_notice_url")
    @classmethod
    def _https(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and value.scheme != "https":
            raise ValueError("must be an https URL")
        return value

    @field_validator("theme_color")
    @classmethod
    def _contrast(cls, value: str) -> str:
        ratio = contrast_ratio(value, "#ffffff")
        if ratio < MIN_TEXT_CONTRAST:
            raise ValueError(
                f"theme_color {value} has a contrast of {ratio:.2f}:1 with white; WCAG AA needs {MIN_TEXT_CONTRAST}:1"
            )
        return value.lower()


class RuleConfig(_Strict):
    """One verification template. Every field has a default, so ``{}`` is a valid rule."""

    liveness: LivenessSettings = Field(default_factory=LivenessSettings)
    compare_threshold: float = Field(default=70.0, ge=0, le=100)
    embedder: Literal["sface", "dlib", "fusion"] = "sface"
    document_types: list[DocumentType] = Field(default_factory=lambda: list(DEFAULT_DOCUMENT_TYPES))
    failing_document_warnings: list[DocumentWarning] = Field(default_factory=lambda: list(DEFAULT_FAILING_WARNINGS))
    allow_expired_document: bool = False
    min_age: int | None = Field(default=None, ge=0, le=120)
    accepted_issuing_states: list[str] = Field(default_factory=list, max_length=300)

    @field_validator("accepted_issuing_states")
    @classmethod
    def _state_codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not (1 <= len(code) <= 3 and code.isascii() and code.isalpha() and code.isupper()):
                raise ValueError("issuing states are ICAO codes of 1-3 capital letters (for example UTO, GBR, D)")
        return value

    video: VideoLimits = Field(default_factory=VideoLimits)
    retention: Retention = Field(default_factory=Retention)
    security: Security = Field(default_factory=Security)
    webhook_url: HttpUrl | None = None
    # None: the session's language, else the browser's Accept-Language (the hosted page's catalogs)
    language: (
        Literal["en", "zh", "zh-Hans", "zh-Hant", "ms", "id", "th", "vi", "fil", "ja", "ko", "es", "fr", "de", "ar"]
        | None
    ) = None
    hosted: HostedPage = Field(default_factory=HostedPage)


class RuleIn(_Strict):
    """Body of ``POST /v1/rules`` and ``PUT /v1/rules/{rule_id}``."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[\w .\-]+$")
    config: RuleConfig = Field(default_factory=RuleConfig)


class SessionDocumentOptions(_Strict):
    """What one hosted session's creator asks of its document step, over its rule (Tencent's
    ``IDCardType`` and ``AllowExpiredDocument``): the document types it takes (only among the
    rule's), and whether an expired document passes (instead of the rule's choice)."""

    document_types: list[DocumentType] | None = Field(default=None, min_length=1)
    allow_expired_document: bool | None = None

    def apply(self, rule: RuleConfig) -> RuleConfig:
        """The rule as this session's document step judges by it; the rule is read at each
        attempt, so a type the rule no longer takes fails (``DocumentTypeNotAllowed``)."""
        update: dict[str, object] = {}
        if self.document_types is not None:
            update["document_types"] = [t for t in rule.document_types if t in self.document_types]
        if self.allow_expired_document is not None:
            update["allow_expired_document"] = self.allow_expired_document
        return rule.model_copy(update=update) if update else rule
