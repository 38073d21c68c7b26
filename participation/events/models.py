"""Events (association evenings, workshops…), their breakout groups, invitations and
registrations with seats, a waitlist and attendance."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.db import Base, utcnow

# Kinds of event, in the order the organiser picks them.
KINDS = ("association_evening", "workshop", "info_session", "partnership_forum", "other")

# A registration is confirmed (holds its seats), waitlisted (in arrival order) or cancelled.
CONFIRMED, WAITLISTED, CANCELLED = "confirmed", "waitlisted", "cancelled"
STATUSES = (CONFIRMED, WAITLISTED, CANCELLED)


class Event(Base):
    """One event. Its registration state follows the clock; capacity None means unlimited."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), default="association_evening")
    title: Mapped[str] = mapped_column(String(300))
    # Part of the public URL; hard to guess before it is announced.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    place: Mapped[str] = mapped_column(String(300), default="")
    # Step-free access, hearing loop, parking… shown next to the place.
    accessibility: Mapped[str] = mapped_column(Text, default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    capacity: Mapped[int | None]
    registration_opens_at: Mapped[dt.datetime]
    registration_closes_at: Mapped[dt.datetime]
    # Registration questions through the form engine (formbuilder.FormDefinition).
    form_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_definition.id", ondelete="SET NULL")
    )
    # Question keys whose answers (diet, accessibility needs) are deleted after the event.
    sensitive_keys: Mapped[list] = mapped_column(default=list)
    sensitive_days: Mapped[int] = mapped_column(default=30)
    sensitive_erased_at: Mapped[dt.datetime | None]
    # Several people from one association on one registration (each takes a seat).
    allow_party: Mapped[bool] = mapped_column(default=False)
    max_party: Mapped[int] = mapped_column(default=5)
    # Listed on the public pages and in the calendar feed once published.
    published_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    notify_cancellations: Mapped[bool] = mapped_column(default=False)
    organiser_email: Mapped[str] = mapped_column(String(254), default="")
    # Reminder this many days before the start (None: no reminder); thank-you after the end.
    reminder_days: Mapped[int | None] = mapped_column(default=2)
    thank_you: Mapped[bool] = mapped_column(default=True)
    feedback_url: Mapped[str] = mapped_column(String(500), default="")
    # Participants' names may be listed publicly only for those who consented.
    list_participants: Mapped[bool] = mapped_column(default=False)
    consent_key: Mapped[str] = mapped_column(String(40), default="event")
    # Raised by every change of time or place: the .ics SEQUENCE.
    sequence: Mapped[int] = mapped_column(default=0)
    # Bumped under the registration lock (an UPDATE takes the row lock on every database).
    lock_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    # Set when personal data of the event was removed by retention.
    anonymised_at: Mapped[dt.datetime | None]

    groups: Mapped[list[EventGroup]] = relationship(
        back_populates="event", order_by="EventGroup.position", cascade="all, delete-orphan"
    )
    invitations: Mapped[list[EventInvitation]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )

    def registration_state(self, now: dt.datetime) -> str:
        """ "cancelled", "upcoming", "open", "closed" (deadline passed) or "past"."""
        if self.cancelled_at is not None:
            return "cancelled"
        if now >= self.ends_at:
            return "past"
        if now < self.registration_opens_at:
            return "upcoming"
        if now < self.registration_closes_at:
            return "open"
        return "closed"

    def is_open(self, now: dt.datetime) -> bool:
        return self.registration_state(now) == "open"


class EventGroup(Base):
    """A breakout group (työpaja-ryhmä) with its own capacity and facilitator."""

    __tablename__ = "event_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int | None]
    facilitator: Mapped[str] = mapped_column(String(200), default="")

    event: Mapped[Event] = relationship(back_populates="groups")


class EventInvitation(Base):
    """An association invited to an event; `sent_at` once its invitation mail is queued."""

    __tablename__ = "event_invitation"
    __table_args__ = (UniqueConstraint("event_id", "association_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    association_id: Mapped[int] = mapped_column(
        ForeignKey("association.id", ondelete="CASCADE"), index=True
    )
    invited_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]

    event: Mapped[Event] = relationship(back_populates="invitations")


class Registration(Base):
    """One registration: a person (with `seats` people of their association), their group and
    answers. Waitlisted ones are promoted in arrival order (by id) when seats free."""

    __tablename__ = "event_registration"
    __table_args__ = (
        # One registration per address per event; a second submit finds the first.
        UniqueConstraint("event_id", "email_key", name="uq_event_registration_email"),
        # "Ten identical submissions give one registration".
        UniqueConstraint("event_id", "submission_key", name="uq_event_registration_submission"),
        # The seats taken (by group) read from the index alone, under the event's lock; it
        # serves lookups by event and status too.
        Index("ix_event_registration_seats", "event_id", "status", "group_id", "seats"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_group.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default=CONFIRMED)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    # The address lower-cased (or "erased-<id>" after erasure): the uniqueness key.
    email_key: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="fi")
    association_id: Mapped[int | None] = mapped_column(
        ForeignKey("association.id", ondelete="SET NULL"), index=True
    )
    # The register person it was matched to, for the privacy exporter and eraser.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    # How many people this registration brings (1 unless the event allows a party).
    seats: Mapped[int] = mapped_column(default=1)
    # Answers to the event's questions (formbuilder.FormResponse).
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_response.id", ondelete="SET NULL")
    )
    name_public: Mapped[bool] = mapped_column(default=False)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id", ondelete="SET NULL"))
    submission_key: Mapped[str] = mapped_column(String(64))
    # Added by staff (a phone registration) or at the door (a walk-in).
    source: Mapped[str] = mapped_column(String(10), default="web")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
    promoted_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    attended_at: Mapped[dt.datetime | None]
    # Each automatic mail once per person, however often the job runs.
    reminded_at: Mapped[dt.datetime | None]
    thanked_at: Mapped[dt.datetime | None]
    anonymised_at: Mapped[dt.datetime | None]

    group: Mapped[EventGroup | None] = relationship()
