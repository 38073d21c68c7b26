"""The evening's summary in the browser: the editor (prefilled from the notes) previews typed
Markdown in place, saves and publishes; the public summary page shows it with the vote's chart.
axe-core on the editor, the publish page and the public page."""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page, expect

from participation.digests.models import Digest
from participation.evenings import summary as summaries
from tests.browser.a11y import assert_accessible
from tests.evenings.test_summary import make_content

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer

TYPED = (
    "# Illan tärkein viesti\n\nYhdistykset haluavat **yhteisen kalenterin**.\n\n"
    "<script>alert('x')</script>"
)


def _shot(page: Page, name: str) -> None:
    """Keep a screenshot for a look by eye when SCREENSHOT_DIR is set."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


def test_edit_with_preview_publish_and_read_the_public_summary(
    browser_page: Page, live_server: LiveServer, staff_login: Any
) -> None:
    page = browser_page
    now = dt.datetime.now(dt.UTC)
    with live_server.session() as session:
        evening = make_content(session, now)
        event_id, slug = evening.event.id, evening.event.slug
        first_note = evening.notes[0]
    staff_login(page, role="coordinator")

    page.goto(f"/staff/events/{event_id}/evening/summary")
    body = page.locator("#body")
    expect(body).to_have_value(re.compile(first_note))
    assert_accessible(page, "summary editor")
    _shot(page, "evening-summary-editor.png")

    body.fill(TYPED)
    page.locator("#next_steps").fill("- Kaupunki selvittää kalenterin.")
    page.get_by_role("button", name=live_server.t("Preview")).click()
    preview = page.locator("#summary-preview")
    expect(preview.get_by_role("heading", name="Illan tärkein viesti")).to_be_visible()
    expect(preview.locator("strong")).to_have_text("yhteisen kalenterin")
    expect(preview).to_contain_text("<script>alert('x')</script>")  # shown as text
    assert preview.locator("script").count() == 0
    expect(body).to_have_value(TYPED)  # the preview swapped only its own region
    assert_accessible(page, "summary editor with a preview")
    _shot(page, "evening-summary-preview.png")

    page.get_by_role("button", name=live_server.t("Save"), exact=True).click()
    expect(page.locator(".flash-success")).to_have_text(live_server.t("The summary was saved."))
    expect(page.locator("#body")).to_have_value(TYPED)

    page.get_by_role("link", name=live_server.t("Publish…")).click()
    assert_accessible(page, "publish page")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/mailings/\d+$"))

    with live_server.session() as session:
        summary = summaries.find_summary(session, event_id)
        assert summary is not None and summary.published_at is not None
        digest = session.query(Digest).filter_by(kind="evening", subject_id=event_id).one()
        assert digest.status == "ready", digest.error  # the queue runs at once in this server

    # Publishing recorded the evening's figures for the year's report.
    page.goto("/staff/evenings/figures?year=" + str(evening.event.starts_at.year))
    row = page.locator(f"#event-{event_id}")
    expect(row).to_contain_text(evening.event.title)
    expect(row.locator("td.num").nth(4)).to_have_text("5")  # votes cast
    assert_accessible(page, "evening figures")
    _shot(page, "evening-figures.png")

    page.goto(f"/events/{slug}/summary")
    expect(page.get_by_role("heading", level=1)).to_contain_text(evening.event.title)
    expect(page.get_by_role("heading", name="Illan tärkein viesti")).to_be_visible()
    expect(page.locator(".summary-vote figure svg")).to_be_visible()
    expect(page.locator(".summary-vote table")).to_contain_text("Avustukset")
    expect(page.locator(f'a[href$="/digests/{digest.id}.pdf"]')).to_be_visible()
    assert_accessible(page, "public summary")
    _shot(page, "evening-summary-public.png")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page, "public summary on a phone")
    _shot(page, "evening-summary-public-phone.png")
