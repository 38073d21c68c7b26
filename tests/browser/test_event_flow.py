"""Events as people use them: register in the browser, get the confirmation mail, open its link
and cancel; a registration made with the keyboard alone; axe-core on every public state."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page, expect

from participation.events import services
from tests.browser.a11y import assert_accessible
from tests.conftest import SMTPSink, body_of
from tests.events.factories import make_event, make_registration

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer

LINK = re.compile(r"https?://\S+/events/manage/\S+")


def _event(live_server: LiveServer, **kwargs: Any) -> str:
    """A published event made in the live app; returns its slug."""
    now = dt.datetime.now(dt.UTC)
    with live_server.session() as session:
        services.ensure_event_consent_text(session, now)
        event = make_event(session, now=now, title=f"Selainilta {uuid.uuid4().hex[:6]}", **kwargs)
        session.flush()
        return event.slug


def _wait_for_mail(page: Page, sink: SMTPSink, address: str, count: int = 1) -> list[Any]:
    for _ in range(60):
        if len(sink.to(address)) >= count:
            break
        page.wait_for_timeout(250)
    return sink.to(address)


def _tab_to(page: Page, element_id: str, limit: int = 80) -> None:
    """Press Tab until the element has focus: the way a keyboard user gets there."""
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} was never reached with the Tab key")


def _type_and_send(page: Page, name: str, email: str) -> None:
    """From the focused name field: the name, the address, the first group, the consent and
    the send button, by keyboard only."""
    page.keyboard.type(name)
    _tab_to(page, "reg-email")
    page.keyboard.type(email)
    _tab_to(page, "reg-group_id-0")
    page.keyboard.press("Space")
    _tab_to(page, "reg-consent")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.locator(".registration-form button[type=submit]")).to_be_focused()
    page.keyboard.press("Enter")


def _tab_to_link(page: Page, text: str, limit: int = 80) -> None:
    """Press Tab until the link with this text has focus."""
    for _ in range(limit):
        focused = page.evaluate(
            "document.activeElement && document.activeElement.tagName === 'A'"
            " && document.activeElement.textContent.trim()"
        )
        if focused == text:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"the link {text!r} was never reached with the Tab key")


def test_register_get_the_mail_and_cancel_through_its_link(
    browser_page: Page, live_server: LiveServer
) -> None:
    page, t = browser_page, live_server.t
    slug = _event(live_server, capacity=10, groups=[("Liikunta", 5), ("Kulttuuri", 5)])
    sink = SMTPSink()
    sink.start()
    live_server.app.config["MAIL_URL"] = sink.url
    address = f"pirjo-{uuid.uuid4().hex[:6]}@selainkyla.example"
    try:
        page.goto("/events")
        expect(page.locator("html")).to_have_attribute("lang", "fi")
        assert_accessible(page, "event list")
        page.locator(f"a[href='/events/{slug}']").click()
        expect(page.locator("#registration form")).to_be_visible()
        assert_accessible(page, "event page")

        page.locator("#reg-name").fill("Pirjo <b>Osallistuja</b>")
        page.locator("#reg-email").fill(address)
        page.get_by_label(re.compile("^Kulttuuri")).check()
        page.locator("#reg-consent").check()
        page.locator(".registration-form button[type=submit]").click()
        done = page.locator(".registration-done")
        expect(done).to_contain_text(t("You are registered"))
        expect(done).to_be_focused()
        expect(page.locator("#event-seats")).to_contain_text("9")
        assert_accessible(page, "event page after registering")

        mails = _wait_for_mail(page, sink, address)
        assert len(mails) == 1
        body = body_of(mails[0])
        attachments = [p.get_content_type() for p in mails[0].iter_attachments()]
        assert "text/calendar" in attachments
        link = LINK.search(body)
        assert link, body

        page.goto(link.group(0))
        expect(page.locator("#registration-status")).to_contain_text(t("Confirmed"))
        expect(page.locator("#registration-group")).to_have_text("Kulttuuri")
        expect(page.get_by_text("Pirjo <b>Osallistuja</b>")).to_be_visible()
        assert_accessible(page, "own registration page")
        page.get_by_role("link", name=t("Cancel my registration…")).click()
        assert_accessible(page, "cancel confirmation")
        page.get_by_role("button", name=t("Yes, cancel my registration")).click()
        expect(page.locator("#registration-status")).to_contain_text(t("Cancelled"))
        expect(page.locator(".flash-success")).to_be_visible()
        assert len(_wait_for_mail(page, sink, address, count=2)) == 2
    finally:
        live_server.app.config["MAIL_URL"] = f"file://{live_server.app.instance_path}/outbox"
        sink.stop()


def test_a_keyboard_only_registration(browser_page: Page, live_server: LiveServer) -> None:
    page, t = browser_page, live_server.t
    slug = _event(live_server, capacity=10, groups=[("Liikunta", 5)])
    page.goto(f"/events/{slug}")

    # Sent empty first: the error summary takes the focus and its links lead to the fields.
    _tab_to(page, "reg-name")
    _tab_to(page, "reg-consent")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    summary = page.locator(".error-summary").first
    expect(summary).to_be_focused()
    expect(page.locator("#reg-name")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "registration form with errors")
    page.keyboard.press("Tab")  # the first link of the summary
    page.keyboard.press("Enter")
    expect(page.locator("#reg-name")).to_be_focused()

    _type_and_send(page, "Kalle Näppäimistö", f"kalle-{uuid.uuid4().hex[:6]}@selainkyla.example")
    done = page.locator(".registration-done")
    expect(done).to_contain_text(t("You are registered"))
    expect(done).to_be_focused()

    # Another person from the same page: a fresh, empty form in place, its first field focused.
    # (htmx wires the new links up once the swap settles, 20 ms on: a person is slower.)
    expect(page.locator("#registration")).not_to_have_class(re.compile("htmx-settling"))
    _tab_to_link(page, t("Register another person"))
    page.keyboard.press("Enter")
    expect(page.locator("#reg-name")).to_be_focused()
    expect(page.locator("#reg-name")).to_have_value("")
    _type_and_send(page, "Kaisa Näppäimistö", f"kaisa-{uuid.uuid4().hex[:6]}@selainkyla.example")
    expect(page.locator(".registration-done")).to_contain_text(t("You are registered"))


def test_the_full_and_closed_states_are_accessible(
    browser_page: Page, live_server: LiveServer
) -> None:
    page, t = browser_page, live_server.t
    now = dt.datetime.now(dt.UTC)
    full = _event(live_server, capacity=1)
    with live_server.session() as session:
        event = services.get_event_by_slug(session, full)
        make_registration(session, event, name="Eka", email=f"eka-{full}@example.fi", now=now)
    page.goto(f"/events/{full}")
    expect(page.locator(".waitlist-note")).to_be_visible()
    assert_accessible(page, "full event")
    page.locator("#reg-name").fill("Jonottaja")
    page.locator("#reg-email").fill(f"jono-{full}@example.fi")
    page.locator("#reg-consent").check()
    page.locator(".registration-form button[type=submit]").click()
    expect(page.locator(".registration-done")).to_contain_text(t("You are on the waitlist"))

    closed = _event(live_server, state="closed")
    page.goto(f"/events/{closed}")
    expect(page.locator("#registration")).to_contain_text(
        t("Registration closed on %(date)s.", date="").rstrip(".").strip()
    )
    expect(page.locator("#reg-name")).to_have_count(0)
    assert_accessible(page, "closed event")
