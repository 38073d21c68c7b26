"""Personal data in evenings: a facilitator's name typed beside their notes, and the name a
facilitator's link was given to. Nothing else here names a person: theme ideas name an
association, votes are anonymous, and the summary is the coordinator's own text.

The notes themselves are the group's answers, not the facilitator's: erasure keeps them and
removes the name. Registers itself with participation.privacy.registry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from participation.evenings.models import FacilitatorLink, GroupNote, WorkshopQuestion
from participation.events.models import Event, EventGroup
from participation.events.privacy import plain_value
from participation.privacy import registry
from participation.register.models import Person


def _name(person: Person) -> str:
    return " ".join(person.name.split()).lower()


def erase_facilitator_names(session: Session, person: Person, now: dt.datetime) -> dict[str, int]:
    """Eraser: the person's name goes from the notes and links it was typed on."""
    name = _name(person)
    if not name:
        return {"evening_notes": 0, "facilitator_links": 0}
    notes = session.execute(
        update(GroupNote)
        .where(func.lower(func.trim(GroupNote.author_name)) == name)
        .values(author_name="")
        .execution_options(synchronize_session=False)
    )
    links = session.execute(
        update(FacilitatorLink)
        .where(func.lower(func.trim(FacilitatorLink.label)) == name)
        .values(label="")
        .execution_options(synchronize_session=False)
    )
    return {"evening_notes": notes.rowcount or 0, "facilitator_links": links.rowcount or 0}


def export_facilitator_notes(session: Session, person: Person) -> dict[str, Any]:
    """Exporter: the notes written under the person's name, with the evening, group and
    question."""
    name = _name(person)
    if not name:
        return {"evening_notes": []}
    rows = session.execute(
        select(Event.title, EventGroup.name, WorkshopQuestion.text, GroupNote)
        .join(Event, Event.id == GroupNote.event_id)
        .join(EventGroup, EventGroup.id == GroupNote.group_id)
        .join(WorkshopQuestion, WorkshopQuestion.id == GroupNote.question_id)
        .where(func.lower(func.trim(GroupNote.author_name)) == name)
        .order_by(GroupNote.id)
    ).all()
    return {
        "evening_notes": [
            {
                "event": title,
                "group": group,
                "question": question,
                "name": note.author_name,
                "note": note.body,
                "updated_at": plain_value(note.updated_at),
            }
            for title, group, question, note in rows
        ]
    }


registry.register(exporter=export_facilitator_notes, eraser=erase_facilitator_names)
