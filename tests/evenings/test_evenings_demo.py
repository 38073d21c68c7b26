"""The demo's evening content: the past workshop gets groups, a programme, notes, a vote and a
published summary (its PDF renders); the upcoming evening its programme, questions and theme
ideas; loading twice adds nothing and leaves no mail queued."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from participation.digests import services as digests
from participation.digests.models import PENDING, READY
from participation.evenings import demo, vote
from participation.evenings import summary as summaries
from participation.evenings.models import (
    EveningFigures,
    GroupNote,
    ProgrammeItem,
    Theme,
    ThemeVote,
    WorkshopQuestion,
)
from participation.events.demo import EVENING_SLUG, WORKSHOP_SLUG
from participation.events.models import Event
from participation.mail.models import OutboxMessage
from tests.digests.conftest import pdf_text


def _load(db: Any, now: dt.datetime) -> int:
    from participation.accounts import services as accounts
    from participation.demo import DEMO_CONTACT, DEMO_COORDINATOR
    from participation.events.demo import load_demo as events_demo
    from participation.formbuilder.demo import load_demo as forms_demo
    from participation.register.demo import load_demo as register_demo
    from participation.surveys.demo import load_demo as surveys_demo

    for email, role in ((DEMO_COORDINATOR, "coordinator"), (DEMO_CONTACT, "contact_person")):
        if accounts.find_user_by_email(db, email) is None:
            accounts.create_user(db, email=email, name="Demo", role=role, password="x" * 12)
    register_demo(db, now=now)
    forms_demo(db, now=now)
    events_demo(db, now=now)
    surveys_demo(db, now=now)
    return demo.load_demo(db, now=now)


def _count(db: Any, model: Any) -> int:
    return db.scalar(select(func.count(model.id))) or 0


def test_the_demo_loads_once_with_a_published_summary(db: Any, now: dt.datetime) -> None:
    mails_before = _count(db, OutboxMessage)
    added = _load(db, now)
    assert added > 50
    counts = {m: _count(db, m) for m in (ProgrammeItem, WorkshopQuestion, Theme, ThemeVote)}
    notes_before = _count(db, GroupNote)
    assert _load(db, now) == 0
    assert {m: _count(db, m) for m in counts} == counts
    assert _count(db, GroupNote) == notes_before
    assert _count(db, OutboxMessage) == mails_before  # demo data sends nothing

    workshop = db.scalar(select(Event).where(Event.slug == WORKSHOP_SLUG))
    evening = db.scalar(select(Event).where(Event.slug == EVENING_SLUG))
    assert len(workshop.groups) == 3
    groups_notes = summaries.group_notes(db, workshop)
    assert all(len(bodies) == 2 for g in groups_notes for _q, bodies in g.questions)
    assert vote.vote_count(db, workshop.id) == len(demo.VOTE_CHOICES)
    summary = summaries.find_published_summary(db, workshop.id)
    assert summary is not None and summary.next_event_id == evening.id
    figures = db.scalar(select(EveningFigures).where(EveningFigures.event_id == workshop.id))
    assert figures is not None and figures.votes_cast == 15 and figures.themes_handled == 3
    assert figures.attended >= 12
    # The upcoming evening: open for theme votes, no notes or summary yet.
    assert db.scalar(
        select(func.count(ProgrammeItem.id)).where(ProgrammeItem.event_id == evening.id)
    ) == len(demo.EVENING_PROGRAMME)
    assert summaries.find_summary(db, evening.id) is None
    assert not any(t.handled for t in db.scalars(select(Theme).where(Theme.event_id == evening.id)))

    # The worker renders the summary's PDF when it starts: every note is in it.
    digest = digests.latest_digest(db, "evening", workshop.id)
    assert digest is not None and digest.status == PENDING
    db.commit()
    rendered = digests.render_digest(db, digest.id, now=now)
    assert rendered is not None and rendered.status == READY, rendered and rendered.error
    text = pdf_text(rendered.pdf)
    for group in demo.NOTES:
        for pair in group:
            for note in pair:
                assert " ".join(note.split()) in text
    assert demo.VOTE_QUESTION in text
