"""Feedback surveys on the form engine: the survey, its invitations, the answers given to it,
answers saved to continue later, and free texts hidden from the public results.

Anonymous means anonymous: for an anonymous survey nothing here links an answer to a person
or an invitation, and no time finer than the day is stored with it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.db import Base, utcnow

# What a second answer through the same invitation does.
UPDATE, REFUSE = "update", "refuse"
SECOND_ANSWER = (UPDATE, REFUSE)
# How the questions are shown: all on one page, or one per page with progress.
ONE_PAGE, PAGED = "one_page", "paged"
LAYOUTS = (ONE_PAGE, PAGED)


class Survey(Base):
    """A survey: standalone, or after an event or a comment round. The clock decides whether
    it is open."""

    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    # Part of the public URL; hard to guess before it is announced.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    # The questions (formbuilder.FormDefinition); answers are FormResponse rows of this form.
    form_id: Mapped[int] = mapped_column(ForeignKey("form_definition.id"), index=True)
    welcome: Mapped[str] = mapped_column(Text, default="")
    thank_you: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]
    anonymous: Mapped[bool] = mapped_column(default=True)
    # Anyone with the public link may answer; otherwise only through an invitation.
    public_link: Mapped[bool] = mapped_column(default=True)
    second_answer: Mapped[str] = mapped_column(String(10), default=UPDATE)
    layout: Mapped[str] = mapped_column(String(10), default=ONE_PAGE)
    # Attached to an event (sent to its attendees after it) or to a comment round.
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="SET NULL"), index=True
    )
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("comment_round.id", ondelete="SET NULL"), index=True
    )
    # Results shown on the public results page once published.
    results_published_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
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


class SurveyInvitation(Base):
    """One invitation by e-mail (its personal link is a tokens.ActionLink on this row). For an
    anonymous survey it records only whether someone answered, never which answer."""

    __tablename__ = "survey_invitation"
    __table_args__ = (
        UniqueConstraint("survey_id", "email_key", name="uq_survey_invitation_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(2), default="fi")
    answered: Mapped[bool] = mapped_column(default=False)
    invited_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    reminded_at: Mapped[dt.datetime | None]
    # Wants the results PDF mailed when they are published.
    wants_results: Mapped[bool] = mapped_column(default=False)


class SurveyAnswer(Base):
    """One submission to a survey. Identified surveys keep who answered (and through which
    invitation); anonymous ones keep none of it, and only the day of the answer."""

    __tablename__ = "survey_answer"
    __table_args__ = (
        # A double click or two tabs with the same form store one answer.
        UniqueConstraint("survey_id", "submission_key", name="uq_survey_answer_submission"),
        # One answer per invitation (identified surveys; anonymous ones never set it). Partial,
        # like the two below: most answers (anonymous, live votes) leave these columns empty,
        # and an index entry per empty value would only slow every answer's insert.
        Index(
            "uq_survey_answer_invitation",
            "survey_id",
            "invitation_id",
            unique=True,
            postgresql_where=text("invitation_id IS NOT NULL"),
            sqlite_where=text("invitation_id IS NOT NULL"),
        ),
        Index(
            "ix_survey_answer_person_id",
            "person_id",
            postgresql_where=text("person_id IS NOT NULL"),
            sqlite_where=text("person_id IS NOT NULL"),
        ),
        Index(
            "ix_survey_answer_category_id",
            "category_id",
            postgresql_where=text("category_id IS NOT NULL"),
            sqlite_where=text("category_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (survey_id, submission_key) index leads with it.
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    response_id: Mapped[int] = mapped_column(
        ForeignKey("form_response.id", ondelete="CASCADE"), unique=True
    )
    submission_key: Mapped[str] = mapped_column(String(64))
    # The day only (Helsinki), in every survey.
    answered_on: Mapped[dt.date] = mapped_column(Date)
    # Identified surveys only.
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitation.id", ondelete="SET NULL")
    )
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    # The respondent's association category, for filtering results (asked, or from the
    # register for an identified respondent); None when not known.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id", ondelete="SET NULL"))
    # Typed in by staff from paper (also FormResponse.source == "paper").
    entered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    # An anonymous respondent who wants the results leaves an address here, apart from the
    # answers: kept in SurveyResultsRequest, never in this row.


class SurveyResultsRequest(Base):
    """An address that asked for the results PDF, kept apart from any answer."""

    __tablename__ = "survey_results_request"
    __table_args__ = (UniqueConstraint("survey_id", "email_key", name="uq_survey_results_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="fi")
    requested_on: Mapped[dt.date] = mapped_column(Date)


class SurveyProgress(Base):
    """Answers saved to continue later (a tokens.ActionLink on this row is the link)."""

    __tablename__ = "survey_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict] = mapped_column(default=dict)
    page: Mapped[int] = mapped_column(default=0)
    # The invitation it continues (identified surveys only).
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitation.id", ondelete="CASCADE")
    )
    saved_on: Mapped[dt.date] = mapped_column(Date)


class HiddenText(Base):
    """A free-text answer hidden from the public results, with the reason (staff see it)."""

    __tablename__ = "survey_hidden_text"
    __table_args__ = (
        UniqueConstraint("answer_id", "question_key", name="uq_survey_hidden_text_answer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(
        ForeignKey("survey_answer.id", ondelete="CASCADE"), index=True
    )
    question_key: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    hidden_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    hidden_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )

    answer: Mapped[SurveyAnswer] = relationship()
