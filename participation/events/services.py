"""Registration for events: seats, breakout groups, the waitlist and attendance.

The one rule that matters most: a seat is never sold twice. Every change that takes or frees
seats first takes the event's lock (`lock_event`: an UPDATE of the event row, which is a row
lock on PostgreSQL and the database's write lock on SQLite), then counts and decides, then
writes, all in one transaction. Waitlisted registrations are promoted in arrival order (their
id) whenever seats free, inside the same lock, and each promotion mails its person once.

The clock is passed in (`now`); the mails are outbox rows in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from participation import tokens
from participation.errors import Busy, Invalid, NotFound, WrongState
from participation.events.models import (
    CANCELLED,
    CONFIRMED,
    WAITLISTED,
    Event,
    Registration,
)
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.i18n import datetime_filter
from participation.mail.services import queue_mail
from participation.privacy import services as privacy
from participation.register import people
from participation.register.models import LANGUAGES, Association
from participation.register.values import EMAIL_MAX, NAME_MAX, normalise_email
from participation.web import absolute_url

EVENT_CONSENT = "event"
MANAGE_PURPOSE = "event_registration"
# The manage link works until a week after the event, so people can look back at it.
MANAGE_AFTER_END = dt.timedelta(days=7)
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# How long a registration waits for the event's lock before "try again" (PostgreSQL; SQLite
# waits for its busy timeout, see participation.db).
LOCK_TIMEOUT_MS = 10_000
SOURCES = ("web", "staff", "walk_in")
# Walk-ins without an address get one under this reserved domain (RFC 2606): never mailed.
WALK_IN_DOMAIN = "walk-in.invalid"

EVENT_CONSENT_TEXTS = (
    "Suostun siihen, että nimeni, sähköpostiosoitteeni, mahdollinen edustamani yhdistys ja "
    "ilmoittautumiseni vastaukset tallennetaan kaupungin osallistumispalveluun tapahtuman "
    "järjestämistä varten. Ruokavalio- ja saavutettavuustiedot poistetaan pian tapahtuman "
    "jälkeen. Nimeni näytetään osallistujalistassa vain, jos annan siihen luvan.",
    "Jag samtycker till att mitt namn, min e-postadress, den förening jag eventuellt "
    "representerar och svaren i min anmälan sparas i stadens deltagandetjänst för att ordna "
    "evenemanget. Uppgifter om specialkost och tillgänglighet raderas kort efter evenemanget. "
    "Mitt namn visas i deltagarlistan endast om jag tillåter det.",
    "I agree that my name, e-mail address, the association I may represent and the answers in my "
    "registration are stored in the city's participation service for organising the event. Diet "
    "and accessibility details are deleted soon after the event. My name is shown in the list of "
    "participants only if I allow it.",
)


def ensure_event_consent_text(session: Session, now: dt.datetime) -> None:
    """Publish the default consent text for event registration if none exists yet."""
    if privacy.find_current_consent_text(session, EVENT_CONSENT) is None:
        privacy.publish_consent_text(session, EVENT_CONSENT, *EVENT_CONSENT_TEXTS, now)


# --- finding --------------------------------------------------------------------------------


def get_event(session: Session, event_id: int) -> Event:
    """The event with its groups. Raises NotFound."""
    event = session.scalar(
        select(Event).where(Event.id == event_id).options(selectinload(Event.groups))
    )
    if event is None:
        raise NotFound(_("No such event."))
    return event


def get_event_by_slug(session: Session, slug: str) -> Event:
    """A published event by its public address. Raises NotFound."""
    event = session.scalar(
        select(Event).where(Event.slug == slug).options(selectinload(Event.groups))
    )
    if event is None or event.published_at is None:
        raise NotFound(_("No such event."))
    return event


def get_registration(session: Session, registration_id: int) -> Registration:
    """Raises NotFound."""
    registration = session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(_("No such registration."))
    return registration


def event_form(session: Session, event: Event) -> FormDefinition | None:
    return session.get(FormDefinition, event.form_id) if event.form_id else None


def answers_of(session: Session, registration: Registration) -> dict[str, Any]:
    if registration.response_id is None:
        return {}
    response = session.get(FormResponse, registration.response_id)
    return dict(response.answers) if response else {}


# --- seats ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Availability:
    """Free seats now: None means unlimited. `groups` maps group id → free seats."""

    capacity: int | None
    taken: int
    free: int | None
    waitlisted: int
    groups: dict[int, int | None] = field(default_factory=dict)
    group_taken: dict[int, int] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return self.free is not None and self.free <= 0

    def fits(self, seats: int, group_id: int | None) -> bool:
        if self.free is not None and seats > self.free:
            return False
        group_free = self.groups.get(group_id) if group_id is not None else None
        return group_free is None or seats <= group_free


def seats_taken(session: Session, event_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Registration.seats), 0)).where(
                Registration.event_id == event_id, Registration.status == CONFIRMED
            )
        )
        or 0
    )


def group_seats_taken(session: Session, event_id: int) -> dict[int, int]:
    rows = session.execute(
        select(Registration.group_id, func.coalesce(func.sum(Registration.seats), 0))
        .where(
            Registration.event_id == event_id,
            Registration.status == CONFIRMED,
            Registration.group_id.is_not(None),
        )
        .group_by(Registration.group_id)
    ).all()
    return {group_id: int(taken) for group_id, taken in rows}


def availability(session: Session, event: Event) -> Availability:
    taken = seats_taken(session, event.id)
    by_group = group_seats_taken(session, event.id)
    waitlisted = int(
        session.scalar(
            select(func.count(Registration.id)).where(
                Registration.event_id == event.id, Registration.status == WAITLISTED
            )
        )
        or 0
    )
    groups = {
        g.id: (None if g.capacity is None else max(g.capacity - by_group.get(g.id, 0), 0))
        for g in event.groups
    }
    free = None if event.capacity is None else max(event.capacity - taken, 0)
    return Availability(event.capacity, taken, free, waitlisted, groups, by_group)


def lock_event(session: Session, event_id: int) -> Event:
    """Take the event's lock for the rest of the transaction and return the fresh event.

    An UPDATE rather than SELECT … FOR UPDATE: it is a row lock on PostgreSQL and takes the
    write lock on SQLite (which has no row locks), so one code path serialises registrations
    on both. Raises NotFound, and Busy when the lock is not had in time.
    """
    bind = session.get_bind()
    try:
        if bind.dialect.name == "postgresql":
            session.execute(text(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}"))
        locked = session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(lock_version=Event.lock_version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
    except OperationalError as exc:
        if _is_lock_timeout(exc):
            raise Busy(
                _("Many people are registering right now. Wait a moment and send the form again.")
            ) from exc
        raise
    if not locked:
        raise NotFound(_("No such event."))
    event = session.get(Event, event_id, populate_existing=True)
    assert event is not None
    return event


def _is_lock_timeout(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return "locked" in message or "lock timeout" in message or "lock_timeout" in message


# --- registering ----------------------------------------------------------------------------


@dataclass
class RegistrationInput:
    """What a registration form (or staff, or the door) sends; answers already validated by
    the form engine."""

    name: str
    email: str
    language: str = "fi"
    association_id: int | str | None = None
    seats: int | str = 1
    group_id: int | str | None = None
    answers: dict[str, Any] | None = None
    name_public: bool = False
    consent: bool = False
    submission_key: str = ""
    source: str = "web"


@dataclass
class Outcome:
    registration: Registration
    duplicate: bool = False
    # A second form with an address already registered: nothing changed, the first stands.
    already_registered: bool = False

    @property
    def waitlisted(self) -> bool:
        return self.registration.status == WAITLISTED


def _int_or_none(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # refused below as "not one of the choices"


def check_registration_input(
    session: Session, event: Event, data: RegistrationInput, *, by_staff: bool = False
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cleaned values and the messages by field (name, email, association_id, seats,
    group_id, consent). Staff registering someone by phone need not tick the consent box."""
    errors: dict[str, list[str]] = {}
    name = " ".join((data.name or "").split())
    if not name:
        errors["name"] = [_("Enter your name.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_("Use at most %(n)s characters.", n=NAME_MAX)]
    email = ""
    try:
        if len(data.email or "") > EMAIL_MAX:
            raise ValueError(data.email)
        email = normalise_email(data.email or "")
    except ValueError:
        errors["email"] = [
            _("Enter your e-mail address, e.g. name@example.fi. We send the confirmation there.")
        ]
    association = None
    association_id = _int_or_none(data.association_id)
    if association_id is not None:
        association = session.get(Association, association_id) if association_id > 0 else None
        if association is None or not association.active or association.merged_into_id:
            association = None
            errors["association_id"] = [_("Choose an association from the list.")]
    seats = _int_or_none(data.seats)
    most = event.max_party if event.allow_party else 1
    if seats is None:
        seats = 1
    if not 1 <= seats <= most:
        errors["seats"] = [_("Choose between 1 and %(n)s people.", n=most)]
    group_id = _int_or_none(data.group_id)
    groups = {g.id for g in event.groups}
    if group_id is None and groups:
        errors["group_id"] = [_("Choose a group.")]
    elif group_id is not None and group_id not in groups:
        errors["group_id"] = [_("Choose a group from the list.")]
    if not data.consent and not by_staff:
        errors["consent"] = [
            _("Agree to the handling of your data, or we cannot save your registration.")
        ]
    language = data.language if data.language in LANGUAGES else "fi"
    source = data.source if data.source in SOURCES else "web"
    return {
        "name": name,
        "email": email,
        "association": association,
        "seats": seats,
        "group_id": group_id,
        "language": language,
        "name_public": bool(data.name_public),
        "source": source,
    }, errors


def check_open(event: Event, now: dt.datetime, *, by_staff: bool = False) -> None:
    """Raises WrongState with a message for the person when registration is not open. Staff
    may still add people after the deadline (a phone call), not to a past or cancelled event."""
    state = event.registration_state(now)
    if state == "open" or (by_staff and state in ("upcoming", "closed")):
        return
    if state == "upcoming":
        message = _(
            "Registration has not opened yet. It opens on %(date)s.",
            date=datetime_filter(event.registration_opens_at),
        )
    elif state == "closed":
        message = _(
            "Registration closed on %(date)s. Your registration was not saved.",
            date=datetime_filter(event.registration_closes_at),
        )
    elif state == "past":
        message = _("The event is over. Your registration was not saved.")
    else:
        message = _("The event has been cancelled. Your registration was not saved.")
    raise WrongState(message)


def _find_by_key(session: Session, event_id: int, key: str) -> Registration | None:
    return session.scalar(
        select(Registration).where(
            Registration.event_id == event_id, Registration.submission_key == key
        )
    )


def _find_by_email(session: Session, event_id: int, email: str) -> Registration | None:
    return session.scalar(
        select(Registration).where(
            Registration.event_id == event_id, Registration.email_key == email.lower()
        )
    )


def register(
    session: Session,
    event_id: int,
    data: RegistrationInput,
    *,
    now: dt.datetime,
    manage_url: Callable[[str], str],
    by_staff: bool = False,
) -> Outcome:
    """Register someone: confirmed when the event and the chosen group have the seats,
    otherwise waitlisted. Mails the confirmation (with the .ics) or the waitlist notice.

    The same form sent twice (its submission key) gives the first registration back; an
    address already registered gets `already_registered` and changes nothing; one that had
    cancelled is registered again. Raises Invalid (messages by field), WrongState (not open),
    NotFound, Busy (the lock was not had in time: nothing stored).
    """
    event = get_event(session, event_id)
    check_open(event, now, by_staff=by_staff)
    if not KEY_PATTERN.match(data.submission_key or ""):
        raise Invalid(_("The form was incomplete. Check it and send it again."))
    values, errors = check_registration_input(session, event, data, by_staff=by_staff)
    if errors:
        raise Invalid(_("Check the registration."), errors)

    event = lock_event(session, event_id)
    # Everything below is decided under the lock: re-read what others may have changed.
    check_open(event, now, by_staff=by_staff)
    same_form = _find_by_key(session, event_id, data.submission_key)
    if same_form is not None:
        return Outcome(same_form, duplicate=True)
    existing = _find_by_email(session, event_id, values["email"])
    if existing is not None and existing.status != CANCELLED:
        return Outcome(existing, already_registered=True)

    seats_now = availability(session, event)
    status = CONFIRMED if seats_now.fits(values["seats"], values["group_id"]) else WAITLISTED
    person = people.find_or_create_person(
        session, email=values["email"], name=values["name"], language=values["language"], now=now
    )
    consent_id = None
    if data.consent:
        ensure_event_consent_text(session, now)
        consent = privacy.record_consent(
            session, person, event.consent_key, values["language"], now
        )
        consent_id = consent.id
    if existing is not None:
        # Cancelled earlier: registering again is a new arrival, queued behind everyone waiting.
        session.delete(existing)
        session.flush()
    registration = Registration(
        event_id=event_id,
        status=status,
        name=values["name"],
        email=values["email"],
        email_key=values["email"].lower(),
        language=values["language"],
        association_id=values["association"].id if values["association"] else None,
        person_id=person.id,
        seats=values["seats"],
        group_id=values["group_id"],
        name_public=values["name_public"],
        consent_id=consent_id,
        submission_key=data.submission_key,
        source=values["source"],
        created_at=now,
        updated_at=now,
        confirmed_at=now if status == CONFIRMED else None,
        attended_at=now if values["source"] == "walk_in" else None,
    )
    if data.answers is not None and event.form_id is not None:
        registration.response_id = _store_answers(session, event, data.answers, now)
    try:
        with session.begin_nested():
            session.add(registration)
            session.flush()
    except IntegrityError:
        # Only without the lock (it serialises these): report the first one as a duplicate.
        found = _find_by_key(session, event_id, data.submission_key) or _find_by_email(
            session, event_id, values["email"]
        )
        if found is None:
            raise
        return Outcome(found, duplicate=True)
    if values["source"] != "walk_in":
        _mail_registered(session, event, registration, manage_url=manage_url, now=now)
    return Outcome(registration)


def _store_answers(
    session: Session, event: Event, answers: dict[str, Any], now: dt.datetime
) -> int | None:
    form = session.get(FormDefinition, event.form_id)
    if form is None:
        return None
    response = FormResponse(
        form_id=form.id,
        answers=answers,
        schema_version=form.version,
        submitted_at=now,
    )
    session.add(response)
    session.flush()
    return response.id


# --- the participant's own link -------------------------------------------------------------


def issue_manage_link(session: Session, registration: Registration, now: dt.datetime) -> str:
    event = session.get(Event, registration.event_id)
    assert event is not None
    lifetime = max(event.ends_at + MANAGE_AFTER_END - now, dt.timedelta(hours=1))
    return tokens.issue_link(
        session, purpose=MANAGE_PURPOSE, subject_id=registration.id, lifetime=lifetime, now=now
    )


def get_registration_by_link(session: Session, token: str, now: dt.datetime) -> Registration:
    """The registration behind a manage link (usable many times until it expires). Raises
    tokens.LinkExpired or tokens.LinkInvalid."""
    link = tokens.check_link(session, token, purpose=MANAGE_PURPOSE, now=now)
    registration = session.get(Registration, link.subject_id)
    if registration is None or registration.anonymised_at is not None:
        raise tokens.LinkInvalid()
    return registration


def change_registration(
    session: Session,
    registration_id: int,
    *,
    now: dt.datetime,
    group_id: int | str | None = None,
    seats: int | str | None = None,
    answers: dict[str, Any] | None = None,
    by_staff: bool = False,
) -> tuple[Registration, list[Registration]]:
    """Change one's group, party size or answers. A confirmed registration moves only if the
    new group (and the event) has the seats; otherwise it keeps its place and Invalid says why.
    A waitlisted one changes freely and is confirmed at once when it now fits. Seats freed
    promote the waitlist. Returns the registration and the promoted ones.

    Raises WrongState (cancelled, registration closed), Invalid, Busy.
    """
    registration = get_registration(session, registration_id)
    event = get_event(session, registration.event_id)
    if registration.status == CANCELLED:
        raise WrongState(_("This registration was cancelled."))
    if not by_staff and not event.is_open(now):
        raise WrongState(
            _("Registration has closed; changes can no longer be made here. Contact the organiser.")
        )
    errors: dict[str, list[str]] = {}
    new_group = registration.group_id if group_id is None else _int_or_none(group_id)
    if new_group is not None and new_group not in {g.id for g in event.groups}:
        errors["group_id"] = [_("Choose a group from the list.")]
    new_seats = registration.seats if seats in (None, "") else _int_or_none(seats)
    most = event.max_party if event.allow_party else 1
    if new_seats is None or not 1 <= new_seats <= most:
        errors["seats"] = [_("Choose between 1 and %(n)s people.", n=most)]
    if errors:
        raise Invalid(_("Check the registration."), errors)

    event = lock_event(session, event.id)
    session.refresh(registration)
    if registration.status == CANCELLED:
        raise WrongState(_("This registration was cancelled."))
    if answers is not None and event.form_id is not None:
        registration.response_id = _store_answers(session, event, answers, now)
    moved = new_group != registration.group_id or new_seats != registration.seats
    if moved and registration.status == CONFIRMED:
        # Count the event without this registration's own seats, then see if the new fits.
        registration.status = WAITLISTED
        session.flush()
        fits = availability(session, event).fits(new_seats, new_group)
        registration.status = CONFIRMED
        if not fits:
            session.flush()
            raise Invalid(
                _("There is no room for that change; your registration stays as it was."),
                {"group_id" if new_group != registration.group_id else "seats": [_("Full.")]},
            )
    registration.group_id, registration.seats = new_group, new_seats
    registration.updated_at = now
    session.flush()
    promoted = _promote(session, event, now=now)
    return registration, promoted


def cancel_registration(
    session: Session, registration_id: int, *, now: dt.datetime, by_staff: bool = False
) -> list[Registration]:
    """Cancel; the seats freed go to the waitlist in order. Mails the person (and the organiser
    when the event asks). Cancelling twice changes nothing. Returns the promoted registrations.
    Raises WrongState (the event is over), Busy."""
    registration = get_registration(session, registration_id)
    event = lock_event(session, registration.event_id)
    session.refresh(registration)
    if registration.status == CANCELLED:
        return []
    if event.registration_state(now) == "past" and not by_staff:
        raise WrongState(_("The event is over; the registration can no longer be cancelled."))
    was = registration.status
    registration.status, registration.cancelled_at, registration.updated_at = CANCELLED, now, now
    session.flush()
    queue_mail(
        session,
        to=registration.email,
        template="event_cancelled_registration",
        purpose="event_cancelled_registration",
        locale=registration.language,
        now=now,
        name=registration.name,
        event=event_facts(event),
        by_staff=by_staff,
    )
    if event.notify_cancellations and event.organiser_email:
        queue_mail(
            session,
            to=event.organiser_email,
            template="event_cancellation_notice",
            purpose="event_cancellation_notice",
            locale="fi",
            now=now,
            name=registration.name,
            email=registration.email,
            seats=registration.seats,
            was_waitlisted=was == WAITLISTED,
            event=event_facts(event),
        )
    return _promote(session, event, now=now) if was == CONFIRMED else []


def move_registration(
    session: Session, registration_id: int, group_id: int | str | None, *, now: dt.datetime
) -> tuple[Registration, list[Registration]]:
    """Staff move someone to another group; refused (Invalid) when that group is full."""
    return change_registration(session, registration_id, group_id=group_id, now=now, by_staff=True)


def promote_waitlist(session: Session, event_id: int, *, now: dt.datetime) -> list[Registration]:
    """Take the lock and promote whoever now fits (after a capacity change, say)."""
    event = lock_event(session, event_id)
    return _promote(session, event, now=now)


def _promote(session: Session, event: Event, *, now: dt.datetime) -> list[Registration]:
    """Under the lock: waitlisted registrations in arrival order, each confirmed if it fits.

    The UPDATE only matches a row still waitlisted, so nobody is promoted (or mailed) twice
    even if two promotion jobs run one after the other on stale objects."""
    if event.cancelled_at is not None or event.registration_state(now) == "past":
        return []
    promoted: list[Registration] = []
    waiting = list(
        session.scalars(
            select(Registration)
            .where(Registration.event_id == event.id, Registration.status == WAITLISTED)
            .order_by(Registration.id)
        )
    )
    if not waiting:
        return promoted
    seats_now = availability(session, event)
    free, groups_free = seats_now.free, dict(seats_now.groups)
    for registration in waiting:
        if free is not None and free <= 0:
            break
        group_free = groups_free.get(registration.group_id) if registration.group_id else None
        if (free is not None and registration.seats > free) or (
            group_free is not None and registration.seats > group_free
        ):
            continue  # a later, smaller registration or one for another group may fit
        changed = session.execute(
            update(Registration)
            .where(Registration.id == registration.id, Registration.status == WAITLISTED)
            .values(status=CONFIRMED, promoted_at=now, confirmed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not changed:
            continue
        session.refresh(registration)
        promoted.append(registration)
        if free is not None:
            free -= registration.seats
        if group_free is not None and registration.group_id is not None:
            groups_free[registration.group_id] = group_free - registration.seats
        token = issue_manage_link(session, registration, now)
        queue_mail(
            session,
            to=registration.email,
            template="event_promoted",
            purpose="event_promoted",
            locale=registration.language,
            now=now,
            ics=event_ics_for(event),
            name=registration.name,
            event=event_facts(event),
            group=registration.group.name if registration.group else "",
            link=manage_link_url(token),
        )
    return promoted


# --- attendance -----------------------------------------------------------------------------


def mark_attended(
    session: Session, registration_id: int, attended: bool, *, now: dt.datetime
) -> Registration:
    """Tick (or untick) someone at the door. Raises NotFound, WrongState for a cancelled one."""
    registration = get_registration(session, registration_id)
    if registration.status == CANCELLED:
        raise WrongState(_("This registration was cancelled."))
    registration.attended_at = now if attended else None
    registration.updated_at = now
    session.flush()
    return registration


def add_walk_in(
    session: Session,
    event_id: int,
    *,
    name: str,
    email: str,
    association_id: int | str | None = None,
    group_id: int | str | None = None,
    now: dt.datetime,
) -> Registration:
    """Someone who came without registering: confirmed and marked attended, even beyond the
    capacity (they are in the room already). Without an address a placeholder keeps the row
    unique. Raises Invalid, WrongState (cancelled event)."""
    event = get_event(session, event_id)
    if event.cancelled_at is not None:
        raise WrongState(_("The event has been cancelled."))
    typed = (email or "").strip()
    data = RegistrationInput(
        name=name,
        email=typed or "walk-in@example.org",  # checked only when one was typed
        association_id=association_id,
        group_id=group_id,
        submission_key=secrets.token_urlsafe(24),
        source="walk_in",
    )
    values, errors = check_registration_input(session, event, data, by_staff=True)
    if group_id in (None, ""):
        errors.pop("group_id", None)  # at the door a group can be chosen later
    if errors:
        raise Invalid(_("Check the details."), errors)
    if not typed:  # a placeholder that keeps the row unique and is never mailed
        values["email"] = f"walk-in-{secrets.token_hex(6)}@{WALK_IN_DOMAIN}"
    event = lock_event(session, event_id)
    existing = _find_by_email(session, event_id, values["email"])
    if existing is not None and existing.status != CANCELLED:
        existing.status = CONFIRMED
        existing.attended_at = existing.attended_at or now
        existing.updated_at = now
        session.flush()
        return existing
    registration = Registration(
        event_id=event_id,
        status=CONFIRMED,
        name=values["name"],
        email=values["email"],
        email_key=values["email"].lower(),
        language=values["language"],
        association_id=values["association"].id if values["association"] else None,
        seats=1,
        group_id=values["group_id"],
        submission_key=data.submission_key,
        source="walk_in",
        created_at=now,
        updated_at=now,
        confirmed_at=now,
        attended_at=now,
    )
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(registration)
    session.flush()
    return registration


# --- mail -----------------------------------------------------------------------------------


def manage_link_url(token: str) -> str:
    """The registrant's own link, from BASE_URL (works in the worker and the CLI too)."""
    return absolute_url("events.manage_registration", token=token)


def event_ics_for(event: Event) -> str:
    from participation.events.ics import event_ics

    return event_ics(event, base_url=current_app.config["BASE_URL"])


def event_facts(event: Event) -> dict[str, Any]:
    """What every event mail says about the event (plain values, safe to render anywhere)."""
    return {
        "title": event.title,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "place": event.place,
        "online_url": event.online_url,
        "accessibility": event.accessibility,
    }


def _mail_registered(
    session: Session,
    event: Event,
    registration: Registration,
    *,
    manage_url: Callable[[str], str],
    now: dt.datetime,
) -> None:
    token = issue_manage_link(session, registration, now)
    confirmed = registration.status == CONFIRMED
    queue_mail(
        session,
        to=registration.email,
        template="event_confirmation" if confirmed else "event_waitlisted",
        purpose="event_confirmation" if confirmed else "event_waitlisted",
        locale=registration.language,
        now=now,
        ics=event_ics_for(event) if confirmed else None,
        name=registration.name,
        event=event_facts(event),
        group=registration.group.name if registration.group else "",
        seats=registration.seats,
        link=manage_url(token),
        closes_at=event.registration_closes_at,
    )
