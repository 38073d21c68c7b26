"""Survey services: set-up and copy, answering rules (open/closed, double submit, invitations,
paper), anonymity of what is stored, progress, invitations and reminders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from participation import tokens
from participation.errors import Conflict, Invalid, WrongState
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.mail.models import OutboxMessage
from participation.surveys import services
from participation.surveys.models import REFUSE, SurveyAnswer, SurveyInvitation, SurveyProgress
from tests.surveys.factories import factory_user, make_survey, question_keys

KEY = "k" * 24
TEXT_ONLY = [{"question_type": "short_text", "label_fi": "Mitä kuuluu?", "required": True}]


def _link(token: str) -> str:
    return f"http://localhost/surveys/i/{token}"


def _settings(now: dt.datetime, **extra: Any) -> dict[str, Any]:
    return {
        "title": "Syyskysely",
        "welcome": "Tervetuloa",
        "thank_you": "Kiitos",
        "opens_at": now,
        "closes_at": now + dt.timedelta(days=7),
        "anonymous": True,
        "public_link": True,
        "second_answer": "update",
        "layout": "paged",
        "follows": "",
        **extra,
    }


def test_create_update_and_copy_keep_the_questions(db: Any, now: dt.datetime) -> None:
    user_id = factory_user(db)
    survey = services.create_survey(db, _settings(now), staff_user_id=user_id, now=now)
    assert survey.form_id and survey.layout == "paged" and len(survey.slug) >= 12
    with pytest.raises(Invalid) as exc:
        services.update_survey(db, survey.id, _settings(now, title="", closes_at=now), now=now)
    assert set(exc.value.errors) == {"title", "closes_at"}
    source = make_survey(db, now=now)
    copy = services.copy_survey(
        db, source.id, title="Ensi vuonna", opens_at=now, closes_at=now + dt.timedelta(days=3),
        staff_user_id=user_id, now=now,
    )  # fmt: skip
    assert copy.slug != source.slug and copy.anonymous == source.anonymous
    assert question_keys(db, copy) == question_keys(db, source)


def test_an_answer_is_checked_and_a_double_submit_stores_one(db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TEXT_ONLY)
    (key,) = question_keys(db, survey)
    with pytest.raises(Invalid) as exc:
        services.submit_answer(db, survey.id, {}, now=now, submission_key=KEY)
    assert key in exc.value.errors
    first = services.submit_answer(db, survey.id, {key: "Hyvää"}, now=now, submission_key=KEY)
    again = services.submit_answer(db, survey.id, {key: "Hyvää"}, now=now, submission_key=KEY)
    assert first.id == again.id
    assert services.count_answers(db, survey.id) == 1


def test_closed_refuses_web_but_takes_paper(db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TEXT_ONLY, state="closed")
    (key,) = question_keys(db, survey)
    with pytest.raises(WrongState):
        services.submit_answer(db, survey.id, {key: "x"}, now=now, submission_key=KEY)
    user_id = factory_user(db)
    answer = services.submit_answer(
        db, survey.id, {key: "Paperilta"}, now=now, submission_key=KEY, source="paper",
        entered_by_id=user_id,
    )  # fmt: skip
    response = db.get(FormResponse, answer.response_id)
    assert response.source == "paper" and answer.entered_by_id == user_id


def test_anonymous_answer_keeps_the_day_only(db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TEXT_ONLY, public_link=False)
    (key,) = question_keys(db, survey)
    services.invite(db, survey.id, ["anni@example.org"], now=now)
    services.send_invitations(db, survey.id, now=now, link_url=_link)
    invitation = db.scalar(select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id))
    token = tokens.issue_link(
        db, purpose=services.INVITATION, subject_id=invitation.id,
        lifetime=dt.timedelta(days=1), now=now,
    )  # fmt: skip
    answer = services.submit_answer(
        db, survey.id, {key: "x"}, now=now, submission_key=KEY, invitation_token=token
    )
    response = db.get(FormResponse, answer.response_id)
    assert (answer.name, answer.email, answer.invitation_id, answer.person_id) == (None,) * 4
    assert response.submitted_at.replace(tzinfo=dt.UTC).time() == dt.time()
    assert invitation.answered
    # Anonymous: a second answer through the same invitation cannot update, so it is refused.
    with pytest.raises(Conflict):
        services.submit_answer(
            db, survey.id, {key: "y"}, now=now, submission_key="z" * 24, invitation_token=token
        )


def test_identified_invitation_updates_or_refuses(db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TEXT_ONLY, anonymous=False)
    (key,) = question_keys(db, survey)
    services.invite(db, survey.id, ["Ville@Example.org"], now=now)
    invitation = db.scalar(select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id))
    token = tokens.issue_link(
        db, purpose=services.INVITATION, subject_id=invitation.id,
        lifetime=dt.timedelta(days=1), now=now,
    )  # fmt: skip
    first = services.submit_answer(
        db, survey.id, {key: "eka"}, now=now, submission_key=KEY, invitation_token=token
    )
    assert first.email == "Ville@example.org" and first.invitation_id == invitation.id
    second = services.submit_answer(
        db, survey.id, {key: "toka"}, now=now, submission_key="y" * 24, invitation_token=token
    )
    assert second.id == first.id
    assert db.get(FormResponse, first.response_id).answers == {key: "toka"}
    survey.second_answer = REFUSE
    with pytest.raises(Conflict):
        services.submit_answer(
            db, survey.id, {key: "kolmas"}, now=now, submission_key="w" * 24,
            invitation_token=token,
        )  # fmt: skip


def test_no_public_link_needs_an_invitation(db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TEXT_ONLY, public_link=False)
    (key,) = question_keys(db, survey)
    with pytest.raises(WrongState):
        services.submit_answer(db, survey.id, {key: "x"}, now=now, submission_key=KEY)


def test_progress_is_saved_loaded_and_forgotten(db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TEXT_ONLY)
    token = services.start_progress(db, survey.id, {"a": "b"}, page=2, now=now)
    progress = services.load_progress(db, survey, token, now=now)
    assert progress.answers == {"a": "b"} and progress.page == 2
    services.save_progress(db, survey, token, {"a": "c"}, page=0, now=now)
    services.finish_progress(db, survey, token, now=now)
    assert db.scalar(select(SurveyProgress).where(SurveyProgress.survey_id == survey.id)) is None
    with pytest.raises(tokens.LinkInvalid):
        services.load_progress(db, survey, token, now=now)
    with pytest.raises(tokens.LinkInvalid):
        services.load_progress(db, survey, token + "x", now=now)


def test_invitations_once_and_one_reminder_each(db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TEXT_ONLY)
    with pytest.raises(Invalid):
        services.invite(db, survey.id, ["ei osoite"], now=now)
    assert (
        services.invite(db, survey.id, ["a@example.org", "A@example.org", "b@example.org"], now=now)
        == 2
    )
    assert services.invite(db, survey.id, ["a@example.org"], now=now) == 0
    assert services.send_invitations(db, survey.id, now=now, link_url=_link) == 2
    assert services.send_invitations(db, survey.id, now=now, link_url=_link) == 0
    first = db.scalar(select(SurveyInvitation).where(SurveyInvitation.email_key == "a@example.org"))
    first.answered = True
    assert services.answered_counts(db, survey.id) == (1, 2)
    assert services.send_reminders(db, survey.id, now=now, link_url=_link) == 1
    assert services.send_reminders(db, survey.id, now=now, link_url=_link) == 0
    mails = db.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "b@example.org")
    ).all()
    assert len(mails) == 2


def test_results_request_is_kept_apart(db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TEXT_ONLY)
    (key,) = question_keys(db, survey)
    answer = services.submit_answer(
        db, survey.id, {key: "x"}, now=now, submission_key=KEY, wants_results_email="t@example.org"
    )
    assert answer.email is None
    again = services.request_results(db, survey.id, "T@example.org", now=now)
    assert again.email == "t@example.org"
    with pytest.raises(Invalid):
        services.request_results(db, survey.id, "nope", now=now)


def test_factories_answer_rows(db: Any, now: dt.datetime) -> None:
    from tests.surveys.factories import add_answer

    survey = make_survey(db, now=now)
    keys = question_keys(db, survey)
    assert len(keys) == 7
    answer = add_answer(db, survey, {keys[4]: True}, now=now, source="paper")
    assert db.get(FormResponse, answer.response_id).source == "paper"
    assert db.get(FormDefinition, survey.form_id).title == survey.title
    assert db.scalar(select(SurveyAnswer.id).where(SurveyAnswer.survey_id == survey.id))
