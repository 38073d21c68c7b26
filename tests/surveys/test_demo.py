"""The demo surveys: the forum's "three most important" survey and the workshop's feedback
survey load once, with plausible figures, published results and no mail left queued."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from participation.digests import services as digests
from participation.digests.models import PENDING, READY, Digest
from participation.formbuilder.models import FormResponse
from participation.mail.models import OutboxMessage
from participation.surveys import results
from participation.surveys.demo import (
    FEEDBACK_ANSWERS,
    FEEDBACK_SLUG,
    FORUM_ANSWERS,
    FORUM_SLUG,
    FORUM_TEXTS,
    HIDDEN_TEXT,
    STRUCTURES,
)
from participation.surveys.models import Survey, SurveyAnswer
from tests.digests.conftest import pdf_text
from tests.surveys.test_digest import save_pdf


def _load(db: Any, now: dt.datetime) -> int:
    from participation.accounts import services as accounts
    from participation.demo import DEMO_COORDINATOR
    from participation.events.demo import load_demo as events_demo
    from participation.formbuilder.demo import load_demo as forms_demo
    from participation.register.demo import load_demo as register_demo
    from participation.surveys.demo import load_demo

    if accounts.find_user_by_email(db, DEMO_COORDINATOR) is None:
        accounts.create_user(
            db, email=DEMO_COORDINATOR, name="K", role="coordinator", password="x" * 12
        )
    register_demo(db, now=now)
    forms_demo(db, now=now)
    events_demo(db, now=now)
    return load_demo(db, now=now)


def _answers(db: Any, survey: Survey) -> int:
    return db.scalar(select(func.count(SurveyAnswer.id)).where(SurveyAnswer.survey_id == survey.id))


def test_the_demo_loads_once_with_plausible_figures(db: Any, now: dt.datetime) -> None:
    mails_before = db.scalar(select(func.count(OutboxMessage.id)))
    assert _load(db, now) == 2 + FORUM_ANSWERS + FEEDBACK_ANSWERS
    assert _load(db, now) == 0
    db.commit()
    forum = db.scalar(select(Survey).where(Survey.slug == FORUM_SLUG))
    feedback = db.scalar(select(Survey).where(Survey.slug == FEEDBACK_SLUG))
    assert _answers(db, forum) == FORUM_ANSWERS and _answers(db, feedback) == FEEDBACK_ANSWERS
    assert db.scalar(select(func.count(Survey.id))) == 2

    # Closed, anonymous, results published; the feedback survey follows the past workshop.
    for survey in (forum, feedback):
        assert survey.state(now) == "closed" and survey.anonymous
        assert survey.results_published_at is not None
    assert feedback.event_id is not None
    # Some forum answers were typed in from paper; anonymous answers keep only the day.
    sources = dict(
        db.execute(
            select(FormResponse.source, func.count(FormResponse.id))
            .join(SurveyAnswer, SurveyAnswer.response_id == FormResponse.id)
            .where(SurveyAnswer.survey_id == forum.id)
            .group_by(FormResponse.source)
        ).all()
    )
    assert 20 <= sources["paper"] <= 40 and sources["web"] == FORUM_ANSWERS - sources["paper"]
    assert (
        db.scalar(
            select(func.count(SurveyAnswer.id)).where(
                SurveyAnswer.survey_id == forum.id, SurveyAnswer.email.is_not(None)
            )
        )
        == 0
    )

    found = results.survey_results(db, forum, filters=results.ResultFilters(), public=True)
    choose, rating, _attended, free = found.questions
    assert choose.answered == FORUM_ANSWERS
    assert [b.label for b in choose.bars] == [name for name, _w in STRUCTURES]
    counts = {b.label: b.count for b in choose.bars}
    # Three picks each (two for some), every structure picked, grants and premises on top.
    assert 2 * FORUM_ANSWERS < sum(counts.values()) <= 3 * FORUM_ANSWERS
    assert min(counts.values()) > 10
    top_two = sorted(counts, key=counts.get, reverse=True)[:2]
    assert set(top_two) == {STRUCTURES[3][0], STRUCTURES[5][0]}
    assert 2.5 < (rating.mean_value or 0) < 4.5
    assert free.texts is not None and free.texts_found == len(FORUM_TEXTS)
    assert HIDDEN_TEXT not in [t.text for t in free.texts.items]
    staff_view = results.survey_results(
        db, forum, filters=results.ResultFilters(), public=False, text_query="040"
    )
    assert [t.text for t in staff_view.questions[3].texts.items] == [HIDDEN_TEXT]

    # Nothing was left to be mailed; the forum's results PDF waits for the worker, which
    # renders it with every structure and without the hidden text.
    assert db.scalar(select(func.count(OutboxMessage.id))) == mails_before
    digest = db.scalar(select(Digest).where(Digest.kind == "survey", Digest.subject_id == forum.id))
    assert digest is not None and digest.status == PENDING
    rendered = digests.render_digest(db, digest.id, now=now)
    assert rendered is not None and rendered.status == READY, rendered and rendered.error
    save_pdf(rendered.pdf, "demo-results.pdf")
    text = pdf_text(rendered.pdf)
    for name, _weight in STRUCTURES:
        assert name in text
    assert "Kyllikki" not in text
