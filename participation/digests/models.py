"""Rendered PDF digests: made once by the worker, then attached to every recipient's mail."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from participation.db import Base, utcnow

if TYPE_CHECKING:
    from participation.mail.models import Mailing

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
    # When the worker claimed the render: one left "rendering" long after was interrupted.
    started_at: Mapped[dt.datetime | None]
    rendered_at: Mapped[dt.datetime | None]
    published_at: Mapped[dt.datetime | None]

    # The mailing that sends it (one per digest), for the round page's link to its progress.
    mailing: Mapped[Mailing | None] = relationship(
        "Mailing", primaryjoin="Mailing.digest_id == Digest.id", viewonly=True, uselist=False
    )

    @property
    def in_progress(self) -> bool:
        return self.status in (PENDING, RENDERING)
