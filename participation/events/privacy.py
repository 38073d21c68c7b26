"""Personal data in event registrations: the privacy capability's eraser and exporter, and the
events' own retention. A registration outlives its person as a number: erasure and retention
remove who it was and their answers, and keep the seat, the group and the attendance, so the
event's figures stay right.

Registers itself with participation.privacy.registry when its package is imported.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

import forms as engine
from participation import tokens
from participation.events.models import Event, EventGroup, Registration
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.privacy import registry
from participation.register.models import Association, Person

# The same purpose as participation.events.services.MANAGE_PURPOSE (not imported from there:
# services imports the privacy capability, which imports this module).
MANAGE_PURPOSE = "event_registration"
ANONYMOUS_NAME = "—"


def anonymise_registrations(
    session: Session, registrations: list[Registration], now: dt.datetime
) -> int:
    """Name, address, the person and consent links, the answers and the manage links go; the
    status, seats, group, association and attendance stay. The address becomes a placeholder
    unique per row (the address key is unique per event)."""
    if not registrations:
        return 0
    ids = [r.id for r in registrations]
    response_ids = [r.response_id for r in registrations if r.response_id is not None]
    for registration in registrations:
        registration.name = ANONYMOUS_NAME
        registration.email = registration.email_key = f"erased-{registration.id}"
        registration.person_id = None
        registration.consent_id = None
        registration.name_public = False
        registration.response_id = None
        registration.anonymised_at = now
        registration.updated_at = now
    session.flush()
    if response_ids:
        session.execute(delete(FormResponse).where(FormResponse.id.in_(response_ids)))
    session.execute(
        delete(tokens.ActionLink).where(
            tokens.ActionLink.purpose == MANAGE_PURPOSE, tokens.ActionLink.subject_id.in_(ids)
        )
    )
    session.flush()
    return len(registrations)


def _registrations_of(session: Session, person: Person) -> list[Registration]:
    address = person.email.strip().lower()
    return list(
        session.scalars(
            select(Registration)
            .where(
                or_(
                    Registration.person_id == person.id,
                    Registration.email_key == address,
                    func.lower(Registration.email) == address,
                ),
                Registration.anonymised_at.is_(None),
            )
            .order_by(Registration.id)
        )
    )


def erase_event_registrations(session: Session, person: Person, now: dt.datetime) -> dict[str, int]:
    """Eraser for participation.privacy: the person's registrations are anonymised."""
    return {
        "event_registrations": anonymise_registrations(
            session, _registrations_of(session, person), now
        )
    }


def plain_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else value


def labelled_answers(form: FormDefinition | None, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Answers with their question's label (in Finnish), in the form's order."""
    questions = form.questions if form is not None else []
    labels = {q["key"]: engine.text(q.get("label"), "fi") or q["key"] for q in questions}
    order = {key: n for n, key in enumerate(labels)}
    return [
        {"question": labels.get(key, key), "answer": plain_value(value)}
        for key, value in sorted(answers.items(), key=lambda kv: order.get(kv[0], len(order)))
    ]


def export_event_registrations(session: Session, person: Person) -> dict[str, Any]:
    """Exporter for participation.privacy: every registration of the person, with the event,
    their group, seats, answers and attendance."""
    registrations = _registrations_of(session, person)
    events = {
        e.id: e
        for e in session.scalars(
            select(Event).where(Event.id.in_({r.event_id for r in registrations}))
        )
    }
    groups = dict(
        session.execute(
            select(EventGroup.id, EventGroup.name).where(
                EventGroup.id.in_({r.group_id for r in registrations if r.group_id})
            )
        ).all()
    )
    associations = dict(
        session.execute(
            select(Association.id, Association.name).where(
                Association.id.in_({r.association_id for r in registrations if r.association_id})
            )
        ).all()
    )
    responses = {
        r.id: r
        for r in session.scalars(
            select(FormResponse).where(
                FormResponse.id.in_({r.response_id for r in registrations if r.response_id})
            )
        )
    }
    forms = {
        f.id: f
        for f in session.scalars(
            select(FormDefinition).where(
                FormDefinition.id.in_({r.form_id for r in responses.values()})
            )
        )
    }
    rows = []
    for registration in registrations:
        event = events.get(registration.event_id)
        response = responses.get(registration.response_id) if registration.response_id else None
        rows.append(
            {
                "event": event.title if event else None,
                "starts_at": plain_value(event.starts_at) if event else None,
                "ends_at": plain_value(event.ends_at) if event else None,
                "place": event.place if event else None,
                "status": registration.status,
                "name": registration.name,
                "email": registration.email,
                "language": registration.language,
                "association": associations.get(registration.association_id),
                "group": groups.get(registration.group_id),
                "seats": registration.seats,
                "name_public": registration.name_public,
                "answers": (
                    labelled_answers(forms.get(response.form_id), dict(response.answers or {}))
                    if response
                    else []
                ),
                "attended": registration.attended_at is not None,
                "registered_at": plain_value(registration.created_at),
                "promoted_at": plain_value(registration.promoted_at),
                "cancelled_at": plain_value(registration.cancelled_at),
                "attended_at": plain_value(registration.attended_at),
                "source": registration.source,
            }
        )
    return {"event_registrations": rows}


def anonymise_expired_events(session: Session, now: dt.datetime, days: int) -> dict[str, int]:
    """Retention: the registrations of every event that ended more than `days` ago (the
    installation's RETENTION_DAYS) are anonymised and the event marked done. Returns counts
    for the erasure log."""
    cutoff = now - dt.timedelta(days=days)
    events = list(
        session.scalars(select(Event).where(Event.anonymised_at.is_(None), Event.ends_at < cutoff))
    )
    anonymised = 0
    for event in events:
        registrations = list(
            session.scalars(
                select(Registration).where(
                    Registration.event_id == event.id, Registration.anonymised_at.is_(None)
                )
            )
        )
        anonymised += anonymise_registrations(session, registrations, now)
        event.anonymised_at = now
    session.flush()
    return {"events_anonymised": len(events), "event_registrations": anonymised}


registry.register(
    exporter=export_event_registrations,
    eraser=erase_event_registrations,
    retention=anonymise_expired_events,
)
