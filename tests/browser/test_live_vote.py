"""The live vote in Chromium: staff make and open it, a phone votes with the keyboard only, and
the big screen (another page) shows the vote within two seconds; axe-core on the staff page,
the phone page and the big screen."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from participation.accounts.models import User
from participation.evenings import vote
from tests.browser.a11y import assert_accessible
from tests.evenings.factories import make_evening

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer

HOSTILE = "<img src=x onerror=alert(1)>"


def _evening_now(live_server: LiveServer, creator_email: str) -> int:
    with live_server.session() as session:
        now = dt.datetime.now(dt.UTC)
        event = make_evening(
            session,
            now=now,
            title=f"Yhdistysilta {uuid.uuid4().hex[:4]}",
            creator_id=session.scalar(select(User.id).where(User.email == creator_email)),
        )
        event.starts_at, event.ends_at = now - dt.timedelta(minutes=30), now + dt.timedelta(hours=2)
        session.flush()
        return event.id


def _tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _n in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_phone_votes_by_keyboard_and_the_big_screen_shows_it(
    browser_page: Page,
    chromium_browser: Browser,
    live_server: LiveServer,
    staff_login: Any,
    console: Any,
) -> None:
    page = browser_page
    staff = staff_login(page, role="contact_person")
    event_id = _evening_now(live_server, staff.email)

    # Staff make the vote on its page (the form prefilled) and open it.
    page.goto(f"/staff/events/{event_id}/evening/vote")
    assert_accessible(page, "live vote staff page, the form")
    page.get_by_label(live_server.t("Options, one per line")).fill(
        f"Avustukset\nYhteiset tilat\n{HOSTILE}\nVuosikello"
    )
    page.get_by_role("button", name=live_server.t("Make the vote")).click()
    page.get_by_role("button", name=live_server.t("Open the vote")).click()
    expect(page.locator(".badge.ok")).to_have_text(live_server.t("Open"))
    with live_server.session() as session:
        live = vote.event_vote(session, event_id)
        assert live is not None
        code = live.code
    expect(page.get_by_role("link", name=f"{live_server.url}/v/{code}")).to_be_visible()
    expect(
        page.get_by_role("img", name=live_server.t("QR code of the vote's address"))
    ).to_be_visible()
    assert_accessible(page, "live vote staff page, the vote open")

    # The big screen on the projector: another page of the same browser.
    screen = page.context.new_page()
    screen.goto(f"/v/{code}/screen")
    results = screen.locator("#screen-results")
    expect(results).to_have_attribute("data-total", "0")
    expect(screen.get_by_role("row", name=HOSTILE, exact=False)).to_be_visible()  # as text
    assert_accessible(screen, "big screen")

    # A phone: its own browser context (cookies), a phone-sized viewport, keyboard only.
    phone_context = chromium_browser.new_context(
        base_url=live_server.url, locale="fi-FI", viewport={"width": 390, "height": 844}
    )
    try:
        phone = phone_context.new_page()
        phone.on("pageerror", lambda exc: console.errors.append(f"phone page error: {exc}"))
        phone.goto(f"/v/{code}")
        assert_accessible(phone, "phone vote page")
        _tab_to(phone, "#choice-2")
        phone.keyboard.press("Space")
        _tab_to(phone, "#choice-4")
        phone.keyboard.press("Space")
        _tab_to(phone, "button.vote-send")
        phone.keyboard.press("Enter")
        expect(phone.locator("#vote-status")).to_have_text(
            live_server.t("Your vote was counted. Thank you!")
        )
        voted_at = dt.datetime.now(dt.UTC)
        # The screen polls every second: the vote shows within two.
        expect(results).to_have_attribute("data-total", "1", timeout=2000)
        shown = dt.datetime.now(dt.UTC) - voted_at
        assert shown < dt.timedelta(seconds=2)
        expect(screen.locator(".screen-total")).to_contain_text("1")
        expect(screen.get_by_role("row", name="Yhteiset tilat")).to_contain_text("100 %")
        if os.environ.get("VOTE_SCREENSHOT"):
            screen.screenshot(path=os.environ["VOTE_SCREENSHOT"])
            phone.screenshot(path=os.environ["VOTE_SCREENSHOT"].replace(".png", "-phone.png"))

        # Too many choices: the field's message, the choices kept, nothing stored.
        for n in (1, 3):
            phone.locator(f"#choice-{n}").check()
        phone.get_by_role("button", name=live_server.t("Vote")).click()
        expect(phone.locator("#vote-error-text")).to_have_text(
            live_server.t("Choose at most %(n)s options.", n=3)
        )
        expect(phone.locator("input[name=choice]:checked")).to_have_count(4)
        assert_accessible(phone, "phone vote page with an error")
    finally:
        phone_context.close()
    with live_server.session() as session:
        assert vote.vote_count(session, event_id) == 1
