"""The shell every page shares, and staff sign-in, as a person uses them in a real browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect

from participation.accounts import services
from tests.browser.a11y import assert_accessible
from tests.conftest import TEST_PASSWORD

if TYPE_CHECKING:
    from tests.browser.conftest import ConsoleWatch, LiveServer


def _active(page: Page, expression: str) -> Any:
    return page.evaluate(f"(() => {{ const el = document.activeElement; return {expression}; }})()")


def _make_staff(live_server: LiveServer, email: str, role: str = "coordinator") -> None:
    with live_server.session() as session:
        services.create_user(
            session, email=email, name="Sanna Salasana", role=role, password=TEST_PASSWORD
        )


def test_home_is_finnish_and_accessible(browser_page: Page, live_server: LiveServer) -> None:
    page = browser_page
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("main")).to_be_visible()
    assert_accessible(page, "home")


def test_skip_link_moves_focus_to_main(browser_page: Page, live_server: LiveServer) -> None:
    page = browser_page
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0, "the focused skip link must be on screen"
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + "/#main")
    assert _active(page, "el.id") == "main"


def test_language_switcher_changes_language_and_keeps_the_page(
    browser_page: Page, live_server: LiveServer
) -> None:
    page = browser_page
    page.goto("/accessibility")
    switcher = page.locator("nav.lang")
    for name, code in (("På svenska", "sv"), ("In English", "en"), ("Suomeksi", "fi")):
        switcher.get_by_role("link", name=name).click()
        expect(page.locator("html")).to_have_attribute("lang", code)
        expect(page).to_have_url(live_server.url + "/accessibility")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            live_server.t("Accessibility statement", code)
        )
        expect(switcher.get_by_role("link", name=name)).to_have_attribute("aria-current", "true")


def test_accessibility_statement_is_linked_from_footer(
    browser_page: Page, live_server: LiveServer
) -> None:
    page = browser_page
    page.goto("/")
    title = live_server.t("Accessibility statement")
    page.get_by_role("contentinfo").get_by_role("link", name=title).click()
    expect(page).to_have_url(live_server.url + "/accessibility")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    assert_accessible(page, "accessibility statement")


def test_login_page_is_accessible_empty_and_with_errors(
    browser_page: Page, live_server: LiveServer
) -> None:
    page = browser_page
    page.goto("/login")
    assert_accessible(page, "login")
    page.get_by_role("button", name=live_server.t("Sign in")).click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text(live_server.t("Enter your e-mail address."))
    expect(summary).to_contain_text(live_server.t("Enter your password."))
    # Each message in the summary leads to its field.
    summary.get_by_role("link", name=live_server.t("Password"), exact=False).click()
    expect(page.get_by_label(live_server.t("Password"))).to_be_focused()
    assert_accessible(page, "login with errors")


def test_wrong_password_shows_the_message_and_keeps_the_email(
    browser_page: Page, live_server: LiveServer
) -> None:
    page = browser_page
    email = "vaara.salasana@example.org"
    _make_staff(live_server, email)
    page.goto("/login")
    page.get_by_label(live_server.t("E-mail")).fill(email)
    page.get_by_label(live_server.t("Password")).fill("not the password")
    page.get_by_role("button", name=live_server.t("Sign in")).click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(live_server.t("The e-mail address or password is wrong."))
    expect(summary).to_be_focused()  # app.js moves focus there for screen-reader users
    expect(page.get_by_label(live_server.t("E-mail"))).to_have_value(email)
    expect(page.get_by_label(live_server.t("Password"))).to_have_value("")
    expect(page).to_have_url(live_server.url + "/login")
    assert_accessible(page, "login with a wrong password")


def test_hostile_email_is_shown_back_as_text(browser_page: Page, live_server: LiveServer) -> None:
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    hostile = '"><script>alert(1)</script><b>x'
    page.goto("/login")
    page.get_by_label(live_server.t("E-mail")).fill(hostile)
    page.get_by_label(live_server.t("Password")).fill("whatever it is")
    page.get_by_role("button", name=live_server.t("Sign in")).click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label(live_server.t("E-mail"))).to_have_value(hostile)
    assert page.locator("main b").count() == 0
    assert dialogs == []


def test_login_lands_on_overview_and_sign_out_works(
    browser_page: Page, live_server: LiveServer, staff_login: Callable[..., Any]
) -> None:
    page = browser_page
    staff = staff_login(page)
    staff_nav = page.get_by_role("navigation", name=live_server.t("Staff"))
    expect(staff_nav).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(staff.name)
    assert_accessible(page, "staff overview")

    staff_nav.get_by_role("button", name=live_server.t("Sign out"), exact=False).click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator(".flash")).to_have_text(live_server.t("You have signed out."))
    expect(page.get_by_role("navigation", name=live_server.t("Staff"))).to_have_count(0)
    page.goto("/staff")
    expect(page).to_have_url(live_server.url + "/login?next=/staff")


def test_contact_person_signs_in_too(
    browser_page: Page, live_server: LiveServer, staff_login: Callable[..., Any]
) -> None:
    page = browser_page
    staff_login(page, role="contact_person")
    expect(page.get_by_role("main")).to_contain_text(live_server.t("Contact person"))


def test_keyboard_only_login(browser_page: Page, live_server: LiveServer) -> None:
    page = browser_page
    email = "nappaimisto@example.org"
    _make_staff(live_server, email)
    page.goto("/login")
    for _ in range(20):  # through the skip link, the brand and the language links
        page.keyboard.press("Tab")
        if _active(page, "el.id") == "email":
            break
    else:
        raise AssertionError("Tab never reached the e-mail field")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert _active(page, "el.id") == "password"
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + "/staff")


def _assert_no_horizontal_scroll(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways at {width}px ({scroll_width}px)"


def test_phone_width_has_no_sideways_scroll_and_staff_nav_works(
    browser_page: Page, live_server: LiveServer, staff_login: Callable[..., Any]
) -> None:
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/")
    _assert_no_horizontal_scroll(page, 360)
    page.goto("/login")
    _assert_no_horizontal_scroll(page, 360)

    staff_login(page)
    _assert_no_horizontal_scroll(page, 360)
    staff_nav = page.get_by_role("navigation", name=live_server.t("Staff"))
    items = staff_nav.locator("a, button")
    assert items.count() >= 3
    for i in range(items.count()):
        item = items.nth(i)
        expect(item).to_be_visible()
        box = item.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (
            f"staff nav item {item.inner_text()!r} is off screen at 360px: {box}"
        )
    staff_nav.get_by_role("link", name=live_server.t("Sessions")).click()
    expect(page).to_have_url(live_server.url + "/staff/sessions")
    _assert_no_horizontal_scroll(page, 360)
    assert_accessible(page, "sessions at phone width")

    # A long address in a table must wrap, not push the page sideways.
    _make_staff(live_server, "etunimi.pitka-sukunimi.yhteyshenkilo@liikuntapalvelut.example.org")
    staff_nav.get_by_role("link", name=live_server.t("Staff accounts")).click()
    expect(page).to_have_url(live_server.url + "/staff/users")
    expect(page.get_by_role("main")).to_contain_text("liikuntapalvelut")
    _assert_no_horizontal_scroll(page, 360)
    assert_accessible(page, "staff accounts at phone width")


def test_console_watch_catches_csp_violations(browser_page: Page, console: ConsoleWatch) -> None:
    """The safety net itself: an inline style or script is blocked by the CSP and reported."""
    page = browser_page
    page.goto("/")
    page.evaluate(
        """() => {
        const div = document.createElement("div");
        div.setAttribute("style", "color: red");
        document.body.append(div);
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.append(script);
    }"""
    )
    for _ in range(40):  # console events arrive asynchronously
        blocked = " ".join(console.errors)
        if "style-src" in blocked and "script-src" in blocked:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("window.inlineRan") is None
    assert "style-src" in blocked and "script-src" in blocked, console.errors
    console.errors.clear()  # seen and expected: do not fail this test at teardown


def test_axe_check_catches_a_violation(browser_page: Page) -> None:
    """The other safety net: a button without a name must fail the accessibility check."""
    page = browser_page
    page.goto("/")
    page.evaluate("() => document.querySelector('main').append(document.createElement('button'))")
    with pytest.raises(pytest.fail.Exception, match=r"button-name \[critical\]"):
        assert_accessible(page, "home with a nameless button")
