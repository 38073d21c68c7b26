"""The printable QR page of a survey's public link in Chromium: no CSP complaints (the SVG is
inline without styles), axe-core clean, and printed it is one page without the site's header."""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import select

from participation.accounts.models import User
from tests.browser.a11y import assert_accessible
from tests.surveys.factories import make_survey

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer


def test_qr_page_is_accessible_and_prints_on_one_page(
    browser_page: Page, live_server: LiveServer, staff_login: Any
) -> None:
    page = browser_page
    staff = staff_login(page, role="contact_person")
    with live_server.session() as session:
        survey = make_survey(
            session,
            now=dt.datetime.now(dt.UTC),
            title=f"Palaute yhdistysillasta {uuid.uuid4().hex[:4]}",
            # A contact person opens the surveys they created.
            creator_id=session.scalar(select(User.id).where(User.email == staff.email)),
        )
        survey_id, slug, title = survey.id, survey.slug, survey.title

    page.goto(f"/staff/surveys/{survey_id}")
    page.get_by_role("link", name=live_server.t("QR code to print")).click()
    expect(page).to_have_url(f"{live_server.url}/staff/surveys/{survey_id}/qr")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".qr-url")).to_have_text(f"{live_server.url}/surveys/{slug}")
    code = page.get_by_role(
        "img", name=live_server.t("QR code of the survey “%(title)s”", title=title)
    )
    expect(code).to_be_visible()
    box = code.bounding_box()
    assert box is not None and box["width"] >= 200 and abs(box["width"] - box["height"]) < 2
    assert_accessible(page, "survey QR page")
    if os.environ.get("QR_SCREENSHOT"):
        page.screenshot(path=os.environ["QR_SCREENSHOT"], full_page=True)

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".qr-screen-only").first).to_be_hidden()
    expect(code).to_be_visible()
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4")))
    assert len(pdf.pages) == 1
    printed = "".join(pdf.pages[0].extract_text().split())
    assert title.replace(" ", "") in printed and f"/surveys/{slug}" in printed
    if os.environ.get("QR_SCREENSHOT"):
        page.screenshot(path=os.environ["QR_SCREENSHOT"].replace(".png", "-print.png"))
