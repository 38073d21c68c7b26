"""Shared factories for evening tests: an event with breakout groups and workshop questions,
rows written directly (no rules, no mails)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from participation.evenings.models import WorkshopQuestion
from participation.events.models import Event
from tests.events.factories import make_event

GROUPS = [("Avustukset", 10), ("Tilat", 10), ("Viestintä", 10)]
QUESTIONS = [
    "Mikä toimii jo nyt hyvin?",
    "Mitä pitäisi muuttaa?",
    "Mitä yhdistykset voisivat tehdä yhdessä?",
]


def make_evening(
    session: Session,
    *,
    now: dt.datetime,
    state: str = "open",
    groups: list[tuple[str, int | None]] | None = None,
    questions: list[str] | None = None,
    creator_id: int | None = None,
    title: str = "Yhdistysilta",
) -> Event:
    """An association evening (registration `state` as in tests.events.factories.make_event)
    with breakout groups and the workshop questions asked in each."""
    event = make_event(
        session,
        now=now,
        state=state,
        groups=GROUPS if groups is None else groups,
        creator_id=creator_id,
        title=title,
    )
    for position, text in enumerate(QUESTIONS if questions is None else questions):
        session.add(WorkshopQuestion(event_id=event.id, position=position, text=text))
    session.flush()
    return event


def ongoing(event: Event) -> dt.datetime:
    """A moment during the event (for notes and votes)."""
    return event.starts_at + dt.timedelta(minutes=30)
