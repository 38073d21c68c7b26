"""One answer per phone under a double submit: the same phone's votes sent at the same moment
from real threads, each with its own connection, against a committed database of their own
(SQLite by default, PostgreSQL with TEST_DATABASE_URL), through the public HTTP endpoint."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from participation.accounts import services as accounts
from participation.evenings import vote
from participation.evenings.models import REFUSE, UPDATE
from participation.extensions import db
from participation.formbuilder.models import FormResponse
from participation.surveys.models import SurveyAnswer
from tests.conftest import committed_app, in_app
from tests.evenings.factories import make_evening

PHONES = 20
SENDS = 4  # requests per phone released together


@pytest.fixture(scope="module")
def race_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with committed_app(
        tmp_path_factory, "vote_races", LIVE_VOTE_RATE_LIMIT="1000000 per minute"
    ) as app:
        yield app


def _open_vote(app: Flask, second_vote: str) -> tuple[str, int, list[str]]:
    def make() -> tuple[str, int, list[str]]:
        now = dt.datetime.now(dt.UTC)
        event = make_evening(db.session, now=now, title=f"Kilpa-ilta {secrets.token_hex(3)}")
        event.starts_at, event.ends_at = now - dt.timedelta(hours=1), now + dt.timedelta(hours=2)
        user = accounts.create_user(
            db.session, email=f"kilpa-{secrets.token_hex(4)}@example.org", name="Kilpa",
            role="coordinator", password="correct horse battery",
        )  # fmt: skip
        live = vote.create_vote(
            db.session, event, question="Valitse kolme tärkeintä",
            options=["Avustukset", "Tilat", "Viestintä", "Vuosikello"], max_choices=3,
            second_vote=second_vote, staff_user_id=user.id, now=now,
        )  # fmt: skip
        vote.open_vote(db.session, live, event, now=now)
        keys = [o["key"] for o in vote.question_of(db.session, live)["options"]]
        db.session.commit()
        return live.code, live.survey_id, keys

    return in_app(app, make)


def _double_submits(app: Flask, code: str, keys: list[str]) -> list[int]:
    """PHONES phones, each sending SENDS different votes at the same moment."""
    phones = [secrets.token_urlsafe(24) for _n in range(PHONES)]
    count = PHONES * SENDS
    barrier = threading.Barrier(count)
    statuses: list[int] = [0] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        client = app.test_client()
        client.set_cookie("vote_phone", phones[n % PHONES], path="/v/")
        barrier.wait()
        try:
            response = client.post(f"/v/{code}", data={"choice": [keys[n // PHONES]]})
            statuses[n] = response.status_code
        except BaseException as exc:  # noqa: BLE001  (collected and asserted on)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread never finished"
    assert errors == []
    return statuses


def _stored(app: Flask, survey_id: int) -> list[tuple[str, dict[str, Any]]]:
    def load() -> list[tuple[str, dict[str, Any]]]:
        return [
            (key, answers)
            for key, answers in db.session.execute(
                select(SurveyAnswer.submission_key, FormResponse.answers)
                .join(FormResponse, FormResponse.id == SurveyAnswer.response_id)
                .where(SurveyAnswer.survey_id == survey_id)
            )
        ]

    return in_app(app, load)


def _responses(app: Flask, survey_id: int) -> int:
    """FormResponse rows of the vote's form: none may be left over by a lost race."""

    def count() -> int:
        from participation.surveys.models import Survey

        form_id = db.session.scalar(select(Survey.form_id).where(Survey.id == survey_id))
        return db.session.scalar(
            select(func.count(FormResponse.id)).where(FormResponse.form_id == form_id)
        )

    return in_app(app, count)


def test_a_double_submit_updates_the_one_answer_of_each_phone(race_app: Flask) -> None:
    code, survey_id, keys = _open_vote(race_app, UPDATE)

    statuses = _double_submits(race_app, code, keys)

    assert statuses == [303] * (PHONES * SENDS)  # every send answered: first vote or update
    stored = _stored(race_app, survey_id)
    assert len(stored) == PHONES == len({key for key, _answers in stored})
    assert _responses(race_app, survey_id) == PHONES
    for _key, answers in stored:
        (chosen,) = answers.values()
        assert len(chosen) == 1 and chosen[0] in keys  # one of the phone's sends, whole


def test_a_double_submit_keeps_the_first_answer_when_second_votes_are_refused(
    race_app: Flask,
) -> None:
    code, survey_id, keys = _open_vote(race_app, REFUSE)

    statuses = _double_submits(race_app, code, keys)

    assert sorted(statuses) == [303] * PHONES + [409] * (PHONES * (SENDS - 1))
    stored = _stored(race_app, survey_id)
    assert len(stored) == PHONES == len({key for key, _answers in stored})
    assert _responses(race_app, survey_id) == PHONES
