"""The survey results PDF (a digest of kind "survey"): its figures and texts, hostile text, and
publishing it to everyone who should get it, once each."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from typing import Any

import pytest
from sqlalchemy import select

from participation.digests import services as digests
from participation.digests.models import READY, Digest
from participation.errors import WrongState
from participation.events.models import CANCELLED, WAITLISTED
from participation.mail import services as mail
from participation.mail.models import Mailing, OutboxMessage
from participation.mail.transport import make_transport
from participation.surveys import digest as survey_digest
from participation.surveys.models import HiddenText, Survey, SurveyResultsRequest
from tests.conftest import body_of
from tests.digests.conftest import Canary, has_embedded_files, hostile_texts, pdf_text
from tests.events import factories as ef
from tests.surveys import factories as f


@pytest.fixture
def canary() -> Any:
    server = Canary()
    server.start()
    yield server
    server.stop()


def _keys(db: Any, survey: Survey) -> dict[str, Any]:
    """Question keys and option keys of the default survey, by type."""
    from participation.formbuilder.models import FormDefinition

    form = db.get(FormDefinition, survey.form_id)
    by_type = {q["type"]: q for q in form.questions}
    return {t: (q["key"], [o["key"] for o in q.get("options", [])]) for t, q in by_type.items()}


def _answered_survey(db: Any, now: dt.datetime, **kwargs: Any) -> tuple[Survey, dict[str, Any]]:
    """A closed survey with five answers (one from paper) and one hidden free text."""
    survey = f.make_survey(db, now=now, state="closed", title="Yhdistysillan palaute", **kwargs)
    k = _keys(db, survey)
    single, (o_news, o_assoc, o_some) = k["single_choice"]
    multi, (m_grants, m_rooms, m_vol, m_comms) = k["multiple_choice"]
    rating, _ = k["rating"]
    ranking, (r_forum, r_news, r_grants, r_rooms) = k["ranking"]
    yes_no, _ = k["yes_no"]
    short, _ = k["short_text"]
    long_, _ = k["long_text"]
    at = now - dt.timedelta(days=3)
    rows = [
        {single: o_news, multi: [m_grants, m_rooms], rating: 5, ranking: [r_forum, r_grants, r_news],
         yes_no: True, short: "LYHYTALFA", long_: "PITKAVISIBLE hyvä ilta"},
        {single: o_news, multi: [m_grants], rating: 4, ranking: [r_grants, r_forum, r_rooms],
         yes_no: True, long_: "PIILOTETTUHIDDEN nimi ja puhelinnumero"},
        {single: o_assoc, multi: [m_rooms, m_vol], rating: 4, ranking: [r_forum, r_rooms, r_grants],
         yes_no: False},
        {single: o_some, rating: 2, yes_no: True, long_: "TOINENVISIBLE kiitos"},
        {single: o_news, multi: [m_grants], rating: 5, ranking: [r_forum, r_news, r_grants],
         yes_no: True},
    ]  # fmt: skip
    answers = [
        f.add_answer(db, survey, a, now=at, source="paper" if i == 4 else "web")
        for i, a in enumerate(rows)
    ]
    db.add(HiddenText(answer_id=answers[1].id, question_key=long_, reason="Tunnistettava"))
    db.commit()
    return survey, k


def _publish_and_render(db: Any, survey_id: int, now: dt.datetime) -> tuple[Mailing, Digest]:
    mailing = survey_digest.publish_results_digest(db, survey_id, now=now, staff_user_id=None)
    db.commit()
    digest = digests.render_digest(db, mailing.digest_id, now=now)
    assert digest is not None
    assert digest.status == READY, digest.error
    return mailing, digest


def _deliver(db: Any, app: Any, now: dt.datetime) -> dict[str, int]:
    with make_transport(app.config["MAIL_URL"]) as transport:
        return mail.deliver_pending(db, transport, now=now)


def save_pdf(data: bytes, name: str) -> None:
    """Keep the PDF for a look by eye when PAPER_PDF_DIR is set."""
    folder = os.environ.get("PAPER_PDF_DIR")
    if folder:
        with open(os.path.join(folder, name), "wb") as out:
            out.write(data)


def test_pdf_holds_every_question_with_its_figures_and_no_hidden_text(
    db: Any, now: dt.datetime
) -> None:
    survey, _k = _answered_survey(db, now)
    _mailing, digest = _publish_and_render(db, survey.id, now)
    save_pdf(digest.pdf, "results.pdf")
    text = pdf_text(digest.pdf)
    assert "Yhdistysillan palaute" in text
    for label in [q["label_fi"] for q in f.DEFAULT_QUESTIONS]:
        assert label in text, label
    # Single choice: 3 of 5 from the newsletter, as a count and a share (chart and table).
    assert "Uutiskirjeestä 3 (60" in text  # the drawing's figure
    assert "Uutiskirjeestä 3 60" in text  # the table row
    # Multiple choice: grants chosen by 3 of the 4 who answered.
    assert "Avustukset 3 75" in text
    # Rating: mean of 5, 4, 4, 2, 5 = 4 on 1–5, and the distribution.
    assert "4 on a scale of 1–5" in text or "4 asteikolla 1–5" in text
    # Ranking (top 3: 3, 2, 1 points): forums 3+2+3+3 = 11, grants 2+3+1+1 = 7.
    assert "Foorumit 11" in text and "Avustukset 7" in text
    # Yes/no: 4 yes of 5.
    assert "4 (80" in text
    for visible in ("LYHYTALFA", "PITKAVISIBLE", "TOINENVISIBLE"):
        assert visible in text
    assert "PIILOTETTUHIDDEN" not in text
    assert not has_embedded_files(digest.pdf)


def test_publishing_refuses_an_open_survey(db: Any, now: dt.datetime) -> None:
    survey = f.make_survey(db, now=now, state="open")
    db.commit()
    with pytest.raises(WrongState):
        survey_digest.publish_results_digest(db, survey.id, now=now, staff_user_id=None)


def test_hostile_text_shows_as_text_and_fetches_nothing(
    db: Any, app: Any, now: dt.datetime, canary: Canary
) -> None:
    hostile = hostile_texts(canary.url)
    survey = f.make_survey(
        db,
        now=now,
        state="closed",
        title=hostile[0],
        questions=[
            {"question_type": "single_choice", "label_fi": hostile[3],
             "options_fi": f"{hostile[4]}\n{hostile[5]}"},
            {"question_type": "long_text", "label_fi": hostile[1], "max_length": 2000},
        ],
    )  # fmt: skip
    k = _keys(db, survey)
    choice, options = k["single_choice"]
    long_, _ = k["long_text"]
    for index, value in enumerate(hostile):
        f.add_answer(db, survey, {choice: options[index % 2], long_: value}, now=now)
    db.commit()
    _mailing, digest = _publish_and_render(db, survey.id, now)
    text = pdf_text(digest.pdf)
    for value in hostile:
        assert " ".join(value.split()) in text, value
    assert "root:" not in text
    assert not has_embedded_files(digest.pdf)
    assert canary.requests == []


def test_publishing_mails_each_recipient_once_with_the_same_pdf(
    db: Any, app: Any, now: dt.datetime, smtp: Any
) -> None:
    event = ef.make_event(db, now=now, state="past", title="Yhdistysilta")
    for name, email, status in (
        ("Osallistuja Yksi", "yksi@example.org", "confirmed"),
        ("Osallistuja Kaksi", "KAKSI@example.org", "confirmed"),
        ("Jonossa Ollut", "jono@example.org", WAITLISTED),
        ("Perunut Henkilö", "peruttu@example.org", CANCELLED),
    ):
        ef.make_registration(db, event, name=name, email=email, now=now, status=status)
    survey, _k = _answered_survey(db, now)
    survey.event_id = event.id
    day = now.date()
    for email in ("pyytaja@example.org", "kaksi@example.org", "Pyytaja@Example.org "):
        db.add(
            SurveyResultsRequest(
                survey_id=survey.id,
                email=email,
                email_key=email.strip().lower() + ("" if email == "pyytaja@example.org" else "x"),
                language="fi",
                requested_on=day,
            )
        )
    db.commit()
    mailing = survey_digest.publish_results_digest(db, survey.id, now=now, staff_user_id=None)
    db.commit()
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.mailing_id == mailing.id)).all()
    recipients = sorted(r.recipient.casefold() for r in rows)
    assert recipients == ["kaksi@example.org", "pyytaja@example.org", "yksi@example.org"]
    assert db.get(Survey, survey.id).results_published_at is not None
    # Nothing goes before the PDF is made; then each address gets one message with it.
    assert _deliver(db, app, now)["sent"] == 0
    digest = digests.render_digest(db, mailing.digest_id, now=now)
    assert digest is not None and digest.status == READY, digest and digest.error
    assert _deliver(db, app, now)["sent"] == 3
    assert len(smtp.messages) == 3
    assert all(len(rcpts) == 1 for _from, rcpts in smtp.envelopes)
    hashes = set()
    for message in smtp.messages:
        (part,) = list(message.iter_attachments())
        assert part.get_content_type() == "application/pdf"
        hashes.add(hashlib.sha256(part.get_content()).hexdigest())
    assert hashes == {hashlib.sha256(digest.pdf).hexdigest()}
    body = body_of(smtp.to("yksi@example.org")[0])
    assert "Yhdistysilta" in body and "Yhdistysillan palaute" in body
    assert f"/digests/{digest.id}.pdf" in body


def test_coordinator_publishes_from_the_route_and_sees_the_mailing(
    db: Any, client: Any, login_as: Any, post: Any, now: dt.datetime, monkeypatch: Any
) -> None:
    from participation.digests import tasks as digest_tasks

    enqueued: list[int] = []
    monkeypatch.setattr(digest_tasks, "render_digest", enqueued.append)
    survey, _k = _answered_survey(db, now)
    path = f"/staff/surveys/{survey.id}/results/publish-pdf"
    login_as("contact_person")
    assert post(path).status_code == 403
    login_as("coordinator")
    response = post(path)
    assert response.status_code == 302
    mailing = db.scalars(select(Mailing).order_by(Mailing.id.desc())).first()
    assert response.headers["Location"].endswith(f"/staff/mailings/{mailing.id}")
    assert enqueued == [mailing.digest_id]
    assert db.get(Digest, mailing.digest_id).kind == "survey"


def test_the_surveys_creator_follows_its_mailing_and_another_contact_person_cannot(
    client: Any, db: Any, login_as: Any, make_user: Any, now: dt.datetime
) -> None:
    owner = login_as("contact_person")
    survey = f.make_survey(db, now=now, state="closed", creator_id=owner.id)
    mailing = survey_digest.publish_results_digest(db, survey.id, now=now, staff_user_id=owner.id)
    db.commit()
    assert client.get(f"/staff/mailings/{mailing.id}").status_code == 200
    login_as("contact_person", email="toinen@example.org")
    assert client.get(f"/staff/mailings/{mailing.id}").status_code == 403
