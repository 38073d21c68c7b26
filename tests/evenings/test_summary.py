"""The evening's summary: prefilled from the notes, the vote and the themes; Markdown sanitised;
saved with its text kept on errors; published only after the end as a PDF holding every note
and the vote's figures, mailed once to each recipient; the public page."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from participation.digests import services as digests
from participation.digests.models import READY, Digest
from participation.errors import Invalid, WrongState
from participation.evenings import digest as evening_digest
from participation.evenings import summary as summaries
from participation.evenings import vote
from participation.evenings.models import (
    ATTENDED,
    EveningFigures,
    EveningSummary,
    GroupNote,
    Theme,
    WorkshopQuestion,
)
from participation.events.models import WAITLISTED, Event, EventInvitation
from participation.mail import services as mail
from participation.mail.models import Mailing, OutboxMessage
from participation.mail.transport import make_transport
from participation.register.models import Category
from tests.conftest import body_of
from tests.digests.conftest import pdf_text
from tests.digests.factories import make_association
from tests.evenings.factories import make_evening, ongoing
from tests.events import factories as ef
from tests.surveys.test_digest import save_pdf

HOSTILE = "<script>alert('x')</script> <img src=x onerror=alert(1)>"
OPTIONS = ["Avustukset", "Yhteinen vuosikello", "Tilat", "Viestintä"]


@dataclass
class Evening:
    event: Event
    notes: list[str]  # every note's marker text
    vote_id: int
    themes: list[Theme]


def _note(db: Any, event: Event, group_id: int, question_id: int, device: str, body: str) -> None:
    at = ongoing(event)
    db.add(
        GroupNote(
            event_id=event.id,
            group_id=group_id,
            question_id=question_id,
            author_key=device,
            author_name="Fasilitaattori",
            body=body,
            revision=1,
            created_at=at,
            updated_at=at,
        )
    )


def make_content(db: Any, now: dt.datetime, *, creator_id: int | None = None) -> Evening:
    """A past evening with three groups and three questions, two devices' notes for every
    group and question (one of them hostile), two handled themes and one not, and a live vote
    that five phones answered."""
    event = make_evening(db, now=now, state="past", creator_id=creator_id)
    questions = db.scalars(
        select(WorkshopQuestion)
        .where(WorkshopQuestion.event_id == event.id)
        .order_by(WorkshopQuestion.position)
    ).all()
    markers = []
    for g, group in enumerate(event.groups):
        for q, question in enumerate(questions):
            for device in ("A", "B"):
                marker = f"MUISTIO{g}{q}{device}"
                markers.append(marker)
                body = f"{marker} ensimmäinen rivi\ntoinen rivi"
                if (g, q, device) == (0, 0, "B"):
                    body += " " + HOSTILE
                _note(db, event, group.id, question.id, f"device-{device}-{g}", body)
    themes = []
    for index, (title, handled) in enumerate(
        [("TEEMAAVUSTUS", True), ("TEEMATILAT", True), ("TEEMAKASITTELEMATON", False)]
    ):
        theme = Theme(
            event_id=event.id,
            title=title,
            description=f"Kuvaus {index}",
            submission_key=f"summary-test-{event.id}-{index}",
            handled=handled,
        )
        db.add(theme)
        themes.append(theme)
    db.flush()
    user_id = ef._factory_user(db)
    live = vote.create_vote(
        db,
        event,
        question="Valitse kolme tärkeintä",
        options=OPTIONS,
        max_choices=3,
        second_vote="update",
        staff_user_id=user_id,
        now=event.starts_at,
    )
    vote.open_vote(db, live, event, now=event.starts_at)
    form_keys = _option_keys(db, live)
    # Avustukset 5, vuosikello 3, tilat 2, viestintä 0 of five phones.
    for picks in ([0, 1, 2], [0, 1], [0, 2], [0, 1], [0]):
        vote.cast_vote(
            db,
            live.code,
            [form_keys[i] for i in picks],
            phone=vote.new_phone(),
            secret="test-secret",
            now=ongoing(event),
        )
    db.flush()
    return Evening(event=event, notes=markers, vote_id=live.id, themes=themes)


def _option_keys(db: Any, live: Any) -> list[str]:
    question = vote.question_of(db, live)
    return [o["key"] for o in question["options"]]


def _save(db: Any, event: Event, now: dt.datetime, **values: Any) -> EveningSummary:
    raw = {"body": "# Yhteenveto\n\nHyvä ilta.", "audience": "all", "include_invited": True}
    raw.update(values)
    return summaries.save_summary(db, event, raw, now=now, staff_user_id=None)


def _deliver(db: Any, app: Any, now: dt.datetime) -> dict[str, int]:
    with make_transport(app.config["MAIL_URL"]) as transport:
        return mail.deliver_pending(db, transport, now=now)


# --- prefilling and Markdown -------------------------------------------------------------------


def test_prefill_holds_every_groups_notes_the_vote_and_the_handled_themes(
    db: Any, now: dt.datetime
) -> None:
    evening = make_content(db, now)
    body = summaries.prefill(db, evening.event)
    for marker in evening.notes:
        assert marker in body
    for group in evening.event.groups:
        assert group.name in body
    assert "Mitä pitäisi muuttaa?" in body
    assert "Valitse kolme tärkeintä" in body
    assert "1. Avustukset: 5" in body and "2. Yhteinen vuosikello: 3" in body
    assert "TEEMAAVUSTUS" in body and "TEEMATILAT" in body
    assert "TEEMAKASITTELEMATON" not in body
    # A note of two lines stays one list item, its second line inside it.
    html = summaries.render_markdown(body)
    assert "<li>MUISTIO00A ensimmäinen rivi\ntoinen rivi</li>" in html


def test_markdown_is_sanitised_and_its_headings_moved_under_the_page(db: Any) -> None:
    html = summaries.render_markdown(
        "# Otsikko\n\n## Alaotsikko\n\n"
        "<script>alert(1)</script>\n\n"
        "[klikkaa](javascript:alert(1)) [oikea](https://example.org) [suhteellinen](/staff)\n\n"
        '<b onclick="x()">lihava</b> **vahva**'
    )
    assert "<h3>Otsikko</h3>" in html and "<h4>Alaotsikko</h4>" in html
    assert "<script" not in html and "<b " not in html
    assert "&lt;script&gt;" in html and "&lt;b onclick" in html  # raw HTML is shown as text
    assert 'href="javascript' not in html
    assert 'href="https://example.org"' in html and 'rel="nofollow noopener noreferrer"' in html
    assert 'href="/staff"' not in html
    assert "<strong>vahva</strong>" in html
    assert "<h2>Otsikko</h2>" in summaries.render_markdown("# Otsikko", top=2)


# --- saving ------------------------------------------------------------------------------------


def test_saving_checks_the_choices_and_a_later_event(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now, state="past")
    earlier = ef.make_event(db, now=now, state="past", title="Aiempi ilta")
    earlier.starts_at = event.starts_at - dt.timedelta(days=30)
    later = ef.make_event(db, now=now, state="open", title="Seuraava ilta")
    with pytest.raises(Invalid) as raised:
        _save(db, event, now, next_event_id=str(earlier.id), audience="kaikki", body="x" * 100_001)
    assert set(raised.value.errors) == {"next_event_id", "audience", "body"}
    assert summaries.find_summary(db, event.id) is None
    saved = _save(db, event, now, next_event_id=str(later.id), audience=ATTENDED)
    assert (saved.next_event_id, saved.audience, saved.published_at) == (later.id, ATTENDED, None)
    assert later in summaries.later_events(db, event) and earlier not in summaries.later_events(
        db, event
    )


def test_the_editor_is_prefilled_previews_and_keeps_the_text_on_errors(
    db: Any, client: Any, login_as: Any, post: Any, now: dt.datetime
) -> None:
    evening = make_content(db, now)
    event = evening.event
    db.commit()
    login_as("coordinator")
    path = f"/staff/events/{event.id}/evening/summary"
    page = client.get(path).get_data(as_text=True)
    assert "MUISTIO00A" in page and "&lt;script&gt;" in page and "<script>alert" not in page

    typed = "# Oma otsikko\n\nTeksti <script>alert(2)</script> [linkki](javascript:x)"
    preview = post(path, {"body": typed, "preview": "1", "audience": "all"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "<h3>Oma otsikko</h3>" in html and "<script>alert(2)" not in html
    assert 'href="javascript' not in html.split('id="summary-preview"')[1]
    assert summaries.find_summary(db, event.id) is None  # a preview saves nothing

    partial = post(
        f"{path}/preview", {"body": typed, "audience": "all"}, headers={"HX-Request": "true"}
    )
    assert partial.status_code == 200
    text = partial.get_data(as_text=True)
    assert text.lstrip().startswith('<section id="summary-preview"')
    assert "<h3>Oma otsikko</h3>" in text and "<html" not in text

    refused = post(path, {"body": typed, "audience": "all", "next_event_id": "999999"})
    assert refused.status_code == 200
    assert "Oma otsikko" in refused.get_data(as_text=True)  # the typed text is kept
    assert summaries.find_summary(db, event.id) is None

    refill = post(path, {"body": "VANHATEKSTI", "refill": "1", "audience": "all"})
    refilled = refill.get_data(as_text=True)
    assert "VANHATEKSTI" in refilled and "MUISTIO22B" in refilled
    assert summaries.find_summary(db, event.id) is None

    saved = post(path, {"body": typed, "next_steps": "Jatketaan.", "audience": "attended"})
    assert saved.status_code == 302
    summary = summaries.find_summary(db, event.id)
    assert summary is not None and summary.body == typed and summary.audience == ATTENDED
    assert summary.include_invited is False  # an unticked box is "no"
    assert "Oma otsikko" in client.get(path).get_data(as_text=True)


# --- publishing --------------------------------------------------------------------------------


def test_publishing_is_refused_before_the_end_and_without_a_summary(
    db: Any, client: Any, login_as: Any, post: Any, now: dt.datetime
) -> None:
    past = make_evening(db, now=now, state="past")
    with pytest.raises(WrongState):
        evening_digest.publish_summary(db, past.id, now=now, staff_user_id=None)
    event = make_evening(db, now=now, state="open")
    _save(db, event, now)
    with pytest.raises(WrongState):
        evening_digest.publish_summary(db, event.id, now=now, staff_user_id=None)
    db.commit()
    login_as("coordinator")
    path = f"/staff/events/{event.id}/evening/summary/publish"
    confirm = client.get(path).get_data(as_text=True)
    assert "ended" in confirm or "päätty" in confirm
    assert 'action="' + path not in confirm
    response = post(path)
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    assert db.scalar(select(func.count(Digest.id)).where(Digest.kind == "evening")) == 0
    assert summaries.find_summary(db, event.id).published_at is None


def category(db: Any, key: str, name: str) -> Category:
    found = db.scalar(select(Category).where(Category.key == key))
    if found is None:
        found = Category(key=key, name_fi=name)
        db.add(found)
        db.flush()
    return found


def _recipients_setup(db: Any, event: Event, now: dt.datetime) -> None:
    """Registrants of every kind and invited associations (one sharing a registrant's address,
    one without an address)."""
    club = make_association(db, "Pallokerho ry", "pallo@example.org")
    club.category_id = category(db, "sport", "Liikunta").id
    village = make_association(db, "Kyläyhdistys ry", "TULI@example.org")
    silent = make_association(db, "Hiljainen seura ry", "")
    for association in (club, village, silent):
        db.add(EventInvitation(event_id=event.id, association_id=association.id, invited_at=now))
    ef.make_registration(
        db, event, name="Tuli Paikalle", email="tuli@example.org", now=now, attended=True
    )
    ef.make_registration(
        db, event, name="Jäi Pois", email="pois@example.org", now=now, association=club
    )
    ef.make_registration(
        db, event, name="Jonossa", email="jono@example.org", now=now, status=WAITLISTED
    )
    ef.make_registration(
        db, event, name="Perui", email="peru@example.org", now=now, status="cancelled"
    )
    gone = ef.make_registration(db, event, name="Poistettu", email="gone@example.org", now=now)
    gone.anonymised_at = now
    ef.make_registration(
        db, event, name="Ovelta", email="walk-in-abc@walk-in.invalid", now=now, attended=True
    )
    db.flush()


def test_the_pdf_holds_every_note_the_vote_figures_and_no_markup(db: Any, now: dt.datetime) -> None:
    evening = make_content(db, now)
    event = evening.event
    later = ef.make_event(db, now=now, state="open", title="Kevään yhdistysilta")
    _save(
        db,
        event,
        now,
        body="# YHTEENVETOOTSIKKO\n\nTeksti " + HOSTILE,
        next_steps="SEURAAVAKSI kaupunki valmistelee avustusohjeen.",
        next_event_id=str(later.id),
    )
    _recipients_setup(db, event, now)
    db.commit()
    mailing = evening_digest.publish_summary(db, event.id, now=now, staff_user_id=None)
    db.commit()
    digest = digests.render_digest(db, mailing.digest_id, now=now)
    assert digest is not None and digest.status == READY, digest and digest.error
    save_pdf(digest.pdf, "evening-summary.pdf")
    text = pdf_text(digest.pdf)
    for marker in evening.notes:
        assert marker in text, marker
    for group in evening.event.groups:
        assert group.name in text
    assert "YHTEENVETOOTSIKKO" in text and "SEURAAVAKSI" in text
    assert "Kevään yhdistysilta" in text and f"/events/{later.slug}" in text
    assert "Valitse kolme tärkeintä" in text
    # The vote's table: each option with its count and share of the five phones.
    assert "Avustukset 5 100 %" in text.replace("\xa0", " ")
    assert "Yhteinen vuosikello 3 60 %" in text.replace("\xa0", " ")
    assert "Viestintä 0 0 %" in text.replace("\xa0", " ")
    assert "TEEMAAVUSTUS" in text and "TEEMAKASITTELEMATON" not in text
    assert "<script>" in text  # the hostile note is printed as text, never run
    assert "<script>" not in digest.pdf.decode("latin-1").split("endstream")[-1]
    assert digest.pages >= 6
    reader = PdfReader(io.BytesIO(digest.pdf))
    assert "/StructTreeRoot" in reader.trailer["/Root"]  # tagged
    assert reader.trailer["/Root"]["/Lang"] == "fi"
    figures = db.scalar(select(EveningFigures).where(EveningFigures.event_id == event.id))
    assert figures is not None and figures.votes_cast == 5 and figures.themes_handled == 2


def test_the_mailing_reaches_every_recipient_exactly_once(
    db: Any, app: Any, now: dt.datetime, smtp: Any
) -> None:
    event = make_evening(db, now=now, state="past")
    _save(db, event, now)
    _recipients_setup(db, event, now)
    db.commit()
    mailing = evening_digest.publish_summary(db, event.id, now=now, staff_user_id=None)
    db.commit()
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.mailing_id == mailing.id)).all()
    expected = ["pallo@example.org", "pois@example.org", "tuli@example.org"]
    assert sorted(r.recipient.casefold() for r in rows) == expected
    assert _deliver(db, app, now)["sent"] == 0  # nothing goes before the PDF is made
    digest = digests.render_digest(db, mailing.digest_id, now=now)
    assert digest is not None and digest.status == READY, digest and digest.error
    assert _deliver(db, app, now)["sent"] == 3
    assert _deliver(db, app, now)["sent"] == 0  # a second run sends nothing again
    assert sorted(r.casefold() for _f, rcpts in smtp.envelopes for r in rcpts) == expected
    hashes = set()
    for message in smtp.messages:
        (part,) = list(message.iter_attachments())
        assert part.get_content_type() == "application/pdf"
        hashes.add(hashlib.sha256(part.get_content()).hexdigest())
    assert hashes == {hashlib.sha256(digest.pdf).hexdigest()}
    registrant = body_of(smtp.to("tuli@example.org")[0])
    assert event.title in registrant and f"/events/{event.slug}/summary" in registrant
    assert f"/digests/{digest.id}.pdf" in registrant
    association = body_of(smtp.to("pallo@example.org")[0])
    assert "Pallokerho ry" in association


def test_audience_attended_and_no_invited_associations(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now, state="past")
    summary = _save(db, event, now, audience=ATTENDED, include_invited=False)
    _recipients_setup(db, event, now)
    found = evening_digest.recipients(db, event, summary)
    assert [r.email for r in found] == ["tuli@example.org"]
    mailing = evening_digest.publish_summary(db, event.id, now=now, staff_user_id=None)
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.mailing_id == mailing.id)).all()
    assert [r.recipient for r in rows] == ["tuli@example.org"]


def test_publishing_from_the_route_and_again_makes_a_new_digest(
    db: Any, client: Any, login_as: Any, post: Any, now: dt.datetime, monkeypatch: Any
) -> None:
    from participation.digests import tasks as digest_tasks

    enqueued: list[int] = []
    monkeypatch.setattr(digest_tasks, "render_digest", enqueued.append)
    event = make_evening(db, now=now, state="past")
    _save(db, event, now)
    _recipients_setup(db, event, now)
    db.commit()
    login_as("coordinator")
    path = f"/staff/events/{event.id}/evening/summary/publish"
    confirm = client.get(path).get_data(as_text=True)
    assert "3" in confirm and 'action="' + path in confirm
    first = post(path)
    mailing = db.scalars(select(Mailing).order_by(Mailing.id.desc())).first()
    assert first.status_code == 302
    assert first.headers["Location"].endswith(f"/staff/mailings/{mailing.id}")
    assert enqueued == [mailing.digest_id]
    published_at = summaries.find_summary(db, event.id).published_at
    assert published_at is not None
    assert post(path).status_code == 302
    assert len(enqueued) == 2 and enqueued[0] != enqueued[1]
    assert (
        db.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.attachment_digest_id.in_(enqueued)
            )
        )
        == 6
    )
    assert summaries.find_summary(db, event.id).published_at == published_at


# --- the public page --------------------------------------------------------------------------


def test_the_public_page_shows_only_a_published_summary_with_text_escaped(
    db: Any, client: Any, now: dt.datetime
) -> None:
    evening = make_content(db, now)
    event = evening.event
    _save(db, event, now, body="# JULKINENOTSIKKO\n\n" + HOSTILE, next_steps="JATKOSSA")
    db.commit()
    path = f"/events/{event.slug}/summary"
    assert client.get(path).status_code == 404
    assert f'href="{path}"' not in client.get(f"/events/{event.slug}").get_data(as_text=True)
    evening_digest.publish_summary(db, event.id, now=now, staff_user_id=None)
    db.commit()
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h3>JULKINENOTSIKKO</h3>" in html and "JATKOSSA" in html
    assert "<script>alert" not in html and "onerror" not in html.replace("onerror=alert", "")
    assert "&lt;script&gt;" in html
    assert "Valitse kolme tärkeintä" in html and 'class="chart-svg"' in html
    assert "TEEMAAVUSTUS" in html
    with client.application.test_request_context():
        from participation.evenings.summary_views import evening_summary_url

        assert evening_summary_url(event) == path
    assert f'href="{path}"' in client.get(f"/events/{event.slug}").get_data(as_text=True)
    # The PDF link shows once the worker has made it.
    assert "/digests/" not in html
    digest = evening_digest.latest_digest(db, event.id)
    digests.render_digest(db, digest.id, now=now)
    assert f"/digests/{digest.id}.pdf" in client.get(path).get_data(as_text=True)
    unpublished = ef.make_event(db, now=now, state="past", published=False, title="Piilo")
    _save(db, unpublished, now)
    db.commit()
    assert client.get(f"/events/{unpublished.slug}/summary").status_code == 404
