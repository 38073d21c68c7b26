"""The organiser's rules for events, with the clock passed in: settings and their messages,
changes that tell registrants, duplicating, groups, invitations, cancelling and the staff list."""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import pytest
from sqlalchemy import func, select

from participation.errors import Conflict, Invalid, WrongState
from participation.events import setup
from participation.events.models import (
    CANCELLED,
    CONFIRMED,
    WAITLISTED,
    Event,
    EventInvitation,
    Registration,
)
from participation.formbuilder.models import FormDefinition
from participation.mail.models import OutboxMessage
from participation.register.models import Association
from tests.events.factories import make_event, make_registration

BASE = "http://localhost"


def no_link(token: str) -> str:
    return f"{BASE}/events/manage/{token}"


def settings(now: dt.datetime, **overrides: Any) -> dict[str, Any]:
    """What the organiser's form sends for a typical association evening."""
    start = now + dt.timedelta(days=14)
    values: dict[str, Any] = {
        "kind": "association_evening",
        "title": "Yhdistysilta 2027",
        "description": "Kaupungin ja yhdistysten yhteinen ilta.",
        "starts_at": start,
        "ends_at": start + dt.timedelta(hours=3),
        "place": "Kaupungintalo",
        "accessibility": "Esteetön sisäänkäynti.",
        "online_url": "",
        "capacity": "60",
        "registration_opens_at": now,
        "registration_closes_at": start - dt.timedelta(days=2),
        "allow_party": False,
        "max_party": "5",
        "notify_cancellations": False,
        "organiser_email": "",
        "reminder_days": "2",
        "thank_you": True,
        "feedback_url": "",
        "list_participants": False,
        "sensitive_days": "30",
        "published": True,
    }
    values.update(overrides)
    return values


def mails(db: Any, purpose: str) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id)
        )
    )


def errors_of(exc: pytest.ExceptionInfo[Invalid]) -> dict[str, list[str]]:
    return exc.value.errors


# --- creating -------------------------------------------------------------------------------


def test_a_new_event_gets_the_default_questions_with_diet_and_needs_sensitive(
    db: Any, make_user: Any, now: dt.datetime
) -> None:
    user = make_user("coordinator")
    event = setup.create_event(db, settings(now), staff_user_id=user.id, now=now)
    assert event.slug.startswith("yhdistysilta-2027-")
    assert event.capacity == 60 and event.reminder_days == 2 and event.published_at == now
    form = db.get(FormDefinition, event.form_id)
    types = [q["type"] for q in form.questions]
    assert types == ["yes_no", "short_text", "long_text"]
    assert [q["label"]["fi"] for q in form.questions] == [
        "Otatko kahvia tai teetä?",
        "Erityisruokavalio",
        "Saavutettavuustarpeet",
    ]
    assert event.sensitive_keys == [form.questions[1]["key"], form.questions[2]["key"]]
    assert form.owner_id == user.id


def test_empty_capacity_and_reminder_mean_unlimited_and_none(
    db: Any, make_user: Any, now: dt.datetime
) -> None:
    event = setup.create_event(
        db,
        settings(now, capacity=" ", reminder_days="", published=False),
        staff_user_id=make_user().id,
        now=now,
    )
    assert event.capacity is None and event.reminder_days is None and event.published_at is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "   "}, "title"),
        ({"kind": "party"}, "kind"),
        ({"starts_at": None}, "starts_at"),
        ({"capacity": "0"}, "capacity"),
        ({"capacity": "-3"}, "capacity"),
        ({"capacity": "1.5"}, "capacity"),
        ({"capacity": "sixty"}, "capacity"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"online_url": "ftp://example.org/x"}, "online_url"),
        ({"online_url": "https://"}, "online_url"),
        ({"feedback_url": "www.example.fi"}, "feedback_url"),
        ({"place": "", "online_url": ""}, "place"),
        ({"registration_opens_at": None}, "registration_opens_at"),
        ({"reminder_days": "0"}, "reminder_days"),
        ({"reminder_days": "61"}, "reminder_days"),
        ({"sensitive_days": ""}, "sensitive_days"),
        ({"allow_party": True, "max_party": "1"}, "max_party"),
        ({"allow_party": True, "max_party": ""}, "max_party"),
        ({"allow_party": True, "max_party": "8", "capacity": "6"}, "max_party"),
        ({"notify_cancellations": True, "organiser_email": ""}, "organiser_email"),
        ({"organiser_email": "not an address"}, "organiser_email"),
    ],
)
def test_each_bad_setting_gets_a_message_on_its_field(
    db: Any, make_user: Any, now: dt.datetime, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(Invalid) as exc:
        setup.create_event(db, settings(now, **overrides), staff_user_id=make_user().id, now=now)
    assert list(errors_of(exc)) == [field]
    assert all(message.strip() for message in errors_of(exc)[field])
    assert db.scalar(select(func.count(Event.id))) == 0


def test_the_end_must_follow_the_start_and_registration_close_by_the_end(
    db: Any, make_user: Any, now: dt.datetime
) -> None:
    start = now + dt.timedelta(days=10)
    user = make_user()
    with pytest.raises(Invalid) as exc:
        setup.create_event(
            db,
            settings(
                now,
                starts_at=start,
                ends_at=start,
                registration_closes_at=start - dt.timedelta(days=1),
            ),
            staff_user_id=user.id,
            now=now,
        )
    assert list(errors_of(exc)) == ["ends_at"]
    with pytest.raises(Invalid) as exc:
        setup.create_event(
            db,
            settings(
                now,
                starts_at=start,
                ends_at=start + dt.timedelta(hours=2),
                registration_closes_at=start + dt.timedelta(hours=3),
            ),
            staff_user_id=user.id,
            now=now,
        )
    assert list(errors_of(exc)) == ["registration_closes_at"]
    with pytest.raises(Invalid) as exc:
        setup.create_event(
            db, settings(now, registration_closes_at=now), staff_user_id=user.id, now=now
        )
    assert list(errors_of(exc)) == ["registration_closes_at"]
    # Closing exactly at the end, and an online-only event, are fine.
    event = setup.create_event(
        db,
        settings(
            now,
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            registration_closes_at=start + dt.timedelta(hours=2),
            place="",
            online_url="https://meet.example.fi/ilta",
        ),
        staff_user_id=user.id,
        now=now,
    )
    assert event.registration_closes_at == event.ends_at


# --- changing -------------------------------------------------------------------------------


def _update(db: Any, event: Event, now: dt.datetime, **changes: Any) -> int:
    from participation.events.setup_forms import event_data

    data = {**event_data(event), **changes}
    return setup.update_event(db, event.id, data, now=now, base_url=BASE, manage_url=no_link)


def test_a_new_time_tells_confirmed_and_waitlisted_once_with_the_new_ics(
    db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now, capacity=2)
    make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    make_registration(
        db, event, name="Bertil", email="bertil@example.org", now=now, status=WAITLISTED
    )
    make_registration(db, event, name="Cecilia", email="c@example.org", now=now, status=CANCELLED)
    later = (event.starts_at + dt.timedelta(days=1)).replace(second=0, microsecond=0)

    told = _update(db, event, now, starts_at=later, ends_at=later + dt.timedelta(hours=2))

    assert told == 2 and event.sequence == 1
    sent = mails(db, "event_changed")
    assert sorted(m.recipient for m in sent) == ["aino@example.org", "bertil@example.org"]
    calendar = icalendar.Calendar.from_ical(sent[0].attachment_ics)
    vevent = next(iter(calendar.walk("VEVENT")))
    assert vevent.decoded("dtstart") == later
    assert int(vevent["sequence"]) == 1
    assert all("/events/manage/" in m.body_text for m in sent)
    confirmed = next(m for m in sent if m.recipient == "aino@example.org")
    waitlisted = next(m for m in sent if m.recipient == "bertil@example.org")
    # The waitlisted person is reminded of their place in line, the confirmed one is not.
    assert waitlisted.body_text.count("\n") == confirmed.body_text.count("\n")
    assert waitlisted.body_text != confirmed.body_text.replace("Aino", "Bertil")


def test_a_new_place_or_link_counts_but_other_settings_do_not(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now)
    make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    assert _update(db, event, now, description="Uusi kuvaus", capacity="40") == 0
    assert event.sequence == 0 and mails(db, "event_changed") == []
    assert _update(db, event, now, place="Kirjaston sali") == 1
    assert _update(db, event, now, online_url="https://meet.example.fi/x") == 1
    assert event.sequence == 2 and len(mails(db, "event_changed")) == 2


def test_an_event_without_registrations_changes_quietly(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now)
    assert _update(db, event, now, place="Kirjaston sali") == 0
    assert event.place == "Kirjaston sali" and mails(db, "event_changed") == []


def test_the_capacity_cannot_go_below_the_seats_taken(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, capacity=10)
    make_registration(db, event, name="Aino", email="aino@example.org", now=now, seats=3)
    with pytest.raises(Invalid) as exc:
        _update(db, event, now, capacity="2")
    assert list(errors_of(exc)) == ["capacity"] and "3" in errors_of(exc)["capacity"][0]
    _update(db, event, now, capacity="3")
    assert event.capacity == 3


def test_more_seats_promote_the_waitlist_in_order(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, capacity=1)
    make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    first = make_registration(
        db, event, name="Bertil", email="bertil@example.org", now=now, status=WAITLISTED
    )
    second = make_registration(
        db, event, name="Cecilia", email="cecilia@example.org", now=now, status=WAITLISTED
    )
    _update(db, event, now, capacity="2")
    db.refresh(first)
    db.refresh(second)
    assert (first.status, second.status) == (CONFIRMED, WAITLISTED)
    assert [m.recipient for m in mails(db, "event_promoted")] == ["bertil@example.org"]


def test_the_published_box_publishes_and_hides(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, published=False)
    _update(db, event, now, published=True)
    assert event.published_at == now
    _update(db, event, now + dt.timedelta(minutes=1), published=False)
    assert event.published_at is None


def test_publish_and_unpublish_refuse_the_wrong_state(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, published=False)
    with pytest.raises(WrongState):
        setup.unpublish_event(db, event.id, now=now)
    setup.publish_event(db, event.id, now=now)
    assert event.published_at == now
    with pytest.raises(WrongState):
        setup.publish_event(db, event.id, now=now)
    setup.unpublish_event(db, event.id, now=now)
    assert event.published_at is None


# --- cancelling -----------------------------------------------------------------------------


def test_cancelling_mails_everyone_registered_once_and_ends_registration(
    db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now, capacity=1)
    make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    make_registration(db, event, name="Bertil", email="b@example.org", now=now, status=WAITLISTED)
    make_registration(db, event, name="Cecilia", email="c@example.org", now=now, status=CANCELLED)

    told = setup.cancel_event(db, event.id, message="Sali on remontissa.", now=now, base_url=BASE)

    assert told == 2
    assert event.registration_state(now) == "cancelled" and event.sequence == 1
    sent = mails(db, "event_cancelled")
    assert sorted(m.recipient for m in sent) == ["aino@example.org", "b@example.org"]
    assert all("Sali on remontissa." in m.body_text for m in sent)
    vevent = next(iter(icalendar.Calendar.from_ical(sent[0].attachment_ics).walk("VEVENT")))
    assert str(vevent["status"]) == "CANCELLED"
    with pytest.raises(WrongState):
        setup.cancel_event(db, event.id, message="", now=now, base_url=BASE)
    with pytest.raises(WrongState):
        _update(db, event, now, place="Muualla")
    with pytest.raises(WrongState):
        setup.publish_event(db, event.id, now=now)
    assert len(mails(db, "event_cancelled")) == 2


def test_a_past_event_cannot_be_cancelled(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, state="past")
    with pytest.raises(WrongState):
        setup.cancel_event(db, event.id, message="", now=now, base_url=BASE)
    assert event.cancelled_at is None


# --- duplicating ----------------------------------------------------------------------------


def test_duplicating_copies_settings_groups_questions_and_list_but_no_people(
    db: Any, make_user: Any, now: dt.datetime
) -> None:
    user = make_user()
    source = make_event(
        db, now=now, state="past", capacity=80, groups=[("Kulttuuri", 20), ("Liikunta", None)]
    )
    source.title = "Yhdistysilta 2026"
    source.reminder_days = None
    source.feedback_url = "https://kysely.example.fi/palaute"
    association = Association(name="Kyläyhdistys", email="kyla@example.org")
    db.add(association)
    db.flush()
    source.invitations.append(EventInvitation(association_id=association.id, sent_at=now))
    make_registration(db, source, name="Aino", email="aino@example.org", now=now, attended=True)
    suggestion = setup.suggest_copy(source, now)
    assert suggestion["starts_at"] > now
    assert suggestion["starts_at"].weekday() == source.starts_at.weekday()

    copy = setup.duplicate_event(db, source.id, suggestion, staff_user_id=user.id, now=now)

    assert copy.id != source.id and copy.slug != source.slug
    assert copy.title == source.title.replace(
        str(source.starts_at.year), str(suggestion["starts_at"].year)
    )
    assert (copy.capacity, copy.reminder_days, copy.feedback_url) == (
        80,
        None,
        "https://kysely.example.fi/palaute",
    )
    assert copy.published_at is None and copy.cancelled_at is None and copy.sequence == 0
    assert [(g.name, g.capacity) for g in copy.groups] == [("Kulttuuri", 20), ("Liikunta", None)]
    assert {g.id for g in copy.groups}.isdisjoint({g.id for g in source.groups})
    old_form, new_form = (
        db.get(FormDefinition, source.form_id),
        db.get(FormDefinition, copy.form_id),
    )
    assert new_form.id != old_form.id and new_form.owner_id == user.id
    assert [q["key"] for q in new_form.questions] == [q["key"] for q in old_form.questions]
    assert copy.sensitive_keys == source.sensitive_keys
    assert [(i.association_id, i.sent_at) for i in copy.invitations] == [(association.id, None)]
    count = select(func.count(Registration.id)).where(Registration.event_id == copy.id)
    assert db.scalar(count) == 0


def test_a_copy_needs_its_own_valid_times(db: Any, make_user: Any, now: dt.datetime) -> None:
    source = make_event(db, now=now, state="past")
    data = setup.suggest_copy(source, now)
    data["ends_at"] = data["starts_at"] - dt.timedelta(hours=1)
    data["title"] = ""
    with pytest.raises(Invalid) as exc:
        setup.duplicate_event(db, source.id, data, staff_user_id=make_user().id, now=now)
    assert set(errors_of(exc)) == {"title", "ends_at"}


def test_a_copy_of_an_event_whose_form_was_deleted_gets_the_default_questions(
    db: Any, make_user: Any, now: dt.datetime
) -> None:
    source = make_event(db, now=now, with_form=False, state="past")
    copy = setup.duplicate_event(
        db, source.id, setup.suggest_copy(source, now), staff_user_id=make_user().id, now=now
    )
    assert len(db.get(FormDefinition, copy.form_id).questions) == 3
    assert len(copy.sensitive_keys) == 2


def test_default_questions_come_back_only_when_missing(
    db: Any, make_user: Any, now: dt.datetime
) -> None:
    user = make_user()
    event = make_event(db, now=now, with_form=False)
    assert setup.registration_questions(db, event) is None
    setup.ensure_questions(db, event.id, staff_user_id=user.id, now=now)
    questions = setup.registration_questions(db, event)
    assert [q["sensitive"] for q in questions] == [False, True, True]
    with pytest.raises(Conflict):
        setup.ensure_questions(db, event.id, staff_user_id=user.id, now=now)


# --- breakout groups ------------------------------------------------------------------------


def test_groups_are_added_edited_reordered_and_removed(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now)
    a = setup.add_group(db, event.id, {"name": " Kulttuuri ", "capacity": "15"}, now=now)
    b = setup.add_group(
        db, event.id, {"name": "Liikunta", "capacity": "", "facilitator": "Pekka"}, now=now
    )
    c = setup.add_group(db, event.id, {"name": "Ympäristö"}, now=now)
    assert (a.name, a.capacity, b.capacity, b.facilitator) == ("Kulttuuri", 15, None, "Pekka")
    setup.move_group(db, event.id, c.id, -1, now=now)
    assert [g.name for g in event.groups] == ["Kulttuuri", "Ympäristö", "Liikunta"]
    setup.move_group(db, event.id, a.id, -1, now=now)  # already first: stays
    assert [g.name for g in event.groups] == ["Kulttuuri", "Ympäristö", "Liikunta"]
    setup.update_group(
        db, event.id, b.id, {"name": "Liikunta ja ulkoilu", "capacity": "12"}, now=now
    )
    assert (b.name, b.capacity) == ("Liikunta ja ulkoilu", 12)
    setup.remove_group(db, event.id, c.id, now=now)
    assert [(g.name, g.position) for g in event.groups] == [
        ("Kulttuuri", 0),
        ("Liikunta ja ulkoilu", 1),
    ]


@pytest.mark.parametrize("capacity", ["0", "-1", "2.5", "kymmenen"])
def test_a_group_capacity_is_a_positive_whole_number(
    db: Any, now: dt.datetime, capacity: str
) -> None:
    event = make_event(db, now=now)
    with pytest.raises(Invalid) as exc:
        setup.add_group(db, event.id, {"name": "Kulttuuri", "capacity": capacity}, now=now)
    assert list(errors_of(exc)) == ["capacity"]
    with pytest.raises(Invalid) as exc:
        setup.add_group(db, event.id, {"name": ""}, now=now)
    assert list(errors_of(exc)) == ["name"]
    assert event.groups == []


def test_a_group_with_people_is_not_removed_or_shrunk_below_them(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, groups=[("Kulttuuri", 10), ("Liikunta", 10)])
    culture, sports = event.groups
    make_registration(db, event, name="Aino", email="a@example.org", now=now, group=culture)
    make_registration(db, event, name="Bea", email="b@example.org", now=now, group=culture)
    make_registration(
        db, event, name="Cid", email="c@example.org", now=now, group=sports, status=WAITLISTED
    )
    with pytest.raises(Conflict):
        setup.remove_group(db, event.id, culture.id, now=now)
    with pytest.raises(Conflict):
        setup.remove_group(db, event.id, sports.id, now=now)  # the waitlisted count too
    with pytest.raises(Invalid) as exc:
        setup.update_group(
            db, event.id, culture.id, {"name": "Kulttuuri", "capacity": "1"}, now=now
        )
    assert list(errors_of(exc)) == ["capacity"]
    assert len(event.groups) == 2


def test_a_group_of_another_event_is_not_found(db: Any, now: dt.datetime) -> None:
    from participation.errors import NotFound

    one = make_event(db, now=now, groups=[("A", None)])
    other = make_event(db, now=now)
    with pytest.raises(NotFound):
        setup.update_group(db, other.id, one.groups[0].id, {"name": "X"}, now=now)


# --- invitations ----------------------------------------------------------------------------


def _associations(db: Any) -> list[Association]:
    rows = [
        Association(name="Kyläyhdistys", email="kyla@example.org"),
        Association(name="Urheiluseura", email="seura@example.org"),
        Association(name="Lukupiiri", email=""),
    ]
    db.add_all(rows)
    db.flush()
    return rows


def test_invitations_go_once_per_association_with_an_address(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now)
    village, club, reading = _associations(db)
    assert setup.save_distribution(db, event.id, [village.id, reading.id], now=now) == (2, 0)

    result = setup.send_invitations(db, event.id, link=f"{BASE}/events/x", now=now)
    assert (result.sent, result.without_email) == (1, ["Lukupiiri"])
    assert setup.send_invitations(db, event.id, link="x", now=now).sent == 0

    # A sent invitation stays on the list; an association added later gets its own mail.
    assert setup.save_distribution(db, event.id, [club.id], now=now) == (1, 1)
    assert setup.send_invitations(db, event.id, link="x", now=now).sent == 1
    sent = mails(db, "event_invitation")
    assert [m.recipient for m in sent] == ["kyla@example.org", "seura@example.org"]
    assert "Kyläyhdistys" in sent[0].body_text and f"{BASE}/events/x" in sent[0].body_text
    listed = [a.name for _i, a in setup.list_invitations(db, event.id)]
    assert listed == ["Kyläyhdistys", "Urheiluseura"]


def test_invitations_wait_for_publishing_and_stop_when_cancelled(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, published=False)
    village = _associations(db)[0]
    setup.save_distribution(db, event.id, [village.id], now=now)
    with pytest.raises(WrongState):
        setup.send_invitations(db, event.id, link="x", now=now)
    setup.publish_event(db, event.id, now=now)
    setup.cancel_event(db, event.id, message="", now=now, base_url=BASE)
    with pytest.raises(WrongState):
        setup.send_invitations(db, event.id, link="x", now=now)
    assert mails(db, "event_invitation") == []


def test_the_distribution_list_takes_only_associations_of_the_register(
    db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now)
    with pytest.raises(Invalid) as exc:
        setup.save_distribution(db, event.id, [987654], now=now)
    assert list(errors_of(exc)) == ["association_ids"]


# --- the staff list -------------------------------------------------------------------------


def test_the_list_puts_upcoming_first_soonest_first_then_past_latest_first(
    db: Any, now: dt.datetime
) -> None:
    past_old = make_event(db, now=now, state="past", title="Vanha")
    past_old.starts_at -= dt.timedelta(days=300)
    past_old.ends_at -= dt.timedelta(days=300)
    make_event(db, now=now, state="past", title="Viime kuu")
    later = make_event(db, now=now, state="upcoming", title="Myöhemmin")
    later.starts_at += dt.timedelta(days=30)
    later.ends_at += dt.timedelta(days=30)
    soon = make_event(db, now=now, state="closed", title="Pian", capacity=5)
    make_registration(db, soon, name="A", email="a@example.org", now=now, seats=2)
    make_registration(db, soon, name="B", email="b@example.org", now=now, status=WAITLISTED)
    make_registration(db, soon, name="C", email="c@example.org", now=now, status=CANCELLED)
    db.flush()

    rows, total = setup.list_events(db, now=now, page=1, per_page=10)
    assert total == 4
    assert [r.event.title for r in rows] == ["Pian", "Myöhemmin", "Viime kuu", "Vanha"]
    assert (rows[0].registered, rows[0].waitlisted) == (2, 1)
    assert (rows[1].registered, rows[1].waitlisted) == (0, 0)

    second_page, _total = setup.list_events(db, now=now, page=2, per_page=3)
    assert [r.event.title for r in second_page] == ["Vanha"]


def test_figures_count_seats_by_status_and_group(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, capacity=20, allow_party=True, groups=[("A", 5), ("B", 5)])
    a, b = event.groups
    make_registration(db, event, name="A", email="a@example.org", now=now, group=a, seats=3)
    make_registration(db, event, name="B", email="b@example.org", now=now, group=b)
    make_registration(db, event, name="C", email="c@example.org", now=now)
    make_registration(
        db, event, name="D", email="d@example.org", now=now, group=a, status=WAITLISTED, seats=2
    )
    make_registration(db, event, name="E", email="e@example.org", now=now, status=CANCELLED)
    figures = setup.event_figures(db, event)
    assert (figures.registered, figures.registrations, figures.waitlisted) == (5, 3, 2)
    assert figures.cancelled == 1 and figures.without_group == 1
    assert [(g.group.name, g.registered, g.waitlisted) for g in figures.groups] == [
        ("A", 3, 2),
        ("B", 1, 0),
    ]
