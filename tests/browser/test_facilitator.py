"""The facilitator's notes page in Chromium at phone width: autosave with the network cut (the
text survives a reload and is saved once the network returns), a second facilitator's notes,
the page without JavaScript, and axe-core on the notes, links and overview pages."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Page, expect
from sqlalchemy import select

from participation.accounts.models import User
from participation.evenings import notes
from participation.evenings.models import GroupNote, WorkshopQuestion
from participation.evenings.notes_forms import new_key
from tests.browser.a11y import assert_accessible
from tests.evenings.factories import make_evening

if TYPE_CHECKING:
    from tests.browser.conftest import ConsoleWatch, LiveServer

PHONE = {"width": 390, "height": 844}
UNSAVED = (
    "Not saved yet — the text is kept on this device and is saved when the connection returns."
)


def _evening(live_server: LiveServer, creator_email: str | None = None) -> dict[str, Any]:
    """An evening open for notes with a link to its first group."""
    with live_server.session() as session:
        creator = (
            session.scalar(select(User.id).where(User.email == creator_email))
            if creator_email
            else None
        )
        event = make_evening(
            session,
            now=dt.datetime.now(dt.UTC),
            title=f"Yhdistysilta {uuid.uuid4().hex[:4]}",
            creator_id=creator,
        )
        _link, token = notes.create_link(
            session, event.id, event.groups[0].id, label="Anna", submission_key=new_key(),
            created_by_id=None, now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        questions = list(
            session.scalars(
                select(WorkshopQuestion)
                .where(WorkshopQuestion.event_id == event.id)
                .order_by(WorkshopQuestion.position)
            )
        )
        return {
            "event_id": event.id,
            "group": event.groups[0].name,
            "token": token,
            "questions": [(q.id, q.text) for q in questions],
        }


def _bodies(live_server: LiveServer, question_id: int) -> list[str]:
    with live_server.session() as session:
        return list(
            session.scalars(
                select(GroupNote.body)
                .where(GroupNote.question_id == question_id)
                .order_by(GroupNote.id)
            )
        )


def _allow_network_errors(console: ConsoleWatch) -> None:
    # The browser reports the requests that the cut network (or the test's block) failed.
    console.allow(r"ERR_INTERNET_DISCONNECTED|ERR_FAILED|ERR_NETWORK_CHANGED")
    console.allow(r"htmx:sendError|htmx:responseError")


def test_autosave_keeps_the_text_offline_across_a_reload_and_saves_it_when_online(
    browser_page: Page, live_server: LiveServer, console: ConsoleWatch
) -> None:
    _allow_network_errors(console)
    page = browser_page
    page.set_viewport_size(PHONE)
    evening = _evening(live_server)
    (first_id, first_text), (second_id, _second) = evening["questions"][:2]

    page.goto(f"/f/{evening['token']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(evening["group"])
    assert_accessible(page, "facilitator's notes page")
    first = page.get_by_role("textbox", name=re.compile(re.escape(first_text)))
    status = page.locator(f"#note-{first_id}-status")

    # Online: typing is saved a moment later.
    page.get_by_label(live_server.t("Your name (shown beside your notes)")).fill("Anna")
    page.locator(f"#note-{second_id}").fill("Tilat iltakäyttöön")
    expect(page.locator(f"#note-{second_id}-status")).to_contain_text(
        live_server.t("Saved %(time)s", time="").strip()
    )
    assert _bodies(live_server, second_id) == ["Tilat iltakäyttöön"]

    # The network drops while the facilitator writes.
    page.context.set_offline(True)
    first.click()
    first.press_sequentially("Avustushaku on selkeä")
    expect(status).to_have_text(live_server.t(UNSAVED))
    assert page.locator(f"#note-{first_id}-count").inner_text().startswith("21")

    # The connection returns but the saves still fail (the server is unreachable) and the
    # page is reloaded: the text comes back from the device's storage, still unsaved.
    page.route("**/notes/**", lambda route: route.abort())
    page.context.set_offline(False)
    page.reload()
    expect(first).to_have_value("Avustushaku on selkeä")
    expect(status).to_have_text(live_server.t(UNSAVED))
    assert _bodies(live_server, first_id) == []

    # Saves go through again: the page sends the draft as soon as it hears the network is back.
    page.unroute("**/notes/**")
    page.context.set_offline(True)
    page.context.set_offline(False)
    expect(status).to_contain_text(live_server.t("Saved %(time)s", time="").strip())
    assert _bodies(live_server, first_id) == ["Avustushaku on selkeä"]
    if os.environ.get("NOTES_SCREENSHOT"):
        page.screenshot(path=os.environ["NOTES_SCREENSHOT"], full_page=True)

    # After one more reload the server's text is shown (the draft is marked saved).
    page.reload()
    expect(first).to_have_value("Avustushaku on selkeä")
    expect(status).to_contain_text(live_server.t("Saved %(time)s", time="").strip())


def test_a_second_facilitator_writes_their_own_notes(
    browser_page: Page, live_server: LiveServer, console: ConsoleWatch
) -> None:
    page = browser_page
    page.set_viewport_size(PHONE)
    evening = _evening(live_server)
    question_id, question_text = evening["questions"][0]
    browser = page.context.browser
    assert browser is not None
    other = browser.new_context(base_url=live_server.url, locale="fi-FI", viewport=PHONE)
    try:
        second = other.new_page()
        page.goto(f"/f/{evening['token']}")
        second.goto(f"/f/{evening['token']}")
        page.locator(f"#note-{question_id}").fill("Anna: yhteinen kalenteri")
        second.locator(f"#note-{question_id}").fill("Ville: <b>tilat</b>")
        saved = live_server.t("Saved %(time)s", time="").strip()
        expect(page.locator(f"#note-{question_id}-status")).to_contain_text(saved)
        expect(second.locator(f"#note-{question_id}-status")).to_contain_text(saved)
        assert sorted(_bodies(live_server, question_id)) == [
            "Anna: yhteinen kalenteri",
            "Ville: <b>tilat</b>",
        ]
        page.reload()
        others = page.locator(f"#others-{question_id}")
        expect(others).to_contain_text("Ville: <b>tilat</b>")  # shown as text
        expect(page.locator(f"#note-{question_id}")).to_have_value("Anna: yhteinen kalenteri")
        assert question_text in page.content()
    finally:
        other.close()


def test_the_notes_page_saves_without_javascript(
    browser_page: Page, live_server: LiveServer
) -> None:
    evening = _evening(live_server)
    question_id, _text = evening["questions"][0]
    browser = browser_page.context.browser
    assert browser is not None
    context = browser.new_context(
        base_url=live_server.url, locale="fi-FI", java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto(f"/f/{evening['token']}")
        page.locator(f"#note-{question_id}").fill("Ilman skriptiä")
        page.get_by_role("button", name=live_server.t("Save the notes")).click()
        expect(page.locator(".flash-success")).to_contain_text(
            live_server.t("The notes were saved %(time)s.", time="").rstrip(".").strip()
        )
        expect(page.locator(f"#note-{question_id}")).to_have_value("Ilman skriptiä")
        assert _bodies(live_server, question_id) == ["Ilman skriptiä"]
    finally:
        context.close()


def test_links_and_the_live_overview_for_staff(
    browser_page: Page, live_server: LiveServer, staff_login: Any
) -> None:
    page = browser_page
    staff = staff_login(page, role="contact_person")
    evening = _evening(live_server, creator_email=staff.email)
    question_id, _text = evening["questions"][0]

    page.goto(f"/staff/events/{evening['event_id']}/evening/facilitators")
    expect(page.get_by_role("heading", level=1)).to_have_text(live_server.t("Facilitators' links"))
    assert_accessible(page, "facilitators' links")
    section = page.locator("section.notes-group").nth(1)
    section.get_by_label(live_server.t("Facilitator's name")).fill("Ville")
    section.get_by_role("button").click()
    url = page.locator("#new-link-url").input_value()
    assert "/f/" in url
    expect(page.locator(".notes-qr svg")).to_be_visible()
    assert_accessible(page, "a new facilitator's link")
    if os.environ.get("NOTES_SCREENSHOT"):
        page.screenshot(path=os.environ["NOTES_SCREENSHOT"].replace(".png", "-links.png"))

    # The new link works; its note shows on the overview without reloading it.
    page.goto(f"/staff/events/{evening['event_id']}/evening/overview")
    assert_accessible(page, "live overview")
    with live_server.session() as session:
        link = notes.get_link(session, evening["token"])
        notes.save_note(
            session, link, question_id, author_key="laite", author_name="Anna",
            body="Saapui juuri", revision=1, now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    expect(page.locator("#overview-live")).to_contain_text("Saapui juuri", timeout=8000)
    assert_accessible(page, "live overview with a note")
    if os.environ.get("NOTES_SCREENSHOT"):
        page.screenshot(path=os.environ["NOTES_SCREENSHOT"].replace(".png", "-overview.png"))
