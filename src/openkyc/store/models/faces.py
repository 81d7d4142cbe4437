"""Face data: per-app template keys, collections, enrolled subjects, index change events.

Only protected binary templates are stored (never raw embeddings); identification fields given at
enrolment and the subject id are sealed with AES-256-GCM under the subject's own key; the
``subject_id`` column holds a keyed hash of the id (see openkyc.store.subject_keys).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from openkyc.store.base import Base


class TemplateKeyRow(Base):
    """An app's secret projection key (sealed); one is active, older ones await re-enrolment.

    "One is active" is a partial unique index, so concurrent first uses cannot make two.
    """

    __tablename__ = "template_keys"
    __table_args__ = (
        Index(
            "uq_template_keys_active_app",
            "app_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    bits: Mapped[int] = mapped_column(Integer)
    # projection scheme (templates.PLAIN / SUPER_BIT); keys made before version 2 existed are plain
    template_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    duplicate_check: Mapped[bool] = mapped_column(Boolean, default=False)
    embedder: Mapped[str] = mapped_column(String(16), default="sface", server_default="sface")
    created_at: Mapped[datetime]


class Subject(Base):
    __tablename__ = "subjects"
    __table_args__ = (UniqueConstraint("collection_id", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[int] = mapped_column(BigInteger, index=True)
    subject_id: Mapped[str] = mapped_column(String(128), index=True)  # keyed hash (SubjectKeys.subject_ref)
    subject_id_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # the id, sealed under the subject key
    template: Mapped[bytes] = mapped_column(LargeBinary)
    template_version: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(40))
    identification_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_blob_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]


class IndexEvent(Base):
    """Append-only log of enrolments and removals; each process replays it into its 1:N index."""

    __tablename__ = "index_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_id: Mapped[str] = mapped_column(String(64), index=True)
    subject_row: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
