"""The issue's main staff flow in a real browser: sign in, add an association, build a form with a
"pick three" question, preview it as a participant; axe-core on every page on the way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page, expect

from tests.browser.a11y import assert_accessible

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer

SEVEN = [
    "Kumppanuusfoorumit",
    "Yhdistysten uutiskirje",
    "Yhdistysagentit",
    "Avustukset",
    "Vapaaehtoistoiminnan koordinointi",
    "Tilat",
    "Kaupungin koordinointi",
]


def test_add_association_then_build_and_preview_a_pick_three_form(
    browser_page: Page, live_server: LiveServer, staff_login: Callable[..., Any]
) -> None:
    page, t = browser_page, live_server.t
    staff_login(page, "coordinator")

    # An association, through the staff pages; a bad e-mail first keeps what was typed.
    page.goto("/staff/associations/new")
    page.locator("#name").fill("Selainkylän Kyläyhdistys ry")
    page.locator("#email").fill("ei-osoite")
    page.locator("#area").fill("Selainkylä")
    page.get_by_role("button", name=t("Save")).click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#name")).to_have_value("Selainkylän Kyläyhdistys ry")
    assert_accessible(page, "association form with errors")
    page.locator("#email").fill("kylayhdistys@selainkyla.example")
    page.get_by_role("button", name=t("Save")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Selainkylän Kyläyhdistys ry")
    page.goto("/staff/associations?q=selainkyl")
    expect(page.get_by_role("link", name="Selainkylän Kyläyhdistys ry")).to_be_visible()
    page.get_by_role("link", name="Selainkylän Kyläyhdistys ry").click()
    page.locator("main a[href$='/edit']").first.click()
    expect(page.locator("#name")).to_have_value("Selainkylän Kyläyhdistys ry")
    assert_accessible(page, "association edit")

    # A form with three questions: a "pick three of seven", a rating and a free text.
    page.goto("/staff/forms/new")
    page.locator("#title").fill("Selaintestin kysely")
    page.get_by_role("button", name=t("Create form")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Selaintestin kysely")

    page.locator("#question_type").select_option("multiple_choice")
    page.locator("#label_fi").fill("Valitse seitsemästä kolme tärkeintä")
    page.locator("#options_fi").fill("\n".join(SEVEN))
    page.locator("#max_choices").fill("3")
    page.locator("#required").check()
    page.get_by_role("button", name=t("Add the question")).click()
    expect(page.locator(".question-label")).to_have_text(["Valitse seitsemästä kolme tärkeintä"])

    page.locator("#question_type").select_option("rating")
    page.locator("#label_fi").fill("Kuinka hyvin yhteistyö toimii?")
    page.locator("#scale_min").fill("1")
    page.locator("#scale_max").fill("5")
    page.get_by_role("button", name=t("Add the question")).click()

    page.locator("#question_type").select_option("long_text")
    page.locator("#label_fi").fill("Mitä muuta haluat sanoa?")
    page.get_by_role("button", name=t("Add the question")).click()
    expect(page.locator(".question-list > li")).to_have_count(3)
    assert_accessible(page, "form builder")

    # The preview, exactly as a participant sees it: four picked where three are allowed.
    page.get_by_role("link", name=t("Preview and try")).click()
    expect(page.get_by_role("group", name="Valitse seitsemästä kolme tärkeintä")).to_be_visible()
    assert_accessible(page, "form preview")
    for option in SEVEN[:4]:
        page.get_by_label(option).check()
    page.get_by_role("button", name=t("Send")).click()
    expect(page.locator(".error-summary")).to_contain_text("Valitse enintään 3.")
    for option in SEVEN[:4]:
        expect(page.get_by_label(option)).to_be_checked()
    expect(page.get_by_label(SEVEN[4])).not_to_be_checked()
    assert_accessible(page, "form preview with errors")

    # Three picked is accepted.
    page.get_by_label(SEVEN[3]).uncheck()
    page.get_by_role("button", name=t("Send")).click()
    expect(page.locator(".error-summary")).to_have_count(0)
