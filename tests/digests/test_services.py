"""The round digest: its content, publishing, one render, and the mail of each recipient."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from participation.digests import pdf, services
from participation.digests.models import FAILED, PENDING, READY, Digest
from participation.digests.round_digest import build_round_context
from participation.errors import NotFound, WrongState
from participation.mail import services as mail
from participation.mail.models import QUEUED, SENT, Mailing, OutboxMessage
from participation.mail.transport import make_transport
from tests.conftest import body_of
from tests.digests import factories as f
from tests.digests.conftest import has_embedded_files, hostile_texts, pdf_text

VISIBLE = ["KOMMENTTIALFA", "KOMMENTTIBEETA", "KOMMENTTIKOKO", "KOMMENTTIJASEN"]
REASONS = ["PERUSTELUALFA", "PERUSTELUBEETA", "PERUSTELUJASEN"]
NEVER = ["PIILOTETTUHIDDEN", "PIILOPERUSTELU", "PERUTTUWITHDRAWN", "Salainen Henkilö"]


def _publish_and_render(db: Any, round_id: int, now: dt.datetime) -> tuple[Mailing, Digest]:
    mailing = services.publish_round_digest(db, round_id, now=now, staff_user_id=None)
    db.commit()
    digest = services.render_digest(db, mailing.digest_id, now=now)
    assert digest is not None
    return mailing, digest


def _deliver(db: Any, app: Any, now: dt.datetime) -> dict[str, int]:
    with make_transport(app.config["MAIL_URL"]) as transport:
        return mail.deliver_pending(db, transport, now=now)


def test_context_holds_visible_comments_only_and_no_private_names(
    db: Any, sample_round: dict[str, Any]
) -> None:
    context = build_round_context(db, sample_round["round"].id)
    bodies = [c["body"] for s in context["sections"] for c in s["comments"]]
    assert sorted(bodies) == sorted(
        [
            "KOMMENTTIALFA tilat",
            "KOMMENTTIBEETA johdanto",
            "KOMMENTTIKOKO koko luonnos",
            "KOMMENTTIJASEN",
        ]
    )
    # The whole draft first, then the sections in order; numbered down the document.
    assert [s["heading"] for s in context["sections"]] == [
        "Luonnos kokonaisuutena",
        "Johdanto",
        "Tilat ja avustukset",
    ]
    numbers = [c["number"] for s in context["sections"] for c in s["comments"]]
    assert numbers == [1, 2, 3, 4]
    authors = {
        c["body"]: (c["name"], c["association"]) for s in context["sections"] for c in s["comments"]
    }
    assert authors["KOMMENTTIALFA tilat"] == (None, None)  # a private person stays unnamed
    assert authors["KOMMENTTIKOKO koko luonnos"] == ("Julkinen Nimi", None)
    assert authors["KOMMENTTIJASEN"] == (None, "Kylätoimikunta ry")
    figures = context["figures"]
    assert (figures["comments"], figures["participants"], figures["associations"]) == (4, 3, 1)
    assert {d["key"]: d["count"] for d in figures["decisions"]} == {
        "taken": 1,
        "partly": 1,
        "not_taken": 1,
        "noted": 0,  # the hidden comment's decision is not counted
    }
    assert context["associations"] == ["Kylätoimikunta ry"]
    assert context["named_people"] == ["Julkinen Nimi"]
    questions = {q["label"]: q for q in context["questions"]}
    assert questions["Mikä luonnoksessa on sinulle tärkeintä?"]["texts"] == ["VAPAATEKSTIOMEGA"]
    forms = questions["Mitkä yhteistyön muodot ovat tärkeimpiä?"]["rows"]
    assert [(r["label"], r["count"]) for r in forms][:1] == [("Kumppanuusfoorumit", 2)]


def test_pdf_holds_every_visible_comment_and_decision_and_nothing_hidden(
    db: Any, sample_round: dict[str, Any], now: dt.datetime
) -> None:
    _mailing, digest = _publish_and_render(db, sample_round["round"].id, now)
    assert digest.status == READY, digest.error
    text = pdf_text(digest.pdf)
    for word in [*VISIBLE, *REASONS, "Julkinen Nimi", "Kylätoimikunta ry", "VAPAATEKSTIOMEGA"]:
        assert word in text, word
    for word in ["Otettu huomioon", "Otettu osittain huomioon", "Ei otettu huomioon"]:
        assert word in text
    for word in NEVER:
        assert word not in text, word
    assert "Hiljainen seura ry" not in text  # invited, but did not take part
    reader = PdfReader(io.BytesIO(digest.pdf))
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712  (a pypdf BooleanObject)
    assert "/StructTreeRoot" in root and root["/Lang"] == "fi"
    assert reader.metadata.title == digest.title
    assert sample_round["round"].title in digest.title
    assert digest.pages == len(reader.pages) and digest.size == len(digest.pdf)
    bookmarks = [item["/Title"] for item in _flatten(reader.outline)]
    assert {"Johdanto", "Tilat ja avustukset", "Tiedot ja luvut"} <= set(bookmarks)


def _flatten(outline: list[Any]) -> list[Any]:
    items = []
    for item in outline:
        items.extend(_flatten(item) if isinstance(item, list) else [item])
    return items


@pytest.mark.parametrize("state", ["open", "upcoming"])
def test_publishing_refuses_a_round_that_has_not_closed(
    db: Any, now: dt.datetime, state: str
) -> None:
    round_ = f.make_round(db, now=now, state=state)
    with pytest.raises(WrongState):
        services.publish_round_digest(db, round_.id, now=now, staff_user_id=None)
    assert db.scalar(select(Digest.id)) is None
    assert db.scalar(select(OutboxMessage.id)) is None


def test_publishing_a_second_before_the_close_is_refused_and_a_second_after_works(
    db: Any, now: dt.datetime
) -> None:
    round_ = f.make_round(db, now=now)
    with pytest.raises(WrongState):
        services.publish_round_digest(
            db, round_.id, now=round_.closes_at - dt.timedelta(seconds=1), staff_user_id=None
        )
    mailing = services.publish_round_digest(
        db, round_.id, now=round_.closes_at + dt.timedelta(seconds=1), staff_user_id=None
    )
    assert mailing.digest_id is not None


def test_publishing_writes_one_personal_message_per_address(
    db: Any, sample_round: dict[str, Any], now: dt.datetime
) -> None:
    mailing = services.publish_round_digest(
        db, sample_round["round"].id, now=now, staff_user_id=sample_round["creator"].id
    )
    digest = db.get(Digest, mailing.digest_id)
    assert digest.status == PENDING and digest.published_at == now
    rows = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    # Three participants and one association (the village shares its member's address, the
    # silent one has none): one message each, never a shared list.
    assert sorted(r.recipient.lower() for r in rows) == [
        "julkinen@example.org",
        "kyla@example.org",
        "pallo@example.org",
        "salainen@example.org",
    ]
    assert all(r.mailing_id == mailing.id and r.attachment_digest_id == digest.id for r in rows)
    assert all(r.status == QUEUED for r in rows)
    by_address = {r.recipient: r for r in rows}
    private = by_address["salainen@example.org"].body_text
    assert "kommenttiasi ja mitä niille tapahtui" in private  # Finnish, the default
    assert "KOMMENTTIALFA" in private and "Päätös: Otettu huomioon" in private
    assert "PERUSTELUALFA" in private and "KOMMENTTIBEETA" in private
    assert "Päätös: Ei otettu huomioon" in private and "PERUSTELUBEETA" in private
    assert "PIILOTETTUHIDDEN" not in private and "PIILOPERUSTELU" not in private
    assert f"/digests/{digest.id}.pdf" in private
    public = by_address["julkinen@example.org"].body_text
    assert "KOMMENTTIKOKO" in public and "PERUTTUWITHDRAWN" not in public
    assert "Inget beslut har registrerats" in public  # in Swedish, their language
    club = by_address["pallo@example.org"].body_text
    assert "Porin Pallo ry" in club and "kierroksen 4 kommenttia" in club
    assert sample_round["round"].title in by_address["pallo@example.org"].subject


def test_messages_wait_for_the_digest_and_carry_the_same_pdf(
    db: Any, app: Any, sample_round: dict[str, Any], now: dt.datetime, smtp: Any, monkeypatch: Any
) -> None:
    renders = []
    real = pdf.render_pdf

    def counting(*args: Any, **kwargs: Any) -> Any:
        renders.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf, "render_pdf", counting)
    mailing = services.publish_round_digest(
        db, sample_round["round"].id, now=now, staff_user_id=None
    )
    db.commit()
    # Not rendered yet: nothing is sent, nothing is used up.
    assert _deliver(db, app, now) == {"sent": 0, "failed": 0, "retry": 0, "waiting": 0}
    assert smtp.messages == []
    services.render_digest(db, mailing.digest_id, now=now)
    assert services.render_digest(db, mailing.digest_id, now=now) is None  # already done
    assert _deliver(db, app, now)["sent"] == 4
    assert len(renders) == 1
    digest = db.get(Digest, mailing.digest_id)
    hashes = set()
    for message in smtp.messages:
        attachments = list(message.iter_attachments())
        assert len(attachments) == 1
        part = attachments[0]
        assert part.get_content_type() == "application/pdf"
        assert part.get_filename().endswith(".pdf") and "Kommenttikooste" in part.get_filename()
        hashes.add(hashlib.sha256(part.get_content()).hexdigest())
    assert hashes == {hashlib.sha256(digest.pdf).hexdigest()}
    assert all(len(rcpts) == 1 for _f, rcpts in smtp.envelopes)
    assert "KOMMENTTIALFA" in body_of(smtp.to("salainen@example.org")[0])


def test_a_failed_render_is_reported_and_nothing_is_mailed(
    db: Any, app: Any, sample_round: dict[str, Any], now: dt.datetime, smtp: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "PDF_TIME_LIMIT", 0.001)
    mailing, digest = _publish_and_render(db, sample_round["round"].id, now)
    assert digest.status == FAILED and "longer than" in digest.error
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.mailing_id == mailing.id)).all()
    assert rows and all(r.status == "failed" for r in rows)
    assert all(r.last_error.startswith("digest render failed") for r in rows)
    _deliver(db, app, now)
    assert smtp.messages == []
    # Retrying the mailing renders again and then sends.
    monkeypatch.setitem(app.config, "PDF_TIME_LIMIT", 60)
    count, digest_ids = mail.retry_failed(db, mailing.id, now=now)
    db.commit()
    assert count == len(rows) and digest_ids == [digest.id]
    assert services.render_digest(db, digest.id, now=now).status == READY
    assert _deliver(db, app, now)["sent"] == len(rows)
    statuses = db.scalars(
        select(OutboxMessage.status).where(OutboxMessage.mailing_id == mailing.id)
    )
    assert set(statuses) == {SENT}
    assert len(smtp.messages) == len(rows)


def test_hostile_text_shows_as_text_in_the_mail_and_the_pdf(
    db: Any, app: Any, now: dt.datetime, smtp: Any, canary: Any
) -> None:
    hostile = hostile_texts(canary.url)
    round_ = f.make_round(db, now=now, sections=["<b>Luku</b> " + hostile[3]], title=hostile[0])
    (section,) = f.sections_of(db, round_)
    association = f.make_association(db, hostile[1], "assoc@example.org")
    f.invite(db, round_, association, now)
    for n, text in enumerate(hostile):
        person = f.add_participant(
            db,
            round_,
            name=text,
            email=f"h{n}@example.org",
            now=now,
            name_public=True,
            association=association if n % 2 else None,
            answers={"q_matters": text},
        )
        f.add_comment(db, person, text, now=now, section=section, decision="noted", reason=text)
    db.commit()
    _mailing, digest = _publish_and_render(db, round_.id, now)
    assert digest.status == READY, digest.error
    _deliver(db, app, now)
    text = pdf_text(digest.pdf)
    for value in hostile:
        assert " ".join(value.split()) in text, value  # shown literally, markup and all
    assert "root:" not in text
    assert not has_embedded_files(digest.pdf)
    body = body_of(smtp.to("h0@example.org")[0])
    assert hostile[0] in body and hostile[3] in body
    assert canary.requests == []


def _erase(db: Any, name: str, email: str, now: dt.datetime) -> None:
    """The register person behind a participant asks for erasure."""
    from participation.privacy import services as privacy
    from participation.register.models import Person

    person = Person(name=name, email=email)
    db.add(person)
    db.flush()
    privacy.erase_person(db, person.id, now)
    db.commit()


def test_erasing_a_named_participant_withdraws_the_digest_and_renders_it_without_the_name(
    db: Any, sample_round: dict[str, Any], now: dt.datetime
) -> None:
    _mailing, digest = _publish_and_render(db, sample_round["round"].id, now)
    assert "Julkinen Nimi" in pdf_text(digest.pdf)
    _erase(db, "Julkinen Nimi", "julkinen@example.org", now)
    db.refresh(digest)
    # The old file is gone at once: neither the public nor staff can download it.
    assert digest.status == PENDING and digest.pdf is None
    with pytest.raises(NotFound):
        services.get_downloadable_digest(db, digest.id, staff=True)
    # The worker's periodic pass finds it and renders it again, without the name.
    later = now + services.PENDING_GRACE + dt.timedelta(seconds=1)
    assert digest.id in services.digests_to_render(db, now=later, time_limit=60)
    again = services.render_digest(db, digest.id, now=later)
    assert again is not None and again.status == READY, again and again.error
    text = pdf_text(again.pdf)
    assert "Julkinen Nimi" not in text and "KOMMENTTIKOKO" in text


def test_erasing_a_participant_who_stayed_unnamed_keeps_the_digest(
    db: Any, sample_round: dict[str, Any], now: dt.datetime
) -> None:
    _mailing, digest = _publish_and_render(db, sample_round["round"].id, now)
    _erase(db, "Salainen Henkilö", "salainen@example.org", now)
    db.refresh(digest)
    assert digest.status == READY and digest.pdf is not None
