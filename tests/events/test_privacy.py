"""Personal data in registrations: the person's download, erasure on request and retention."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import func, select

from participation import tokens
from participation.events import privacy as events_privacy
from participation.events import services
from participation.events.models import CONFIRMED, WAITLISTED, Event, Registration
from participation.formbuilder.models import FormResponse
from participation.privacy import services as privacy
from participation.register.models import Person
from tests.events import factories as f
from tests.privacy.conftest import places_holding

EMAIL = "Helmi.Aaltonen@Example.org"
NAME = "Helmi Aaltonen"
DAY = dt.timedelta(days=1)


def _manage(token: str) -> str:
    return f"http://localhost/events/manage/{token}"


def _register(db: Any, event: Event, *, now: dt.datetime, **extra: Any) -> Registration:
    form = services.event_form(db, event)
    assert form is not None
    coffee, diet, _needs = (q["key"] for q in form.questions if q["type"] != "info")
    data = services.RegistrationInput(
        name=extra.pop("name", NAME),
        email=extra.pop("email", EMAIL),
        consent=True,
        name_public=True,
        answers={coffee: "yes", diet: "gluteeniton"},
        submission_key=secrets.token_urlsafe(20),
        **extra,
    )
    registration = services.register(db, event.id, data, now=now, manage_url=_manage).registration
    db.flush()
    return registration


def _links(db: Any, registration_ids: list[int]) -> int:
    return db.scalar(
        select(func.count(tokens.ActionLink.id)).where(
            tokens.ActionLink.purpose == services.MANAGE_PURPOSE,
            tokens.ActionLink.subject_id.in_(registration_ids),
        )
    )


def test_the_download_lists_every_registration_with_its_answers(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, capacity=1, groups=[("Liikunta ja ulkoilu", None)])
    other = f.make_event(db, now=now, title="Työpaja", capacity=None)
    f.make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    first = _register(db, event, now=now, group_id=event.groups[0].id)
    second = _register(db, other, now=now)
    second.attended_at = now
    person = db.scalar(select(Person).where(func.lower(Person.email) == EMAIL.lower()))

    data = privacy.export_person(db, person, now)

    rows = data["event_registrations"]
    assert [r["event"] for r in rows] == ["Yhdistysilta", "Työpaja"]
    assert rows[0]["status"] == WAITLISTED and rows[1]["status"] == CONFIRMED
    assert rows[0]["group"] == "Liikunta ja ulkoilu" and rows[1]["group"] is None
    assert rows[0]["seats"] == 1
    assert rows[0]["starts_at"] == event.starts_at.isoformat()
    assert (rows[0]["attended"], rows[1]["attended"]) == (False, True)
    assert rows[0]["answers"] == [
        {"question": "Otatko kahvia tai teetä?", "answer": "yes"},
        {"question": "Erityisruokavalio", "answer": "gluteeniton"},
    ]
    assert rows[0]["email"] == EMAIL.lower()
    assert first.id != second.id


def test_erasure_anonymises_registrations_by_person_and_by_address(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=5)
    other = f.make_event(db, now=now, title="Työpaja")
    linked = _register(db, event, now=now)
    services.issue_manage_link(db, linked, now)
    # Typed by staff in other letters and never matched to the person: found by its address.
    by_address = f.make_registration(db, other, name=NAME, email=EMAIL.upper(), now=now)
    by_address.attended_at = now
    someone_else = _register(db, event, now=now, name="Aino Laine", email="aino@example.org")
    person = db.scalar(select(Person).where(Person.id == linked.person_id))
    response_id = linked.response_id
    assert places_holding(db, EMAIL) and _links(db, [linked.id]) == 2

    counts = privacy.erase_person(db, person.id, now)

    assert counts["event_registrations"] == 2
    db.expire_all()
    for row in (db.get(Registration, linked.id), db.get(Registration, by_address.id)):
        assert row.name == "—"
        assert row.email == row.email_key == f"erased-{row.id}"
        assert (row.person_id, row.consent_id, row.response_id) == (None, None, None)
        assert row.name_public is False
        assert row.anonymised_at == now
    # What the organiser counts stays: the seat and the attendance.
    assert db.get(Registration, linked.id).status == CONFIRMED
    assert db.get(Registration, by_address.id).attended_at == now
    assert db.get(FormResponse, response_id) is None
    assert _links(db, [linked.id, by_address.id]) == 0
    assert places_holding(db, EMAIL) == []
    assert places_holding(db, NAME) == []
    assert db.get(Registration, someone_else.id).email == "aino@example.org"
    assert _links(db, [someone_else.id]) == 1


def test_erasure_twice_counts_nothing_the_second_time(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now)
    registration = _register(db, event, now=now)
    person = db.get(Person, registration.person_id)
    first = events_privacy.erase_event_registrations(db, person, now)
    again = events_privacy.erase_event_registrations(db, person, now + DAY)
    assert (first, again) == ({"event_registrations": 1}, {"event_registrations": 0})


def test_retention_anonymises_registrations_of_long_past_events(db: Any, now: dt.datetime) -> None:
    old = f.make_event(db, now=now, state="past", title="Vanha ilta")
    old.starts_at, old.ends_at = now - 400 * DAY, now - 400 * DAY + dt.timedelta(hours=3)
    recent = f.make_event(db, now=now, state="past", title="Tuore ilta")
    keys = [q["key"] for q in services.event_form(db, old).questions]
    gone = f.make_registration(
        db, old, name="Aino", email="aino@example.org", now=now, answers={keys[0]: "yes"},
        attended=True,
    )  # fmt: skip
    kept = f.make_registration(db, recent, name="Eero", email="eero@example.org", now=now)
    db.flush()

    counts = events_privacy.anonymise_expired_events(db, now, 365)
    assert counts == {"events_anonymised": 1, "event_registrations": 1}
    assert events_privacy.anonymise_expired_events(db, now, 365) == {
        "events_anonymised": 0,
        "event_registrations": 0,
    }
    db.expire_all()
    assert db.get(Event, old.id).anonymised_at == now
    assert db.get(Event, recent.id).anonymised_at is None
    row = db.get(Registration, gone.id)
    assert (row.name, row.email, row.response_id) == ("—", f"erased-{gone.id}", None)
    assert row.attended_at is not None
    assert db.get(Registration, kept.id).email == "eero@example.org"


def test_the_installation_retention_run_includes_event_registrations(
    db: Any, now: dt.datetime
) -> None:
    """privacy.run_retention (the CLI and the staff page) anonymises them with the rest."""
    old = f.make_event(db, now=now, state="past")
    old.starts_at, old.ends_at = now - 40 * DAY, now - 40 * DAY + dt.timedelta(hours=3)
    registration = f.make_registration(db, old, name="Aino", email="aino@example.org", now=now)
    db.flush()

    counts = privacy.run_retention(db, 30, now)

    assert counts["event_registrations"] == 1 and counts["events_anonymised"] == 1
    db.expire_all()
    assert db.get(Registration, registration.id).name == "—"
