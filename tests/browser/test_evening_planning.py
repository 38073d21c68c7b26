"""Planning an evening in the browser: the staff hub (programme, the usual questions, a theme),
the event's public page (programme, proposing a theme in place, voting and taking a vote back),
the same without JavaScript, and axe-core on each state."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Browser, Page, expect

from participation.evenings import planning
from participation.events import services
from tests.browser.a11y import assert_accessible
from tests.evenings.factories import make_evening

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer


def _evening(live_server: LiveServer, **kwargs: Any) -> tuple[int, str]:
    """A published association evening made in the live app: (id, slug)."""
    now = dt.datetime.now(dt.UTC)
    with live_server.session() as session:
        services.ensure_event_consent_text(session, now)
        event = make_evening(
            session, now=now, title=f"Yhdistysilta {uuid.uuid4().hex[:6]}", **kwargs
        )
        session.flush()
        return event.id, event.slug


def test_staff_plan_the_programme_questions_and_a_theme(
    browser_page: Page, live_server: LiveServer, staff_login: Any, console: Any
) -> None:
    page, t = browser_page, live_server.t
    console.allow(r"status of 422 .*/evening/programme")  # the refused time comes back as 422
    event_id, slug = _evening(live_server, questions=[])
    staff_login(page)
    page.goto(f"/staff/events/{event_id}")
    page.get_by_role(
        "link", name=t("The evening: programme, groups' notes, live vote, summary")
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        t("The evening: %(title)s", title="")
    )
    assert_accessible(page, "the evening's hub, empty")

    # A time that is not one: the message beside the field, the text kept.
    page.locator("#item-at").fill("puoli kuusi")
    page.locator("#item-title").fill("Tervetuloa ja kahvit")
    page.locator("#item-speaker").fill("Kulttuurisihteeri")
    page.locator("#add-programme button[type=submit]").click()
    expect(page.locator("#item-at-error")).to_be_visible()
    expect(page.locator("#item-title")).to_have_value("Tervetuloa ja kahvit")
    expect(page.locator(".error-summary").first).to_be_focused()
    assert_accessible(page, "the hub with a refused programme item")

    page.locator("#item-at").fill("17.00")
    page.locator("#add-programme button[type=submit]").click()
    row = page.locator(".planning-table tbody tr").first
    expect(row).to_contain_text("Tervetuloa ja kahvit")
    expect(row).to_contain_text("Kulttuurisihteeri")

    page.get_by_role("button", name=t("Use the usual five questions")).click()
    expect(page.locator(".planning-questions > li")).to_have_count(5)

    page.locator("#theme-title").fill("Yhteinen vuosikalenteri")
    page.locator("#add-theme button[type=submit]").click()
    expect(page.locator(".planning-themes tbody tr")).to_have_count(1)
    assert_accessible(page, "the evening's hub, planned")

    page.set_viewport_size({"width": 380, "height": 800})
    page.goto(f"/events/{slug}")
    expect(page.locator(".programme-list")).to_contain_text("Tervetuloa ja kahvit")


def test_propose_and_vote_on_the_event_page(
    browser_page: Page, live_server: LiveServer, console: Any
) -> None:
    page, t = browser_page, live_server.t
    console.allow(r"status of 422 .*/themes")  # the refused idea comes back in place as 422
    event_id, slug = _evening(live_server)
    now = dt.datetime.now(dt.UTC)
    with live_server.session() as session:
        planning.add_programme_item(
            session, event_id, at="17.00", title="Tervetuloa", speaker="", now=now
        )
        planning.add_theme(
            session, event_id, title="Tilat iltakäyttöön", description="", association_id=None,
            staff_user_id=None, now=now,
        )  # fmt: skip
    page.goto(f"/events/{slug}")
    themes = page.locator("#evening-themes")
    expect(themes).to_be_visible()
    assert_accessible(page, "event page with themes")

    # Refused in place: the text stays, the summary gets the focus.
    page.locator("#idea-description").fill("Kaikki tapahtumat samaan paikkaan")
    page.locator(".theme-form button[type=submit]").click()
    expect(page.locator(".theme-form .error-summary")).to_be_focused()
    expect(page.locator("#idea-description")).to_have_value("Kaikki tapahtumat samaan paikkaan")
    assert_accessible(page, "event page with a refused theme idea")

    page.locator("#idea-title").fill("Yhteinen <vuosikalenteri>")
    page.locator(".theme-form button[type=submit]").click()
    expect(page.locator(".theme-done")).to_be_focused()
    expect(page.locator(".theme-list")).to_contain_text("Yhteinen <vuosikalenteri>")
    expect(page.locator("#idea-title")).to_have_value("")

    # Vote with the keyboard; the count and the button change in place.
    with live_server.session() as session:
        rooms = next(
            r.theme.id
            for r in planning.themes(session, event_id, include_hidden=False)
            if r.theme.title == "Tilat iltakäyttöön"
        )
    button = page.locator(f"#theme-{rooms}-button")
    # The proposal re-rendered the list: wait until htmx has taken over its new forms (a key
    # pressed sooner posts the plain form and reloads the page, as without JavaScript).
    form, taken_over = f"#theme-{rooms}-vote form", False
    for _ in range(50):
        taken_over = page.evaluate(
            "f => { const d = document.querySelector(f)['htmx-internal-data'];"
            " return !!(d && d.initHash); }",
            form,
        )
        if taken_over:
            break
        page.wait_for_timeout(100)
    assert taken_over
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#theme-{rooms}-vote")).to_contain_text(
        t("%(num)s vote", num=1).replace("%(num)s", "1")
    )
    expect(button).to_have_attribute("aria-pressed", "true")
    # htmx puts the focus back on the new button (same id), so the keyboard user stays there.
    # Polled from Python: wait_for_function compiles its predicate in the page, which the CSP
    # (no 'unsafe-eval') refuses.
    wanted, focused = f"theme-{rooms}-button", ""
    for _ in range(50):
        focused = page.evaluate("() => document.activeElement ? document.activeElement.id : ''")
        if focused == wanted:
            break
        page.wait_for_timeout(100)
    assert focused == wanted
    assert_accessible(page, "event page after a vote")

    page.reload()
    expect(page.locator(f"#theme-{rooms}-button")).to_have_attribute("aria-pressed", "true")
    page.locator(f"#theme-{rooms}-button").click()
    expect(page.locator(f"#theme-{rooms}-button")).to_have_attribute("aria-pressed", "false")
    with live_server.session() as session:
        assert planning.count_theme_votes(session, rooms) == 0


def test_without_javascript_a_vote_and_a_proposal_still_work(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    _event_id, slug = _evening(live_server)
    context = chromium_browser.new_context(
        base_url=live_server.url, locale="fi-FI", java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(f"/events/{slug}")
        page.locator("#idea-title").fill("Viestintä")
        page.locator(".theme-form button[type=submit]").click()
        expect(page).to_have_url(f"{live_server.url}/events/{slug}#evening-themes")
        item = page.locator(".theme-item", has_text="Viestintä")
        item.locator("button").click()
        expect(page.locator(".theme-item", has_text="Viestintä")).to_contain_text("1")
        expect(page.locator(".theme-item button")).to_have_attribute("aria-pressed", "true")

        page.locator("#idea-description").fill("Ilman otsikkoa")
        page.locator(".theme-form button[type=submit]").click()
        expect(page.locator("#idea-description")).to_have_value("Ilman otsikkoa")
        expect(page.locator(".error-summary")).to_be_visible()
        # axe-core needs JavaScript: the same form is checked in place above.
    finally:
        context.close()
