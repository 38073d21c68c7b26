"""Staff set-up of events: create, change, duplicate, breakout groups, registration questions,
the invitation list, publishing and cancelling.

A change of time or place raises the event's `sequence` (the .ics SEQUENCE) and tells every
confirmed and waitlisted registrant once; cancelling tells them too. Mails are outbox rows in the
caller's transaction (`queue_mail`), so nothing leaves before the caller commits.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from participation.errors import Conflict, Invalid, NotFound, WrongState
from participation.events import services as core
from participation.events.ics import event_ics
from participation.events.models import (
    CANCELLED,
    CONFIRMED,
    KINDS,
    WAITLISTED,
    Event,
    EventGroup,
    EventInvitation,
    Registration,
)
from participation.formbuilder import services as formbuilder
from participation.formbuilder.models import FormDefinition
from participation.mail.services import queue_mail
from participation.register import distribution
from participation.register.distribution import InvitationResult
from participation.register.models import Association
from participation.register.values import EMAIL_MAX, normalise_email

# The default registration questions: (type, label fi/sv/en, help fi/sv/en, sensitive).
# Diet and accessibility needs are health-related, so their answers are deleted after the event.
DEFAULT_QUESTIONS: tuple[tuple[str, tuple[str, str, str], tuple[str, str, str], bool], ...] = (
    (
        "yes_no",
        ("Otatko kahvia tai teetä?", "Vill du ha kaffe eller te?", "Would you like coffee or tea?"),
        ("", "", ""),
        False,
    ),
    (
        "short_text",
        ("Erityisruokavalio", "Specialdiet", "Special diet"),
        (
            "Esimerkiksi gluteeniton tai vegaaninen. Tieto poistetaan tilaisuuden jälkeen.",
            "Till exempel glutenfri eller vegansk. Uppgiften raderas efter evenemanget.",
            "For example gluten-free or vegan. This is deleted after the event.",
        ),
        True,
    ),
    (
        "long_text",
        ("Saavutettavuustarpeet", "Tillgänglighetsbehov", "Accessibility needs"),
        (
            "Esimerkiksi induktiosilmukka, pyörätuolipaikka tai avustaja. Tieto poistetaan "
            "tilaisuuden jälkeen.",
            "Till exempel hörslinga, rullstolsplats eller assistent. Uppgiften raderas efter "
            "evenemanget.",
            "For example a hearing loop, a wheelchair space or an assistant. This is deleted "
            "after the event.",
        ),
        True,
    ),
)


def _slug_for(title: str) -> str:
    """Readable and hard to guess before it is announced: "yhdistysilta-2027-4f9a1c2e"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    return f"{base or 'tilaisuus'}-{secrets.token_hex(4)}"


def add_default_questions(
    session: Session, event: Event, *, owner_id: int, now: dt.datetime
) -> FormDefinition:
    """Create the event's registration form with coffee, diet and accessibility questions,
    link it to the event and mark the diet and accessibility answers sensitive."""
    form = formbuilder.create_form(
        session,
        owner_id=owner_id,
        title=_("Registration: %(title)s", title=event.title)[: formbuilder.MAX_TITLE],
        now=now,
    )
    sensitive: list[str] = []
    for qtype, (fi, sv, en), (help_fi, help_sv, help_en), is_sensitive in DEFAULT_QUESTIONS:
        spec: Mapping[str, Any] = {
            "question_type": qtype,
            "label_fi": fi,
            "label_sv": sv,
            "label_en": en,
            "help_fi": help_fi,
            "help_sv": help_sv,
            "help_en": help_en,
        }
        key = formbuilder.add_question(session, form, dict(spec), now=now)
        if is_sensitive:
            sensitive.append(key)
    event.form_id = form.id
    event.sensitive_keys = sensitive
    session.flush()
    return form


# --- limits and parsing ---------------------------------------------------------------------

TITLE_MAX = 300
DESCRIPTION_MAX = 10_000
PLACE_MAX = 300
ACCESSIBILITY_MAX = 5000
URL_MAX = 500
CAPACITY_MAX = 100_000
PARTY_MIN, PARTY_MAX = 2, 50
REMINDER_MIN, REMINDER_MAX = 1, 60
SENSITIVE_MIN, SENSITIVE_MAX = 1, 3650
GROUP_NAME_MAX = 200
GROUP_DESCRIPTION_MAX = 2000
FACILITATOR_MAX = 200
MESSAGE_MAX = 2000
ACTIVE = (CONFIRMED, WAITLISTED)
# What a registrant is told about when it changes (the .ics SEQUENCE goes up).
TIME_AND_PLACE = ("starts_at", "ends_at", "place", "online_url")


def _text(data: Mapping[str, Any], name: str) -> str:
    return str(data.get(name) or "").strip().replace("\r\n", "\n")


def _line(data: Mapping[str, Any], name: str) -> str:
    return " ".join(str(data.get(name) or "").split())


def _too_long(value: str, limit: int, name: str, errors: dict[str, list[str]]) -> None:
    if len(value) > limit:
        errors[name] = [_("Use at most %(n)s characters.", n=limit)]


def _optional_int(
    data: Mapping[str, Any],
    name: str,
    low: int,
    high: int,
    message: str,
    errors: dict[str, list[str]],
) -> int | None:
    """A whole number from `low` to `high`, or None for an empty field."""
    raw = str(data.get(name) if data.get(name) is not None else "").strip()
    if not raw:
        return None
    try:
        number = int(raw)
    except ValueError:
        errors[name] = [message]
        return None
    if not low <= number <= high:
        errors[name] = [message]
        return None
    return number


def _web_address(data: Mapping[str, Any], name: str, errors: dict[str, list[str]]) -> str:
    """An http(s) address or ""; anything else (javascript:, ftp:, no host) is refused."""
    value = str(data.get(name) or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.netloc
        or any(c.isspace() for c in value)
    ):
        errors[name] = [_("Enter a web address that starts with https:// or http://.")]
    elif len(value) > URL_MAX:
        errors[name] = [_("Use at most %(n)s characters.", n=URL_MAX)]
    return value


def _capacity_message() -> str:
    return _(
        "Enter the number of seats as a positive whole number, or leave it empty for no limit."
    )


def _clean_event(data: Mapping[str, Any]) -> dict[str, Any]:
    """Every setting checked; raises Invalid with one message per field at fault."""
    errors: dict[str, list[str]] = {}
    kind = str(data.get("kind") or "")
    if kind not in KINDS:
        errors["kind"] = [_("Choose the kind of event.")]
    title = _line(data, "title")
    if not title:
        errors["title"] = [_("Give the event a title.")]
    _too_long(title, TITLE_MAX, "title", errors)
    description = _text(data, "description")
    _too_long(description, DESCRIPTION_MAX, "description", errors)

    starts, ends = data.get("starts_at"), data.get("ends_at")
    if not isinstance(starts, dt.datetime):
        errors["starts_at"] = [_("Enter the date and time the event starts.")]
    if not isinstance(ends, dt.datetime):
        errors["ends_at"] = [_("Enter the date and time the event ends.")]
    elif isinstance(starts, dt.datetime) and ends <= starts:
        errors["ends_at"] = [_("The event must end after it starts.")]

    place = _line(data, "place")
    _too_long(place, PLACE_MAX, "place", errors)
    accessibility = _text(data, "accessibility")
    _too_long(accessibility, ACCESSIBILITY_MAX, "accessibility", errors)
    online_url = _web_address(data, "online_url", errors)
    if not place and not online_url and "online_url" not in errors:
        errors["place"] = [_("Give the place, an online link, or both.")]

    capacity = _optional_int(data, "capacity", 1, CAPACITY_MAX, _capacity_message(), errors)

    opens, closes = data.get("registration_opens_at"), data.get("registration_closes_at")
    if not isinstance(opens, dt.datetime):
        errors["registration_opens_at"] = [_("Enter the date and time registration opens.")]
    if not isinstance(closes, dt.datetime):
        errors["registration_closes_at"] = [_("Enter the date and time registration closes.")]
    elif isinstance(opens, dt.datetime) and closes <= opens:
        errors["registration_closes_at"] = [_("Registration must close after it opens.")]
    elif isinstance(ends, dt.datetime) and closes > ends:
        errors["registration_closes_at"] = [
            _("Registration must close before the event ends, or at the end at the latest.")
        ]

    allow_party = bool(data.get("allow_party"))
    max_party = _optional_int(
        data,
        "max_party",
        PARTY_MIN,
        PARTY_MAX,
        _("Enter a whole number from %(low)s to %(high)s.", low=PARTY_MIN, high=PARTY_MAX),
        errors,
    )
    if allow_party and max_party is None and "max_party" not in errors:
        errors["max_party"] = [
            _("Enter how many people one registration may bring, from %(low)s to %(high)s.",
              low=PARTY_MIN, high=PARTY_MAX)
        ]  # fmt: skip
    elif allow_party and max_party and capacity and max_party > capacity:
        errors["max_party"] = [_("A party cannot be larger than the event's capacity.")]

    notify = bool(data.get("notify_cancellations"))
    organiser_email = _line(data, "organiser_email")
    if organiser_email:
        try:
            if len(organiser_email) > EMAIL_MAX:
                raise ValueError(organiser_email)
            organiser_email = normalise_email(organiser_email)
        except ValueError:
            errors["organiser_email"] = [_("Enter an e-mail address, e.g. name@example.fi.")]
    elif notify:
        errors["organiser_email"] = [
            _("Enter the address the cancellations are sent to, or turn the notices off.")
        ]

    reminder_days = _optional_int(
        data,
        "reminder_days",
        REMINDER_MIN,
        REMINDER_MAX,
        _("Enter a whole number of days from %(low)s to %(high)s, or leave it empty for no "
          "reminder.", low=REMINDER_MIN, high=REMINDER_MAX),
        errors,
    )  # fmt: skip
    feedback_url = _web_address(data, "feedback_url", errors)
    sensitive_days = _optional_int(
        data,
        "sensitive_days",
        SENSITIVE_MIN,
        SENSITIVE_MAX,
        _("Enter a whole number from %(low)s to %(high)s.", low=SENSITIVE_MIN, high=SENSITIVE_MAX),
        errors,
    )
    if sensitive_days is None and "sensitive_days" not in errors:
        errors["sensitive_days"] = [
            _("Enter a whole number from %(low)s to %(high)s.", low=SENSITIVE_MIN,
              high=SENSITIVE_MAX)
        ]  # fmt: skip
    if errors:
        raise Invalid(_("Check the event's settings."), errors)
    return {
        "kind": kind,
        "title": title,
        "description": description,
        "starts_at": starts,
        "ends_at": ends,
        "place": place,
        "accessibility": accessibility,
        "online_url": online_url,
        "capacity": capacity,
        "registration_opens_at": opens,
        "registration_closes_at": closes,
        "allow_party": allow_party,
        "max_party": max_party or 5,
        "notify_cancellations": notify,
        "organiser_email": organiser_email,
        "reminder_days": reminder_days,
        "thank_you": bool(data.get("thank_you")),
        "feedback_url": feedback_url,
        "list_participants": bool(data.get("list_participants")),
        "sensitive_days": sensitive_days,
    }


# --- events ---------------------------------------------------------------------------------


def create_event(
    session: Session, data: Mapping[str, Any], *, staff_user_id: int, now: dt.datetime
) -> Event:
    """A new event with the default registration questions; published now if
    `data["published"]`. Raises Invalid with messages by field."""
    values = _clean_event(data)
    event = Event(
        **values,
        slug=_slug_for(values["title"]),
        created_by_id=staff_user_id,
        created_at=now,
        updated_at=now,
        published_at=now if data.get("published") else None,
    )
    session.add(event)
    session.flush()
    _keep_no_reminder(event, values["reminder_days"])
    add_default_questions(session, event, owner_id=staff_user_id, now=now)
    return event


def _keep_no_reminder(event: Event, reminder_days: int | None) -> None:
    # The INSERT fills the column default (2 days) in for a None; "no reminder" is set after it.
    if reminder_days is None:
        event.reminder_days = None


def _active_registrations(session: Session, event_id: int) -> list[Registration]:
    return list(
        session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event_id,
                Registration.status.in_(ACTIVE),
                Registration.anonymised_at.is_(None),
            )
            .order_by(Registration.id)
        )
    )


def update_event(
    session: Session,
    event_id: int,
    data: Mapping[str, Any],
    *,
    now: dt.datetime,
    base_url: str,
    manage_url: Callable[[str], str],
) -> int:
    """Save the settings; returns how many registrants were told of a change. A new time, place or online link raises `sequence` and queues one
    "event changed" mail (with the new .ics and the person's own link) to each confirmed and
    waitlisted registrant; more seats promote from the waitlist. Done under the registration
    lock, so nobody registers in between and misses the news. `data["published"]` publishes or
    hides the event.

    Raises NotFound, WrongState for a cancelled event, Invalid by field (also for a capacity
    below the seats already taken), Busy.
    """
    values = _clean_event(data)
    event = core.lock_event(session, event_id)
    if event.cancelled_at is not None:
        raise WrongState(_("The event has been cancelled and can no longer be changed."))
    if values["capacity"] is not None and values["capacity"] != event.capacity:
        taken = core.seats_taken(session, event_id)
        if values["capacity"] < taken:
            message = _(
                "%(n)s seats are already taken, so the capacity cannot be smaller.", n=taken
            )
            raise Invalid(message, {"capacity": [message]})
    more_room = event.capacity is not None and (
        values["capacity"] is None or values["capacity"] > event.capacity
    )
    changed = [name for name in TIME_AND_PLACE if getattr(event, name) != values[name]]
    for name, value in values.items():
        setattr(event, name, value)
    if not data.get("published"):
        event.published_at = None
    elif event.published_at is None:
        event.published_at = now
    event.updated_at = now
    told = 0
    if changed:
        # Calendars replace their copy only when the SEQUENCE goes up (feed subscribers too).
        event.sequence += 1
        session.flush()
        told = _tell_registrants_of_change(
            session, event, changed, now=now, base_url=base_url, manage_url=manage_url
        )
    session.flush()
    if more_room:
        core.promote_waitlist(session, event_id, now=now)
    return told


def _tell_registrants_of_change(
    session: Session,
    event: Event,
    changed: list[str],
    *,
    now: dt.datetime,
    base_url: str,
    manage_url: Callable[[str], str],
) -> int:
    registrations = _active_registrations(session, event.id)
    if not registrations:
        return 0
    ics = event_ics(event, base_url=base_url)
    facts = core.event_facts(event)
    for registration in registrations:
        queue_mail(
            session,
            to=registration.email,
            template="event_changed",
            purpose="event_changed",
            locale=registration.language,
            now=now,
            ics=ics,
            name=registration.name,
            event=facts,
            time_changed="starts_at" in changed or "ends_at" in changed,
            place_changed="place" in changed or "online_url" in changed,
            waitlisted=registration.status == WAITLISTED,
            link=manage_url(core.issue_manage_link(session, registration, now)),
        )
    return len(registrations)


def publish_event(session: Session, event_id: int, *, now: dt.datetime) -> Event:
    """Show the event on the public pages and in the calendar feed.

    Raises NotFound, WrongState for a cancelled or already published event."""
    event = core.get_event(session, event_id)
    if event.cancelled_at is not None:
        raise WrongState(_("A cancelled event cannot be published."))
    if event.published_at is not None:
        raise WrongState(_("The event is already published."))
    event.published_at = now
    event.updated_at = now
    session.flush()
    return event


def unpublish_event(session: Session, event_id: int, *, now: dt.datetime) -> Event:
    """Hide the event from the public pages; registrations stay. Raises NotFound, WrongState."""
    event = core.get_event(session, event_id)
    if event.published_at is None:
        raise WrongState(_("The event is not published."))
    event.published_at = None
    event.updated_at = now
    session.flush()
    return event


def cancel_event(
    session: Session,
    event_id: int,
    *,
    message: str,
    now: dt.datetime,
    base_url: str,
) -> int:
    """Cancel the event and queue one mail to each confirmed and waitlisted registrant; returns
    how many were told. Taken under the registration lock, so no one registers unnoticed
    in between. Raises NotFound, WrongState (already cancelled, or over), Invalid, Busy."""
    message = _text({"message": message}, "message")
    if len(message) > MESSAGE_MAX:
        text = _("Use at most %(n)s characters.", n=MESSAGE_MAX)
        raise Invalid(text, {"message": [text]})
    event = core.lock_event(session, event_id)
    if event.cancelled_at is not None:
        raise WrongState(_("The event has already been cancelled."))
    if now >= event.ends_at:
        raise WrongState(_("The event is over and can no longer be cancelled."))
    event.cancelled_at = now
    event.updated_at = now
    event.sequence += 1
    session.flush()
    registrations = _active_registrations(session, event_id)
    # STATUS:CANCELLED with a higher SEQUENCE takes the entry out of people's calendars.
    ics = event_ics(event, base_url=base_url) if registrations else None
    for registration in registrations:
        queue_mail(
            session,
            to=registration.email,
            template="event_cancelled",
            purpose="event_cancelled",
            locale=registration.language,
            now=now,
            ics=ics,
            name=registration.name,
            event=core.event_facts(event),
            message=message,
            waitlisted=registration.status == WAITLISTED,
        )
    return len(registrations)


# --- duplicating last year's event ----------------------------------------------------------

# Copied to the new event as they are; times, slug, state and people's data are not.
COPIED = (
    "kind",
    "description",
    "place",
    "accessibility",
    "online_url",
    "capacity",
    "allow_party",
    "max_party",
    "notify_cancellations",
    "organiser_email",
    "reminder_days",
    "thank_you",
    "feedback_url",
    "list_participants",
    "consent_key",
    "sensitive_days",
)


def duplicate_event(
    session: Session,
    event_id: int,
    data: Mapping[str, Any],
    *,
    staff_user_id: int,
    now: dt.datetime,
) -> Event:
    """A new unpublished event like `event_id`: its settings, breakout groups, registration
    questions and distribution list (nobody invited yet), with the title and the four times
    in `data`. No registrations. Raises NotFound, or Invalid by field."""
    source = core.get_event(session, event_id)
    values = {name: getattr(source, name) for name in COPIED}
    values.update(
        {
            key: data.get(key)
            for key in (
                "title",
                "starts_at",
                "ends_at",
                "registration_opens_at",
                "registration_closes_at",
            )
        }
    )
    # The copied settings passed these checks once; running all of them again gives the
    # organiser the time messages, and keeps an old out-of-range value from slipping through.
    cleaned = _clean_event(
        {
            **values,
            "capacity": "" if values["capacity"] is None else values["capacity"],
            "reminder_days": "" if values["reminder_days"] is None else values["reminder_days"],
        }
    )
    copy = Event(
        **cleaned,
        consent_key=source.consent_key,
        slug=_slug_for(cleaned["title"]),
        created_by_id=staff_user_id,
        created_at=now,
        updated_at=now,
    )
    for group in source.groups:
        copy.groups.append(
            EventGroup(
                position=group.position,
                name=group.name,
                description=group.description,
                capacity=group.capacity,
                facilitator=group.facilitator,
            )
        )
    for invitation in source.invitations:
        copy.invitations.append(
            EventInvitation(association_id=invitation.association_id, invited_at=now)
        )
    session.add(copy)
    session.flush()
    _keep_no_reminder(copy, cleaned["reminder_days"])
    form = formbuilder.find_form(session, source.form_id) if source.form_id else None
    if form is None:
        add_default_questions(session, copy, owner_id=staff_user_id, now=now)
    else:
        copied_form = formbuilder.duplicate_form(
            session,
            form,
            owner_id=staff_user_id,
            title=_("Registration: %(title)s", title=copy.title),
            now=now,
        )
        copy.form_id = copied_form.id
        # The copy keeps the questions' keys, so the same answers stay sensitive.
        copy.sensitive_keys = list(source.sensitive_keys or [])
    session.flush()
    return copy


def suggest_copy(event: Event, now: dt.datetime) -> dict[str, Any]:
    """The title and times a copy starts from: the same weekday and hour a year on (52 weeks,
    repeated until the start is in the future), and this year's number in the title."""
    step = dt.timedelta(weeks=52)
    shift = step
    while event.starts_at + shift <= now:
        shift += step
    old_year, new_year = str(event.starts_at.year), str((event.starts_at + shift).year)
    title = event.title.replace(old_year, new_year) if old_year in event.title else event.title
    return {
        "title": title,
        "starts_at": event.starts_at + shift,
        "ends_at": event.ends_at + shift,
        "registration_opens_at": max(event.registration_opens_at + shift, now),
        "registration_closes_at": event.registration_closes_at + shift,
    }


def registration_questions(session: Session, event: Event) -> list[dict[str, Any]] | None:
    """The event's questions with a `sensitive` flag; None when its form was deleted."""
    form = core.event_form(session, event)
    if form is None:
        return None
    sensitive = set(event.sensitive_keys or [])
    return [{**q, "sensitive": q["key"] in sensitive} for q in form.questions]


def ensure_questions(
    session: Session, event_id: int, *, staff_user_id: int, now: dt.datetime
) -> FormDefinition:
    """Give an event whose form was deleted the default questions again.

    Raises NotFound, Conflict when the event already has its form."""
    event = core.get_event(session, event_id)
    if event.form_id is not None and formbuilder.find_form(session, event.form_id) is not None:
        raise Conflict(_("The event already has its registration questions."))
    return add_default_questions(session, event, owner_id=staff_user_id, now=now)


# --- breakout groups ------------------------------------------------------------------------


def get_group(session: Session, event_id: int, group_id: int) -> EventGroup:
    """A breakout group of this event. Raises NotFound."""
    group = session.get(EventGroup, group_id)
    if group is None or group.event_id != event_id:
        raise NotFound(_("No such group."))
    return group


def _clean_group(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = _line(data, "name")
    if not name:
        errors["name"] = [_("Give the group a name.")]
    _too_long(name, GROUP_NAME_MAX, "name", errors)
    description = _text(data, "description")
    _too_long(description, GROUP_DESCRIPTION_MAX, "description", errors)
    capacity = _optional_int(data, "capacity", 1, CAPACITY_MAX, _capacity_message(), errors)
    facilitator = _line(data, "facilitator")
    _too_long(facilitator, FACILITATOR_MAX, "facilitator", errors)
    if errors:
        raise Invalid(_("Check the group."), errors)
    return {
        "name": name,
        "description": description,
        "capacity": capacity,
        "facilitator": facilitator,
    }


def add_group(
    session: Session, event_id: int, data: Mapping[str, Any], *, now: dt.datetime
) -> EventGroup:
    """A breakout group at the end of the list. Raises NotFound, WrongState, Invalid."""
    event = core.get_event(session, event_id)
    if event.cancelled_at is not None:
        raise WrongState(_("The event has been cancelled and can no longer be changed."))
    values = _clean_group(data)
    position = max((g.position for g in event.groups), default=-1) + 1
    group = EventGroup(**values, position=position)
    event.groups.append(group)
    event.updated_at = now
    session.flush()
    return group


def update_group(
    session: Session, event_id: int, group_id: int, data: Mapping[str, Any], *, now: dt.datetime
) -> EventGroup:
    """Raises NotFound, or Invalid by field (also for a capacity below the seats taken).
    More seats promote from the waitlist."""
    group = get_group(session, event_id, group_id)
    values = _clean_group(data)
    if values["capacity"] is not None and values["capacity"] != group.capacity:
        taken = core.group_seats_taken(session, event_id).get(group_id, 0)
        if values["capacity"] < taken:
            message = _(
                "%(n)s seats are already taken, so the capacity cannot be smaller.", n=taken
            )
            raise Invalid(message, {"capacity": [message]})
    more_room = group.capacity is not None and (
        values["capacity"] is None or values["capacity"] > group.capacity
    )
    for name, value in values.items():
        setattr(group, name, value)
    group.event.updated_at = now
    session.flush()
    if more_room and group.event.cancelled_at is None:
        core.promote_waitlist(session, event_id, now=now)
    return group


def remove_group(session: Session, event_id: int, group_id: int, *, now: dt.datetime) -> None:
    """Raises NotFound, or Conflict while someone (confirmed or waitlisted) is in the group."""
    group = get_group(session, event_id, group_id)
    people = (
        session.scalar(
            select(func.count(Registration.id)).where(
                Registration.group_id == group_id, Registration.status.in_(ACTIVE)
            )
        )
        or 0
    )
    if people:
        raise Conflict(
            ngettext(
                "%(num)s person has registered for the group “%(name)s”. Move them to another "
                "group first.",
                "%(num)s people have registered for the group “%(name)s”. Move them to another "
                "group first.",
                people,
                name=group.name,
            )
        )
    event = group.event
    event.groups.remove(group)
    for position, remaining in enumerate(event.groups):
        remaining.position = position
    event.updated_at = now
    session.flush()


def move_group(
    session: Session, event_id: int, group_id: int, offset: int, *, now: dt.datetime
) -> None:
    """Move the group `offset` places (-1 up, +1 down); past either end it stays. Raises
    NotFound."""
    group = get_group(session, event_id, group_id)
    groups = sorted(group.event.groups, key=lambda g: (g.position, g.id))
    index = groups.index(group)
    target = min(max(index + offset, 0), len(groups) - 1)
    groups.insert(target, groups.pop(index))
    for position, each in enumerate(groups):
        each.position = position
    group.event.updated_at = now
    session.flush()
    # The relationship is ordered by position when loaded; keep the loaded list in step.
    session.refresh(group.event, ["groups"])


# --- the distribution list and invitations --------------------------------------------------


def list_invitations(session: Session, event_id: int) -> list[tuple[EventInvitation, Association]]:
    rows = session.execute(
        select(EventInvitation, Association)
        .join(Association, Association.id == EventInvitation.association_id)
        .where(EventInvitation.event_id == event_id)
        .order_by(func.lower(Association.name), Association.id)
    ).all()
    return [(i, a) for i, a in rows]


def save_distribution(
    session: Session, event_id: int, association_ids: list[int], *, now: dt.datetime
) -> tuple[int, int]:
    """Make the distribution list exactly these associations; returns (added, removed).
    Associations already sent an invitation stay on the list.

    Raises NotFound, Invalid for an association not in the register, Conflict for a
    simultaneous change."""
    event = core.get_event(session, event_id)
    return distribution.replace_invitations(
        session,
        event.invitations,
        association_ids,
        new=lambda i: EventInvitation(association_id=i, invited_at=now),
        # An invitation already mailed cannot be unsent; it stays as the record of it.
        keep=lambda invitation: invitation.sent_at is not None,
    )


def send_invitations(
    session: Session, event_id: int, *, link: str, now: dt.datetime
) -> InvitationResult:
    """One invitation mail per association on the list not sent one yet, to its own address.

    Each invitation is claimed with an UPDATE … WHERE sent_at IS NULL, so two clicks at the
    same moment still send once. An association without an address is named in the result.
    Raises NotFound, or WrongState for an unpublished, cancelled or past event.
    """
    event = core.get_event(session, event_id)
    if event.cancelled_at is not None:
        raise WrongState(_("The event has been cancelled; invitations are no longer sent."))
    if now >= event.ends_at:
        raise WrongState(_("The event is over; invitations are no longer sent."))
    if event.published_at is None:
        raise WrongState(_("Publish the event first: the invitation links to its public page."))
    # Imported here: the evenings package builds on events, not the other way round.
    from participation.evenings.planning import programme as evening_programme

    programme = evening_programme(session, event_id)
    sent, without = 0, []
    for invitation, association in list_invitations(session, event_id):
        if invitation.sent_at is not None:
            continue
        if not association.email:
            without.append(association.name)
            continue
        claimed = session.execute(
            update(EventInvitation)
            .where(EventInvitation.id == invitation.id, EventInvitation.sent_at.is_(None))
            .values(sent_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        invitation.sent_at = now
        queue_mail(
            session,
            to=association.email,
            template="event_invitation",
            purpose="event_invitation",
            locale="fi",
            now=now,
            association=association.name,
            event=core.event_facts(event),
            opens_at=event.registration_opens_at,
            closes_at=event.registration_closes_at,
            is_open=event.is_open(now),
            allow_party=event.allow_party,
            link=link,
            programme=programme,
        )
        sent += 1
    session.flush()
    return InvitationResult(sent, without)


# --- lists and figures for staff ------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    event: Event
    registered: int  # confirmed seats
    waitlisted: int  # waitlisted seats


def _seats_by_event(session: Session, ids: list[int], status: str) -> dict[int, int]:
    if not ids:
        return {}
    return dict(
        session.execute(
            select(Registration.event_id, func.sum(Registration.seats))
            .where(Registration.event_id.in_(ids), Registration.status == status)
            .group_by(Registration.event_id)
        ).all()
    )


def list_events(
    session: Session,
    *,
    now: dt.datetime,
    page: int,
    per_page: int,
    created_by_id: int | None = None,
) -> tuple[list[EventRow], int]:
    """Events for staff (all, or only those `created_by_id` created): upcoming and ongoing first
    (the soonest first), then past ones (the latest first), with confirmed and waitlisted seats.
    Three queries whatever the page size."""
    mine = [] if created_by_id is None else [Event.created_by_id == created_by_id]
    total = session.scalar(select(func.count(Event.id)).where(*mine)) or 0
    is_past = case((Event.ends_at <= now, 1), else_=0)
    events = list(
        session.scalars(
            select(Event)
            .where(*mine)
            .order_by(
                is_past,
                case((Event.ends_at > now, Event.starts_at)),
                Event.starts_at.desc(),
                Event.id.desc(),
            )
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    ids = [e.id for e in events]
    registered = _seats_by_event(session, ids, CONFIRMED)
    waitlisted = _seats_by_event(session, ids, WAITLISTED)
    return [
        EventRow(e, int(registered.get(e.id, 0)), int(waitlisted.get(e.id, 0))) for e in events
    ], total


@dataclass(frozen=True)
class GroupFigures:
    group: EventGroup
    registered: int
    waitlisted: int


@dataclass(frozen=True)
class EventFigures:
    registered: int  # confirmed seats
    registrations: int  # confirmed registrations
    waitlisted: int  # waitlisted seats
    cancelled: int  # cancelled registrations
    groups: list[GroupFigures]
    without_group: int  # confirmed seats not in a group


def event_figures(session: Session, event: Event) -> EventFigures:
    """Seats and registrations by status, overall and per breakout group (one query)."""
    rows = session.execute(
        select(
            Registration.group_id,
            Registration.status,
            func.count(Registration.id),
            func.sum(Registration.seats),
        )
        .where(Registration.event_id == event.id)
        .group_by(Registration.group_id, Registration.status)
    ).all()
    seats: dict[tuple[int | None, str], int] = {}
    counts: dict[str, int] = {}
    for group_id, status, n, total in rows:
        seats[(group_id, status)] = int(total or 0)
        counts[status] = counts.get(status, 0) + n

    def total_of(status: str) -> int:
        return sum(v for (_g, s), v in seats.items() if s == status)

    return EventFigures(
        registered=total_of(CONFIRMED),
        registrations=counts.get(CONFIRMED, 0),
        waitlisted=total_of(WAITLISTED),
        cancelled=counts.get(CANCELLED, 0),
        groups=[
            GroupFigures(g, seats.get((g.id, CONFIRMED), 0), seats.get((g.id, WAITLISTED), 0))
            for g in event.groups
        ],
        without_group=seats.get((None, CONFIRMED), 0),
    )
