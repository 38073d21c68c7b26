"""The quick way of a one-page answer through the public link (participation/surveys/answering):
what it stores, and that whenever it stores nothing (the survey closed or its questions changed
since this process read them, an answer refused, the rate limit, an expired form) the page
answers exactly as the full way does, with the text kept."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from participation.formbuilder import services as formbuilder
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.surveys import answering, services
from participation.surveys.models import Survey, SurveyAnswer
from tests.surveys.factories import make_survey, question_keys

TWO = [
    {"question_type": "short_text", "label_fi": "Nimimerkki", "required": True, "max_length": 20},
    {"question_type": "yes_no", "label_fi": "Tuletko uudelleen?", "required": True},
]


def _send(post: Any, survey: Survey, keys: list[str], name: str, n: int, **extra: str) -> Any:
    data = {
        "submission_key": f"{n:04d}" + "k" * 20,
        "progress": "",
        "invitation": "",
        "page": "0",
        "homepage": "",
        keys[0]: name,
        keys[1]: "yes",
        "action": "send",
        **extra,
    }
    return post(f"/surveys/{survey.slug}", data)


def _stored(db: Any, survey: Survey) -> list[tuple[SurveyAnswer, FormResponse]]:
    rows = db.execute(
        select(SurveyAnswer, FormResponse)
        .join(FormResponse, FormResponse.id == SurveyAnswer.response_id)
        .where(SurveyAnswer.survey_id == survey.id)
        .order_by(SurveyAnswer.id)
    )
    return [(answer, response) for answer, response in rows]


@pytest.mark.parametrize("anonymous", [True, False])
def test_a_quick_answer_keeps_nothing_of_the_respondent(
    post: Any, db: Any, now: dt.datetime, anonymous: bool
) -> None:
    survey = make_survey(db, now=now, questions=TWO, anonymous=anonymous)
    keys = question_keys(db, survey)
    db.commit()
    response = _send(post, survey, keys, " Maija ", 1)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/surveys/{survey.slug}/thanks")
    # The quick way took it: the survey's facts are kept for the next answer.
    assert answering.remembered_facts(survey.slug) is not None
    [(answer, form_response)] = _stored(db, survey)
    assert form_response.answers == {keys[0]: "Maija", keys[1]: True}
    assert form_response.source == "web" and form_response.form_id == survey.form_id
    form = db.get(FormDefinition, survey.form_id)
    assert form_response.schema_version == form.version
    assert answer.submission_key == "0001" + "k" * 20
    assert answer.answered_on == services.helsinki_day(dt.datetime.now(dt.UTC))
    assert (answer.invitation_id, answer.name, answer.email, answer.person_id) == (None,) * 4
    assert (answer.category_id, answer.entered_by_id) == (None, None)
    if anonymous:
        assert form_response.submitted_at == services.day_start(dt.datetime.now(dt.UTC))
    else:
        assert form_response.submitted_at > now


def test_the_same_key_twice_is_one_answer(post: Any, db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TWO)
    keys = question_keys(db, survey)
    db.commit()
    assert _send(post, survey, keys, "Maija", 1).status_code == 302
    again = _send(post, survey, keys, "Maija toisen kerran", 1)
    assert again.status_code == 302 and again.headers["Location"].endswith("/thanks")
    assert _send(post, survey, keys, "Kalle", 2).status_code == 302
    assert [r.answers[keys[0]] for _a, r in _stored(db, survey)] == ["Maija", "Kalle"]


def test_closed_since_it_was_read_keeps_the_text(post: Any, db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TWO)
    keys = question_keys(db, survey)
    db.commit()
    assert _send(post, survey, keys, "Ensimmäinen", 1).status_code == 302
    assert answering.remembered_facts(survey.slug) is not None
    # Closed by staff in another process: this one still remembers it open.
    db.execute(
        update(Survey).where(Survey.id == survey.id).values(closes_at=now - dt.timedelta(hours=1))
    )
    db.commit()
    response = _send(post, survey, keys, "Myöhäinen vastaus", 2)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and 'value="Myöhäinen vastaus"' in html
    assert "Kysely on päättynyt." in html
    assert len(_stored(db, survey)) == 1
    assert answering.remembered_facts(survey.slug) is None


def test_a_question_added_since_it_was_read_is_asked(post: Any, db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TWO)
    keys = question_keys(db, survey)
    db.commit()
    assert _send(post, survey, keys, "Ensimmäinen", 1).status_code == 302
    form = db.get(FormDefinition, survey.form_id)
    new_key = formbuilder.add_question(
        db,
        form,
        {"question_type": "short_text", "label_fi": "Kotikunta", "required": True},
        now=now,
    )
    db.commit()
    # The remembered schema would take the answer; the insert sees the new one and refuses.
    response = _send(post, survey, keys, "Toinen", 2)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Toinen"' in html and f'id="{new_key}-error"' in html
    assert len(_stored(db, survey)) == 1
    response = _send(post, survey, keys, "Toinen", 2, **{new_key: "Esimerkkilä"})
    assert response.status_code == 302
    latest = _stored(db, survey)[-1][1]
    assert latest.answers == {keys[0]: "Toinen", keys[1]: True, new_key: "Esimerkkilä"}
    assert latest.schema_version == db.get(FormDefinition, survey.form_id).version


def test_a_refused_answer_shows_the_fields_message(post: Any, db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TWO)
    keys = question_keys(db, survey)
    db.commit()
    response = _send(post, survey, keys, "Aivan liian pitkä nimimerkki", 1)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Aivan liian pitkä nimimerkki"' in html and f'id="{keys[0]}-error"' in html
    assert _stored(db, survey) == []


def test_an_expired_form_keeps_the_text(client: Any, db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TWO)
    keys = question_keys(db, survey)
    db.commit()
    client.get(f"/surveys/{survey.slug}")
    response = client.post(
        f"/surveys/{survey.slug}",
        data={
            "csrf_token": "expired-or-forged",
            "submission_key": "e" * 24,
            keys[0]: "Vanha lomake",
            keys[1]: "no",
            "action": "send",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="Vanha lomake"' in html
    assert _stored(db, survey) == []


def test_the_rate_limit_keeps_the_text(
    app: Flask, post: Any, db: Any, now: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SURVEY_ANSWER_RATE_LIMIT", "2 per minute")
    survey = make_survey(db, now=now, questions=TWO)
    keys = question_keys(db, survey)
    db.commit()
    assert _send(post, survey, keys, "Eka", 1).status_code == 302
    assert _send(post, survey, keys, "Toka", 2).status_code == 302
    response = _send(post, survey, keys, "Kolmas", 3)
    html = response.get_data(as_text=True)
    assert response.status_code == 429 and 'value="Kolmas"' in html
    assert "Yhteydestäsi on lähetetty lyhyessä ajassa monta viestiä" in html
    assert len(_stored(db, survey)) == 2
