"""A facilitator's name in evenings: in their download, and gone after erasure (their notes,
the group's answers, stay)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from participation.evenings import notes
from participation.evenings.models import GroupNote
from participation.evenings.planning import questions
from participation.privacy import services as privacy
from participation.register.models import Person
from tests.evenings.factories import make_evening, ongoing
from tests.privacy.conftest import places_holding

NAME = "Noora Lehtola"


def _noted(db: Any, now: dt.datetime) -> tuple[Person, GroupNote]:
    person = Person(name=NAME, email="noora.lehtola@example.org")
    db.add(person)
    event = make_evening(db, now=now, title="Syysilta")
    link, _token = notes.create_link(
        db,
        event.id,
        event.groups[0].id,
        label=NAME,
        submission_key=secrets.token_urlsafe(16),
        created_by_id=None,
        now=now,
    )
    question = questions(db, event.id)[0]
    saved = notes.save_note(
        db,
        link,
        question.id,
        author_key="laite-1",
        author_name=f" {NAME} ",
        body="Avustushaku selkeämmäksi.",
        revision=1,
        now=ongoing(event),
    )
    db.flush()
    return person, saved.note


def test_the_download_lists_the_notes_written_under_the_name(db: Any, now: dt.datetime) -> None:
    person, _note = _noted(db, now)
    data = privacy.export_person(db, person, now)
    [note] = data["evening_notes"]
    assert note["event"] == "Syysilta"
    assert note["question"] == "Mikä toimii jo nyt hyvin?"
    assert note["note"] == "Avustushaku selkeämmäksi."


def test_erasure_removes_the_name_and_keeps_the_groups_note(db: Any, now: dt.datetime) -> None:
    person, note = _noted(db, now)
    assert places_holding(db, NAME)

    counts = privacy.erase_person(db, person.id, now)
    db.flush()
    db.expire_all()

    assert places_holding(db, NAME) == []
    assert counts["evening_notes"] == 1 and counts["facilitator_links"] == 1
    kept = db.get(GroupNote, note.id)
    assert kept.body == "Avustushaku selkeämmäksi." and kept.author_name == ""
