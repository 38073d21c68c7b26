"""The door in a real browser at phone width: search as you type, tap to mark attended and see
the count go up, add a walk-in; axe-core on the check-in page and on the registrations list."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page, expect
from sqlalchemy import select

from participation.accounts.models import User
from participation.events.models import WAITLISTED, Event
from tests.browser.a11y import assert_accessible
from tests.events.factories import make_event, make_registration

if TYPE_CHECKING:
    from tests.browser.conftest import ConsoleWatch, LiveServer

PHONE = {"width": 390, "height": 844}
NAMES = ("Aino Aalto", "Bertil Berg", "Ville Virta", "Veera Virtanen", "Åsa Öberg")


def _evening(live_server: LiveServer) -> int:
    """An evening with two groups, five registered people and one on the waitlist."""
    now = dt.datetime.now(dt.UTC)
    tag = uuid.uuid4().hex[:6]
    with live_server.session() as session:
        event = make_event(
            session,
            now=now,
            capacity=5,
            groups=[("Tilat", 3), ("Avustukset", None)],
            title=f"Selainilta {tag}",
        )
        for n, name in enumerate(NAMES):
            make_registration(
                session,
                event,
                name=name,
                email=f"p{n}-{tag}@example.org",
                now=now,
                group=event.groups[n % 2],
            )
        make_registration(
            session,
            event,
            name="Odottava Olli",
            email=f"olli-{tag}@example.org",
            now=now,
            status=WAITLISTED,
            group=event.groups[0],
        )
        return event.id


def _hand_over(live_server: LiveServer, event_id: int, email: str) -> None:
    """Make the signed-in contact person the event's creator: only then may they run its door."""
    with live_server.session() as session:
        event = session.get(Event, event_id)
        assert event is not None
        event.created_by_id = session.scalar(select(User.id).where(User.email == email))


def test_check_in_at_phone_width(
    browser_page: Page, live_server: LiveServer, staff_login: Callable[..., Any]
) -> None:
    page, t = browser_page, live_server.t
    event_id = _evening(live_server)
    page.set_viewport_size(PHONE)
    _hand_over(live_server, event_id, staff_login(page, "contact_person").email)

    page.goto(f"/staff/events/{event_id}/checkin")
    counts = page.locator("#door-counts")
    expect(counts).to_contain_text("0 / 5")
    expect(page.locator("#door-results .door-row")).to_have_count(6)
    assert_accessible(page, "check-in page")
    # Nothing runs off the side of a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Typing narrows the list without a page load; the waitlisted are apart.
    page.locator("#door-q").fill("virt")
    expect(page.locator("#door-results .door-row")).to_have_count(2)
    expect(page).to_have_url(f"{live_server.url}/staff/events/{event_id}/checkin?q=virt")
    page.locator("#door-q").fill("olli")
    expect(page.locator("#door-results .waitlisted .door-row")).to_have_count(1)

    # A tap marks Ville attended: the row and the count change in place.
    page.locator("#door-q").fill("ville")
    expect(page.locator("#door-results .door-row")).to_have_count(1)
    mark = page.get_by_role("button", name=t("Mark attended: %(name)s", name="Ville Virta"))
    box = mark.bounding_box()
    assert box is not None and box["height"] >= 44  # a target a thumb can hit
    mark.click()
    expect(counts).to_contain_text("1 / 5")
    undo = page.get_by_role("button", name=t("Undo attended: %(name)s", name="Ville Virta"))
    expect(undo).to_be_visible()
    expect(undo).to_be_focused()
    expect(page.locator("#door-status")).to_have_text(
        t("%(name)s marked attended.", name="Ville Virta")
    )
    assert_accessible(page, "check-in page after a tap")

    # Undo, and mark again.
    undo.click()
    expect(counts).to_contain_text("0 / 5")
    page.get_by_role("button", name=t("Mark attended: %(name)s", name="Ville Virta")).click()
    expect(counts).to_contain_text("1 / 5")

    # A walk-in: the event is full, they are in the room anyway.
    page.locator("#name").fill("Ovelta Tullut")
    page.get_by_role("button", name=t("Add and mark attended")).click()
    expect(page.locator("#door-results .door-row")).to_have_count(1)
    expect(page.locator("#door-results .door-row.is-attended")).to_contain_text("Ovelta Tullut")
    expect(counts).to_contain_text("2 / 6")
    assert_accessible(page, "check-in page after a walk-in")


def test_walk_in_without_a_name_keeps_the_typed_address(
    browser_page: Page,
    live_server: LiveServer,
    staff_login: Callable[..., Any],
    console: ConsoleWatch,
) -> None:
    console.allow(r"status of 422 .*/checkin/walk-in")  # the refused form comes back as 422
    page, t = browser_page, live_server.t
    event_id = _evening(live_server)
    page.set_viewport_size(PHONE)
    _hand_over(live_server, event_id, staff_login(page, "contact_person").email)
    page.goto(f"/staff/events/{event_id}/checkin")
    page.locator("#email").fill("ovelta@example.org")
    page.get_by_role("button", name=t("Add and mark attended")).click()
    expect(page.locator(".walk-in .error-summary")).to_be_visible()
    expect(page.locator("#email")).to_have_value("ovelta@example.org")
    assert_accessible(page, "check-in page with a walk-in error")


def test_registrations_list_is_accessible(
    browser_page: Page, live_server: LiveServer, staff_login: Callable[..., Any]
) -> None:
    page = browser_page
    event_id = _evening(live_server)
    staff_login(page, "coordinator")
    page.goto(f"/staff/events/{event_id}/registrations")
    expect(page.locator("table.registrations tbody tr")).to_have_count(6)
    assert_accessible(page, "registrations list")
    page.goto(f"/staff/events/{event_id}/registrations?status=waitlisted")
    expect(page.locator("table.registrations tbody tr")).to_have_count(1)
    page.goto(f"/staff/events/{event_id}/registrations/new")
    assert_accessible(page, "phone registration form")
    page.goto(f"/staff/events/{event_id}/figures")
    assert_accessible(page, "event figures")
    page.set_viewport_size(PHONE)
    page.goto(f"/staff/events/{event_id}/registrations")
    assert_accessible(page, "registrations list at phone width")
