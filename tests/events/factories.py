"""Shared factories for event tests: rows written directly (no rules, no mails), so a test can
set up exactly the state it needs. Plain functions; callers pass the session and the clock."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from participation.accounts.models import COORDINATOR, User
from participation.events.models import CANCELLED, CONFIRMED, Event, EventGroup, Registration
from participation.events.setup import _slug_for, add_default_questions
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.register.models import Association

FACTORY_USER_EMAIL = "event-factory@example.org"


def _factory_user(session: Session) -> int:
    """A staff user to own the registration form when the test gives none."""
    user = session.scalar(select(User).where(User.email == FACTORY_USER_EMAIL))
    if user is None:
        # Never logs in, so the hash need not be a real one.
        user = User(
            email=FACTORY_USER_EMAIL, name="Event factory", role=COORDINATOR, password_hash="!"
        )
        session.add(user)
        session.flush()
    return user.id


def _times(
    state: str, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime, dt.datetime, dt.datetime]:
    """(registration opens, closes, starts, ends) so that `event.registration_state(now)` is
    `state`."""
    day = dt.timedelta(days=1)
    hour = dt.timedelta(hours=1)
    if state == "open":
        return now - day, now + 5 * day, now + 7 * day, now + 7 * day + 3 * hour
    if state == "upcoming":
        return now + day, now + 5 * day, now + 7 * day, now + 7 * day + 3 * hour
    if state == "closed":
        return now - 5 * day, now - hour, now + day, now + day + 3 * hour
    if state == "past":
        return now - 20 * day, now - 12 * day, now - 10 * day, now - 10 * day + 3 * hour
    raise ValueError(f"unknown state {state!r}")


def make_event(
    session: Session,
    *,
    now: dt.datetime,
    capacity: int | None = None,
    groups: list[tuple[str, int | None]] | None = None,
    state: str = "open",
    title: str = "Yhdistysilta",
    allow_party: bool = False,
    with_form: bool = True,
    published: bool = True,
    creator_id: int | None = None,
) -> Event:
    """An event whose registration is in `state` ("open", "upcoming", "closed", "past"), with
    breakout `groups` given as (name, capacity) and, `with_form`, the default questions."""
    opens, closes, starts, ends = _times(state, now)
    event = Event(
        kind="association_evening",
        title=title,
        slug=_slug_for(title),
        description="Tervetuloa yhdistysiltaan.",
        starts_at=starts,
        ends_at=ends,
        place="Kaupungintalo, valtuustosali",
        accessibility="Esteetön sisäänkäynti pääovelta.",
        capacity=capacity,
        registration_opens_at=opens,
        registration_closes_at=closes,
        allow_party=allow_party,
        max_party=5,
        published_at=now - dt.timedelta(days=2) if published else None,
        created_by_id=creator_id,
        created_at=now - dt.timedelta(days=3),
        updated_at=now - dt.timedelta(days=3),
    )
    for position, (name, group_capacity) in enumerate(groups or []):
        event.groups.append(EventGroup(name=name, capacity=group_capacity, position=position))
    session.add(event)
    session.flush()
    if with_form:
        add_default_questions(
            session, event, owner_id=creator_id or _factory_user(session), now=now
        )
    return event


def make_registration(
    session: Session,
    event: Event,
    *,
    name: str,
    email: str,
    now: dt.datetime,
    status: str = CONFIRMED,
    group: EventGroup | None = None,
    seats: int = 1,
    association: Association | int | None = None,
    answers: dict[str, Any] | None = None,
    attended: bool = False,
) -> Registration:
    """A registration row as the registration service would leave it (answers stored as a
    FormResponse of the event's form, unchecked)."""
    response_id = None
    if answers is not None:
        form = session.get(FormDefinition, event.form_id) if event.form_id else None
        if form is None:
            raise ValueError("the event has no registration form for answers")
        response = FormResponse(
            form_id=form.id, answers=answers, schema_version=form.version, submitted_at=now
        )
        session.add(response)
        session.flush()
        response_id = response.id
    association_id = association.id if isinstance(association, Association) else association
    registration = Registration(
        event_id=event.id,
        group_id=group.id if group is not None else None,
        status=status,
        name=name,
        email=email,
        email_key=email.lower(),
        language="fi",
        association_id=association_id,
        seats=seats,
        response_id=response_id,
        submission_key=secrets.token_urlsafe(16),
        source="web",
        created_at=now,
        updated_at=now,
        confirmed_at=now if status == CONFIRMED else None,
        cancelled_at=now if status == CANCELLED else None,
        attended_at=now if attended else None,
    )
    session.add(registration)
    session.flush()
    return registration
