"""Two posts of one survey form racing: real threads, each with its own connection and test
client, against a committed database of their own (SQLite, or PostgreSQL with
TEST_DATABASE_URL). A double click stores one answer; two tabs of one invitation too."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from participation import tokens
from participation.extensions import db
from participation.surveys import services
from participation.surveys.models import SurveyAnswer, SurveyInvitation
from tests.conftest import committed_app, in_app
from tests.surveys.factories import make_survey, question_keys

THREADS = 8
QUESTIONS = [{"question_type": "short_text", "label_fi": "Terveiset", "required": True}]


@pytest.fixture(scope="module")
def race_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with committed_app(
        tmp_path_factory,
        "survey_races",
        SURVEY_ANSWER_RATE_LIMIT="1000000 per minute",
        QUEUE_IMMEDIATE=False,
        QUEUE_URL="memory://",
    ) as app:
        yield app


def _race(app: Flask, posts: list[tuple[str, dict[str, str]]]) -> list[int]:
    barrier = threading.Barrier(len(posts))
    statuses: list[int] = [0] * len(posts)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            path, data = posts[n]
            statuses[n] = client.post(path, data=data).status_code
        except BaseException as exc:  # noqa: BLE001  (asserted on below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return statuses


def _count(app: Flask, survey_id: int) -> int:
    return in_app(
        app,
        lambda: db.session.scalar(
            select(func.count(SurveyAnswer.id)).where(SurveyAnswer.survey_id == survey_id)
        ),
    )


def test_a_double_submit_stores_one_answer(race_app: Flask) -> None:
    def make() -> tuple[int, str, str]:
        survey = make_survey(db.session, now=dt.datetime.now(dt.UTC), questions=QUESTIONS)
        db.session.commit()
        return survey.id, survey.slug, question_keys(db.session, survey)[0]

    survey_id, slug, key = in_app(race_app, make)
    data = {key: "Kiitos", "submission_key": "s" * 32, "action": "send", "page": "0"}
    statuses = _race(race_app, [(f"/surveys/{slug}", data)] * THREADS)
    assert statuses == [302] * THREADS
    assert _count(race_app, survey_id) == 1


def test_two_tabs_of_one_invitation_store_one_answer(race_app: Flask) -> None:
    def make() -> tuple[int, str, str, str]:
        now = dt.datetime.now(dt.UTC)
        survey = make_survey(db.session, now=now, questions=QUESTIONS, public_link=False)
        services.invite(db.session, survey.id, ["kaksi.valilehtea@example.org"], now=now)
        invitation = db.session.scalar(
            select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id)
        )
        token = tokens.issue_link(
            db.session, purpose=services.INVITATION, subject_id=invitation.id,
            lifetime=dt.timedelta(days=1), now=now,
        )  # fmt: skip
        db.session.commit()
        return survey.id, survey.slug, question_keys(db.session, survey)[0], token

    survey_id, slug, key, token = in_app(race_app, make)
    posts = [
        (
            f"/surveys/{slug}",
            {
                key: f"Välilehti {n}",
                "submission_key": f"{n:02d}" + "t" * 30,
                "invitation": token,
                "action": "send",
                "page": "0",
            },
        )  # fmt: skip
        for n in range(THREADS)
    ]
    statuses = _race(race_app, posts)
    assert sorted(statuses) == [302] + [409] * (THREADS - 1)
    assert _count(race_app, survey_id) == 1
