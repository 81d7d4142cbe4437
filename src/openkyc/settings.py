"""The one ``Settings`` object. Only this module reads the environment (prefix ``OPENKYC_``).

Every field is documented in docs/settings.md; a test fails when one is not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TEMPLATE_SIZES = (1024, 2048)  # sizes OPENKYC_TEMPLATE_BITS may choose (both calibrated, version 2)
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "test", "placeholder", ""})


class Settings(BaseSettings):
    """Service settings; built by the CLI or passed to ``create_app``."""

    model_config = SettingsConfigDict(env_prefix="OPENKYC_", extra="ignore")

    data_dir: Path = Field(default=Path("openkyc-data"), description="Folder for the database, key file and blobs.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir.")
    master_key_file: Path | None = Field(default=None, description="Master key file; default data_dir/master.key.")
    master_key: SecretStr | None = Field(default=None, description="Master key as base64 (instead of a file).")
    key_store_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the key store (per-subject keys), apart from the data; default SQLite data_dir/keys/keys.db.",
    )
    host: str = Field(default="127.0.0.1", description="Address `openkyc serve` listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port `openkyc serve` listens on.")
    workers: int = Field(default=1, ge=1, le=64, description="API processes of `openkyc serve` (above 1: PostgreSQL).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")
    log_format: Literal["json", "console"] = Field(default="json")
    environment: Literal["production", "development", "test"] = Field(default="production")
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Largest request body accepted.")
    signature_window_seconds: int = Field(default=300, ge=1, description="Allowed clock skew of signed requests.")
    allow_noncommercial_models: bool = Field(default=False, description="Allow models not cleared for commercial use.")
    public_base_url: str | None = Field(default=None, description="Base URL used in hosted verification links.")
    policy_file: Path | None = Field(default=None, description="Replacement data-processing policy file.")
    controller_name: str = Field(default="The customer (data controller)")
    controller_contact: str = Field(default="privacy@example.invalid")
    processor_name: str = Field(default="OpenKYC self-hosted deployment")
    dpo_contact: str | None = Field(default=None)
    redis_url: str | None = Field(
        default=None,
        description="Redis URL of the job queue (`openkyc worker`) and the request counters; unset: both in-process.",
    )
    retention_sweep_seconds: int = Field(default=300, ge=10, description="Interval of the in-process retention sweep.")
    model_threads: int = Field(default=1, ge=1, le=64, description="Threads per model inference.")
    model_pool_size: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Model instances per process (each used by one request at a time); default: cores / model_threads, at most 4.",
    )
    model_queue_size: int = Field(
        default=16, ge=0, le=10_000, description="Requests that may wait for a model instance; beyond it: 503 at once."
    )
    model_queue_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Longest wait for a model instance before a 503 ServerBusy."
    )
    preload_models: bool = Field(default=True, description="Load and sha256-verify the default models at start-up.")
    default_qps_limit: int | None = Field(default=None, ge=1, description="Requests per second per app; None: none.")
    default_monthly_quota: int | None = Field(default=None, ge=0, description="Billable calls per app and month.")
    verify_rate_limit: str | None = Field(default="30/minute", description="Per-address limit on /verify/ pages.")
    body_read_timeout_seconds: float = Field(default=30.0, gt=0, le=3600, description="Time to receive a body.")
    max_concurrent_uploads: int = Field(default=32, ge=1, description="Request bodies read at once.")
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list, description="Proxies whose X-Forwarded-For is believed (CIDRs)."
    )
    idempotency_ttl_seconds: int = Field(default=86400, ge=60, description="How long an Idempotency-Key answers.")
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="Signed audit checkpoints, kept outside the database; default data_dir/audit/checkpoints.jsonl.",
    )
    price_list_file: Path | None = Field(
        default=None,
        description="Prices per 1,000 billable calls and their currency, per account (JSON or YAML); default: built in.",
    )
    audit_checkpoint_every: int = Field(
        default=1, ge=0, description="Write an audit checkpoint every N records (0: only at sweeps and on demand)."
    )
    search_threads: int = Field(
        default=1, ge=1, le=64, description="Threads one 1:N search scan may use (the index is split in shards)."
    )
    template_bits: Literal[1024, 2048] = Field(
        default=2048,
        description="Template size (bits) of new template keys and of rotations; existing keys keep theirs.",
    )
    index_snapshot_min_templates: int = Field(
        default=100_000, ge=0, description="Collections this large get an encrypted index snapshot (0: none)."
    )
    index_snapshot_hours: float = Field(
        default=24.0, gt=0, le=24 * 30, description="Life of an index snapshot's key (destroyed after)."
    )
    tencent_path_prefix: str | None = Field(
        default=None,
        pattern=r"^/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~\-]$",
        description="A second path (besides /) that answers the Tencent Cloud compatible actions, e.g. /tencent.",
    )
    console_session_hours: float = Field(default=8.0, gt=0, le=720, description="Console sign-in lifetime.")
    console_max_failed_logins: int = Field(default=5, ge=1, le=100, description="Failures before a lockout.")
    console_lockout_minutes: float = Field(default=15.0, gt=0, le=7 * 24 * 60, description="Console lockout length.")

    @field_validator("verify_rate_limit")
    @classmethod
    def _parse_rate(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in {"", "none", "off"}:
            return None
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit such as 30/minute: {value!r}") from exc
        return value

    @field_validator("template_bits", mode="before")
    @classmethod
    def _template_size(cls, value: Any) -> Any:
        try:
            bits = int(str(value).strip())
        except ValueError:
            bits = 0
        if bits not in TEMPLATE_SIZES:
            raise ValueError(f"the size of new template keys is 1024 or 2048 bits, not {str(value)[:20]!r}")
        return bits

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment != "test" and self.master_key is not None:
            if self.master_key.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError("OPENKYC_MASTER_KEY is a placeholder; set a real key")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openkyc.db').resolve()}"

    @property
    def resolved_key_store_url(self) -> str:
        if self.key_store_url:
            return self.key_store_url
        return f"sqlite:///{(self.data_dir / 'keys' / 'keys.db').resolve()}"

    @property
    def resolved_model_pool_size(self) -> int:
        if self.model_pool_size is not None:
            return self.model_pool_size
        return max(1, min(4, (os.cpu_count() or 1) // self.model_threads))

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or (self.data_dir / "master.key")

    @property
    def resolved_audit_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or (self.data_dir / "audit" / "checkpoints.jsonl")

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"
