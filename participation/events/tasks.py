"""The worker's part in events: reminders before the start, the thank-you after the end, the
deletion of sensitive answers some days later, and waitlist promotion on demand.

The work is in plain functions over a session and a clock (tests call them directly); the
tasks only add `db.session`, the commit and the delivery. Each mail goes once per person
however often the job runs: a registration is claimed with a conditional UPDATE (…WHERE
reminded_at IS NULL) in the same transaction that queues its mail, so a second run, or a
second worker at the same time, finds nothing left to claim.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from participation.db import utcnow
from participation.errors import Busy, NotFound
from participation.events import services
from participation.events.models import CANCELLED, CONFIRMED, Event, Registration
from participation.extensions import db
from participation.formbuilder.models import FormResponse
from participation.mail import tasks as mail_tasks
from participation.mail.services import queue_mail
from participation.queue import crontab, task

if TYPE_CHECKING:
    from participation.surveys.models import Survey

log = logging.getLogger(__name__)

HELSINKI = ZoneInfo("Europe/Helsinki")
# The thank-you goes the morning after the event (time to tick attendance from a paper sheet;
# no mail in the middle of the night), and not at all for an event long over: switching the
# worker on for the first time must not thank people for last year's evening.
THANK_YOU_HOUR = 9
THANK_YOU_WITHIN = dt.timedelta(days=14)


@dataclass(frozen=True)
class RunCounts:
    reminders: int = 0
    thank_yous: int = 0
    events_erased: int = 0
    answers_erased: int = 0


# --- reminders ------------------------------------------------------------------------------


def _claim(session: Session, registration_id: int, column: Any, now: dt.datetime) -> bool:
    """Mark one registration as mailed unless someone already did; True if this run got it."""
    claimed = session.execute(
        update(Registration)
        .where(Registration.id == registration_id, column.is_(None))
        .values({column: now})
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(claimed)


def send_due_reminders(session: Session, now: dt.datetime) -> int:
    """Queue the reminder for every confirmed registration of a published event that starts
    within its `reminder_days` and has not started yet. People confirmed after the reminder
    time had come are skipped: their confirmation (or promotion) mail came in that window.
    Returns how many were queued."""
    horizon = now + dt.timedelta(days=60)  # setup allows at most 60 reminder days
    events = session.scalars(
        select(Event).where(
            Event.published_at.is_not(None),
            Event.cancelled_at.is_(None),
            Event.reminder_days.is_not(None),
            Event.starts_at > now,
            Event.starts_at <= horizon,
        )
    ).all()
    sent = 0
    for event in events:
        remind_from = event.starts_at - dt.timedelta(days=event.reminder_days or 0)
        if now < remind_from:
            continue
        due = session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status == CONFIRMED,
                Registration.reminded_at.is_(None),
                Registration.anonymised_at.is_(None),
                Registration.source != "walk_in",
            )
            .order_by(Registration.id)
        ).all()
        ics = None
        for registration in due:
            if (registration.confirmed_at or registration.created_at) >= remind_from:
                continue
            if not _claim(session, registration.id, Registration.reminded_at, now):
                continue
            if ics is None:
                ics = services.event_ics_for(event)
            token = services.issue_manage_link(session, registration, now)
            queue_mail(
                session,
                to=registration.email,
                template="event_reminder",
                purpose="event_reminder",
                locale=registration.language,
                now=now,
                ics=ics,
                name=registration.name,
                event=services.event_facts(event),
                group=registration.group.name if registration.group else "",
                seats=registration.seats,
                link=services.manage_link_url(token),
            )
            sent += 1
    session.flush()
    return sent


# --- thank-you ------------------------------------------------------------------------------


def thank_you_due_at(event: Event) -> dt.datetime:
    """9.00 Helsinki time on the day after the event ends."""
    local_end = event.ends_at.astimezone(HELSINKI)
    next_day = local_end.date() + dt.timedelta(days=1)
    return dt.datetime.combine(next_day, dt.time(THANK_YOU_HOUR), tzinfo=HELSINKI).astimezone(
        dt.UTC
    )


def send_due_thank_yous(session: Session, now: dt.datetime) -> int:
    """Queue the thank-you (with the feedback link and the links to the event's open surveys,
    if any) for events over since this morning: to the confirmed registrations marked
    attended, or to every confirmed one when nobody's attendance was marked. Returns how many
    were queued."""
    events = session.scalars(
        select(Event).where(
            Event.published_at.is_not(None),
            Event.cancelled_at.is_(None),
            Event.thank_you.is_(True),
            Event.ends_at <= now,
            Event.ends_at > now - THANK_YOU_WITHIN,
        )
    ).all()
    sent = 0
    for event in events:
        if now < thank_you_due_at(event):
            continue
        attendance_marked = session.scalar(
            select(
                exists().where(
                    Registration.event_id == event.id,
                    Registration.status != CANCELLED,
                    Registration.attended_at.is_not(None),
                )
            )
        )
        query = select(Registration).where(
            Registration.event_id == event.id,
            Registration.status == CONFIRMED,
            Registration.thanked_at.is_(None),
            Registration.anonymised_at.is_(None),
            # A walk-in without an address has a placeholder that reaches no one.
            ~Registration.email.endswith("@invalid.invalid"),
        )
        if attendance_marked:
            query = query.where(Registration.attended_at.is_not(None))
        surveys = _open_surveys(session, event.id, now)
        for registration in session.scalars(query.order_by(Registration.id)).all():
            if not _claim(session, registration.id, Registration.thanked_at, now):
                continue
            queue_mail(
                session,
                to=registration.email,
                template="event_thank_you",
                purpose="event_thank_you",
                locale=registration.language,
                now=now,
                name=registration.name,
                event=services.event_facts(event),
                feedback_url=event.feedback_url,
                surveys=_survey_links(session, surveys, registration, now),
            )
            sent += 1
    session.flush()
    return sent


# Surveys are imported where used: the surveys package imports events (its digest mails an
# event's participants), so a module-level import here would be circular.


def _open_surveys(session: Session, event_id: int, now: dt.datetime) -> list[Survey]:
    from participation.surveys import services as survey_services

    return survey_services.event_surveys(session, event_id, now=now)


def _survey_links(
    session: Session, surveys: list[Survey], registration: Registration, now: dt.datetime
) -> list[dict[str, str]]:
    """Title and link of each open survey of the event for this attendee's thank-you: the
    public link, or a personal invitation link for an invitations-only survey."""
    from participation.surveys import services as survey_services
    from participation.surveys import tasks as survey_tasks

    links = []
    for survey in surveys:
        link = survey_services.attendee_link(
            session,
            survey,
            email=registration.email,
            name=registration.name,
            language=registration.language,
            now=now,
            public_url=survey_tasks.public_url,
            invitation_url=survey_tasks.invitation_url,
        )
        if link:
            links.append({"title": survey.title, "link": link})
    return links


# --- sensitive answers ----------------------------------------------------------------------


def erase_sensitive_answers(session: Session, now: dt.datetime) -> tuple[int, int]:
    """Delete the answers to each event's sensitive questions (diet, accessibility needs)
    `sensitive_days` after it ended, from every registration of the event, and note when.
    Returns (events done, answers removed)."""
    events = session.scalars(
        select(Event).where(Event.sensitive_erased_at.is_(None), Event.ends_at <= now)
    ).all()
    done = removed = 0
    for event in events:
        if now < event.ends_at + dt.timedelta(days=event.sensitive_days):
            continue
        keys = set(event.sensitive_keys or [])
        if keys:
            responses = session.scalars(
                select(FormResponse).where(
                    FormResponse.id.in_(
                        select(Registration.response_id).where(
                            Registration.event_id == event.id,
                            Registration.response_id.is_not(None),
                        )
                    )
                )
            )
            for response in responses:
                answers = dict(response.answers or {})
                gone = keys & answers.keys()
                if gone:
                    # A new dict, so SQLAlchemy sees the JSON column change.
                    response.answers = {k: v for k, v in answers.items() if k not in keys}
                    removed += len(gone)
        event.sensitive_erased_at = now
        done += 1
    session.flush()
    return done, removed


def run_due_work(session: Session, now: dt.datetime) -> RunCounts:
    """Everything the periodic task does, in one transaction."""
    reminders = send_due_reminders(session, now)
    thank_yous = send_due_thank_yous(session, now)
    events_erased, answers_erased = erase_sensitive_answers(session, now)
    return RunCounts(reminders, thank_yous, events_erased, answers_erased)


# --- tasks ----------------------------------------------------------------------------------


@task(periodic=crontab(minute="*/5"))
def event_mail_and_cleanup() -> RunCounts:
    """Every five minutes: reminders, thank-yous and the deletion of sensitive answers."""
    counts = run_due_work(db.session, utcnow())
    db.session.commit()
    if counts.events_erased:
        log.info(
            "sensitive answers deleted: %s events, %s answers",
            counts.events_erased,
            counts.answers_erased,
        )
    mail_tasks.deliver_outbox()
    return counts


@task(retries=3)
def promote_waitlist_task(event_id: int) -> int:
    """Promote whoever now fits on the event's waitlist (after a capacity change, say) and
    send their mails. A Busy lock is retried by the queue. Returns how many were promoted."""
    try:
        promoted = services.promote_waitlist(db.session, event_id, now=utcnow())
    except NotFound:
        db.session.rollback()
        return 0
    except Busy:
        db.session.rollback()
        raise
    db.session.commit()
    if promoted:
        mail_tasks.deliver_outbox()
    return len(promoted)
