"""The registration core: seats, groups, the waitlist, promotion and its mails."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import func, select, update

from participation.errors import Invalid, WrongState
from participation.events import services
from participation.events.models import (
    CANCELLED,
    CONFIRMED,
    WAITLISTED,
    Event,
    EventGroup,
    Registration,
)
from participation.formbuilder.models import FormResponse
from participation.mail.models import OutboxMessage
from participation.privacy import services as privacy
from participation.privacy.models import Consent
from participation.register import people
from participation.register.models import Person
from tests.events import factories as f


def _manage(token: str) -> str:
    return f"http://localhost/events/manage/{token}"


def _register(db: Any, event: Any, name: str, *, now: dt.datetime, **extra: Any) -> Any:
    data = services.RegistrationInput(
        name=name,
        email=extra.pop("email", f"{name.lower()}@example.org"),
        consent=extra.pop("consent", True),
        submission_key=extra.pop("submission_key", secrets.token_urlsafe(20)),
        **extra,
    )
    outcome = services.register(db, event.id, data, now=now, manage_url=_manage)
    db.flush()
    return outcome


def _mails(db: Any, purpose: str, to: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.purpose == purpose)
    if to is not None:
        query = query.where(OutboxMessage.recipient == to)
    return list(db.scalars(query.order_by(OutboxMessage.id)))


def test_seats_fill_then_the_waitlist_takes_arrivals_in_order(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, capacity=2)
    outcomes = [_register(db, event, n, now=now) for n in ("Aino", "Eero", "Iida", "Otto")]
    assert [o.registration.status for o in outcomes] == [
        CONFIRMED,
        CONFIRMED,
        WAITLISTED,
        WAITLISTED,
    ]
    seats = services.availability(db, event)
    assert (seats.taken, seats.free, seats.waitlisted, seats.full) == (2, 0, 2, True)
    confirmation = _mails(db, "event_confirmation", "aino@example.org")
    assert len(confirmation) == 1 and confirmation[0].attachment_ics
    calendar = Calendar.from_ical(confirmation[0].attachment_ics)
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == event.title
    waitlisted = _mails(db, "event_waitlisted", "iida@example.org")
    assert len(waitlisted) == 1 and waitlisted[0].attachment_ics is None
    assert "/events/manage/" in waitlisted[0].body_text


def test_a_full_group_waitlists_while_another_group_still_confirms(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, groups=[("Avustukset", 1), ("Tilat", None)])
    grants, rooms = event.groups
    first = _register(db, event, "Aino", now=now, group_id=grants.id)
    second = _register(db, event, "Eero", now=now, group_id=grants.id)
    third = _register(db, event, "Iida", now=now, group_id=rooms.id)
    assert (first.registration.status, second.registration.status) == (CONFIRMED, WAITLISTED)
    assert third.registration.status == CONFIRMED
    assert services.availability(db, event).groups == {grants.id: 0, rooms.id: None}


def test_the_same_form_twice_gives_one_registration_and_a_second_form_changes_nothing(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=10)
    key = secrets.token_urlsafe(20)
    first = _register(db, event, "Aino", now=now, submission_key=key)
    again = _register(db, event, "Aino", now=now, submission_key=key)
    assert again.duplicate and again.registration.id == first.registration.id
    other = _register(db, event, "Aino Toinen", now=now, email="AINO@example.org")
    assert other.already_registered and other.registration.id == first.registration.id
    assert other.registration.name == "Aino"
    count = db.scalar(select(func.count(Registration.id)).where(Registration.event_id == event.id))
    assert count == 1
    assert len(_mails(db, "event_confirmation")) == 1


@pytest.mark.parametrize("state", ["upcoming", "closed", "past"])
def test_outside_the_registration_period_nothing_is_stored(
    db: Any, now: dt.datetime, state: str
) -> None:
    event = f.make_event(db, now=now, capacity=10, state=state)
    with pytest.raises(WrongState) as refused:
        _register(db, event, "Aino", now=now)
    assert refused.value.message
    assert db.scalar(select(func.count(Registration.id))) == 0
    assert _mails(db, "event_confirmation") == []


def test_one_second_either_side_of_the_deadline(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, capacity=10)
    deadline = event.registration_closes_at
    _register(db, event, "Aino", now=deadline - dt.timedelta(seconds=1))
    with pytest.raises(WrongState):
        _register(db, event, "Eero", now=deadline + dt.timedelta(seconds=1))


def test_staff_may_add_someone_after_the_deadline_but_the_seats_still_count(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=1, state="closed")
    f.make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    data = services.RegistrationInput(
        name="Puhelin Soittaja",
        email="soittaja@example.org",
        submission_key=secrets.token_urlsafe(20),
        source="staff",
    )
    outcome = services.register(db, event.id, data, now=now, manage_url=_manage, by_staff=True)
    assert outcome.registration.status == WAITLISTED and outcome.registration.source == "staff"


def test_bad_input_is_refused_field_by_field(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, capacity=10, groups=[("Avustukset", 5)])
    with pytest.raises(Invalid) as refused:
        _register(
            db, event, " ", now=now, email="not-an-address", consent=False, seats=3, group_id=""
        )
    assert set(refused.value.errors) == {"name", "email", "consent", "seats", "group_id"}
    with pytest.raises(Invalid) as refused:
        _register(db, event, "Aino", now=now, group_id=999_999)
    assert set(refused.value.errors) == {"group_id"}
    assert db.scalar(select(func.count(Registration.id))) == 0


def test_a_party_takes_its_seats_and_waits_when_they_are_not_there(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=4, allow_party=True)
    party = _register(db, event, "Seura", now=now, seats=3)
    big = _register(db, event, "Kerho", now=now, seats=2)
    single = _register(db, event, "Aino", now=now)
    assert (party.registration.status, big.registration.status) == (CONFIRMED, WAITLISTED)
    assert single.registration.status == CONFIRMED  # one seat was left: it fits
    assert services.availability(db, event).taken == 4


def test_cancelling_promotes_the_first_waitlisted_and_mails_them_once(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=1)
    first = _register(db, event, "Aino", now=now).registration
    second = _register(db, event, "Eero", now=now).registration
    third = _register(db, event, "Iida", now=now).registration
    promoted = services.cancel_registration(db, first.id, now=now)
    assert [p.id for p in promoted] == [second.id]
    assert (second.status, third.status) == (CONFIRMED, WAITLISTED)
    assert first.status == CANCELLED and first.cancelled_at == now
    mails = _mails(db, "event_promoted")
    assert [m.recipient for m in mails] == ["eero@example.org"] and mails[0].attachment_ics
    assert len(_mails(db, "event_cancelled_registration", "aino@example.org")) == 1
    # Cancelling again, or promoting again, changes nothing and mails nobody.
    assert services.cancel_registration(db, first.id, now=now) == []
    assert services.promote_waitlist(db, event.id, now=now) == []
    assert len(_mails(db, "event_promoted")) == 1


def test_the_organiser_hears_of_cancellations_when_the_event_asks(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=5)
    event.notify_cancellations, event.organiser_email = True, "jarjestaja@example.org"
    registration = _register(db, event, "Aino", now=now).registration
    services.cancel_registration(db, registration.id, now=now)
    notice = _mails(db, "event_cancellation_notice")
    assert [m.recipient for m in notice] == ["jarjestaja@example.org"]
    assert "aino@example.org" in notice[0].body_text


def test_switching_group_frees_the_old_seat_and_refuses_a_full_group(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, groups=[("Avustukset", 1), ("Tilat", 1)])
    grants, rooms = event.groups
    aino = _register(db, event, "Aino", now=now, group_id=grants.id).registration
    eero = _register(db, event, "Eero", now=now, group_id=grants.id).registration
    iida = _register(db, event, "Iida", now=now, group_id=rooms.id).registration
    with pytest.raises(Invalid):
        services.change_registration(db, aino.id, group_id=rooms.id, now=now)
    assert aino.group_id == grants.id and aino.status == CONFIRMED
    services.cancel_registration(db, iida.id, now=now)
    _changed, promoted = services.change_registration(db, aino.id, group_id=rooms.id, now=now)
    assert aino.group_id == rooms.id and aino.status == CONFIRMED
    assert [p.id for p in promoted] == [eero.id] and eero.status == CONFIRMED


def test_registering_again_after_cancelling_queues_as_a_new_arrival(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=1)
    aino = _register(db, event, "Aino", now=now).registration
    eero = _register(db, event, "Eero", now=now).registration
    services.cancel_registration(db, aino.id, now=now)
    assert eero.status == CONFIRMED
    again = _register(db, event, "Aino", now=now).registration
    assert again.status == WAITLISTED and again.id > eero.id


def test_a_walk_in_is_confirmed_and_attended_even_when_the_event_is_full(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=1)
    _register(db, event, "Aino", now=now)
    walk_in = services.add_walk_in(db, event.id, name="Ovelta Tullut", email="", now=now)
    assert walk_in.status == CONFIRMED and walk_in.attended_at == now
    assert walk_in.source == "walk_in"
    assert _mails(db, "event_confirmation", walk_in.email) == []


# --- checked and written before the lock, stored under it -------------------------------------


def _count(db: Any, model: Any, *where: Any) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _input(name: str, **extra: Any) -> services.RegistrationInput:
    return services.RegistrationInput(
        name=name,
        email=extra.pop("email", f"{name.lower()}@example.org"),
        consent=True,
        submission_key=extra.pop("submission_key", secrets.token_urlsafe(20)),
        **extra,
    )


def test_a_repeat_keeps_nothing_of_its_own(db: Any, now: dt.datetime) -> None:
    """The same form again (also with another address typed in) and a second form for an
    address registered already store their person, consent and answers before the lock finds
    them out: all of it is taken out again."""
    event = f.make_event(db, now=now, capacity=10)
    key = secrets.token_urlsafe(20)
    first = _register(db, event, "Aino", now=now, submission_key=key, answers={})
    before = (_count(db, FormResponse), _count(db, Consent), _count(db, Person))

    again = _register(db, event, "Aino", now=now, submission_key=key, answers={})
    changed = _register(
        db, event, "Aino", now=now, submission_key=key, email="uusi@example.org", answers={}
    )
    other = _register(db, event, "Aino Toinen", now=now, email="AINO@example.org", answers={})

    assert again.duplicate and changed.duplicate and other.already_registered
    assert {again.registration.id, changed.registration.id, other.registration.id} == {
        first.registration.id
    }
    assert (_count(db, FormResponse), _count(db, Consent), _count(db, Person)) == before
    assert _count(db, Person, Person.email == "uusi@example.org") == 0
    assert len(_mails(db, "event_confirmation")) == 1


def test_a_returning_person_keeps_their_consent_and_gets_a_new_registration(
    db: Any, now: dt.datetime
) -> None:
    services.ensure_event_consent_text(db, now)
    first = f.make_event(db, now=now, capacity=10)
    second = f.make_event(db, now=now, capacity=10, title="Työpaja")
    one = _register(db, first, "Aino", now=now).registration
    two = _register(db, second, "Aino", now=now).registration
    assert one.person_id == two.person_id and one.consent_id == two.consent_id
    assert _count(db, Person, Person.email == "aino@example.org") == 1


def test_the_mail_is_written_again_when_the_event_changed_before_the_lock(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=10)
    pending = services.prepare_registration(db, event, _input("Aino"), now=now)
    # Staff move the event (and bump updated_at, as every change does) before the lock is had.
    db.execute(
        update(Event)
        .where(Event.id == event.id)
        .values(title="Siirretty yhdistysilta", updated_at=now + dt.timedelta(seconds=1))
    )
    stored = services.store_registration(db, pending, now=now, manage_url=_manage)
    (mail,) = _mails(db, "event_confirmation", "aino@example.org")
    assert stored.status == CONFIRMED and "Siirretty yhdistysilta" in mail.subject
    (vevent,) = Calendar.from_ical(mail.attachment_ics).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Siirretty yhdistysilta"


def test_the_mail_follows_the_status_decided_under_the_lock(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, capacity=1)
    pending = services.prepare_registration(db, event, _input("Aino"), now=now)
    assert set(pending.mails) == {CONFIRMED}  # the likely one, written before the lock
    f.make_registration(db, event, name="Eka", email="eka@example.org", now=now)
    stored = services.store_registration(db, pending, now=now, manage_url=_manage)
    assert stored.status == WAITLISTED
    assert _mails(db, "event_confirmation", "aino@example.org") == []
    (waitlisted,) = _mails(db, "event_waitlisted", "aino@example.org")
    assert waitlisted.attachment_ics is None and "/events/manage/" in waitlisted.body_text


def test_a_group_changed_before_the_lock_is_counted_as_it_is_now(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, groups=[("Liikunta", 5)])
    group_id = event.groups[0].id
    pending = services.prepare_registration(db, event, _input("Aino", group_id=group_id), now=now)
    db.execute(update(EventGroup).where(EventGroup.id == group_id).values(capacity=0))
    db.execute(
        update(Event).where(Event.id == event.id).values(updated_at=now + dt.timedelta(seconds=1))
    )
    stored = services.store_registration(db, pending, now=now, manage_url=_manage)
    assert stored.status == WAITLISTED and stored.seats.groups == {group_id: 0}


def test_the_seats_after_a_registration_count_it(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, capacity=5, groups=[("Liikunta", 3)], allow_party=True)
    group_id = event.groups[0].id
    pending = services.prepare_registration(
        db, event, _input("Aino", group_id=group_id, seats=2), now=now
    )
    seats = services.store_registration(db, pending, now=now, manage_url=_manage).seats
    assert (seats.taken, seats.free, seats.groups, seats.group_taken) == (
        2,
        3,
        {group_id: 1},
        {group_id: 2},
    )
    assert seats == services.free_seats(db, event)


def test_someone_in_the_register_without_consent_gives_it_when_registering(
    db: Any, now: dt.datetime
) -> None:
    services.ensure_event_consent_text(db, now)
    person = people.find_or_create_person(db, email="aino@example.org", name="Aino", now=now)
    first = f.make_event(db, now=now, capacity=10)
    registration = _register(db, first, "Aino", now=now).registration
    assert registration.person_id == person.id and registration.consent_id is not None
    privacy.withdraw_consent(db, person, services.EVENT_CONSENT, now)
    second = f.make_event(db, now=now, capacity=10, title="Työpaja")
    again = _register(db, second, "Aino", now=now).registration
    assert again.person_id == person.id
    assert again.consent_id not in (None, registration.consent_id)
    assert _count(db, Consent, Consent.person_id == person.id) == 2
