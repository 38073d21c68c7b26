"""Surveys as people answer them: a paged survey answered with the keyboard alone (the ranking
included), back and forward keeping the answers; axe-core on the survey page, its closed state
and the thank-you page."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page, expect
from sqlalchemy import select

from participation.formbuilder.models import FormResponse
from participation.surveys.models import PAGED, SurveyAnswer
from tests.browser.a11y import assert_accessible
from tests.surveys.factories import make_survey, question_keys

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer

QUESTIONS: list[dict[str, Any]] = [
    {
        "question_type": "single_choice",
        "label_fi": "Mistä kuulit kyselystä?",
        "options_fi": "Uutiskirjeestä\nYhdistykseltä\nSomesta",
        "required": True,
    },
    {
        "question_type": "ranking",
        "label_fi": "Valitse kolme tärkeintä järjestyksessä",
        "options_fi": "Foorumit\nUutiskirje\nAvustukset\nTilat",
        "top_n": 3,
        "required": True,
    },
    {"question_type": "long_text", "label_fi": "Terveiset järjestäjille"},
]


def _survey(live_server: LiveServer, **kwargs: Any) -> tuple[str, list[str], int]:
    now = dt.datetime.now(dt.UTC)
    with live_server.session() as session:
        survey = make_survey(
            session, now=now, title=f"Selainkysely {uuid.uuid4().hex[:6]}", **kwargs
        )
        return survey.slug, question_keys(session, survey), survey.id


def _tab_to(page: Page, element_id: str, limit: int = 60) -> None:
    """Press Tab until the element has focus: the way a keyboard user gets there."""
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} was never reached with the Tab key")


def _tab_to_button(page: Page, value: str, limit: int = 60) -> None:
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.value") == value:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"the {value} button was never reached with the Tab key")


def test_answer_a_paged_survey_by_keyboard(browser_page: Page, live_server: LiveServer) -> None:
    page = browser_page
    slug, keys, survey_id = _survey(live_server, questions=QUESTIONS, layout=PAGED)
    choice, ranking, free = keys
    page.goto(f"/surveys/{slug}")
    expect(page.locator(".survey-progress")).to_contain_text("1/3")
    assert_accessible(page, "survey page")

    # Page 1: a radio button chosen with the arrow keys, then Next with Enter.
    _tab_to(page, f"{choice}-0")
    page.keyboard.press("ArrowDown")
    expect(page.locator(f"#{choice}-1")).to_be_checked()
    _tab_to_button(page, "next")
    page.keyboard.press("Enter")

    # Page 2: the ranking is a select per place; arrows choose without opening a list.
    expect(page.locator(".survey-progress")).to_contain_text("2/3")
    for place, steps in ((1, 3), (2, 1), (3, 2)):
        _tab_to(page, f"{ranking}-{place}")
        for _ in range(steps):
            page.keyboard.press("ArrowDown")
    expect(page.locator(f"#{ranking}-1 option:checked")).to_have_text("Avustukset")
    assert_accessible(page, "survey ranking page")
    _tab_to_button(page, "next")
    page.keyboard.press("Enter")

    # Page 3, then back: the ranking is still there; forward again and send.
    expect(page.locator(".survey-progress")).to_contain_text("3/3")
    _tab_to(page, free)
    page.keyboard.type("Kiitos <b>hyvästä</b> illasta!")
    _tab_to_button(page, "back")
    page.keyboard.press("Enter")
    expect(page.locator(f"#{ranking}-1 option:checked")).to_have_text("Avustukset")
    _tab_to_button(page, "next")
    page.keyboard.press("Enter")
    expect(page.locator(f"#{free}")).to_have_value("Kiitos <b>hyvästä</b> illasta!")
    _tab_to_button(page, "send")
    page.keyboard.press("Enter")

    expect(page.locator(".survey-thanks h1")).to_be_visible()
    assert_accessible(page, "thank-you page")
    with live_server.session() as session:
        answer = session.scalar(select(SurveyAnswer).where(SurveyAnswer.survey_id == survey_id))
        assert answer is not None
        answers = session.get(FormResponse, answer.response_id).answers
    assert answers[free] == "Kiitos <b>hyvästä</b> illasta!"
    assert len(answers[ranking]) == 3 and choice in answers


def test_closed_survey_page_is_accessible(browser_page: Page, live_server: LiveServer) -> None:
    page = browser_page
    slug, _keys, _id = _survey(live_server, questions=QUESTIONS, state="closed")
    page.goto(f"/surveys/{slug}")
    expect(page.locator(".survey-state")).to_be_visible()
    assert page.locator("form.survey-form").count() == 0
    assert_accessible(page, "closed survey")
