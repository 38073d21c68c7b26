"""An identified survey whose second answer replaces the first: the invitation link opened
again shows the earlier answers (one page and one question per page), and sending changes the
one stored answer (same rows, the new day) rather than adding another."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from participation.formbuilder.models import FormResponse
from participation.surveys import services
from participation.surveys.models import ONE_PAGE, PAGED, Survey, SurveyAnswer
from tests.surveys.factories import make_survey, question_keys

TWO = [
    {"question_type": "short_text", "label_fi": "Mikä jäi mieleen?", "max_length": 200},
    {"question_type": "yes_no", "label_fi": "Tuletko uudelleen?", "required": True},
]


def _hidden(html: str) -> dict[str, str]:
    values = {}
    for name in ("submission_key", "progress", "invitation", "page"):
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
            rf'value="([^"]*)"[^>]*name="{name}"', html
        )
        values[name] = match.group(1) if match else ""
    return values


def _open(client: Any, path: str) -> tuple[str, dict[str, str]]:
    response = client.get(path)
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    return html, _hidden(html)


def _checked(html: str, key: str, index: int) -> bool:
    return bool(re.search(rf'id="{key}-{index}"[^>]*checked|checked[^>]*id="{key}-{index}"', html))


def _invitation_path(db: Any, survey: Survey, now: dt.datetime) -> str:
    services.invite(db, survey.id, ["maija.meikalainen@example.org"], now=now)
    (invitation,) = services.list_invitations(db, survey.id)
    token = services.issue_invitation_link(db, survey, invitation, now=now)
    db.commit()
    return f"/surveys/i/{token}"


def _answer_through(
    client: Any, post: Any, survey: Survey, path: str, keys: list[str], text: str, yes: bool
) -> None:
    """Open the invitation link and send the answers, page by page in a paged survey."""
    html, hidden = _open(client, path)
    target = f"/surveys/{survey.slug}"
    value = "yes" if yes else "no"
    if survey.layout == PAGED:
        response = post(target, {**hidden, keys[0]: text, "action": "next"})
        assert response.status_code == 302 and "/continue/" in response.headers["Location"]
        html, hidden = _open(client, response.headers["Location"])
        response = post(target, {**hidden, keys[1]: value, "action": "send"})
    else:
        response = post(target, {**hidden, keys[0]: text, keys[1]: value, "action": "send"})
    assert response.status_code == 302 and "/thanks" in response.headers["Location"]


@pytest.mark.parametrize("layout", [ONE_PAGE, PAGED])
def test_reopened_invitation_shows_the_earlier_answer_and_replaces_it(
    client: Any, post: Any, db: Any, now: dt.datetime, layout: str
) -> None:
    survey = make_survey(
        db, now=now, questions=TWO, anonymous=False, public_link=False, layout=layout
    )
    keys = question_keys(db, survey)
    path = _invitation_path(db, survey, now)
    _answer_through(client, post, survey, path, keys, "Hyvät keskustelut", yes=True)
    answer = db.scalar(select(SurveyAnswer).where(SurveyAnswer.survey_id == survey.id))
    response_id, answer_id = answer.response_id, answer.id
    answer.answered_on = services.helsinki_day(now) - dt.timedelta(days=3)  # sent days ago
    db.commit()

    # Opened again: the first page shows what was sent.
    html, hidden = _open(client, path)
    assert 'value="Hyvät keskustelut"' in html
    assert hidden["invitation"] == path.rsplit("/", 1)[1] and not hidden["progress"]
    if layout == ONE_PAGE:
        assert _checked(html, keys[1], 0)  # "yes"
        response = post(
            f"/surveys/{survey.slug}",
            {**hidden, keys[0]: "Hyvät keskustelut, kiitos", keys[1]: "no", "action": "send"},
        )
    else:
        # The next page starts from the earlier answer too.
        response = post(
            f"/surveys/{survey.slug}",
            {**hidden, keys[0]: "Hyvät keskustelut, kiitos", "action": "next"},
        )
        html, hidden = _open(client, response.headers["Location"])
        assert _checked(html, keys[1], 0)
        response = post(f"/surveys/{survey.slug}", {**hidden, keys[1]: "no", "action": "send"})
    assert response.status_code == 302 and "/thanks" in response.headers["Location"]

    db.expire_all()
    (answer,) = db.scalars(select(SurveyAnswer).where(SurveyAnswer.survey_id == survey.id)).all()
    assert (answer.id, answer.response_id) == (answer_id, response_id)
    assert answer.answered_on == services.helsinki_day(dt.datetime.now(dt.UTC))
    assert answer.email == "maija.meikalainen@example.org"
    form_responses = db.scalar(
        select(func.count(FormResponse.id)).where(FormResponse.form_id == survey.form_id)
    )
    assert form_responses == 1
    assert db.get(FormResponse, response_id).answers == {
        keys[0]: "Hyvät keskustelut, kiitos",
        keys[1]: False,
    }
    assert services.answered_counts(db, survey.id) == (1, 1)


def test_a_refusing_or_anonymous_survey_shows_no_earlier_answer(
    client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    refusing = make_survey(
        db, now=now, questions=TWO, anonymous=False, public_link=False, second_answer="refuse"
    )
    keys = question_keys(db, refusing)
    path = _invitation_path(db, refusing, now)
    _answer_through(client, post, refusing, path, keys, "Ensimmäinen", yes=True)
    again = client.get(path)
    assert again.status_code == 409 and "Ensimmäinen" not in again.get_data(as_text=True)
    (invitation,) = services.list_invitations(db, refusing.id)
    assert services.previous_answers(db, refusing, invitation) == {}
    anonymous = make_survey(db, now=now, questions=TWO, public_link=False)
    services.invite(db, anonymous.id, ["a@example.org"], now=now)
    (other,) = services.list_invitations(db, anonymous.id)
    other.answered = True
    assert services.previous_answers(db, anonymous, other) == {}
