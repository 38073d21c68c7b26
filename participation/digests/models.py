"""Rendered PDF digests: made once by the worker, then attached to every recipient's mail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from participation.db import Base, utcnow

PENDING, RENDERING, READY, FAILED = "pending", "rendering", "ready", "failed"


class Digest(Base):
    """One PDF of one thing (a round's comment digest, later event summaries and survey results)."""

    __tablename__ = "digest"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What it is a digest of: kind "round" and the round's id, and so on.
    kind: Mapped[str] = mapped_column(String(20), index=True)
    subject_id: Mapped[int] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(2), default="fi")
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    error: Mapped[str] = mapped_column(Text, default="")
    # The PDF bytes live in the database: durable, backed up with everything else, and the
    # worker and every web process see the same file. Deferred so lists never load them.
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pages: Mapped[int] = mapped_column(default=0)
    size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    rendered_at: Mapped[dt.datetime | None]
    published_at: Mapped[dt.datetime | None]
