"""The organiser's event pages through the test client: forms that keep what was typed, groups,
duplicating, invitations, a change of time, cancelling, and who may do what."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from participation.events.models import WAITLISTED, Event, EventGroup
from participation.mail.models import OutboxMessage
from participation.register.models import Association
from tests.conftest import body_of
from tests.events.factories import make_event, make_registration

HELSINKI = ZoneInfo("Europe/Helsinki")
HOSTILE = "<script>alert('x')</script>"


@pytest.fixture
def english(client: Any) -> None:
    """The UI in English, the source language of the messages asserted."""
    client.get("/lang/en")


@pytest.fixture
def coordinator(login_as: Any, english: None) -> Any:
    return login_as("coordinator")


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _local(value: dt.datetime) -> str:
    return value.astimezone(HELSINKI).strftime("%Y-%m-%dT%H:%M")


def _value(page: str, field_id: str) -> str:
    match = re.search(rf'<input[^>]*id="{field_id}"[^>]*value="([^"]*)"', page)
    assert match, f"no input {field_id} with a value"
    return html.unescape(match.group(1))


def _form(now: dt.datetime, **overrides: Any) -> dict[str, Any]:
    start = (now + dt.timedelta(days=21)).replace(second=0, microsecond=0)
    data = {
        "kind": "workshop",
        "title": "Avustustyöpaja",
        "description": "Miten haet kaupungin avustuksia.",
        "starts_at": _local(start),
        "ends_at": _local(start + dt.timedelta(hours=2)),
        "place": "Kirjaston monitoimisali",
        "accessibility": "Hissi",
        "online_url": "",
        "capacity": "25",
        "registration_opens_at": _local(now),
        "registration_closes_at": _local(start - dt.timedelta(days=1)),
        "max_party": "5",
        "reminder_days": "2",
        "thank_you": "y",
        "feedback_url": "",
        "sensitive_days": "30",
        "organiser_email": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _count(db: Any, model: Any, *where: Any) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- creating and editing -------------------------------------------------------------------


def test_bad_input_gets_messages_by_field_and_the_typed_text_back(
    coordinator: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    start = now + dt.timedelta(days=5)
    response = post(
        "/staff/events/new",
        _form(
            now,
            title=HOSTILE,
            capacity="kaksikymmentä",
            starts_at=_local(start),
            ends_at=_local(start - dt.timedelta(hours=1)),
            registration_closes_at=_local(start - dt.timedelta(days=1)),
            online_url="javascript:alert(1)",
        ),
    )
    page = _text(response)
    assert response.status_code == 200 and _count(db, Event) == 0
    assert 'class="error-summary"' in page
    for field in ("capacity", "ends_at", "online_url"):
        assert f'id="{field}-error"' in page, field
        assert f'href="#{field}"' in page, field
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="capacity"', page) or re.search(
        r'<input[^>]*id="capacity"[^>]*aria-invalid="true"', page
    )
    assert "Enter the number of seats as a positive whole number" in page
    assert "The event must end after it starts." in page
    assert "Enter a web address that starts with https://" in page
    # What was typed comes back, the script as text.
    assert _value(page, "title") == HOSTILE and "<script>alert" not in page
    assert _value(page, "capacity") == "kaksikymmentä"
    assert _value(page, "online_url") == "javascript:alert(1)"
    assert _value(page, "ends_at") == _local(start - dt.timedelta(hours=1))


def test_a_date_that_is_not_a_date_is_kept_with_its_message(
    coordinator: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    page = _text(post("/staff/events/new", _form(now, starts_at="ensi torstaina")))
    assert 'id="starts_at-error"' in page and _value(page, "starts_at") == "ensi torstaina"
    assert _count(db, Event) == 0


def test_creating_an_event_leads_to_its_page_with_the_questions(
    coordinator: Any, post: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    response = post("/staff/events/new", _form(now, published="y"))
    assert response.status_code == 302
    event = db.scalar(select(Event))
    assert response.headers["Location"].endswith(f"/staff/events/{event.id}")
    assert (event.kind, event.capacity, event.published_at is not None) == ("workshop", 25, True)
    assert _local(event.starts_at) == _form(now)["starts_at"]
    page = _text(client.get(response.headers["Location"]))
    assert "<h1>Avustustyöpaja</h1>" in page
    assert "Otatko kahvia tai teetä?" in page and "Erityisruokavalio" in page
    assert f'href="/staff/forms/{event.form_id}"' in page
    assert f'action="/staff/events/{event.id}/unpublish"' in page


def test_the_edit_form_shows_the_settings_and_saves_changes(
    coordinator: Any, post: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now, capacity=40)
    db.commit()
    page = _text(client.get(f"/staff/events/{event.id}/edit"))
    assert _value(page, "title") == event.title and _value(page, "capacity") == "40"
    assert _value(page, "starts_at") == _local(event.starts_at)
    data = _form(now, title="Yhdistysilta syksy", capacity="", published="y")
    response = post(f"/staff/events/{event.id}/edit", data)
    assert response.status_code == 302
    db.refresh(event)
    assert (event.title, event.capacity) == ("Yhdistysilta syksy", None)


def test_a_change_of_time_mails_each_registrant_once_with_the_new_ics(
    coordinator: Any, post: Any, client: Any, db: Any, now: dt.datetime, smtp: Any
) -> None:
    event = make_event(db, now=now, capacity=1)
    make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    make_registration(
        db, event, name="Bertil", email="bertil@example.org", now=now, status=WAITLISTED
    )
    db.commit()
    new_start = (event.starts_at + dt.timedelta(days=7)).replace(second=0, microsecond=0)
    page = _text(client.get(f"/staff/events/{event.id}/edit"))
    assert "each of them gets one e-mail" in page
    data = _form(
        now,
        title=event.title,
        capacity="1",
        starts_at=_local(new_start),
        ends_at=_local(new_start + dt.timedelta(hours=3)),
        registration_closes_at=_local(event.registration_closes_at),
        registration_opens_at=_local(event.registration_opens_at),
        place=event.place,
        published="y",
    )
    response = post(f"/staff/events/{event.id}/edit", data)
    assert response.status_code == 302
    assert "2 registered people were told" in _text(client.get(response.headers["Location"]))

    assert sorted(m["To"] for m in smtp.messages) == ["aino@example.org", "bertil@example.org"]
    message = smtp.to("aino@example.org")[0]
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "invite.ics"
    vevent = next(iter(icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")))
    assert vevent.decoded("dtstart") == new_start and int(vevent["sequence"]) == 1
    assert "/events/manage/" in body_of(message)

    # Saving again without a change of time or place tells no one.
    post(f"/staff/events/{event.id}/edit", {**data, "description": "Tarkennettu ohjelma"})
    assert len(smtp.messages) == 2


# --- groups ---------------------------------------------------------------------------------


def test_groups_are_added_edited_moved_and_removed(
    coordinator: Any, post: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now)
    db.commit()
    path = f"/staff/events/{event.id}/groups/new"
    page = _text(post(path, {"name": "Kulttuuri", "capacity": "0"}))
    assert 'id="capacity-error"' in page and _value(page, "name") == "Kulttuuri"
    assert _value(page, "capacity") == "0"
    assert (
        post(path, {"name": "Kulttuuri", "capacity": "12", "facilitator": "Maija"}).status_code
        == 302
    )
    assert post(path, {"name": "Liikunta"}).status_code == 302
    culture, sports = db.scalars(
        select(EventGroup).where(EventGroup.event_id == event.id).order_by(EventGroup.position)
    ).all()

    admin = _text(client.get(f"/staff/events/{event.id}"))
    assert "Kulttuuri" in admin and "Maija" in admin and "0 / 12" in admin
    assert f'id="group-down-{culture.id}"' in admin and f'id="group-up-{sports.id}"' in admin

    # htmx gets the group table alone, in its new order.
    moved = client.post(
        f"/staff/events/{event.id}/groups/{sports.id}/move",
        data={"direction": "up", "csrf_token": _csrf(client, event)},
        headers={"HX-Request": "true"},
    )
    part = _text(moved)
    assert part.lstrip().startswith('<div id="event-groups"') and "<html" not in part
    assert part.index("Liikunta") < part.index("Kulttuuri")

    edited = post(
        f"/staff/events/{event.id}/groups/{culture.id}/edit",
        {"name": "Kulttuuri ja taide", "capacity": "15", "facilitator": "Maija"},
    )
    assert edited.status_code == 302
    db.refresh(culture)
    assert (culture.name, culture.capacity) == ("Kulttuuri ja taide", 15)

    make_registration(db, event, name="Aino", email="a@example.org", now=now, group=sports)
    db.commit()
    refused = post(f"/staff/events/{event.id}/groups/{sports.id}/remove")
    assert refused.status_code == 302
    assert "Move them to another group first." in _text(client.get(refused.headers["Location"]))
    assert post(f"/staff/events/{event.id}/groups/{culture.id}/remove").status_code == 302
    assert [
        g.name for g in db.scalars(select(EventGroup).where(EventGroup.event_id == event.id))
    ] == ["Liikunta"]


def _csrf(client: Any, event: Event) -> str:
    page = _text(client.get(f"/staff/events/{event.id}"))
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert match
    return match.group(1)


# --- duplicating ----------------------------------------------------------------------------


def test_duplicating_last_years_event_with_new_dates(
    coordinator: Any, post: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    source = make_event(db, now=now, state="past", groups=[("Kulttuuri", 10)], title="Ilta 2025")
    make_registration(db, source, name="Aino", email="a@example.org", now=now)
    db.commit()
    page = _text(client.get(f"/staff/events/{source.id}/duplicate"))
    suggested = _value(page, "starts_at")
    assert dt.datetime.strptime(suggested, "%Y-%m-%dT%H:%M").replace(tzinfo=HELSINKI) > now

    start = (now + dt.timedelta(days=60)).replace(second=0, microsecond=0)
    bad = post(
        f"/staff/events/{source.id}/duplicate",
        {
            "title": "Ilta 2026",
            "starts_at": _local(start),
            "ends_at": _local(start - dt.timedelta(hours=2)),
            "registration_opens_at": _local(now),
            "registration_closes_at": _local(start - dt.timedelta(days=3)),
        },
    )
    assert 'id="ends_at-error"' in _text(bad) and _value(_text(bad), "title") == "Ilta 2026"
    response = post(
        f"/staff/events/{source.id}/duplicate",
        {
            "title": "Ilta 2026",
            "starts_at": _local(start),
            "ends_at": _local(start + dt.timedelta(hours=2)),
            "registration_opens_at": _local(now),
            "registration_closes_at": _local(start - dt.timedelta(days=3)),
        },
    )
    assert response.status_code == 302
    copy = db.scalar(select(Event).where(Event.title == "Ilta 2026"))
    assert copy.starts_at == start and copy.published_at is None
    assert [g.name for g in copy.groups] == ["Kulttuuri"]
    admin = _text(client.get(response.headers["Location"]))
    assert "Kulttuuri" in admin and "0 / 10" in admin


# --- invitations ----------------------------------------------------------------------------


def test_invitations_are_sent_once_per_association(
    coordinator: Any, post: Any, client: Any, db: Any, now: dt.datetime, smtp: Any
) -> None:
    event = make_event(db, now=now, published=False)
    village = Association(name="Kyläyhdistys", email="kyla@example.org")
    nameless = Association(name="Lukupiiri", email="")
    db.add_all([village, nameless])
    db.commit()
    saved = post(
        f"/staff/events/{event.id}/distribution", {"association_ids": [village.id, nameless.id]}
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#distribution")
    admin = _text(client.get(f"/staff/events/{event.id}"))
    assert "Publish the event first" in admin
    assert f'action="/staff/events/{event.id}/invitations"' not in admin

    assert post(f"/staff/events/{event.id}/publish").status_code == 302
    admin = _text(client.get(f"/staff/events/{event.id}"))
    assert f'action="/staff/events/{event.id}/invitations"' in admin

    first = post(f"/staff/events/{event.id}/invitations")
    shown = _text(client.get(first.headers["Location"]))
    assert "1 invitation was sent." in shown and "Lukupiiri" in shown
    post(f"/staff/events/{event.id}/invitations")
    assert [m["To"] for m in smtp.messages] == ["kyla@example.org"]
    body = body_of(smtp.messages[0])
    assert "Kyläyhdistys" in body and f"/events/{event.slug}" in body


# --- cancelling -----------------------------------------------------------------------------


def test_cancelling_tells_everyone_registered_once(
    coordinator: Any, post: Any, client: Any, db: Any, now: dt.datetime, smtp: Any
) -> None:
    event = make_event(db, now=now, capacity=1)
    make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    make_registration(db, event, name="Bertil", email="b@example.org", now=now, status=WAITLISTED)
    db.commit()
    page = _text(client.get(f"/staff/events/{event.id}/cancel"))
    assert "Registered: 1; on the waitlist: 1." in page
    long = post(f"/staff/events/{event.id}/cancel", {"message": "x" * 2001})
    assert 'id="message-error"' in _text(long) and smtp.messages == []

    response = post(f"/staff/events/{event.id}/cancel", {"message": f"Sali suljettu {HOSTILE}"})
    assert response.status_code == 302
    assert sorted(m["To"] for m in smtp.messages) == ["aino@example.org", "b@example.org"]
    assert "Sali suljettu" in body_of(smtp.messages[0])
    again = post(f"/staff/events/{event.id}/cancel", {"message": ""})
    assert again.status_code == 200 and len(smtp.messages) == 2
    admin = _text(client.get(f"/staff/events/{event.id}"))
    assert f'href="/staff/events/{event.id}/edit"' not in admin
    assert _count(db, OutboxMessage, OutboxMessage.purpose == "event_cancelled") == 2


# --- the list and permissions ---------------------------------------------------------------


def test_the_list_shows_upcoming_then_past_with_counts(
    coordinator: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    soon = make_event(db, now=now, title="Tuleva ilta", capacity=30)
    make_registration(db, soon, name="A", email="a@example.org", now=now, seats=1)
    make_registration(db, soon, name="B", email="b@example.org", now=now, status=WAITLISTED)
    make_event(db, now=now, state="past", title="Mennyt ilta")
    db.commit()
    page = _text(client.get("/staff/events"))
    assert page.index('id="upcoming"') < page.index("Tuleva ilta") < page.index('id="past"')
    assert page.index('id="past"') < page.index("Mennyt ilta")
    assert "1 / 30" in page
    assert 'href="/staff/events/new"' in page


def test_a_contact_person_creates_and_runs_their_own_event(
    login_as: Any, english: None, post: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    user = login_as("contact_person")
    assert 'href="/staff/events/new"' in _text(client.get("/staff/events"))
    response = post("/staff/events/new", _form(now))
    assert response.status_code == 302
    event = db.scalar(select(Event).where(Event.title == "Avustustyöpaja"))
    assert event is not None and event.created_by_id == user.id
    page = _text(client.get(f"/staff/events/{event.id}"))
    assert f'href="/staff/events/{event.id}/edit"' in page and "/publish" in page
    assert post(f"/staff/events/{event.id}/edit", _form(now, title="Uusi nimi")).status_code == 302
    assert post(f"/staff/events/{event.id}/publish").status_code == 302
    db.refresh(event)
    assert event.title == "Uusi nimi" and event.published_at is not None
    start = (now + dt.timedelta(days=60)).replace(second=0, microsecond=0)
    response = post(
        f"/staff/events/{event.id}/duplicate",
        {
            "title": "Kopio",
            "starts_at": _local(start),
            "ends_at": _local(start + dt.timedelta(hours=2)),
            "registration_opens_at": _local(now),
            "registration_closes_at": _local(start - dt.timedelta(days=3)),
        },
    )
    assert response.status_code == 302
    copy = db.scalar(select(Event).where(Event.title == "Kopio"))
    assert copy is not None and copy.created_by_id == user.id  # the copy is theirs too
    assert client.get(response.headers["Location"]).status_code == 200


def test_a_contact_person_is_refused_every_page_of_someone_elses_event(
    app: Any, login_as: Any, make_user: Any, post: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    owner = make_user("contact_person")
    event = make_event(db, now=now, groups=[("A", None)], creator_id=owner.id)
    registration = make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    db.commit()
    login_as("contact_person")
    ids = {
        "event_id": event.id,
        "group_id": event.groups[0].id,
        "registration_id": registration.id,
        "fmt": "csv",
    }
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff/events/<int:event_id>"):
            continue
        path = rule.build({name: ids[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.get(path) if method == "GET" else post(path)
            assert response.status_code == 403, (method, path)
            checked += 1
    assert checked > 20  # the set-up, registration and door routes were all tried
    db.refresh(event)
    assert event.published_at is not None and event.cancelled_at is None
    assert event.groups[0].name == "A"


def test_the_list_shows_a_contact_person_only_their_own_events(
    login_as: Any, make_user: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    someone = make_user("coordinator")
    make_event(db, now=now, title="Toisen ilta", creator_id=someone.id)
    make_event(db, now=now, title="Tekijätön ilta")
    user = login_as("contact_person")
    make_event(db, now=now, title="Oma ilta", creator_id=user.id)
    db.commit()
    page = _text(client.get("/staff/events"))
    assert "Oma ilta" in page
    assert "Toisen ilta" not in page and "Tekijätön ilta" not in page


def test_a_coordinator_sees_and_runs_every_event(
    coordinator: Any, make_user: Any, client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    contact = make_user("contact_person")
    theirs = make_event(db, now=now, title="Yhteyshenkilön ilta", creator_id=contact.id)
    make_event(db, now=now, title="Tekijätön ilta")
    db.commit()
    page = _text(client.get("/staff/events"))
    assert "Yhteyshenkilön ilta" in page and "Tekijätön ilta" in page
    assert client.get(f"/staff/events/{theirs.id}").status_code == 200
    assert client.get(f"/staff/events/{theirs.id}/registrations.csv").status_code == 200
    assert post(f"/staff/events/{theirs.id}/unpublish").status_code == 302
    db.refresh(theirs)
    assert theirs.published_at is None


def test_anonymous_visitors_are_sent_to_log_in(client: Any, db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now)
    db.commit()
    for path in ("/staff/events", f"/staff/events/{event.id}"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_unknown_event_is_not_found(coordinator: Any, client: Any) -> None:
    assert client.get("/staff/events/987654").status_code == 404
    assert client.get("/staff/events/987654/edit").status_code == 404
