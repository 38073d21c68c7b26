"""Registration for events: seats, breakout groups, the waitlist and attendance.

The one rule that matters most: a seat is never sold twice. Every change that takes or frees
seats first takes the event's lock (`lock_event`: an UPDATE of the event row, which is a row
lock on PostgreSQL and the database's write lock on SQLite), then counts and decides, then
writes, all in one transaction. Waitlisted registrations are promoted in arrival order (their
id) whenever seats free, inside the same lock, and each promotion mails its person once.

A registration is checked, and its mail written, against the event as read before the lock
(`prepare_registration`); only the seat count and the rows are made under it
(`store_registration`, with the statements of `rows`), so the lock (and on SQLite the one
write lock) is held for a few statements and no rendering.

The clock is passed in (`now`); the mails are outbox rows in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Text, bindparam, cast, delete, func, literal_column, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from participation import tokens
from participation.errors import Busy, Invalid, NotFound, WrongState
from participation.events import confirmation, rows
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
from participation.privacy.models import Consent
from participation.register import people
from participation.register.models import LANGUAGES, Association, Person
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
    """Free seats now: None means unlimited. `groups` maps group id → free seats.
    `waitlisted` is None where only the seats were counted (`free_seats`)."""

    capacity: int | None
    taken: int
    free: int | None
    waitlisted: int | None
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

    def after(self, seats: int, group_id: int | None) -> Availability:
        """The seats once a confirmed registration of `seats` in `group_id` is added."""
        group_taken = dict(self.group_taken)
        groups = dict(self.groups)
        if group_id is not None:
            group_taken[group_id] = group_taken.get(group_id, 0) + seats
            left = groups.get(group_id)
            if left is not None:
                groups[group_id] = max(left - seats, 0)
        free = None if self.free is None else max(self.free - seats, 0)
        return replace(
            self, taken=self.taken + seats, free=free, groups=groups, group_taken=group_taken
        )


def seats_taken(session: Session, event_id: int) -> int:
    return rows.count_taken(session, event_id, grouped=False)[0]


def group_seats_taken(session: Session, event_id: int) -> dict[int, int]:
    return rows.count_taken(session, event_id, grouped=True)[1]


_WAITLISTED = select(func.count(Registration.id)).where(
    Registration.event_id == bindparam("event_id"), Registration.status == WAITLISTED
)


def free_seats(session: Session, event: Event) -> Availability:
    """The seats taken and free, overall and per group, in one statement: what a decision
    under the lock needs (`waitlisted` is not counted)."""
    taken, by_group = rows.count_taken(session.connection(), event.id, grouped=bool(event.groups))
    return _seats(event, taken, by_group)


def _seats(event: Event, taken: int, by_group: dict[int, int]) -> Availability:
    groups = {
        g.id: (None if g.capacity is None else max(g.capacity - by_group.get(g.id, 0), 0))
        for g in event.groups
    }
    free = None if event.capacity is None else max(event.capacity - taken, 0)
    return Availability(event.capacity, taken, free, None, groups, by_group)


def availability(session: Session, event: Event) -> Availability:
    """The seats (`free_seats`) and how many registrations wait."""
    waitlisted = session.scalar(_WAITLISTED, {"event_id": event.id}) or 0
    return replace(free_seats(session, event), waitlisted=int(waitlisted))


# The lock: bumping the version takes it. RETURNING tells whether the event changed since it was
# read (every change bumps `updated_at`; a registration bumps only the version), so an event
# read a moment before need not be read again. On PostgreSQL the lock's timeout is set for the
# transaction by the same statement (set_config runs on the row before the UPDATE waits for
# its lock), saving a round trip.
_EVENT = Event.__table__
_REGISTRATIONS = Registration.__table__


def _lock_statement(postgresql: bool, *, draw_id: bool = False) -> Any:
    """`draw_id` (PostgreSQL only): also draw the next registration's id, once the lock is
    had (RETURNING is computed on the locked row), so ids keep the lock's order."""
    where = [_EVENT.c.id == bindparam("event_id")]
    if postgresql:
        where.append(func.set_config("lock_timeout", bindparam("timeout"), True).is_not(None))
    returning = [_EVENT.c.updated_at, _EVENT.c.lock_version]
    if draw_id:
        assert postgresql
        returning.append(rows.NEXT_ID.label("next_id"))
    return (
        update(_EVENT)
        .where(*where)
        .values(lock_version=_EVENT.c.lock_version + 1)
        .returning(*returning)
    )


_LOCK = {"postgresql": _lock_statement(True), "sqlite": _lock_statement(False)}


def _checked_lock_statement(postgresql: bool, *, count: bool = False, draw_id: bool = False) -> Any:
    """The lock, also returning the rest of what a registration read with the event (its
    current consent text and its form's schema), to check facts kept from an earlier request
    in the same statement. `count` (SQLite only): also the seats taken, which needs no
    statement of its own there: the transaction holds the one write lock from its first
    statement, so nothing commits between the UPDATE and a count in it. (Not on PostgreSQL:
    a statement's snapshot is taken before it waits for the row lock.)"""
    # The event's columns qualified by hand: in RETURNING they are rendered bare, and a bare
    # "id" in a subquery would be the subquery's own table's.
    event_id, form_id, consent_key = (
        literal_column(f"event.{name}") for name in ("id", "form_id", "consent_key")
    )
    schema = (
        select(cast(FormDefinition.schema, Text))
        .where(FormDefinition.id == form_id)
        .scalar_subquery()
    )
    extra = [
        privacy.current_text_id(consent_key).label("consent_text_id"),
        schema.label("form_schema"),
    ]
    if count:
        assert not postgresql
        extra.append(
            select(func.coalesce(func.sum(_REGISTRATIONS.c.seats), 0))
            .where(_REGISTRATIONS.c.event_id == event_id, _REGISTRATIONS.c.status == CONFIRMED)
            .scalar_subquery()
            .label("taken")
        )
    return _lock_statement(postgresql, draw_id=draw_id).returning(*extra)


_CHECKED_LOCK = {
    "postgresql": _checked_lock_statement(True),
    "sqlite": _checked_lock_statement(False),
    "sqlite+count": _checked_lock_statement(False, count=True),
}
_DRAWING_LOCK = {
    "kept": _checked_lock_statement(True, draw_id=True),
    "fresh": _lock_statement(True, draw_id=True),
}


class Stale(Exception):
    """The event's facts kept from an earlier request changed (or the event is gone): nothing
    may be decided on them; the caller rolls back and reads the event again."""


def lock_event(
    session: Session,
    event_id: int,
    *,
    kept: FormEvent | None = None,
    counted: list[int] | None = None,
    drawn: list[int] | None = None,
) -> Event:
    """Take the event's lock for the rest of the transaction and return the fresh event.

    An UPDATE rather than SELECT … FOR UPDATE: it is a row lock on PostgreSQL and takes the
    write lock on SQLite (which has no row locks), so one code path serialises registrations
    on both. An event already loaded is read again (with its groups) only when it changed
    meanwhile. Raises NotFound, and Busy when the lock is not had in time.

    `kept`: the event's facts kept from an earlier request (not in this session); they are
    returned as they are when the event, its consent text and its form's schema are still
    those, else Stale is raised (also for an event gone) with the lock held. With `kept` of an
    event without groups on SQLite, the seats taken are counted by the same statement and
    appended to `counted` (when given). `drawn` (PostgreSQL only): the next registration's id,
    drawn under the lock, is appended to it.
    """
    dialect = session.get_bind().dialect.name
    if drawn is not None:
        assert dialect == "postgresql"
        statement = _DRAWING_LOCK["fresh" if kept is None else "kept"]
    elif kept is None:
        statement = _LOCK[dialect]
    elif dialect == "sqlite" and counted is not None and not kept.event.groups:
        statement = _CHECKED_LOCK["sqlite+count"]
    else:
        statement = _CHECKED_LOCK[dialect]
    row = _execute_lock(session, statement, _lock_params(dialect, event_id))
    return _locked(
        session,
        event_id,
        row._mapping if row is not None else None,
        kept=kept,
        counted=counted,
        drawn=drawn,
    )


def _lock_params(dialect: str, event_id: int) -> dict[str, Any]:
    params: dict[str, Any] = {"event_id": event_id}
    if dialect == "postgresql":
        params["timeout"] = f"{int(LOCK_TIMEOUT_MS)}ms"
    return params


def _execute_lock(session: Session, statement: Any, params: dict[str, Any]) -> Any:
    """The lock's statement's row (None: no such event); raises Busy when the lock is not had
    in time."""
    try:
        return session.connection().execute(statement, params).one_or_none()
    except OperationalError as exc:
        if _is_lock_timeout(exc):
            raise Busy(
                _("Many people are registering right now. Wait a moment and send the form again.")
            ) from exc
        raise


def _locked(
    session: Session,
    event_id: int,
    found: Any,
    *,
    kept: FormEvent | None,
    counted: list[int] | None,
    drawn: list[int] | None,
) -> Event:
    """`lock_event`'s answer from what its statement returned (`found`, by column name; None
    or a null updated_at: no event was locked)."""
    if found is None or found["updated_at"] is None:
        if kept is not None:
            raise Stale
        raise NotFound(_("No such event."))
    if drawn is not None:
        drawn.append(found["next_id"])
    if kept is not None:
        if (found["updated_at"], found["consent_text_id"], found["form_schema"]) != (
            kept.updated_at,
            kept.consent_text_id,
            kept.form_schema,
        ):
            raise Stale
        if "taken" in found and counted is not None:
            counted.append(int(found["taken"]))
        return kept.event
    event = session.identity_map.get(identity_key(Event, event_id))
    if event is not None and event.updated_at == found["updated_at"]:
        set_committed_value(event, "lock_version", found["lock_version"])
        return event
    if event is not None:
        session.expire(event)
    fresh = session.get(Event, event_id)
    assert fresh is not None
    return fresh


def _person_and_lock_statement(*, kept: bool) -> Any:
    locked = _DRAWING_LOCK["kept" if kept else "fresh"].cte("locked")
    return privacy.new_person_with_consent(
        *(select(column).scalar_subquery().label(column.name) for column in locked.c)
    )


# PostgreSQL: the registrant's register entry and consent, and the event's lock (drawing the
# registration's id), in one statement.
_PERSON_AND_LOCK = {kept: _person_and_lock_statement(kept=kept) for kept in (False, True)}


def _lock_with_person(
    session: Session,
    event_id: int,
    *,
    kept: FormEvent | None,
    drawn: list[int],
    email: str,
    name: str,
    language: str,
    consent_text_id: int,
    now: dt.datetime,
) -> tuple[Event, tuple[int, bool, int, bool]]:
    """PostgreSQL: `privacy.person_and_consent_ids` and `lock_event(..., drawn=drawn)` in one
    statement: (the event, (person id, created now, consent id, recorded now)). The person and
    consent are stored before the lock is waited for, as when they are two statements."""
    params = {
        **privacy.person_consent_params(
            email=email, name=name, language=language, consent_text_id=consent_text_id, now=now
        ),
        **_lock_params("postgresql", event_id),
    }
    row = _execute_lock(session, _PERSON_AND_LOCK[kept is not None], params)
    assert row is not None  # one row always: each column a subquery
    event = _locked(session, event_id, row._mapping, kept=kept, counted=None, drawn=drawn)
    ids = privacy.person_and_consent_of(
        session, row, email=email, consent_text_id=consent_text_id, language=language, now=now
    )
    return event, ids


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

    `prepare_registration` and `store_registration` in one go; the public form calls them
    apart, so that on SQLite only the second holds the write lock.
    """
    event = get_event(session, event_id)
    pending = prepare_registration(session, event, data, now=now, by_staff=by_staff)
    stored = store_registration(session, pending, now=now, manage_url=manage_url)
    registration = stored.registration or get_registration(session, stored.registration_id)
    return Outcome(
        registration, duplicate=stored.duplicate, already_registered=stored.already_registered
    )


@dataclass(frozen=True)
class FormEvent:
    """A published event as its registration form needs it, read in one statement."""

    event: Event  # with its groups
    # The registration form's schema as stored (JSON text); None when the event has no form.
    form_schema: str | None
    # The current consent text under the event's key; None when none is published yet.
    consent_text_id: int | None

    @property
    def updated_at(self) -> dt.datetime:
        return self.event.updated_at


_FORM_EVENT = (
    select(
        Event,
        cast(FormDefinition.schema, Text),
        privacy.current_text_id(Event.consent_key),
    )
    .outerjoin(FormDefinition, FormDefinition.id == Event.form_id)
    .where(Event.slug == bindparam("slug"))
    .options(joinedload(Event.groups))
)


def get_event_for_form(session: Session, slug: str) -> FormEvent:
    """A published event by its public address, with its groups, its registration form and
    its consent text, in one statement. Raises NotFound."""
    row = session.execute(_FORM_EVENT, {"slug": slug}).unique().one_or_none()
    if row is None or row[0].published_at is None:
        raise NotFound(_("No such event."))
    return FormEvent(*row)


@dataclass
class Pending:
    """A registration checked against the event as read before its lock, with the mail it most
    likely sends already written: what `store_registration` stores."""

    event: Event
    data: RegistrationInput
    values: dict[str, Any]  # as check_registration_input cleaned them
    by_staff: bool
    consent_text_id: int | None = None  # looked up when storing if not known
    form_version: int | None = None  # of the event's form, looked up when storing if not known
    mails: dict[str, confirmation.Mail] = field(default_factory=dict)  # by status


@dataclass(frozen=True)
class Stored:
    """What `store_registration` did. A form sent again (its submission key) or an address
    already registered stores nothing and gives the registration that stands instead."""

    registration_id: int
    status: str
    seats: Availability  # once this registration is counted, as seen under the lock
    duplicate: bool = False
    already_registered: bool = False
    registration: Registration | None = None  # loaded only when an earlier one was found


# The status the last registration of an event (and group) got in this process: the mail
# written before the lock is the one a registration most likely needs; under the lock the
# other is written when it does not (on PostgreSQL both are, for the statement to pick).
_last_status: dict[tuple[int, int | None], str] = {}


def prepare_registration(
    session: Session,
    event: Event,
    data: RegistrationInput,
    *,
    now: dt.datetime,
    by_staff: bool = False,
    consent_text_id: int | None = None,
    form_version: int | None = None,
) -> Pending:
    """Check a registration against the event (as read, before its lock) and write the mail it
    will most likely send; nothing is stored. Raises WrongState (not open), Invalid (messages
    by field)."""
    check_open(event, now, by_staff=by_staff)
    if not KEY_PATTERN.match(data.submission_key or ""):
        raise Invalid(_("The form was incomplete. Check it and send it again."))
    values, errors = check_registration_input(session, event, data, by_staff=by_staff)
    if errors:
        raise Invalid(_("Check the registration."), errors)
    pending = Pending(event, data, values, by_staff, consent_text_id, form_version)
    if values["source"] != "walk_in":
        _mail(pending, _last_status.get((event.id, values["group_id"]), CONFIRMED))
    return pending


def store_registration(
    session: Session,
    pending: Pending,
    *,
    now: dt.datetime,
    manage_url: Callable[[str], str],
    kept: FormEvent | None = None,
) -> Stored:
    """Store a prepared registration: the person, their consent and answers first; then, under
    the event's lock, the seat count, the registration (confirmed when the event and the group
    have the seats, otherwise waitlisted; the lock's order is the ids' order), its own link
    and its mail. One statement each.

    The unique keys tell a form sent again or an address already registered: then the earlier
    registration stands and what this one added is taken out again; one that had cancelled is
    replaced (registering again is a new arrival, queued behind everyone waiting). Raises
    WrongState (registration closed meanwhile), NotFound, Busy (the lock was not had in time).

    `kept`: the event was checked as kept from an earlier request (see `lock_event`); raises
    Stale, with the transaction to roll back, when it changed since.
    """
    event, data, values = pending.event, pending.data, pending.values
    # The registrant's own link, and the mail with it, are written before anything is stored:
    # on SQLite everything from the first write on holds the one write lock.
    link = _ManageLink.new()
    url = manage_url(link.token)
    outbox_rows: dict[str, tuple[confirmation.Mail, dict[str, Any]]] = {}

    def outbox_row(status: str) -> dict[str, Any]:
        """The mail for `status` as an outbox row: made again only when the event's facts
        changed (read again under the lock) and so the mail's text (`_mail`)."""
        mail = _mail(pending, status)
        made = outbox_rows.get(status)
        if made is None or made[0] is not mail:
            made = outbox_rows[status] = (mail, confirmation.outbox_row(mail, link=url, now=now))
        return made[1]

    for status in list(pending.mails):  # written by prepare_registration: now with its link
        outbox_row(status)
    # PostgreSQL: the person, their consent and the event's lock in one statement; the seat
    # count, the decision, the answers, the registration, its link and its mail in another.
    in_one = session.get_bind().dialect.name == "postgresql" and values["source"] != "walk_in"
    text_id = None
    if data.consent:
        text_id = pending.consent_text_id or _consent_text_id(session, event, now)
    who = {"email": values["email"], "name": values["name"], "language": values["language"]}
    if in_one and text_id is not None:
        person_id = consent_id = 0  # told by the lock's statement, below
        new_person = new_consent = False
    elif text_id is not None:
        person_id, new_person, consent_id, new_consent = privacy.person_and_consent_ids(
            session, consent_text_id=text_id, now=now, **who
        )
    else:
        person_id, new_person = people.person_id_for(session, now=now, **who)
        consent_id, new_consent = None, False
    answers = _answers(session, pending)
    conn = session.connection()
    response_id = None
    if answers is not None and not in_one:
        response_id = rows.insert_response(conn, *answers, now)

    counted: list[int] = []
    drawn: list[int] = []
    if in_one and text_id is not None:
        event, (person_id, new_person, consent_id, new_consent) = _lock_with_person(
            session, event.id, kept=kept, drawn=drawn, consent_text_id=text_id, now=now, **who
        )
    else:
        event = lock_event(
            session, event.id, kept=kept, counted=counted, drawn=drawn if in_one else None
        )
    # Everything below is decided under the lock: re-read what others may have changed.
    check_open(event, now, by_staff=pending.by_staff)
    row: dict[str, Any] = {
        "event_id": event.id,
        "group_id": values["group_id"],
        "name": values["name"],
        "email": values["email"],
        "email_key": values["email"].lower(),
        "language": values["language"],
        "association_id": values["association"].id if values["association"] else None,
        "person_id": person_id,
        "seats": values["seats"],
        "name_public": values["name_public"],
        "consent_id": consent_id,
        "submission_key": data.submission_key,
        "source": values["source"],
        "created_at": now,
        "updated_at": now,
        "attended_at": now if values["source"] == "walk_in" else None,
    }
    mailed = False
    if in_one:
        decided = rows.insert_decided_registration(
            conn,
            {**row, "id": drawn[0]},
            capacity=event.capacity,
            group_capacity=next(
                (g.capacity for g in event.groups if g.id == values["group_id"]), None
            ),
            link=link.row(drawn[0], event, now),
            mails={status: outbox_row(status) for status in (CONFIRMED, WAITLISTED)},
            answers=answers,
        )
        seats = _seats(event, decided.taken, decided.taken_by_group)
        registration_id, response_id = decided.registration_id, decided.response_id
        mailed = registration_id is not None
    elif counted:  # by the lock's statement
        seats = _seats(event, counted[0], {})
    else:
        seats = free_seats(session, event)
    status = CONFIRMED if seats.fits(values["seats"], values["group_id"]) else WAITLISTED
    if in_one and decided.status is not None and decided.status != status:
        raise AssertionError("the statement and Availability.fits decided differently")
    row.update(
        status=status,
        confirmed_at=now if status == CONFIRMED else None,
        response_id=response_id,
    )
    mailed_now = values["source"] != "walk_in" and not mailed
    if not in_one:
        registration_id = rows.insert_registration(conn, row)
    if registration_id is None:
        same_form = _find_by_key(session, event.id, data.submission_key)
        existing = same_form or _find_by_email(session, event.id, values["email"])
        if existing is None:  # a conflict no registration explains: cannot be under the lock
            raise Busy(
                _("Many people are registering right now. Wait a moment and send the form again.")
            )
        if same_form is not None or existing.status != CANCELLED:
            _take_out(
                session,
                response_id=response_id,
                consent_id=consent_id if new_consent else None,
                person_id=person_id if new_person else None,
            )
            return Stored(
                existing.id,
                existing.status,
                seats,
                duplicate=same_form is not None,
                already_registered=same_form is None,
                registration=existing,
            )
        session.delete(existing)
        session.flush()
        registration_id = rows.insert_registration(conn, row)
        assert registration_id is not None
    if mailed_now:
        rows.insert_link(conn, link.row(registration_id, event, now))
        confirmation.store(session, outbox_row(status))
    _last_status[(event.id, values["group_id"])] = status
    if status == CONFIRMED:
        seats = seats.after(values["seats"], values["group_id"])
    return Stored(registration_id, status, seats)


def _consent_text_id(session: Session, event: Event, now: dt.datetime) -> int:
    """Raises NotFound when the event's own consent key has no text."""
    ensure_event_consent_text(session, now)
    return privacy.current_consent_text(session, event.consent_key).id


def _answers(session: Session, pending: Pending) -> tuple[int, dict[str, Any], int] | None:
    """(form id, answers, the form's schema version) to store, if the event has a form."""
    form_id, answers = pending.event.form_id, pending.data.answers
    if answers is None or form_id is None:
        return None
    version = pending.form_version
    if version is None:
        form = session.get(FormDefinition, form_id)
        if form is None:
            return None
        version = form.version
    return form_id, answers, version


def _take_out(
    session: Session, *, response_id: int | None, consent_id: int | None, person_id: int | None
) -> None:
    """Remove what a registration that turned out to be a repeat added before the lock: its
    answers, and the consent and register person it created."""
    for table, row_id in (
        (FormResponse.__table__, response_id),
        (Consent.__table__, consent_id),
        (Person.__table__, person_id),
    ):
        if row_id is not None:
            session.execute(delete(table).where(table.c.id == row_id))


# What a registration's mail says about the event: written again under the lock if any changed.
_MAIL_FACTS = (
    "title", "slug", "description", "accessibility", "place", "online_url", "starts_at",
    "ends_at", "registration_closes_at", "updated_at", "sequence", "cancelled_at",
)  # fmt: skip


def _mail(pending: Pending, status: str) -> confirmation.Mail:
    """The registration's mail for `status`: the one already written if the event's facts are
    still those it was written from, else written now."""
    event, values = pending.event, pending.values
    facts = tuple(getattr(event, name) for name in _MAIL_FACTS)
    mail = pending.mails.get(status)
    if mail is not None and mail.written_from == facts:
        return mail
    confirmed = status == CONFIRMED
    purpose = "event_confirmation" if confirmed else "event_waitlisted"
    mail = confirmation.write(
        to=values["email"],
        template=purpose,
        purpose=purpose,
        locale=values["language"],
        ics=event_ics_for(event) if confirmed else None,
        written_from=facts,
        name=values["name"],
        event=event_facts(event),
        group=next((g.name for g in event.groups if g.id == values["group_id"]), ""),
        seats=values["seats"],
        closes_at=event.registration_closes_at,
    )
    pending.mails[status] = mail
    return mail


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


def _manage_link_lifetime(event: Event, now: dt.datetime) -> dt.timedelta:
    return max(event.ends_at + MANAGE_AFTER_END - now, dt.timedelta(hours=1))


def issue_manage_link(session: Session, registration: Registration, now: dt.datetime) -> str:
    event = session.get(Event, registration.event_id)
    assert event is not None
    return tokens.issue_link(
        session,
        purpose=MANAGE_PURPOSE,
        subject_id=registration.id,
        lifetime=_manage_link_lifetime(event, now),
        now=now,
    )


@dataclass(frozen=True)
class _ManageLink:
    """`issue_manage_link` taken apart, for a registration's own statements: its token, signed
    before the registration exists (and before the event's lock), and later its row."""

    nonce_hash: str
    token: str

    @classmethod
    def new(cls) -> _ManageLink:
        nonce = tokens.new_token()
        return cls(tokens.token_hash(nonce), tokens.sign(MANAGE_PURPOSE, nonce))

    def row(self, registration_id: int, event: Event, now: dt.datetime) -> dict[str, Any]:
        return {
            "purpose": MANAGE_PURPOSE,
            "subject_id": registration_id,
            "nonce_hash": self.nonce_hash,
            "created_at": now,
            "expires_at": now + _manage_link_lifetime(event, now),
        }


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
        fits = free_seats(session, event).fits(new_seats, new_group)
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
    seats_now = free_seats(session, event)
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
