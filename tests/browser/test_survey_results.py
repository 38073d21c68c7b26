"""Survey results in the browser: a paper answer typed in by staff shows in the results as a
paper answer; axe-core on the staff results page (charts, a filter) and the published public
page; hiding a free text with the keyboard alone takes it off the public page."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import TYPE_CHECKING, Any

from flask_babel import force_locale, ngettext
from playwright.sync_api import Page, expect
from sqlalchemy import select

from participation.accounts.models import CONTACT_PERSON, User
from participation.formbuilder.models import FormResponse
from participation.surveys import results
from participation.surveys.models import Survey, SurveyAnswer
from tests.browser.a11y import assert_accessible
from tests.surveys.factories import add_answer, make_survey, question_keys

if TYPE_CHECKING:
    from tests.browser.conftest import ConsoleWatch, LiveServer

# The default questions of tests/surveys/factories.py, in order.
CHOICE, MULTIPLE, RATING, RANKING, YES_NO, SHORT, LONG = range(7)
HOSTILE = "Paperilla: <script>alert(1)</script> lisää penkkejä"


def _options(live_server: LiveServer, survey_id: int) -> dict[str, list[str]]:
    """Option keys by question key."""
    from participation.surveys import services

    with live_server.session() as session:
        survey = services.get_survey(session, survey_id)
        form = services.survey_form(session, survey)
        return {q["key"]: [o["key"] for o in q.get("options") or []] for q in form.questions}


def _seed(
    live_server: LiveServer, *, web: int, paper: int, texts: list[str] | None = None
) -> tuple[int, str, list[str], list[int]]:
    """An open survey of the default questions with `web` online and `paper` paper answers,
    every question answered; the long texts are `texts` in turn. Returns (id, slug, question
    keys, answer ids)."""
    now = dt.datetime.now(dt.UTC)
    texts = texts or ["Hyvä tilaisuus."]
    with live_server.session() as session:
        survey = make_survey(session, now=now, title=f"Tuloskysely {uuid.uuid4().hex[:6]}")
        keys = question_keys(session, survey)
        survey_id, slug = survey.id, survey.slug
    options = _options(live_server, survey_id)
    ids = []
    with live_server.session() as session:
        survey = session.get(Survey, survey_id)
        for i in range(web + paper):
            answers: dict[str, Any] = {
                keys[CHOICE]: options[keys[CHOICE]][i % 3],
                keys[MULTIPLE]: options[keys[MULTIPLE]][: 1 + i % 3],
                keys[RATING]: 1 + i % 5,
                keys[RANKING]: options[keys[RANKING]][i % 2 : i % 2 + 3],
                keys[YES_NO]: i % 2 == 0,
                keys[SHORT]: f"Yhdistys {i}",
                keys[LONG]: texts[i % len(texts)],
            }
            answer = add_answer(
                session, survey, answers, now=now, source="paper" if i >= web else "web"
            )
            ids.append(answer.id)
    return survey_id, slug, keys, ids


def _tr(live_server: LiveServer, singular: str, plural: str, num: int) -> str:
    """A plural UI string as the live app shows it in Finnish."""
    with live_server.app.test_request_context(), force_locale("fi"):
        return ngettext(singular, plural, num)


def test_paper_answer_typed_in_shows_in_the_results_as_paper(
    browser_page: Page, live_server: LiveServer, staff_login: Any
) -> None:
    page = browser_page
    survey_id, _slug, keys, _ids = _seed(live_server, web=6, paper=4)
    options = _options(live_server, survey_id)
    staff = staff_login(page, role=CONTACT_PERSON)  # a contact person, into their own survey
    with live_server.session() as session:
        session.get(Survey, survey_id).created_by_id = session.scalar(
            select(User.id).where(User.email == staff.email)
        )

    page.goto(f"/staff/surveys/{survey_id}/answers/new")
    assert_accessible(page, "paper answer page")
    page.locator(f"#{keys[CHOICE]}-1").check()
    page.locator(f"#{keys[MULTIPLE]}-0").check()
    page.locator(f"#{keys[MULTIPLE]}-2").check()
    page.locator(f"#{keys[RATING]}-3").check()  # the fourth step: 4
    page.locator(f"#{keys[RANKING]}-1").select_option(label="Tilat")
    page.locator(f"#{keys[RANKING]}-2").select_option(label="Foorumit")
    page.locator(f"#{keys[RANKING]}-3").select_option(label="Uutiskirje")
    page.locator(f"#{keys[YES_NO]}-1").check()  # no
    page.locator(f"#{keys[SHORT]}").fill("Kyläyhdistys")
    page.locator(f"#{keys[LONG]}").fill(HOSTILE)
    page.get_by_role("button", name=live_server.t("Save the paper answer")).click()
    expect(page.locator(".flash-success")).to_have_text(
        live_server.t("The paper answer was saved. You can type in the next one.")
    )

    with live_server.session() as session:
        answer = session.scalars(
            select(SurveyAnswer)
            .where(SurveyAnswer.survey_id == survey_id)
            .order_by(SurveyAnswer.id.desc())
        ).first()
        assert answer is not None
        user_id = session.scalar(select(User.id).where(User.email == staff.email))
        assert answer.entered_by_id == user_id
        response = session.get(FormResponse, answer.response_id)
        assert response is not None and response.source == "paper"
        stored = response.answers
    rank = options[keys[RANKING]]
    assert stored[keys[CHOICE]] == options[keys[CHOICE]][1]
    assert stored[keys[MULTIPLE]] == [options[keys[MULTIPLE]][0], options[keys[MULTIPLE]][2]]
    assert stored[keys[RATING]] == 4
    assert stored[keys[RANKING]] == [rank[3], rank[0], rank[1]]
    assert stored[keys[YES_NO]] is False
    assert stored[keys[LONG]] == HOSTILE

    # The results count it among the paper answers …
    page.goto(f"/staff/surveys/{survey_id}/results")
    expect(page.locator(".result-count")).to_contain_text(
        _tr(live_server, "%(num)s typed in from paper", "%(num)s typed in from paper", 5)
        % {"num": 5}
    )
    # … and the "on paper" filter (five paper answers: enough to be shown) lists its text.
    page.locator("#source").select_option("paper")
    page.get_by_role("button", name=live_server.t("Filter"), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/staff/surveys/{survey_id}/results\?source=paper&"))
    expect(page.locator(".result-count")).to_contain_text(
        live_server.t("%(n)s of %(total)s answers match the filters", n=5, total=11)
    )
    texts = page.locator(f"#question-{keys[LONG]} .free-text")
    expect(texts.filter(has_text=HOSTILE)).to_have_count(1)  # shown as text, not run
    assert_accessible(page, "staff results filtered to paper answers")

    # The online answers alone leave it out.
    page.goto(f"/staff/surveys/{survey_id}/results?source=web")
    expect(page.locator(f"#question-{keys[LONG]} .free-text")).to_have_count(6)
    expect(texts.filter(has_text=HOSTILE)).to_have_count(0)


def test_results_pages_with_charts_are_accessible(
    browser_page: Page, live_server: LiveServer, staff_login: Any
) -> None:
    page = browser_page
    survey_id, slug, keys, _ids = _seed(live_server, web=8, paper=3)
    staff_login(page)

    page.goto(f"/staff/surveys/{survey_id}/results")
    charts = page.locator("figure.chart svg[role=img]")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 4  # choices, several choices, rating, ranking, yes/no
    expect(page.locator(f"#question-{keys[RATING]} .chart-table")).to_be_visible()
    assert_accessible(page, "staff results page with charts")

    # A filter by an answer to another question, from the form.
    page.locator("#answer").select_option(index=1)
    page.get_by_role("button", name=live_server.t("Filter"), exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]answer=q_[^&]+"))
    expect(page.get_by_role("link", name=live_server.t("Clear the filters"))).to_be_visible()
    assert_accessible(page, "staff results page with a filter")

    # Publish through the page; the public page is then there, charts and all.
    page.goto(f"/staff/surveys/{survey_id}/results")
    page.get_by_role("button", name=live_server.t("Publish the results")).click()
    expect(page.locator(".flash-success")).to_have_text(live_server.t("The results are published."))
    page.get_by_role("link", name=live_server.t("Open the public results page")).click()
    expect(page).to_have_url(f"{live_server.url}/surveys/{slug}/results")
    expect(page.locator("figure.chart svg[role=img]").first).to_be_visible()
    assert page.locator("form.filters").count() == 0
    assert_accessible(page, "published public results page")


def _tab_until(page: Page, script: str, what: str, limit: int = 200) -> None:
    """Press Tab until `script` (a JS expression on `el`, the focused element) is true."""
    check = f"(() => {{ const el = document.activeElement; return !!(el && ({script})); }})()"
    for _ in range(limit):
        if page.evaluate(check):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{what} was never reached with the Tab key")


def test_hide_a_text_by_keyboard_takes_it_off_the_public_page(
    browser_page: Page, live_server: LiveServer, staff_login: Any, console: ConsoleWatch
) -> None:
    page = browser_page
    console.allow(r"status of 422 .*/hide")  # the blank reason is refused with 422
    keep, drop = "Lisää iltatilaisuuksia, kiitos.", "Naapurin Matti on hankala ihminen."
    survey_id, slug, keys, ids = _seed(live_server, web=6, paper=0, texts=[keep, drop])
    with live_server.session() as session:
        survey = session.get(Survey, survey_id)
        results.publish_results(session, survey, now=dt.datetime.now(dt.UTC))
    page.goto(f"/surveys/{slug}/results")
    expect(page.locator(".free-text", has_text=drop)).to_have_count(3)

    staff_login(page)
    page.goto(f"/staff/surveys/{survey_id}/results")
    item_id = f"text-{ids[1]}-{keys[LONG]}"  # the second answer has the text to hide
    item = page.locator(f"#{item_id}")
    expect(item.locator(".free-text")).to_have_text(drop)

    # Tab to the item's "hide" disclosure, open it with Enter, type the reason, send with Enter.
    _tab_until(
        page,
        f"el.tagName === 'SUMMARY' && el.closest('li') && el.closest('li').id === '{item_id}'",
        "the hide disclosure",
    )
    page.keyboard.press("Enter")
    expect(item.locator("details.hide-text")).to_have_attribute("open", "")
    reason_id = f"reason-{ids[1]}-{keys[LONG]}"
    _tab_until(page, f"el.id === '{reason_id}'", "the reason field")
    # Spaces are no reason: the message comes back in place, the keyboard focus on the field.
    page.keyboard.type("   ")
    _tab_until(page, f"el.type === 'submit' && el.closest('li').id === '{item_id}'", "Hide")
    page.keyboard.press("Enter")
    reason = page.locator(f"#{reason_id}")
    expect(item.locator(".field-error")).to_have_text(live_server.t("Say why the text is hidden."))
    expect(reason).to_be_focused()
    expect(reason).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "staff results page with a refused reason")
    page.keyboard.press("Control+A")
    page.keyboard.type("Nimeää yksityishenkilön")
    page.keyboard.press("Enter")  # sends the form from its text field

    expect(item).to_have_class("free-text-item is-hidden")
    expect(item.locator(".hidden-note")).to_contain_text("Nimeää yksityishenkilön")
    expect(item.locator("[role=status]")).to_have_text(
        live_server.t("The text is hidden from the public.")
    )
    # The keyboard user is not thrown back to the top: focus stays on the item's button.
    show_again = item.get_by_role("button", name=live_server.t("Show to the public again"))
    expect(show_again).to_be_focused()
    assert_accessible(page, "staff results page after hiding a text")

    with live_server.session() as session:
        hidden = results.text_item(session, session.get(Survey, survey_id), ids[1], keys[LONG])
        assert hidden.hidden and hidden.reason == "Nimeää yksityishenkilön"

    # Only that one answer's text is gone from the public page; the same words from the
    # other answers and the other texts stay.
    page.goto(f"/surveys/{slug}/results")
    expect(page.locator(".free-text", has_text=drop)).to_have_count(2)
    expect(page.locator(".free-text", has_text=keep)).to_have_count(3)
    assert "Nimeää yksityishenkilön" not in page.content()
    assert_accessible(page, "public results page after hiding a text")
