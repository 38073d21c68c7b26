"""Drafts, their versions and sections; comment rounds on one fixed version; comments and decisions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.db import Base, utcnow

# Decisions on a comment, in the order staff pick them.
TAKEN, PARTLY, NOT_TAKEN, NOTED = "taken", "partly", "not_taken", "noted"
DECISIONS = (TAKEN, PARTLY, NOT_TAKEN, NOTED)

DRAFT_FORMATS = ("markdown", "docx", "pasted")


class Draft(Base):
    """A document put up for comment, e.g. an association-cooperation programme."""

    __tablename__ = "draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )

    versions: Mapped[list[DraftVersion]] = relationship(
        back_populates="draft", order_by="DraftVersion.number", cascade="all, delete-orphan"
    )


class DraftVersion(Base):
    """One frozen version; editing a draft makes a new version, so a round's text never moves."""

    __tablename__ = "draft_version"
    __table_args__ = (UniqueConstraint("draft_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("draft.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    source_format: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    draft: Mapped[Draft] = relationship(back_populates="versions")
    sections: Mapped[list[Section]] = relationship(
        back_populates="version", order_by="Section.position", cascade="all, delete-orphan"
    )


class Section(Base):
    """A heading and the sanitised HTML under it (made from Markdown or Word, never typed HTML)."""

    __tablename__ = "draft_section"
    __table_args__ = (UniqueConstraint("version_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("draft_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    level: Mapped[int] = mapped_column(default=2)
    heading: Mapped[str] = mapped_column(String(300))
    # Stable within a version, for #anchors and the table of contents.
    anchor: Mapped[str] = mapped_column(String(120))
    body_html: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[DraftVersion] = relationship(back_populates="sections")


class Round(Base):
    """A comment round (kommentointikierros) on one draft version. Its state follows the clock."""

    __tablename__ = "comment_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    # Part of the public URL; hard to guess before it is announced.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    intro: Mapped[str] = mapped_column(Text, default="")
    draft_version_id: Mapped[int] = mapped_column(ForeignKey("draft_version.id"), index=True)
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]
    # General questions through the form engine (formbuilder.FormDefinition).
    form_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_definition.id", ondelete="SET NULL")
    )
    section_comments: Mapped[bool] = mapped_column(default=True)
    comments_public: Mapped[bool] = mapped_column(default=False)
    association_required: Mapped[bool] = mapped_column(default=False)
    consent_key: Mapped[str] = mapped_column(String(40), default="round")
    retention_days: Mapped[int] = mapped_column(default=365)
    max_comment_length: Mapped[int] = mapped_column(default=5000)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    # Set when personal data of the round was removed by retention.
    anonymised_at: Mapped[dt.datetime | None]

    version: Mapped[DraftVersion] = relationship()
    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="round", cascade="all, delete-orphan"
    )

    def state(self, now: dt.datetime) -> str:
        """ "upcoming", "open" or "closed": no cron, the clock decides."""
        if now < self.opens_at:
            return "upcoming"
        if now < self.closes_at:
            return "open"
        return "closed"

    def is_open(self, now: dt.datetime) -> bool:
        return self.state(now) == "open"


class Invitation(Base):
    """An association on the round's distribution list."""

    __tablename__ = "round_invitation"
    __table_args__ = (UniqueConstraint("round_id", "association_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("comment_round.id", ondelete="CASCADE"))
    association_id: Mapped[int] = mapped_column(
        ForeignKey("association.id", ondelete="CASCADE"), index=True
    )
    invited_at: Mapped[dt.datetime | None]
    reminded_at: Mapped[dt.datetime | None]

    round: Mapped[Round] = relationship(back_populates="invitations")


class Participant(Base):
    """Someone who took part in a round: one row per e-mail address and round."""

    __tablename__ = "round_participant"
    __table_args__ = (UniqueConstraint("round_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("comment_round.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="fi")
    association_id: Mapped[int | None] = mapped_column(
        ForeignKey("association.id", ondelete="SET NULL"), index=True
    )
    # Whether the person's own name may appear in public pages and the digest.
    name_public: Mapped[bool] = mapped_column(default=False)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id", ondelete="SET NULL"))
    # General questions' answers (formbuilder.FormResponse).
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_response.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    anonymised_at: Mapped[dt.datetime | None]

    comments: Mapped[list[Comment]] = relationship(back_populates="participant")


class Comment(Base):
    __tablename__ = "round_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("comment_round.id", ondelete="CASCADE"), index=True
    )
    # None: a comment on the draft as a whole.
    section_id: Mapped[int | None] = mapped_column(
        ForeignKey("draft_section.id", ondelete="SET NULL"), index=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("round_participant.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(Text)
    # A random key from the form: a double click or a resent POST stores one comment.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None]
    hidden_at: Mapped[dt.datetime | None]
    hidden_reason: Mapped[str] = mapped_column(String(500), default="")
    hidden_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    decision: Mapped[str | None] = mapped_column(String(12), index=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )

    participant: Mapped[Participant] = relationship(back_populates="comments")
    section: Mapped[Section | None] = relationship()

    @property
    def visible(self) -> bool:
        """Shown publicly, in exports and PDFs: neither hidden by staff nor withdrawn."""
        return self.hidden_at is None and self.withdrawn_at is None
