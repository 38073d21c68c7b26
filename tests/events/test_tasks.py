"""The worker's event jobs: reminders and thank-yous once per person, the deletion of sensitive
answers, and the promotion task."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from participation.events import services, tasks
from participation.events.models import CANCELLED, CONFIRMED, WAITLISTED, Event, Registration
from participation.formbuilder.models import FormResponse
from participation.mail.models import OutboxMessage
from tests.conftest import body_of
from tests.events import factories as f

DAY = dt.timedelta(days=1)


def _mails(db: Any, purpose: str) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id)
        )
    )


def _keys(db: Any, event: Event) -> dict[str, str]:
    """The default questions' keys by what they ask."""
    form = services.event_form(db, event)
    assert form is not None
    coffee, diet, needs = (q["key"] for q in form.questions if q["type"] != "info")
    return {"coffee": coffee, "diet": diet, "needs": needs}


def _shift(event: Event, *, starts: dt.datetime, hours: int = 3) -> None:
    """Move the event (and its registration window) so it starts at `starts`."""
    event.registration_opens_at = starts - 20 * DAY
    event.registration_closes_at = starts - DAY
    event.starts_at, event.ends_at = starts, starts + dt.timedelta(hours=hours)


# --- reminders ------------------------------------------------------------------------------


def test_reminders_go_to_confirmed_people_once_however_often_the_job_runs(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=2, groups=[("Kylät ja asuinalueet", None)])
    group = event.groups[0]
    event.online_url = "https://meet.esimerkkila.example/yhdistysilta"
    aino = f.make_registration(
        db, event, name="Aino", email="aino@example.org", now=now, group=group
    )
    f.make_registration(db, event, name="Eero", email="Eero@Example.org", now=now, group=group)
    f.make_registration(
        db, event, name="Iida", email="iida@example.org", now=now, status=WAITLISTED
    )
    f.make_registration(db, event, name="Otto", email="otto@example.org", now=now, status=CANCELLED)
    run_at = event.starts_at - 2 * DAY + dt.timedelta(minutes=5)

    assert tasks.send_due_reminders(db, run_at) == 2
    assert tasks.send_due_reminders(db, run_at + dt.timedelta(minutes=5)) == 0
    assert tasks.send_due_reminders(db, run_at + DAY) == 0

    mails = _mails(db, "event_reminder")
    assert sorted(m.recipient for m in mails) == ["Eero@Example.org", "aino@example.org"]
    mail = next(m for m in mails if m.recipient == "aino@example.org")
    assert event.title in mail.subject
    assert "Kylät ja asuinalueet" in mail.body_text
    assert event.place in mail.body_text
    assert event.accessibility in mail.body_text
    assert event.online_url in mail.body_text
    assert "http://localhost/events/manage/" in mail.body_text
    (vevent,) = Calendar.from_ical(mail.attachment_ics).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == event.title
    # The link in the mail is a fresh one that opens this registration.
    token = mail.body_text.split("/events/manage/")[1].split()[0]
    assert services.get_registration_by_link(db, token, run_at).id == aino.id
    db.expire_all()
    reminded = db.scalars(select(Registration.reminded_at).where(Registration.event_id == event.id))
    assert sorted(r is not None for r in reminded) == [False, False, True, True]


def test_no_reminder_too_early_after_the_start_or_without_a_reminder(
    db: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=None)
    f.make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    remind_from = event.starts_at - 2 * DAY

    assert tasks.send_due_reminders(db, remind_from - dt.timedelta(minutes=1)) == 0
    assert tasks.send_due_reminders(db, event.starts_at + dt.timedelta(minutes=1)) == 0
    event.reminder_days = None
    db.flush()
    assert tasks.send_due_reminders(db, remind_from + dt.timedelta(hours=1)) == 0
    assert _mails(db, "event_reminder") == []


@pytest.mark.parametrize("change", ["cancelled", "unpublished"])
def test_no_reminder_for_a_cancelled_or_unpublished_event(
    db: Any, now: dt.datetime, change: str
) -> None:
    event = f.make_event(db, now=now, published=change != "unpublished")
    if change == "cancelled":
        event.cancelled_at = now
    f.make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    db.flush()
    assert tasks.send_due_reminders(db, event.starts_at - DAY) == 0


def test_someone_confirmed_after_the_reminder_time_is_not_reminded(
    db: Any, now: dt.datetime
) -> None:
    """Their confirmation mail came inside the reminder window; a second mail would repeat it."""
    event = f.make_event(db, now=now)
    late = f.make_registration(
        db, event, name="Eero", email="eero@example.org", now=event.starts_at - DAY
    )
    assert tasks.send_due_reminders(db, event.starts_at - dt.timedelta(hours=12)) == 0
    db.refresh(late)
    assert late.reminded_at is None


def test_the_reminder_task_run_twice_delivers_one_mail(
    db: Any, smtp: Any, now: dt.datetime
) -> None:
    """The periodic task itself, with delivery through a real SMTP server."""
    starts = now + 2 * DAY - dt.timedelta(hours=1)
    event = f.make_event(db, now=now)
    _shift(event, starts=starts)
    f.make_registration(db, event, name="Aino", email="aino@example.org", now=now - 10 * DAY)
    db.commit()

    first = tasks.event_mail_and_cleanup()
    second = tasks.event_mail_and_cleanup()

    assert (first.reminders, second.reminders) == (1, 0)
    (message,) = smtp.to("aino@example.org")
    assert event.title in message["Subject"]
    assert "/events/manage/" in body_of(message)
    attachments = [p.get_filename() for p in message.iter_attachments()]
    assert attachments == ["invite.ics"]


# --- thank-you ------------------------------------------------------------------------------


def _past_event(db: Any, now: dt.datetime, **extra: Any) -> Event:
    event = f.make_event(db, now=now, state="past", **extra)
    event.feedback_url = "https://palaute.esimerkkila.example/ilta"
    db.flush()
    return event


def test_thank_you_goes_to_those_who_came_once(db: Any, now: dt.datetime) -> None:
    event = _past_event(db, now)
    came = f.make_registration(
        db, event, name="Aino", email="aino@example.org", now=now, attended=True
    )
    f.make_registration(db, event, name="Eero", email="eero@example.org", now=now)
    f.make_registration(db, event, name="Otto", email="otto@example.org", now=now, status=CANCELLED)

    assert tasks.send_due_thank_yous(db, now) == 1
    assert tasks.send_due_thank_yous(db, now + dt.timedelta(minutes=5)) == 0

    (mail,) = _mails(db, "event_thank_you")
    assert mail.recipient == came.email
    assert event.title in mail.subject
    assert "https://palaute.esimerkkila.example/ilta" in mail.body_text


def test_thank_you_goes_to_everyone_confirmed_when_nobody_was_ticked(
    db: Any, now: dt.datetime
) -> None:
    event = _past_event(db, now)
    event.feedback_url = ""
    for name in ("Aino", "Eero"):
        f.make_registration(db, event, name=name, email=f"{name.lower()}@example.org", now=now)
    f.make_registration(
        db, event, name="Iida", email="iida@example.org", now=now, status=WAITLISTED
    )
    db.flush()

    assert tasks.send_due_thank_yous(db, now) == 2
    mails = _mails(db, "event_thank_you")
    assert sorted(m.recipient for m in mails) == ["aino@example.org", "eero@example.org"]
    assert "palaute" not in mails[0].body_text


def test_thank_you_waits_for_the_next_morning_and_not_for_old_or_cancelled_events(
    db: Any, now: dt.datetime
) -> None:
    event = _past_event(db, now)
    f.make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    due = tasks.thank_you_due_at(event)
    assert due > event.ends_at and due - event.ends_at < dt.timedelta(hours=36)

    assert tasks.send_due_thank_yous(db, due - dt.timedelta(minutes=1)) == 0
    assert tasks.send_due_thank_yous(db, event.ends_at + 15 * DAY) == 0  # long over
    event.cancelled_at = now
    db.flush()
    assert tasks.send_due_thank_yous(db, due + dt.timedelta(minutes=1)) == 0
    event.cancelled_at, event.thank_you = None, False
    db.flush()
    assert tasks.send_due_thank_yous(db, due + dt.timedelta(minutes=1)) == 0
    event.thank_you = True
    db.flush()
    assert tasks.send_due_thank_yous(db, due + dt.timedelta(minutes=1)) == 1


# --- sensitive answers ----------------------------------------------------------------------


def test_sensitive_answers_are_deleted_some_days_after_the_event(db: Any, now: dt.datetime) -> None:
    event = _past_event(db, now)
    event.sensitive_days = 14
    keys = _keys(db, event)
    assert set(event.sensitive_keys) == {keys["diet"], keys["needs"]}
    answers = {keys["coffee"]: "yes", keys["diet"]: "gluteeniton", keys["needs"]: "Pyörätuoli"}
    registrations = [
        f.make_registration(
            db, event, name=name, email=f"{name.lower()}@example.org", now=now, answers=answers,
            status=status,
        )
        for name, status in (("Aino", CONFIRMED), ("Otto", CANCELLED))
    ]  # fmt: skip
    other = f.make_event(db, now=now, title="Toinen ilta")
    kept = f.make_registration(
        db, other, name="Eero", email="eero@example.org", now=now, answers=answers | {}
    )
    db.flush()

    erase_at = event.ends_at + 14 * DAY
    assert tasks.erase_sensitive_answers(db, erase_at - dt.timedelta(minutes=1)) == (0, 0)
    assert tasks.erase_sensitive_answers(db, erase_at) == (1, 4)
    assert tasks.erase_sensitive_answers(db, erase_at + DAY) == (0, 0)

    db.expire_all()
    for registration in registrations:
        assert db.get(FormResponse, registration.response_id).answers == {keys["coffee"]: "yes"}
    assert db.get(FormResponse, kept.response_id).answers == answers
    assert db.get(Event, event.id).sensitive_erased_at == erase_at


def test_the_periodic_task_erases_and_reports(db: Any, now: dt.datetime) -> None:
    event = _past_event(db, now)
    event.sensitive_days = 1
    keys = _keys(db, event)
    registration = f.make_registration(
        db, event, name="Aino", email="aino@example.org", now=now,
        answers={keys["diet"]: "vegaaninen"},
    )  # fmt: skip
    db.commit()

    counts = tasks.event_mail_and_cleanup()

    assert (counts.events_erased, counts.answers_erased) == (1, 1)
    db.expire_all()
    assert db.get(FormResponse, registration.response_id).answers == {}


# --- promotion ------------------------------------------------------------------------------


def test_promotion_task_confirms_the_first_waiting_and_mails_them_once(
    db: Any, smtp: Any, now: dt.datetime
) -> None:
    event = f.make_event(db, now=now, capacity=1)
    first = f.make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    waiting = [
        f.make_registration(
            db, event, name=n, email=f"{n.lower()}@example.org", now=now, status=WAITLISTED
        )
        for n in ("Eero", "Iida")
    ]
    # The seat freed without the service (an organiser raised nothing yet): only the task runs.
    first.status = CANCELLED
    db.commit()

    assert tasks.promote_waitlist_task(event.id) == 1
    assert tasks.promote_waitlist_task(event.id) == 0

    db.expire_all()
    statuses = [db.get(Registration, r.id).status for r in waiting]
    assert statuses == [CONFIRMED, WAITLISTED]
    assert len(smtp.to("eero@example.org")) == 1
    assert smtp.to("iida@example.org") == []
    assert (
        db.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.purpose == "event_promoted")
        )
        == 1
    )


def test_promotion_task_for_a_deleted_event_does_nothing(db: Any) -> None:
    assert tasks.promote_waitlist_task(987_654) == 0


def test_cancellation_promotes_the_first_waiting_and_mails_them_exactly_once(
    db: Any, smtp: Any, now: dt.datetime
) -> None:
    """Through the services and the outbox to a real SMTP server."""
    from participation.mail import tasks as mail_tasks

    event = f.make_event(db, now=now, capacity=1)
    first = f.make_registration(db, event, name="Aino", email="aino@example.org", now=now)
    f.make_registration(
        db, event, name="Eero", email="eero@example.org", now=now, status=WAITLISTED
    )
    db.commit()

    promoted = services.cancel_registration(db, first.id, now=now)
    db.commit()
    mail_tasks.deliver_outbox()
    assert [r.email for r in promoted] == ["eero@example.org"]
    assert services.cancel_registration(db, first.id, now=now) == []
    assert services.promote_waitlist(db, event.id, now=now) == []
    db.commit()
    mail_tasks.deliver_outbox()

    (message,) = smtp.to("eero@example.org")
    assert event.title in message["Subject"]
    assert [p.get_filename() for p in message.iter_attachments()] == ["invite.ics"]
    assert len(smtp.to("aino@example.org")) == 1  # her cancellation notice
