"""Shared factories for survey tests: rows written directly (no rules, no mails), so a test can
set up exactly the state it needs. Plain functions; callers pass the session and the clock."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from participation.accounts.models import COORDINATOR, User
from participation.formbuilder import services as formbuilder
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.surveys.models import ONE_PAGE, UPDATE, Survey, SurveyAnswer

FACTORY_USER_EMAIL = "survey-factory@example.org"
HELSINKI = ZoneInfo("Europe/Helsinki")

# One question of each main type, as formbuilder.add_question specs.
DEFAULT_QUESTIONS: list[dict[str, Any]] = [
    {
        "question_type": "single_choice",
        "label_fi": "Mistä kuulit tilaisuudesta?",
        "options_fi": "Uutiskirjeestä\nYhdistykseltä\nSomesta",
        "required": True,
    },
    {
        "question_type": "multiple_choice",
        "label_fi": "Mitkä aiheet kiinnostavat?",
        "options_fi": "Avustukset\nTilat\nVapaaehtoistyö\nViestintä",
    },
    {
        "question_type": "rating",
        "label_fi": "Kuinka hyödyllinen tilaisuus oli?",
        "scale_min": 1,
        "scale_max": 5,
        "min_label_fi": "Ei lainkaan",
        "max_label_fi": "Erittäin",
    },
    {
        "question_type": "ranking",
        "label_fi": "Järjestä tärkeimmät",
        "options_fi": "Foorumit\nUutiskirje\nAvustukset\nTilat",
        "top_n": 3,
    },
    {"question_type": "yes_no", "label_fi": "Osallistuisitko uudelleen?"},
    {"question_type": "short_text", "label_fi": "Yhdistyksesi nimi", "max_length": 200},
    {"question_type": "long_text", "label_fi": "Terveiset järjestäjille", "max_length": 5000},
]


def factory_user(session: Session) -> int:
    """A staff user to own the survey's form when the test gives none."""
    user = session.scalar(select(User).where(User.email == FACTORY_USER_EMAIL))
    if user is None:
        # Never logs in, so the hash need not be a real one.
        user = User(
            email=FACTORY_USER_EMAIL, name="Survey factory", role=COORDINATOR, password_hash="!"
        )
        session.add(user)
        session.flush()
    return user.id


def _times(state: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(opens, closes) so that `survey.state(now)` is `state`."""
    day = dt.timedelta(days=1)
    if state == "open":
        return now - day, now + 14 * day
    if state == "upcoming":
        return now + day, now + 14 * day
    if state == "closed":
        return now - 14 * day, now - day
    raise ValueError(f"unknown state {state!r}")


def make_survey(
    session: Session,
    *,
    now: dt.datetime,
    questions: list[dict[str, Any]] | None = None,
    state: str = "open",
    anonymous: bool = True,
    public_link: bool = True,
    title: str = "Palautekysely",
    layout: str = ONE_PAGE,
    second_answer: str = UPDATE,
    creator_id: int | None = None,
    event_id: int | None = None,
    round_id: int | None = None,
) -> Survey:
    """A survey in `state` ("open", "upcoming", "closed") whose form has `questions`
    (formbuilder.add_question specs; default one of each main type, see DEFAULT_QUESTIONS)."""
    owner_id = creator_id or factory_user(session)
    form = formbuilder.create_form(session, owner_id=owner_id, title=title, now=now)
    for spec in DEFAULT_QUESTIONS if questions is None else questions:
        formbuilder.add_question(session, form, spec, now=now)
    opens, closes = _times(state, now)
    survey = Survey(
        title=title,
        slug=secrets.token_urlsafe(9),
        form_id=form.id,
        welcome="Kiitos, että vastaat kyselyyn.",
        thank_you="Kiitos vastauksestasi!",
        opens_at=opens,
        closes_at=closes,
        anonymous=anonymous,
        public_link=public_link,
        second_answer=second_answer,
        layout=layout,
        event_id=event_id,
        round_id=round_id,
        created_by_id=creator_id,
        created_at=now - dt.timedelta(days=3),
        updated_at=now - dt.timedelta(days=3),
    )
    session.add(survey)
    session.flush()
    return survey


def question_keys(session: Session, survey: Survey) -> list[str]:
    """The survey's question keys in order (answers are dicts by these keys)."""
    form = session.get(FormDefinition, survey.form_id)
    assert form is not None
    return [q["key"] for q in form.questions]


def add_answer(
    session: Session,
    survey: Survey,
    answers: dict[str, Any],
    *,
    now: dt.datetime,
    source: str = "web",
    category_id: int | None = None,
    entered_by_id: int | None = None,
) -> SurveyAnswer:
    """An answer row as submit_answer would leave it for an anonymous respondent (answers stored
    unchecked, in the engine's JSON shapes by question key: single_choice option key,
    multiple_choice/ranking lists of option keys, rating int, yes_no True/False, texts str;
    the time kept only as midnight UTC of the Helsinki day)."""
    form = session.get(FormDefinition, survey.form_id)
    assert form is not None
    day = now.astimezone(HELSINKI).date()
    response = FormResponse(
        form_id=form.id,
        answers=answers,
        schema_version=form.version,
        source=source,
        submitted_at=dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC),
    )
    session.add(response)
    session.flush()
    answer = SurveyAnswer(
        survey_id=survey.id,
        response_id=response.id,
        submission_key=secrets.token_hex(16),
        answered_on=day,
        category_id=category_id,
        entered_by_id=entered_by_id,
    )
    session.add(answer)
    session.flush()
    return answer
