"""Personal data in surveys: the person's download and erasure on request. Answers stay (as
anyone's); who gave them, their invitation's address and their results requests go."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import func, select

from participation import tokens
from participation.privacy import services as privacy
from participation.register.models import Person
from participation.surveys import services
from participation.surveys.models import SurveyAnswer, SurveyInvitation, SurveyResultsRequest
from tests.privacy.conftest import places_holding
from tests.surveys import factories as f

EMAIL = "Venla.Kivinen@Example.org"
NAME = "Venla Kivinen"
QUESTIONS = [{"question_type": "long_text", "label_fi": "Mitä jäi mieleen?"}]


def _answered_through_invitation(db: Any, now: dt.datetime) -> dict[str, Any]:
    """An identified survey answered through an invitation by a register person, who also
    asked for the results of another (anonymous) survey."""
    person = Person(name=NAME, email=EMAIL)
    db.add(person)
    db.flush()
    survey = f.make_survey(
        db, now=now, anonymous=False, public_link=False, questions=QUESTIONS, title="Kysely A"
    )
    [key] = f.question_keys(db, survey)
    assert services.invite(db, survey.id, [person.id], now=now) == 1
    invitation = db.scalar(select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id))
    token = services.issue_invitation_link(db, survey, invitation, now=now)
    answer = services.submit_answer(
        db,
        survey.id,
        {key: "Hyvä ilta, kiitos."},
        now=now,
        submission_key=secrets.token_urlsafe(20),
        invitation_token=token,
    )
    other = f.make_survey(db, now=now, title="Kysely B")
    services.request_results(db, other.id, EMAIL, now=now)
    db.flush()
    return {"person": person, "survey": survey, "answer": answer, "invitation": invitation}


def test_the_download_holds_the_answers_invitations_and_requests(db: Any, now: dt.datetime) -> None:
    things = _answered_through_invitation(db, now)

    data = privacy.export_person(db, things["person"], now)

    [answer] = data["survey_answers"]
    assert answer["survey"] == "Kysely A"
    assert answer["answers"] == [{"question": "Mitä jäi mieleen?", "answer": "Hyvä ilta, kiitos."}]
    [invitation] = data["survey_invitations"]
    assert invitation["survey"] == "Kysely A" and invitation["answered"] is True
    assert [r["survey"] for r in data["survey_results_requests"]] == ["Kysely B"]


def test_erasure_keeps_the_answer_and_removes_who_gave_it(db: Any, now: dt.datetime) -> None:
    things = _answered_through_invitation(db, now)
    assert places_holding(db, EMAIL) and places_holding(db, NAME)

    counts = privacy.erase_person(db, things["person"].id, now)
    db.flush()
    db.expire_all()

    assert places_holding(db, EMAIL) == []
    assert places_holding(db, NAME) == []
    assert counts["survey_answers"] == 1
    assert counts["survey_invitations"] == 1
    assert counts["survey_results_requests"] == 1
    answer = db.get(SurveyAnswer, things["answer"].id)
    assert answer is not None and answer.email is None and answer.person_id is None
    # The invitation still counts as answered; its personal link is gone.
    invitation = db.get(SurveyInvitation, things["invitation"].id)
    assert invitation.answered is True
    assert services.answered_counts(db, things["survey"].id)[0] == 1
    links = db.scalar(
        select(func.count(tokens.ActionLink.id)).where(
            tokens.ActionLink.subject_id == invitation.id,
            tokens.ActionLink.purpose == services.INVITATION,
        )
    )
    assert links == 0
    assert db.scalar(select(func.count(SurveyResultsRequest.id))) == 0
