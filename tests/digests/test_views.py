"""Publishing from the web, the mailing page and its polling partial, retries, downloads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import render_template
from sqlalchemy import select

from participation.digests import services
from participation.digests.models import Digest
from participation.mail.models import FAILED, SENT, OutboxMessage
from tests.conftest import body_of
from tests.digests import factories as f


def _publish(post: Any, round_id: int) -> Any:
    return post(f"/staff/rounds/{round_id}/digest")


def test_coordinator_publishes_and_everyone_gets_the_pdf(
    client: Any, db: Any, post: Any, login_as: Any, sample_round: dict[str, Any], smtp: Any
) -> None:
    login_as("coordinator")
    response = _publish(post, sample_round["round"].id)
    assert response.status_code == 302
    assert "/staff/mailings/" in response.headers["Location"]
    # The worker ran at once (tests): the PDF is made once and every message went.
    assert sorted(m["To"].lower() for m in smtp.messages) == [
        "julkinen@example.org",
        "kyla@example.org",
        "pallo@example.org",
        "salainen@example.org",
    ]
    message = smtp.to("salainen@example.org")[0]
    assert "KOMMENTTIALFA" in body_of(message)
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<progress" in page and 'value="4"' in page
    assert "Käsitelty 4 / 4 viestiä (100 %)." in page
    assert "hx-trigger" not in page  # nothing left to wait for: no polling
    digest = db.scalars(select(Digest)).one()
    assert f"/digests/{digest.id}.pdf" in page


def test_publishing_an_open_round_is_refused(
    client: Any, db: Any, post: Any, login_as: Any, now: dt.datetime
) -> None:
    login_as("coordinator")
    round_ = f.make_round(db, now=now, state="open")
    db.commit()
    response = _publish(post, round_.id)
    assert response.status_code == 409
    assert "kun kierros on päättynyt" in response.get_data(as_text=True)
    assert db.scalar(select(Digest.id)) is None


def test_a_contact_person_publishes_only_their_own_round(
    client: Any, db: Any, post: Any, login_as: Any, now: dt.datetime
) -> None:
    user = login_as("contact_person")
    others = f.make_round(db, now=now)
    own = f.make_round(db, now=now, creator_id=user.id)
    db.commit()
    assert _publish(post, others.id).status_code == 403
    response = _publish(post, own.id)
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).status_code == 200
    assert _publish(post, 999_999).status_code == 404


def test_mailing_page_polls_while_messages_wait_and_shows_failures(
    client: Any,
    db: Any,
    post: Any,
    login_as: Any,
    sample_round: dict[str, Any],
    now: dt.datetime,
) -> None:
    user = login_as("coordinator")
    mailing = services.publish_round_digest(
        db, sample_round["round"].id, now=now, staff_user_id=user.id
    )
    db.commit()
    url = f"/staff/mailings/{mailing.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in page and "Odottaa tekemistä" in page
    assert "Käsitelty 0 / 4 viestiä" in page
    partial = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in partial
    assert 'id="mailing-progress"' in partial and 'hx-trigger="every 2s"' in partial

    # Render and send; one address fails for good.
    services.render_digest(db, mailing.digest_id, now=now)
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.mailing_id == mailing.id)).all()
    for row in rows:
        row.status = SENT
    rows[0].status, rows[0].last_error = FAILED, "550 5.1.1 <script>mailbox</script> unavailable"
    db.commit()
    partial = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in partial  # done: polling stops
    assert "550 5.1.1 &lt;script&gt;mailbox&lt;/script&gt; unavailable" in partial
    assert rows[0].recipient in partial and "Yritä kaikkia epäonnistuneita uudelleen" in partial

    # Retry one: it goes to the file outbox (the test app's MAIL_URL) and is sent.
    response = post(f"/staff/mailings/{mailing.id}/messages/{rows[0].id}/retry")
    assert response.status_code == 302
    db.refresh(rows[0])
    assert rows[0].status == SENT
    # A message of another mailing cannot be retried through this one.
    assert post(f"/staff/mailings/{mailing.id + 1}/messages/{rows[0].id}/retry").status_code == 404


def test_retry_all_failed(
    client: Any,
    db: Any,
    post: Any,
    login_as: Any,
    sample_round: dict[str, Any],
    now: dt.datetime,
) -> None:
    user = login_as("coordinator")
    mailing = services.publish_round_digest(
        db, sample_round["round"].id, now=now, staff_user_id=user.id
    )
    db.commit()
    services.render_digest(db, mailing.digest_id, now=now)
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.mailing_id == mailing.id)).all()
    for row in rows:
        row.status, row.last_error = FAILED, "421 try later"
    db.commit()
    response = post(f"/staff/mailings/{mailing.id}/retry")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "4 viestiä lisättiin uudelleen lähetysjonoon." in page
    statuses = db.scalars(
        select(OutboxMessage.status).where(OutboxMessage.mailing_id == mailing.id)
    )
    assert set(statuses) == {SENT}


def test_a_contact_person_cannot_follow_someone_elses_mailing(
    client: Any, db: Any, login_as: Any, sample_round: dict[str, Any], now: dt.datetime
) -> None:
    mailing = services.publish_round_digest(
        db, sample_round["round"].id, now=now, staff_user_id=sample_round["creator"].id
    )
    db.commit()
    login_as("contact_person")
    assert client.get(f"/staff/mailings/{mailing.id}").status_code == 403
    assert client.get("/staff/mailings/999999").status_code == 404


def test_download_serves_a_published_ready_digest_inline(
    client: Any, app: Any, db: Any, login_as: Any, sample_round: dict[str, Any], now: dt.datetime
) -> None:
    mailing = services.publish_round_digest(
        db, sample_round["round"].id, now=now, staff_user_id=None
    )
    db.commit()
    url = f"/digests/{mailing.digest_id}.pdf"
    assert client.get(url).status_code == 404  # not rendered yet
    services.render_digest(db, mailing.digest_id, now=now)
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert "Kommenttikooste" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"%PDF")
    # Unpublished digests are for staff only.
    digest = db.get(Digest, mailing.digest_id)
    digest.published_at = None
    db.commit()
    assert client.get(url).status_code == 404
    login_as("contact_person")
    assert client.get(url).status_code == 200
    assert client.get("/digests/999999.pdf").status_code == 404


def test_round_panel_and_outbox_list_the_digest(
    app: Any, client: Any, db: Any, login_as: Any, sample_round: dict[str, Any], now: dt.datetime
) -> None:
    round_ = sample_round["round"]
    with app.test_request_context("/"):
        empty = render_template("digests/_round_digest_panel.html", round=round_, digest=None)
        assert "ei ole vielä julkaistu" in empty
        assert f'action="/staff/rounds/{round_.id}/digest"' in empty
        closed_only = render_template(
            "digests/_round_digest_panel.html", round=round_, digest=None, round_state="open"
        )
        assert "<form" not in closed_only
    mailing = services.publish_round_digest(db, round_.id, now=now, staff_user_id=None)
    db.commit()
    services.render_digest(db, mailing.digest_id, now=now)
    digest = services.latest_digest(db, "round", round_.id)
    assert digest is not None and digest.id == mailing.digest_id
    with app.test_request_context("/"):
        panel = render_template("digests/_round_digest_panel.html", round=round_, digest=digest)
    assert f"/digests/{digest.id}.pdf" in panel
    assert f"/staff/mailings/{mailing.id}" in panel
    assert "Julkaise uudelleen" in panel
    public = services.find_published_digest(db, "round", round_.id)
    assert public is not None and public.id == digest.id
    with app.test_request_context("/"):
        html = render_template("digests/_round_public.html", digest=public)
        assert render_template("digests/_round_public.html", digest=None).strip() == ""
    assert f'href="/digests/{digest.id}.pdf"' in html and "Avaa PDF" in html
    login_as("coordinator")
    outbox = client.get("/staff/outbox").get_data(as_text=True)
    assert f"/staff/mailings/{mailing.id}" in outbox and "Postitukset" in outbox


def test_hostile_round_title_shows_as_text_on_the_mailing_page(
    client: Any, db: Any, post: Any, login_as: Any, now: dt.datetime
) -> None:
    login_as("coordinator")
    round_ = f.make_round(db, now=now, title='<script>alert("x")</script><img src=x>')
    person = f.add_participant(db, round_, name="<b>Nimi</b>", email="n@example.org", now=now)
    f.add_comment(db, person, "<script>kommentti</script>", now=now)
    db.commit()
    response = _publish(post, round_.id)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    body = page.split("</head>")[1]
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x&gt;" in body
    assert "<script>" not in body and "<img src=x>" not in body
