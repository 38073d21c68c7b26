"""A comment round as people use it: a participant comments on two sections and answers the
general questions; staff decide on the comments and publish the digest, which arrives as a PDF."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page, expect
from pypdf import PdfReader

from participation.accounts import services as accounts
from participation.rounds import drafts, services
from participation.rounds.models import Round
from tests.browser.a11y import assert_accessible
from tests.conftest import TEST_PASSWORD, SMTPSink, body_of

if TYPE_CHECKING:
    from tests.browser.conftest import LiveServer

DRAFT = """\
# Tausta

Selainkylässä on kaksikymmentä yhdistystä.

# Tilat

Koulujen salit ovat iltaisin yhdistysten käytössä.

# Viestintä

Uutiskirje ilmestyy neljä kertaa vuodessa.
"""


def _make_round(live_server: LiveServer, *, closes_in: dt.timedelta) -> Any:
    now = dt.datetime.now(dt.UTC)
    with live_server.session() as session:
        owner = accounts.create_user(
            session,
            email=f"owner{now.timestamp()}@example.org",
            name="Kierroksen Omistaja",
            role="coordinator",
            password=TEST_PASSWORD,
        )
        draft = drafts.create_draft(
            session,
            title="Selainkylän ohjelma",
            parsed=drafts.parse_markdown(DRAFT),
            staff_user_id=owner.id,
            now=now,
        )
        session.flush()
        version = drafts.get_draft(session, draft.id).versions[-1]
        round_ = services.create_round(
            session,
            {
                "title": f"Selainkierros {now.timestamp()}",
                "intro": "Kerro mielipiteesi.",
                "draft_version_id": version.id,
                "opens_at": now - dt.timedelta(days=1),
                "closes_at": now + closes_in,
                "section_comments": True,
                "comments_public": True,
                "association_required": False,
                "consent_key": services.ROUND_CONSENT,
                "retention_days": 365,
                "max_comment_length": 1000,
            },
            staff_user_id=owner.id,
            now=now,
        )
        session.flush()
        return round_.id, round_.slug


def _comment(page: Page, section: str, text: str, *, first: bool) -> None:
    area = page.locator(f"section.draft-section:has(h2:text-is('{section}'))")
    area.locator("summary").first.click()
    area.locator("textarea").fill(text)
    if first:
        area.locator("input[autocomplete=name]").fill("Pirjo Osallistuja")
        area.locator("input[type=email]").fill("pirjo@selainkyla.example")
        area.locator("input[name$='-consent']").check()
    area.get_by_role("button").last.click()
    expect(area).to_contain_text(text)


def test_participant_comments_staff_decides_and_publishes(
    browser_page: Page, live_server: LiveServer, staff_login: Callable[..., Any]
) -> None:
    page, t = browser_page, live_server.t
    round_id, slug = _make_round(live_server, closes_in=dt.timedelta(days=7))

    page.goto(f"/rounds/{slug}")
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    assert_accessible(page, "round page")
    _comment(page, "Tilat", "Salivuoroja tarvitaan myös viikonloppuisin.", first=True)
    _comment(page, "Viestintä", "Uutiskirje <script>alert(1)</script> kuusi kertaa.", first=False)
    assert_accessible(page, "round page after commenting")
    # The general questions; "about you" was asked once already.
    answers = page.locator("#area-answers")
    answers.locator("textarea").first.fill("Tilat ovat tärkeimmät.")
    answers.get_by_role("button", name=t("Send the answers")).click()
    expect(page.locator("#area-answers .flash-success")).to_be_visible()

    # Staff decide on both comments, inline; the progress line follows.
    staff_login(page, "coordinator")
    page.goto(f"/staff/rounds/{round_id}/comments")
    expect(page.locator("#review-progress-text")).to_contain_text("0 / 2")
    assert_accessible(page, "staff decision page")
    decisions = [(t("Taken into account"), "Lisätään vuoroja lauantaisin."), (t("Noted"), "")]
    for n, (label, reason) in enumerate(decisions, start=1):
        group = page.get_by_role("group", name=t("Decision on comment %(n)s", n=n))
        group.get_by_label(label, exact=True).check()
        if reason:
            group.locator("textarea").fill(reason)
        group.get_by_role("button").click()
        expect(page.locator("#review-progress-text")).to_contain_text(f"{n} / 2")
    page.reload()
    expect(page.locator("#review-progress-text")).to_contain_text("2 / 2")
    expect(page.get_by_text("Lisätään vuoroja lauantaisin.")).to_be_visible()
    expect(page.get_by_text("Uutiskirje <script>alert(1)</script> kuusi kertaa.")).to_be_visible()
    assert_accessible(page, "staff decision page after decisions")

    # The round closes; staff publish the digest and the participant's mail arrives with the PDF.
    with live_server.session() as session:
        round_ = session.get(Round, round_id)
        round_.closes_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    page.goto(f"/rounds/{slug}")
    assert_accessible(page, "closed round page")
    sink = SMTPSink()
    sink.start()
    live_server.app.config["MAIL_URL"] = sink.url
    try:
        page.goto(f"/staff/rounds/{round_id}")
        page.get_by_role("button", name=t("Publish the digest and mail it")).click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        for _ in range(60):
            if sink.to("pirjo@selainkyla.example"):
                break
            page.wait_for_timeout(500)
        mails = sink.to("pirjo@selainkyla.example")
        assert len(mails) == 1
        body = body_of(mails[0])
        assert "Salivuoroja tarvitaan myös viikonloppuisin." in body
        assert "Lisätään vuoroja lauantaisin." in body
        pdfs = [p for p in mails[0].iter_attachments() if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1
        text = "\n".join(
            page_.extract_text() for page_ in PdfReader(io.BytesIO(pdfs[0].get_content())).pages
        )
        flat = " ".join(text.split())
        assert "Salivuoroja tarvitaan" in flat and "Tilat ovat tärkeimmät." in flat
    finally:
        live_server.app.config["MAIL_URL"] = f"file://{live_server.app.instance_path}/outbox"
        sink.stop()
    page.goto(f"/rounds/{slug}")
    expect(page.locator(".digest-public a[href$='.pdf']")).to_be_visible()
