"""Association evenings live (yhdistysilta): the programme, the workshop questions asked in
every breakout group, theme ideas proposed and voted on before the evening, facilitators'
links and notes, the live vote (a survey's answers), the summary sent back to everyone and
the evening's recorded figures.

Everything hangs off an events.Event; the breakout groups are its EventGroups.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.db import Base, utcnow

if TYPE_CHECKING:
    from participation.events.models import Event

# What a second vote from the same phone does.
UPDATE, REFUSE = "update", "refuse"
SECOND_VOTE = (UPDATE, REFUSE)
# Who the summary goes to besides the invited associations.
ALL_REGISTERED, ATTENDED = "all", "attended"
AUDIENCES = (ALL_REGISTERED, ATTENDED)


class ProgrammeItem(Base):
    """One line of the evening's programme: a Helsinki wall-clock time on the event's day."""

    __tablename__ = "evening_programme_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    at: Mapped[dt.time] = mapped_column(Time)
    title: Mapped[str] = mapped_column(String(300))
    speaker: Mapped[str] = mapped_column(String(200), default="")


class WorkshopQuestion(Base):
    """A question asked in every breakout group of the event."""

    __tablename__ = "evening_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(String(500))


class Theme(Base):
    """A theme idea for the evening, proposed by an association (or added by staff)."""

    __tablename__ = "evening_theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Shown publicly as the proposer: an association's name, never a private person's.
    association_id: Mapped[int | None] = mapped_column(
        ForeignKey("association.id", ondelete="SET NULL"), index=True
    )
    # Against a double click: one theme per submission.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    hidden_at: Mapped[dt.datetime | None]
    hidden_reason: Mapped[str] = mapped_column(String(500), default="")
    # Taken up at the evening: counts in the year's figures ("themes handled").
    handled: Mapped[bool] = mapped_column(default=False)


class ThemeVote(Base):
    """One browser's vote for one theme (a random cookie key, hashed: no person)."""

    __tablename__ = "evening_theme_vote"
    __table_args__ = (UniqueConstraint("theme_id", "voter_key", name="uq_evening_theme_vote"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("evening_theme.id", ondelete="CASCADE"), index=True
    )
    voter_key: Mapped[str] = mapped_column(String(64))
    voted_on: Mapped[dt.date]


class FacilitatorLink(Base):
    """A breakout group's link for its facilitator(s): no account, revocable. Only the hash of
    the token in the URL is stored."""

    __tablename__ = "evening_facilitator_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("event_group.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Whom it was given to, for the coordinator's list ("Matti, group 2").
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]


class GroupNote(Base):
    """One device's notes on one workshop question in one group. Each facilitator's device
    writes its own row, so two facilitators never overwrite each other; `revision` (counted by
    the device) keeps a late, older autosave from replacing a newer text."""

    __tablename__ = "evening_note"
    __table_args__ = (
        UniqueConstraint("group_id", "question_id", "author_key", name="uq_evening_note_author"),
        Index("ix_evening_note_event_updated", "event_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("event_group.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(
        ForeignKey("evening_question.id", ondelete="CASCADE"), index=True
    )
    link_id: Mapped[int | None] = mapped_column(
        ForeignKey("evening_facilitator_link.id", ondelete="SET NULL")
    )
    # A random key the device keeps (cookie), not a person.
    author_key: Mapped[str] = mapped_column(String(64))
    # The name the facilitator typed on the page, shown beside the text ("" when none).
    author_name: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    revision: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LiveVote(Base):
    """The evening's live vote ("pick the three most important"). The votes are the answers of
    `survey_id` (anonymous, one question `question_key`); each phone's answer has a
    submission key derived from the phone's cookie, so a phone has one answer."""

    __tablename__ = "evening_vote"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), unique=True)
    question_key: Mapped[str] = mapped_column(String(64))
    # The short link /v/<code> (also in the QR code).
    code: Mapped[str] = mapped_column(String(16), unique=True)
    second_vote: Mapped[str] = mapped_column(String(10), default=UPDATE)
    # Staff open and close the vote by hand within the event; after the event's end it is shut.
    opened_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EveningSummary(Base):
    """The summary (yhdistysillan kooste) the coordinator edits after the evening: Markdown,
    prefilled from the groups' notes and the vote, with next steps. Publishing makes a
    digest (kind "evening") and its mailing."""

    __tablename__ = "evening_summary"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), unique=True)
    body: Mapped[str] = mapped_column(Text, default="")
    # What happens to the input, and what comes next.
    next_steps: Mapped[str] = mapped_column(Text, default="")
    next_event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id", ondelete="SET NULL"))
    follow_up_survey_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey.id", ondelete="SET NULL")
    )
    follow_up_round_id: Mapped[int | None] = mapped_column(
        ForeignKey("comment_round.id", ondelete="SET NULL")
    )
    audience: Mapped[str] = mapped_column(String(10), default=ALL_REGISTERED)
    include_invited: Mapped[bool] = mapped_column(default=True)
    published_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )


class EveningFigures(Base):
    """The evening's figures for the year's report, recorded when the summary is published
    (and again on request): kept even if registrations are later anonymised."""

    __tablename__ = "evening_figures"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), unique=True)
    # The event's Helsinki year.
    year: Mapped[int] = mapped_column(index=True)
    registered: Mapped[int] = mapped_column(default=0)
    attended: Mapped[int] = mapped_column(default=0)
    associations_present: Mapped[int] = mapped_column(default=0)
    # {category name: associations present}; "" for associations without a category.
    by_category: Mapped[dict] = mapped_column(default=dict)
    themes_handled: Mapped[int] = mapped_column(default=0)
    votes_cast: Mapped[int] = mapped_column(default=0)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    event: Mapped[Event] = relationship()
