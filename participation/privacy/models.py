"""Consents, recorded with the exact text version the person saw and the time; and an anonymous
log of erasures, so staff can see that erasures happened without keeping whose data it was."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.db import Base, utcnow


class ConsentText(Base):
    """A versioned consent wording, e.g. key "register" version 2. Texts are never edited in place."""

    __tablename__ = "consent_text"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int]
    text_fi: Mapped[str] = mapped_column(Text)
    text_sv: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def text(self, locale: str) -> str:
        """The wording in `locale`, falling back to Finnish (the only required language)."""
        return getattr(self, f"text_{locale}", "") or self.text_fi


class Consent(Base):
    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_text.id"))
    language: Mapped[str] = mapped_column(String(2), default="fi")
    given_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None]

    consent_text: Mapped[ConsentText] = relationship()


class ErasureLog(Base):
    """One erasure (on request) or one retention run: when, why, and how many rows. Never who."""

    __tablename__ = "erasure_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    erased_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # "request" (the person's own link) or "retention" (the periodic clean-up)
    reason: Mapped[str] = mapped_column(String(20))
    # {"people": 1, "consents": 2, "messages": 3, ...}
    counts: Mapped[dict] = mapped_column(default=dict)
