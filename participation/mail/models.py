from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from participation.db import Base, utcnow

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"


class Mailing(Base):
    """A batch of messages sent together (a digest to every participant), for its progress page."""

    __tablename__ = "mailing"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(String(50))
    # The PDF attached to every message of the mailing, rendered once.
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digest.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )


class OutboxMessage(Base):
    """One message to one recipient. Written in the transaction that caused it; the worker sends it."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(50), index=True)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    message_id: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    mailing_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailing.id", ondelete="SET NULL"), index=True
    )
    # Attached when sent; the message waits while the digest is still being rendered.
    attachment_digest_id: Mapped[int | None] = mapped_column(
        ForeignKey("digest.id", ondelete="SET NULL"), index=True
    )
    # An iCalendar file attached as invite.ics (an event's confirmation).
    attachment_ics: Mapped[str | None] = mapped_column(Text)
