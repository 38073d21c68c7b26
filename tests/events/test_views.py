"""The participant's side of events through the test client: the list, the event page in each
state, registering (without JavaScript and with htmx), the own link, the calendar files."""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from participation.errors import Busy
from participation.events import services
from participation.events.models import CANCELLED, CONFIRMED, WAITLISTED, Event, Registration
from participation.extensions import limiter
from participation.formbuilder.models import FormResponse
from participation.mail.models import OutboxMessage
from participation.register.models import Association
from tests.events.factories import make_event, make_registration

HELSINKI = ZoneInfo("Europe/Helsinki")
HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def english(client: Any) -> None:
    """The UI in English, the source language of the messages asserted."""
    client.get("/lang/en")


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _count(db: Any, model: Any, *where: Any) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _input_value(page: str, field_id: str) -> str:
    match = re.search(rf'<input[^>]*id="{field_id}"[^>]*>', page)
    assert match, f"no input {field_id}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""


def _questions(db: Any, event: Event) -> dict[str, str]:
    """The default questions' keys by type (yes_no, short_text, long_text)."""
    schema = services.event_form(db, event).schema
    return {q["type"]: q["key"] for q in schema["questions"]}


def _data(db: Any, event: Event, **extra: Any) -> dict[str, Any]:
    keys = _questions(db, event)
    data: dict[str, Any] = {
        "reg-name": "Maija Meikäläinen",
        "reg-email": "maija@example.fi",
        "reg-association_id": "",
        "reg-seats": "1",
        "reg-consent": "y",
        "reg-homepage": "",
        "reg-submission_key": secrets.token_urlsafe(24),
        f"reg-{keys['yes_no']}": "yes",
        f"reg-{keys['short_text']}": "Gluteeniton",
    }
    if event.groups:
        data["reg-group_id"] = str(event.groups[0].id)
    data.update({f"reg-{k}": v for k, v in extra.items()})
    return data


def _register_path(event: Event) -> str:
    return f"/events/{event.slug}/register"


def _association(db: Any, name: str, *, active: bool = True) -> Association:
    association = Association(name=name, email="", active=active)
    db.add(association)
    db.flush()
    return association


def _link(db: Any, registration: Registration, now: dt.datetime) -> str:
    token = services.issue_manage_link(db, registration, now)
    db.commit()
    return token


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_upcoming_events_first_then_past_ones_with_their_seats(
    client: Any, db: Any, now: dt.datetime, english: None
) -> None:
    roomy = make_event(db, now=now, capacity=10, title="Tilava ilta")
    for n in range(3):
        make_registration(db, roomy, name=f"H{n}", email=f"h{n}@example.fi", now=now)
    full = make_event(db, now=now, capacity=1, title="Täysi työpaja")
    make_registration(db, full, name="Eka", email="eka@example.fi", now=now)
    make_event(db, now=now, state="closed", title="Suljettu info")
    make_event(db, now=now, state="upcoming", title="Tuleva foorumi")
    make_event(db, now=now, state="past", title="Mennyt ilta")
    make_event(db, now=now, published=False, title="Salainen luonnos")
    # A fixed summer evening: 15.00 UTC is 18.00 in Helsinki.
    roomy.starts_at = dt.datetime(2030, 6, 12, 15, 0, tzinfo=dt.UTC)
    roomy.ends_at = dt.datetime(2030, 6, 12, 18, 0, tzinfo=dt.UTC)
    db.commit()

    page = _text(client.get("/events"))
    assert "Salainen luonnos" not in page
    upcoming, past = page.split('id="past-title"')
    for title in ("Tilava ilta", "Täysi työpaja", "Suljettu info", "Tuleva foorumi"):
        assert title in upcoming
    assert "Mennyt ilta" in past
    card = upcoming[upcoming.index("Tilava ilta") :]
    assert "7 seats free" in card[: card.index("</li>")]
    assert "6:00\u202fPM" in card or "6:00 PM" in card  # Helsinki time, not UTC's 3 PM
    card = upcoming[upcoming.index("Täysi työpaja") :]
    assert "Full – waitlist open" in card[: card.index("</li>")]
    card = upcoming[upcoming.index("Suljettu info") :]
    assert "Registration closed" in card[: card.index("</li>")]
    card = upcoming[upcoming.index("Tuleva foorumi") :]
    assert "Registration opens on" in card[: card.index("</li>")]
    # Soonest first: the closed one (tomorrow) before the open ones (next week).
    assert upcoming.index("Suljettu info") < upcoming.index("Tilava ilta")
    assert 'href="/events/calendar.ics"' in page


def test_the_list_is_paginated(client: Any, db: Any, now: dt.datetime, english: None) -> None:
    for n in range(12):
        event = make_event(db, now=now, title=f"Tapahtuma {n:02}", with_form=False)
        event.starts_at += dt.timedelta(hours=n)
        event.ends_at += dt.timedelta(hours=n)
    db.commit()
    first = _text(client.get("/events"))
    assert first.count('class="event-card"') == 10
    assert 'rel="next"' in first and "Tapahtuma 00" in first and "Tapahtuma 11" not in first
    second = _text(client.get("/events?page=2"))
    assert second.count('class="event-card"') == 2
    assert "Tapahtuma 11" in second and 'rel="prev"' in second


# --- the event page ----------------------------------------------------------------------------


def test_an_open_event_shows_its_details_groups_and_the_form(
    client: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, capacity=20, groups=[("Liikunta", 2), ("Kulttuuri", None)])
    event.description = f"Ensimmäinen rivi\nToinen rivi {HOSTILE}"
    event.online_url = "https://meet.example.fi/ilta"
    event.groups[0].facilitator = "Fasilitaattori Fanni"
    make_registration(
        db, event, name="Yksi", email="yksi@example.fi", now=now, group=event.groups[0]
    )
    _association(db, "Kisa-Veikot ry")
    _association(db, "Lopettanut ry", active=False)
    db.commit()

    page = _text(client.get(f"/events/{event.slug}"))
    assert f"<h1>{event.title}</h1>" in page
    assert 'class="event-description prewrap">Ensimmäinen rivi\nToinen rivi &lt;script&gt;' in page
    assert "<script>alert" not in page
    assert "Esteetön sisäänkäynti pääovelta." in page
    assert '<a href="https://meet.example.fi/ilta" rel="noopener">' in page
    assert "Facilitator: Fasilitaattori Fanni" in page
    assert f'id="group-seats-{event.groups[0].id}"' in page
    assert "1 seat free" in page and "no seat limit" in page
    assert "19 seats free of 20." in page
    # The form: labelled fields, groups as a fieldset with free seats, the questions.
    for field_id in ("reg-name", "reg-email", "reg-association_id", "reg-consent"):
        assert f'for="{field_id}"' in page and f'id="{field_id}"' in page
    assert re.search(r"<fieldset[^>]*>\s*<legend>Group", page)
    assert "Liikunta (1 free)" in page
    for key in _questions(db, event).values():
        assert f'id="reg-{key}' in page
    select_ = page[page.index('id="reg-association_id"') :]
    select_ = select_[: select_.index("</select>")]
    assert select_.index("None – I come as a resident") < select_.index("Kisa-Veikot ry")
    assert "Lopettanut ry" not in select_
    # Not asked unless the event wants it; the honeypot is out of sight and out of tab order.
    assert 'id="reg-seats"' not in page and 'id="reg-name_public"' not in page
    assert re.search(r'<div class="hp" aria-hidden="true">\s*<label[^>]*>Leave this field', page)
    assert "I agree that my name, e-mail address" in page  # the consent text
    assert f'hx-post="/events/{event.slug}/register"' in page
    assert f'href="/events/{event.slug}/event.ics"' in page
    assert "yksi@example.fi" not in page


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ("upcoming", "Registration opens on"),
        ("closed", "Registration closed on"),
        ("past", "This event is over."),
    ],
)
def test_events_not_open_show_why_and_no_form(
    client: Any, db: Any, now: dt.datetime, english: None, state: str, says: str
) -> None:
    event = make_event(db, now=now, state=state)
    db.commit()
    response = client.get(f"/events/{event.slug}")
    assert response.status_code == 200
    page = _text(response)
    assert says in page
    assert 'id="reg-name"' not in page and "registration-form" not in page


def test_a_cancelled_event_says_so(client: Any, db: Any, now: dt.datetime, english: None) -> None:
    event = make_event(db, now=now)
    event.cancelled_at = now
    db.commit()
    page = _text(client.get(f"/events/{event.slug}"))
    assert "This event has been cancelled." in page and 'id="reg-name"' not in page
    assert 'class="badge bad">Cancelled' in page


def test_unpublished_and_unknown_events_are_not_found(
    client: Any, db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now, published=False)
    db.commit()
    assert client.get(f"/events/{event.slug}").status_code == 404
    assert client.get("/events/no-such-event").status_code == 404
    assert client.get(f"/events/{event.slug}/event.ics").status_code == 404


def test_a_full_event_still_takes_registrations_for_the_waitlist(
    client: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, capacity=1)
    make_registration(db, event, name="Eka", email="eka@example.fi", now=now)
    db.commit()
    page = _text(client.get(f"/events/{event.slug}"))
    assert 'class="notice waitlist-note"' in page and "you go on the waitlist" in page
    assert "Register on the waitlist</button>" in page
    assert "Full – registrations go on the waitlist." in page


def test_only_consenting_participants_are_listed_without_addresses(
    client: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now)
    club = _association(db, "Kisa-Veikot ry")
    shown = make_registration(db, event, name=HOSTILE, email="naky@example.fi", now=now)
    shown.name_public, shown.association_id = True, club.id
    make_registration(db, event, name="Piilo Henkilö", email="piilo@example.fi", now=now)
    waiting = make_registration(
        db, event, name="Jonottaja Julkinen", email="jono@example.fi", now=now, status=WAITLISTED
    )
    waiting.name_public = True
    db.commit()

    page = _text(client.get(f"/events/{event.slug}"))
    assert "participant-list" not in page  # the event does not list participants
    event.list_participants = True
    db.commit()
    page = _text(client.get(f"/events/{event.slug}"))
    listed = page[page.index('class="participant-list"') :]
    listed = listed[: listed.index("</ul>")]
    assert html.escape(HOSTILE, quote=False) in listed.replace("&#39;", "'")
    assert "Kisa-Veikot ry" in listed
    assert "Piilo Henkilö" not in page and "Jonottaja Julkinen" not in page
    assert "<script>alert" not in page and "@example.fi" not in page
    assert 'id="reg-name_public"' in page


# --- registering -------------------------------------------------------------------------------


def test_registering_without_javascript_confirms_and_mails_the_link_and_calendar(
    client: Any, post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, capacity=5, groups=[("Liikunta", 3)])
    db.commit()
    keys = _questions(db, event)
    response = post(_register_path(event), _data(db, event))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/events/{event.slug}?registered=confirmed#registration"
    )
    registration = db.scalar(select(Registration))
    assert registration.status == CONFIRMED and registration.group_id == event.groups[0].id
    assert registration.email == "maija@example.fi" and registration.consent_id is not None
    answers = db.get(FormResponse, registration.response_id).answers
    assert answers[keys["yes_no"]] is True and answers[keys["short_text"]] == "Gluteeniton"
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "maija@example.fi"))
    assert mail is not None and "/events/manage/" in mail.body_text and mail.attachment_ics
    link = re.search(r"http://localhost(/events/manage/\S+)", mail.body_text)
    assert link and "Maija Meikäläinen" in _text(client.get(link.group(1)))

    page = _text(client.get(response.headers["Location"]))
    assert 'class="registration-done"' in page and "You are registered" in page
    assert f'href="/events/{event.slug}/event.ics"' in page
    assert 'id="reg-name"' not in page


def test_registering_with_htmx_answers_in_place_with_fresh_seats(
    post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, capacity=5, groups=[("Liikunta", 3)])
    db.commit()
    response = post(_register_path(event), _data(db, event), headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = _text(response)
    assert page.lstrip().startswith('<div class="registration-area" id="registration"')
    assert "You are registered" in page and "<html" not in page
    assert 'id="event-seats" hx-swap-oob="true">4 seats free of 5.' in page
    assert f'id="group-seats-{event.groups[0].id}"' in page and "2 seats free" in page


def test_each_htmx_answer_shows_the_seats_left_after_it(
    post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, capacity=2)
    db.commit()
    answers = [
        _text(
            post(
                _register_path(event),
                _data(db, event, email=f"n{n}@example.fi"),
                headers={"HX-Request": "true"},
            )
        )
        for n in range(4)
    ]
    assert 'hx-swap-oob="true">1 seat free of 2.' in answers[0]
    assert "You are registered" in answers[1] and 'hx-swap-oob="true">Full' in answers[1]
    assert all("You are on the waitlist" in a and 'oob="true">Full' in a for a in answers[2:])


def test_registering_with_htmx_on_a_full_event_answers_waitlisted_in_place(
    post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, capacity=1, groups=[("Liikunta", None)])
    make_registration(db, event, name="Eka", email="eka@example.fi", now=now)
    db.commit()
    response = post(_register_path(event), _data(db, event), headers={"HX-Request": "true"})
    page = _text(response)
    assert response.status_code == 200 and "<html" not in page
    assert "You are on the waitlist" in page and 'id="reg-name"' not in page
    assert 'id="event-seats" hx-swap-oob="true">Full' in page
    assert f'id="group-seats-{event.groups[0].id}"' in page and "no seat limit" in page
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "maija@example.fi"))
    assert mail.purpose == "event_waitlisted" and "/events/manage/" in mail.body_text


def test_a_full_event_puts_the_registration_on_the_waitlist(
    post: Any, client: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, capacity=1)
    make_registration(db, event, name="Eka", email="eka@example.fi", now=now)
    db.commit()
    response = post(_register_path(event), _data(db, event))
    assert response.headers["Location"].endswith("registered=waitlisted#registration")
    registration = db.scalar(select(Registration).where(Registration.email == "maija@example.fi"))
    assert registration.status == WAITLISTED
    page = _text(client.get(response.headers["Location"]))
    assert "You are on the waitlist" in page
    assert "position" not in page.lower()


def test_a_full_group_waitlists_while_another_group_confirms(
    post: Any, db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now, groups=[("Täysi", 1), ("Väljä", 5)])
    make_registration(db, event, name="Eka", email="eka@example.fi", now=now, group=event.groups[0])
    db.commit()
    post(_register_path(event), _data(db, event, group_id=str(event.groups[0].id)))
    post(
        _register_path(event),
        _data(db, event, email="toka@example.fi", group_id=str(event.groups[1].id)),
    )
    by_email = {r.email: r for r in db.scalars(select(Registration))}
    assert by_email["maija@example.fi"].status == WAITLISTED
    assert by_email["toka@example.fi"].status == CONFIRMED


def test_a_party_takes_its_seats(post: Any, db: Any, now: dt.datetime, client: Any) -> None:
    event = make_event(db, now=now, capacity=10, allow_party=True)
    db.commit()
    assert 'id="reg-seats"' in _text(client.get(f"/events/{event.slug}"))
    post(_register_path(event), _data(db, event, seats="4"))
    assert db.scalar(select(Registration.seats)) == 4


def test_mistakes_are_shown_beside_the_fields_and_the_text_is_kept(
    post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, groups=[("Liikunta", 3)])
    db.commit()
    data = _data(db, event, name=HOSTILE, email="ei-osoite", group_id="")
    del data["reg-consent"]
    response = post(_register_path(event), data)
    assert response.status_code == 200
    page = _text(response)
    summary = page[page.index('class="error-summary"') :]
    summary = summary[: summary.index("</div>")]
    for anchor in ("#reg-email", "#reg-consent", "#reg-group_id-0"):
        assert f'href="{anchor}"' in summary
    assert re.search(
        r'id="reg-email"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="reg-email"', page
    )
    assert 'aria-describedby="reg-email-hint reg-email-error"' in page
    assert _input_value(page, "reg-name") == HOSTILE
    assert _input_value(page, "reg-email") == "ei-osoite"
    assert "<script>alert" not in page
    assert _count(db, Registration) == 0


def test_a_question_error_and_a_person_error_are_shown_together(
    post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now)
    db.commit()
    keys = _questions(db, event)
    data = _data(db, event, email="")
    data[f"reg-{keys['yes_no']}"] = "maybe"
    page = _text(post(_register_path(event), data))
    assert f'href="#reg-{keys["yes_no"]}-0"' in page and 'href="#reg-email"' in page
    assert _count(db, Registration) == 0


def test_the_same_form_sent_twice_registers_once(
    post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, capacity=5)
    db.commit()
    data = _data(db, event)
    first = post(_register_path(event), data)
    second = post(_register_path(event), data)
    assert first.headers["Location"] == second.headers["Location"]
    assert "registered=confirmed" in second.headers["Location"]
    assert _count(db, Registration) == 1
    assert _count(db, OutboxMessage, OutboxMessage.recipient == "maija@example.fi") == 1


def test_an_address_already_registered_changes_nothing(
    post: Any, client: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, groups=[("A", 5), ("B", 5)])
    make_registration(
        db, event, name="Maija", email="Maija@Example.fi", now=now, group=event.groups[0]
    )
    db.commit()
    response = post(_register_path(event), _data(db, event, group_id=str(event.groups[1].id)))
    assert response.headers["Location"].endswith("registered=already#registration")
    page = _text(client.get(response.headers["Location"]))
    assert "This address is already registered" in page and "nothing was changed" in page
    registration = db.scalar(select(Registration))
    assert _count(db, Registration) == 1 and registration.group_id == event.groups[0].id
    htmx = post(_register_path(event), _data(db, event), headers={"HX-Request": "true"})
    assert "This address is already registered" in _text(htmx)


def test_a_form_sent_after_the_deadline_keeps_the_text_and_stores_nothing(
    post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, state="closed")
    db.commit()
    response = post(_register_path(event), _data(db, event, name="Myöhäinen Matti"))
    assert response.status_code == 409
    page = _text(response)
    assert "Registration closed on" in page and "was not saved" in page
    assert _input_value(page, "reg-name") == "Myöhäinen Matti"
    assert '<button type="submit"' not in page.split('id="registration"')[1]
    assert _count(db, Registration) == 0
    htmx = post(_register_path(event), _data(db, event), headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and "was not saved" in _text(htmx)


def test_an_expired_form_shows_the_text_again(
    client: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now)
    db.commit()
    client.get(f"/events/{event.slug}")
    data = _data(db, event, name="Kadonnut Kalle")
    data["csrf_token"] = "expired-or-forged"
    response = client.post(_register_path(event), data=data)
    assert response.status_code == 400
    page = _text(response)
    assert "The form had expired" in page
    assert _input_value(page, "reg-name") == "Kadonnut Kalle"
    htmx = client.post(_register_path(event), data=data, headers={"HX-Request": "true"})
    assert htmx.status_code == 400 and 'id="registration"' in _text(htmx)
    assert _input_value(_text(htmx), "reg-name") == "Kadonnut Kalle"
    assert _count(db, Registration) == 0


def test_a_busy_moment_says_try_again_and_keeps_everything(
    post: Any, db: Any, now: dt.datetime, english: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = make_event(db, now=now)
    db.commit()

    def busy(*_args: Any) -> Any:
        raise Busy("Many people are registering right now. Wait a moment and send the form again.")

    monkeypatch.setattr(services, "_execute_lock", busy)  # however the lock is taken
    data = _data(db, event, name="Kiireinen Kaisa")
    response = post(_register_path(event), data)
    assert response.status_code == 503
    page = _text(response)
    assert "Wait a moment and send the form again." in page
    assert _input_value(page, "reg-name") == "Kiireinen Kaisa"
    assert _input_value(page, "reg-submission_key") == data["reg-submission_key"]
    htmx = post(_register_path(event), data, headers={"HX-Request": "true"})
    assert htmx.status_code == 200 and "send the form again" in _text(htmx)
    assert _count(db, Registration) == 0


def test_too_many_forms_from_one_address_keep_the_text(
    app: Any,
    post: Any,
    db: Any,
    now: dt.datetime,
    english: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The limiter is one object for every app: another test's app may have switched it off.
    monkeypatch.setattr(limiter, "enabled", True)
    event = make_event(db, now=now)
    db.commit()
    app.config["EVENT_REGISTRATION_RATE_LIMIT"] = "2 per minute"
    try:
        for n in range(2):
            ok = post(_register_path(event), _data(db, event, email=f"n{n}@example.fi"))
            assert ok.status_code == 302
        refused = post(_register_path(event), _data(db, event, name="Kolmas Kerta"))
    finally:
        app.config["EVENT_REGISTRATION_RATE_LIMIT"] = "20 per minute"
    assert refused.status_code == 429
    page = _text(refused)
    assert "Wait a minute and send again" in page
    assert _input_value(page, "reg-name") == "Kolmas Kerta"
    assert _count(db, Registration) == 2


def test_a_filled_honeypot_stores_nothing(post: Any, db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now)
    db.commit()
    response = post(_register_path(event), _data(db, event, homepage="http://spam.example"))
    assert response.status_code == 302
    assert _count(db, Registration) == 0 and _count(db, OutboxMessage) == 0


# --- the own link ------------------------------------------------------------------------------


def test_the_own_link_shows_the_registration_and_switches_group(
    client: Any, post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, groups=[("Liikunta", 5), ("Kulttuuri", 1), ("Täysi", 1)])
    keys = _questions(db, event)
    registration = make_registration(
        db,
        event,
        name="Maija",
        email="maija@example.fi",
        now=now,
        group=event.groups[0],
        answers={keys["yes_no"]: True, keys["short_text"]: HOSTILE},
    )
    make_registration(db, event, name="Eka", email="eka@example.fi", now=now, group=event.groups[2])
    token = _link(db, registration, now)

    page = _text(client.get(f"/events/manage/{token}"))
    assert 'class="badge ok">Confirmed' in page
    assert 'id="registration-group">Liikunta' in page
    assert html.escape(HOSTILE, quote=False) in page.replace("&#39;", "'")
    assert "<script>alert" not in page
    assert 'id="change-group_id-0"' in page and 'id="answers-' in page

    # A full group refuses the move and the registration stays where it was.
    full = post(f"/events/manage/{token}/change", {"change-group_id": str(event.groups[2].id)})
    assert full.status_code == 422 and "There is no room for that change" in _text(full)
    db.refresh(registration)
    assert registration.group_id == event.groups[0].id

    moved = post(f"/events/manage/{token}/change", {"change-group_id": str(event.groups[1].id)})
    assert moved.status_code == 302 and moved.headers["Location"].endswith(
        f"/events/manage/{token}"
    )
    db.refresh(registration)
    assert registration.group_id == event.groups[1].id and registration.status == CONFIRMED
    assert "Your registration was changed." in _text(client.get(f"/events/manage/{token}"))


def test_the_own_link_changes_the_answers(
    client: Any, post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now)
    keys = _questions(db, event)
    registration = make_registration(
        db, event, name="Maija", email="maija@example.fi", now=now, answers={keys["yes_no"]: True}
    )
    token = _link(db, registration, now)
    page = _text(client.get(f"/events/manage/{token}"))
    assert re.search(
        rf'id="answers-{keys["yes_no"]}-0"[^>]*checked|checked[^>]*id="answers-{keys["yes_no"]}-0"',
        page,
    )
    response = post(
        f"/events/manage/{token}/answers",
        {f"answers-{keys['yes_no']}": "no", f"answers-{keys['short_text']}": "Vegaaninen"},
    )
    assert response.status_code == 302
    db.refresh(registration)
    answers = db.get(FormResponse, registration.response_id).answers
    assert answers[keys["yes_no"]] is False and answers[keys["short_text"]] == "Vegaaninen"
    refused = post(f"/events/manage/{token}/answers", {f"answers-{keys['yes_no']}": "maybe"})
    assert refused.status_code == 200 and "error-summary" in _text(refused)


def test_cancelling_asks_first_then_promotes_the_first_waitlisted_who_gets_one_mail(
    client: Any, post: Any, db: Any, now: dt.datetime, smtp: Any, english: None
) -> None:
    event = make_event(db, now=now, capacity=1)
    registration = make_registration(db, event, name="Maija", email="maija@example.fi", now=now)
    first = make_registration(
        db, event, name="Eka Jonossa", email="eka@example.fi", now=now, status=WAITLISTED
    )
    second = make_registration(
        db, event, name="Toka Jonossa", email="toka@example.fi", now=now, status=WAITLISTED
    )
    token = _link(db, registration, now)

    ask = _text(client.get(f"/events/manage/{token}/cancel"))
    assert "Yes, cancel my registration" in ask
    assert f'action="/events/manage/{token}/cancel"' in ask
    db.refresh(registration)
    assert registration.status == CONFIRMED  # asking changes nothing

    response = post(f"/events/manage/{token}/cancel", {})
    assert response.status_code == 302
    for row in (registration, first, second):
        db.refresh(row)
    assert registration.status == CANCELLED
    assert first.status == CONFIRMED and second.status == WAITLISTED
    assert len(smtp.to("eka@example.fi")) == 1
    assert smtp.to("toka@example.fi") == []
    assert len(smtp.to("maija@example.fi")) == 1  # the cancellation notice
    page = _text(client.get(f"/events/manage/{token}"))
    assert 'class="badge bad">Cancelled' in page and "Cancel my registration" not in page
    # Cancelling again changes nothing and mails nobody.
    post(f"/events/manage/{token}/cancel", {})
    assert len(smtp.to("maija@example.fi")) == 1


def test_after_the_deadline_the_own_link_is_read_only_with_the_organisers_address(
    client: Any, post: Any, db: Any, now: dt.datetime, english: None
) -> None:
    event = make_event(db, now=now, state="closed", groups=[("A", 5), ("B", 5)])
    event.organiser_email = "jarjestaja@example.fi"
    registration = make_registration(
        db, event, name="Maija", email="maija@example.fi", now=now, group=event.groups[0]
    )
    token = _link(db, registration, now)
    page = _text(client.get(f"/events/manage/{token}"))
    assert 'class="notice read-only"' in page
    assert 'href="mailto:jarjestaja@example.fi"' in page
    assert 'id="change-group_id-0"' not in page and 'action="/events/manage/' not in page
    refused = post(f"/events/manage/{token}/change", {"change-group_id": str(event.groups[1].id)})
    assert refused.status_code == 409
    db.refresh(registration)
    assert registration.group_id == event.groups[0].id


def test_a_broken_or_expired_link_gets_a_clear_page(
    client: Any, db: Any, now: dt.datetime, english: None
) -> None:
    response = client.get("/events/manage/not-a-real-token")
    assert response.status_code == 404 and "The link does not work" in _text(response)
    assert client.post("/events/manage/not-a-real-token/cancel").status_code in (400, 404)
    event = make_event(db, now=now, state="past")
    registration = make_registration(db, event, name="Vanha", email="vanha@example.fi", now=now)
    token = _link(db, registration, now - dt.timedelta(days=2))
    expired = client.get(f"/events/manage/{token}")
    assert expired.status_code == 410 and "The link has expired" in _text(expired)
    assert client.get(f"/events/manage/{token}/cancel").status_code == 410


# --- calendars ---------------------------------------------------------------------------------


def test_the_ics_file_downloads_with_helsinki_times(client: Any, db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, title=f"Ilta {HOSTILE}")
    event.starts_at = dt.datetime(2030, 1, 15, 15, 30, tzinfo=dt.UTC)  # 17.30 in winter
    event.ends_at = dt.datetime(2030, 1, 15, 18, 0, tzinfo=dt.UTC)
    db.commit()
    response = client.get(f"/events/{event.slug}/event.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{event.slug}.ics"'
    calendar = icalendar.Calendar.from_ical(response.data)
    (vevent,) = calendar.walk("VEVENT")
    start = vevent.decoded("dtstart")
    assert str(start.tzinfo) == "Europe/Helsinki" and (start.hour, start.minute) == (17, 30)
    assert str(vevent["summary"]) == event.title
    assert str(vevent["url"]).endswith(f"/events/{event.slug}")


def test_the_calendar_feed_holds_published_events_from_sixty_days_ago(
    app: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    summer = make_event(db, now=now, title="Kesäilta")
    summer.starts_at = dt.datetime(2030, 6, 12, 15, 0, tzinfo=dt.UTC)  # 18.00 in summer
    summer.ends_at = dt.datetime(2030, 6, 12, 18, 0, tzinfo=dt.UTC)
    recent = make_event(db, now=now, state="past", title="Äskettäinen")
    old = make_event(db, now=now, state="past", title="Vanha")
    old.starts_at, old.ends_at = now - dt.timedelta(days=90), now - dt.timedelta(days=90, hours=-2)
    cancelled = make_event(db, now=now, title="Peruttu")
    cancelled.cancelled_at = now
    make_event(db, now=now, published=False, title="Julkaisematon")
    db.commit()
    response = client.get("/events/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    assert str(calendar["x-wr-calname"]) == app.config["MUNICIPALITY_NAME"]
    events = {str(v["summary"]): v for v in calendar.walk("VEVENT")}
    assert set(events) == {"Kesäilta", recent.title}
    start = events["Kesäilta"].decoded("dtstart")
    assert str(start.tzinfo) == "Europe/Helsinki" and start.hour == 18
