"""The participant's page, the own-comments link and the staff pages, through the test client."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from typing import Any

import docx
import pytest
import time_machine
from sqlalchemy import func, select

from participation.mail.models import OutboxMessage
from participation.rounds.models import Comment, Invitation, Participant, Round
from tests.conftest import body_of
from tests.rounds.conftest import key

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _count(db: Any, model: Any, *where: Any) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _section_path(round_: Round, section: Any) -> str:
    return f"/rounds/{round_.slug}/sections/{section.id}/comments"


def _comment_data(section: Any, body: str = "Hyvä luonnos.", **extra: Any) -> dict[str, Any]:
    prefix = f"s{section.id}"
    data = {
        f"{prefix}-body": body,
        f"{prefix}-submission_key": key(),
        f"{prefix}-name": "Maija Meikäläinen",
        f"{prefix}-email": "maija@example.fi",
        f"{prefix}-association_id": "",
        f"{prefix}-consent": "y",
        f"{prefix}-homepage": "",
    }
    data.update({f"{prefix}-{k}": v for k, v in extra.items()})
    return data


def _textarea(page: str, field_id: str) -> str:
    match = re.search(rf'<textarea[^>]*id="{field_id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, f"no textarea {field_id}"
    return html.unescape(match.group(1)).lstrip("\r\n")


# --- reading and commenting -------------------------------------------------------------------


def test_the_page_shows_the_draft_with_contents_forms_and_questions(
    client: Any, english: None, make_round: Any
) -> None:
    round_ = make_round()
    page = _text(client.get(f"/rounds/{round_.slug}"))
    assert "<h1>Kommentoi yhdistysohjelmaa</h1>" in page
    for s in round_.version.sections:
        assert f'href="#section-{s.anchor}"' in page and f'id="section-{s.anchor}"' in page
        assert f'id="s{s.id}-body"' in page
    assert 'maxlength="500"' in page and 'data-counter="' in page and "0 / 500" in page
    # The honeypot is out of sight and out of the tab order.
    assert re.search(
        r'<div class="hp" aria-hidden="true">\s*<label[^>]*>Leave this field empty', page
    )
    assert 'tabindex="-1"' in page
    assert "What matters most to you in the draft?" in page and 'id="questions"' in page
    assert "for handling the comment round" in page  # the consent text
    assert "js/participant.js" in page


def test_commenting_without_javascript_redirects_back_to_the_section(
    client: Any, post: Any, english: None, make_round: Any, db: Any
) -> None:
    round_ = make_round()
    section = round_.version.sections[1]
    response = post(_section_path(round_, section), _comment_data(section, "Tilat puuttuvat."))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.endswith(f"?sent=s{section.id}#area-s{section.id}")
    page = _text(client.get(location))
    assert "Thank you! Your comment was saved." in page
    assert "Tilat puuttuvat." in page and "a resident" in page
    # The browser now knows who is commenting: no form asks again.
    assert "You are taking part as Maija Meikäläinen (maija@example.fi)" in page
    assert f'id="s{section.id}-name"' not in page
    assert _count(db, Comment) == 1


def test_an_htmx_post_returns_the_section_area_with_thanks(
    client: Any, post: Any, english: None, make_round: Any, db: Any
) -> None:
    round_ = make_round()
    first, second = round_.version.sections[:2]
    response = post(
        _section_path(round_, first),
        _comment_data(first, "Hyvä alku.", name_public="y"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    part = _text(response)
    assert "<html" not in part and part.lstrip().startswith('<div class="comment-area"')
    assert f'id="area-s{first.id}"' in part and "Thank you! Your comment was saved." in part
    assert "Maija Meikäläinen" in part and "Hyvä alku." in part and "1 comment" in part
    # A fresh empty form for another comment, and the other forms stop asking who you are.
    assert _textarea(part, f"s{first.id}-body") == ""
    assert f'id="who-s{second.id}" class="who" hx-swap-oob="true"' in part
    assert 'id="participant-note" hx-swap-oob="true"' in part
    assert f'id="count-s{first.id}" hx-swap-oob="true">(1 comment)' in part
    # The next comment needs no name: the session says who it is.
    next_data = {
        f"s{second.id}-body": "Toinen.",
        f"s{second.id}-submission_key": key(),
    }
    again = post(_section_path(round_, second), next_data, headers={"HX-Request": "true"})
    assert "Thank you!" in _text(again)
    assert _count(db, Comment) == 2 and _count(db, Participant) == 1


def test_after_the_close_nothing_is_stored_and_the_text_stays_in_the_box(
    client: Any, post: Any, english: None, make_round: Any, db: Any
) -> None:
    round_ = make_round()
    section = round_.version.sections[0]
    token_page = client.get(f"/rounds/{round_.slug}")
    assert token_page.status_code == 200
    written = "Kirjoitin tämän juuri ennen sulkeutumista."
    with time_machine.travel(round_.closes_at + dt.timedelta(seconds=1), tick=False):
        response = post(_section_path(round_, section), _comment_data(section, written))
        htmx = post(
            _section_path(round_, section),
            _comment_data(section, written),
            headers={"HX-Request": "true"},
        )
    assert response.status_code == 409
    page = _text(response)
    assert "Kommentointikierros päättyi" in page and "Tekstiäsi ei tallennettu" in page
    assert _textarea(page, f"s{section.id}-body") == written
    assert "Send the comment" not in page
    assert htmx.status_code == 200 and _textarea(_text(htmx), f"s{section.id}-body") == written
    assert _count(db, Comment) == 0 and _count(db, Participant) == 0
    # One second before the close it is stored.
    with time_machine.travel(round_.closes_at - dt.timedelta(seconds=1), tick=False):
        ok = post(_section_path(round_, section), _comment_data(section, written))
    assert ok.status_code == 302 and _count(db, Comment) == 1


def test_the_closed_page_shows_no_forms(client: Any, english: None, make_round: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    round_ = make_round(opens_at=now - dt.timedelta(days=9), closes_at=now - dt.timedelta(days=1))
    page = _text(client.get(f"/rounds/{round_.slug}"))
    assert "The round closed on" in page
    assert "<textarea" not in page and '<form method="post" action="/rounds/' not in page


def test_a_double_click_stores_one_comment(
    post: Any, make_round: Any, db: Any, english: None
) -> None:
    round_ = make_round()
    section = round_.version.sections[0]
    data = _comment_data(section)
    first = post(_section_path(round_, section), data)
    second = post(_section_path(round_, section), data)
    assert first.status_code == second.status_code == 302
    assert _count(db, Comment) == 1
    assert _count(db, OutboxMessage) == 1


def test_a_filled_honeypot_pretends_success_and_stores_nothing(
    client: Any, post: Any, make_round: Any, db: Any, english: None
) -> None:
    round_ = make_round()
    section = round_.version.sections[0]
    response = post(
        _section_path(round_, section), _comment_data(section, homepage="http://spam.example")
    )
    assert response.status_code == 302 and "sent=" in response.headers["Location"]
    assert "Thank you!" in _text(client.get(response.headers["Location"]))
    assert _count(db, Comment) == 0 and _count(db, Participant) == 0


def test_a_megabyte_comment_gets_the_fields_message_and_is_kept(
    post: Any, make_round: Any, db: Any, english: None
) -> None:
    round_ = make_round()
    section = round_.version.sections[0]
    huge = "pitkä " * 170_000
    response = post(_section_path(round_, section), _comment_data(section, huge))
    assert response.status_code == 200
    page = _text(response)
    assert "at most 500 fit" in page and f'href="#s{section.id}-body"' in page
    assert _textarea(page, f"s{section.id}-body") == huge
    assert _count(db, Comment) == 0


def test_missing_details_and_a_required_association_are_asked_for(
    post: Any, make_round: Any, make_association: Any, db: Any, english: None
) -> None:
    club = make_association(name="Kisa-Veikot ry")
    round_ = make_round(association_required=True)
    section = round_.version.sections[0]
    data = _comment_data(section, "Teksti säilyy.", name="", email="ei", consent="")
    del data[f"s{section.id}-consent"]
    page = _text(post(_section_path(round_, section), data))
    assert "Enter your name." in page and "Choose the association you speak for." in page
    assert "Agree to the handling of your data" in page and "Enter your e-mail address" in page
    assert _textarea(page, f"s{section.id}-body") == "Teksti säilyy."
    assert "Kisa-Veikot ry" in page and "Myself, as a resident" not in page
    ok = post(_section_path(round_, section), _comment_data(section, association_id=str(club.id)))
    assert ok.status_code == 302
    assert db.scalar(select(Participant.association_id)) == club.id


def test_an_expired_form_shows_the_text_again(
    client: Any, make_round: Any, db: Any, english: None
) -> None:
    round_ = make_round()
    section = round_.version.sections[0]
    client.get(f"/rounds/{round_.slug}")
    data = _comment_data(section, "Tämä ei saa kadota.")
    data["csrf_token"] = "expired-or-forged"
    response = client.post(_section_path(round_, section), data=data)
    assert response.status_code == 400
    page = _text(response)
    assert "The form had expired" in page
    assert _textarea(page, f"s{section.id}-body") == "Tämä ei saa kadota."
    htmx = client.post(_section_path(round_, section), data=data, headers={"HX-Request": "true"})
    assert htmx.status_code == 400 and 'id="area-s' in _text(htmx)
    assert _textarea(_text(htmx), f"s{section.id}-body") == "Tämä ei saa kadota."
    assert _count(db, Comment) == 0


def test_too_many_comments_from_one_address_keep_the_text(
    app: Any, post: Any, make_round: Any, db: Any, english: None
) -> None:
    round_ = make_round()
    section = round_.version.sections[0]
    app.config["ROUND_COMMENT_RATE_LIMIT"] = "2 per minute"
    try:
        for n in range(2):
            assert (
                post(_section_path(round_, section), _comment_data(section, f"n{n}")).status_code
                == 302
            )
        refused = post(_section_path(round_, section), _comment_data(section, "Kolmas kommentti."))
    finally:
        del app.config["ROUND_COMMENT_RATE_LIMIT"]
    assert refused.status_code == 429
    page = _text(refused)
    assert "Wait a minute and send again" in page
    assert _textarea(page, f"s{section.id}-body") == "Kolmas kommentti."
    assert _count(db, Comment) == 2


def test_public_comments_only_when_on_and_never_hidden_or_withdrawn(
    client: Any, post: Any, make_round: Any, db: Any, english: None
) -> None:
    round_ = make_round()
    section = round_.version.sections[0]
    for body in ("Näkyvä kommentti", "Piilotettava kommentti", "Peruttava kommentti"):
        post(_section_path(round_, section), _comment_data(section, body))
    comments = {c.body: c for c in db.scalars(select(Comment))}
    comments["Piilotettava kommentti"].hidden_at = dt.datetime.now(dt.UTC)
    comments["Peruttava kommentti"].withdrawn_at = dt.datetime.now(dt.UTC)
    db.commit()
    page = _text(client.get(f"/rounds/{round_.slug}"))
    assert "Näkyvä kommentti" in page and "(1 comment)" in page
    assert "Piilotettava" not in page and "Peruttava" not in page
    round_.comments_public = False
    db.commit()
    page = _text(client.get(f"/rounds/{round_.slug}"))
    assert "Näkyvä kommentti" not in page and "comments-title" not in page


def test_hostile_text_shows_as_text_in_the_page_and_the_mail(
    client: Any, post: Any, make_round: Any, smtp: Any, english: None
) -> None:
    round_ = make_round()
    section = round_.version.sections[0]
    response = post(
        _section_path(round_, section),
        _comment_data(section, HOSTILE, name=HOSTILE, name_public="y", email="h@example.fi"),
    )
    assert response.status_code == 302
    page = _text(client.get(f"/rounds/{round_.slug}"))
    assert HOSTILE not in page and "<img src=x" not in page
    assert html.escape(HOSTILE, quote=False) in page.replace("&#39;", "'")
    message = smtp.to("h@example.fi")[0]
    assert message.get_content_type() == "text/plain"
    assert HOSTILE in body_of(message)  # plain text: shown literally, never interpreted


# --- the confirmation mail and the own-comments link -------------------------------------------


def _manage_link(message: Any) -> str:
    match = re.search(r"http://localhost(/comments/\S+)", body_of(message))
    assert match
    return match.group(1)


def test_the_mail_links_to_a_page_for_editing_and_withdrawing_until_the_close(
    client: Any, post: Any, make_round: Any, smtp: Any, db: Any, english: None
) -> None:
    round_ = make_round()
    first, second = round_.version.sections[:2]
    post(_section_path(round_, first), _comment_data(first, "Ensimmäinen versio."))
    post(
        _section_path(round_, second),
        {f"s{second.id}-body": "Toinen.", f"s{second.id}-submission_key": key()},
    )
    messages = smtp.to("maija@example.fi")
    assert len(messages) == 1  # one mail per participant, not per comment
    assert "Thank you for taking part: Kommentoi yhdistysohjelmaa" in messages[0]["Subject"]
    assert "Ensimmäinen versio." in body_of(messages[0])
    path = _manage_link(messages[0])

    page = _text(client.get(path))
    assert "Your comments" in page and "Ensimmäinen versio." in page and "Toinen." in page
    ids = [c.id for c in db.scalars(select(Comment).order_by(Comment.id))]
    edited = post(f"{path}/{ids[0]}", {f"c{ids[0]}-body": "Korjattu versio."})
    assert edited.status_code == 302
    assert db.get(Comment, ids[0]).body == "Korjattu versio."
    too_long = post(f"{path}/{ids[0]}", {f"c{ids[0]}-body": "x" * 600})
    assert (
        "at most 500 fit" in _text(too_long) and db.get(Comment, ids[0]).body == "Korjattu versio."
    )
    withdrawn = post(f"{path}/{ids[1]}/withdraw", {})
    assert withdrawn.status_code == 302
    assert db.get(Comment, ids[1]).withdrawn_at is not None
    public = _text(client.get(f"/rounds/{round_.slug}"))
    assert "Korjattu versio." in public and "Toinen." not in public

    with time_machine.travel(round_.closes_at, tick=False):
        closed = _text(client.get(path))
        assert "Kierros päättyi" in closed and "Korjattu versio." in closed
        assert "Save the changes" not in closed and "Withdraw this comment" not in closed
        refused = post(f"{path}/{ids[0]}", {f"c{ids[0]}-body": "Myöhäinen muutos."})
        assert refused.status_code == 409
        assert "Myöhäinen muutos." in _text(refused)  # still there to copy
        post(f"{path}/{ids[0]}/withdraw", {})
    assert db.get(Comment, ids[0]).body == "Korjattu versio."
    assert db.get(Comment, ids[0]).withdrawn_at is None
    assert client.get("/comments/not-a-token").status_code == 404


def test_answering_the_general_questions(
    client: Any, post: Any, make_round: Any, db: Any, smtp: Any, english: None
) -> None:
    round_ = make_round()
    page = _text(client.get(f"/rounds/{round_.slug}"))
    keys = re.findall(r'id="answers-(q[^"]+)"', page)
    assert len(keys) == 3
    missing = post(
        f"/rounds/{round_.slug}/answers", {f"answers-{keys[0]}": "Avustukset.", "answers-name": ""}
    )
    text = _text(missing)
    assert "Enter your name." in text and _textarea(text, f"answers-{keys[0]}") == "Avustukset."
    ok = post(
        f"/rounds/{round_.slug}/answers",
        {
            f"answers-{keys[0]}": "Avustukset.",
            "answers-name": "Ville",
            "answers-email": "ville@example.fi",
            "answers-consent": "y",
        },
    )
    assert ok.status_code == 302 and ok.headers["Location"].endswith("#questions")
    assert "Your answers were saved" in _text(client.get(ok.headers["Location"]))
    assert db.scalar(select(Participant.response_id)) is not None
    assert len(smtp.to("ville@example.fi")) == 1


# --- staff ---------------------------------------------------------------------------------------


def test_staff_make_a_draft_from_word_and_open_a_round_on_it(
    client: Any, post: Any, login_as: Any, db: Any, make_association: Any, smtp: Any, english: None
) -> None:
    login_as("coordinator")
    document = docx.Document()
    document.add_heading("Kulttuuriohjelma", 1)
    document.add_heading("Tavoitteet", 2)
    document.add_paragraph("Kulttuuria kaikille.")
    document.add_heading("Tilat", 2)
    document.add_paragraph("Salit iltaisin.")
    buffer = io.BytesIO()
    document.save(buffer)
    created = post(
        "/staff/drafts/new",
        {
            "title": "",
            "text": "",
            "note": "",
            "file": (io.BytesIO(buffer.getvalue()), "ohjelma.docx"),
        },
        content_type="multipart/form-data",
    )
    assert created.status_code == 302
    draft_page = _text(client.get(created.headers["Location"]))
    assert "<h1>Kulttuuriohjelma</h1>" in draft_page and "Tavoitteet" in draft_page
    bad = post(
        "/staff/drafts/new",
        {"title": "X", "file": (io.BytesIO(b"not word"), "x.docx")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 200 and "is not a Word document" in _text(bad)

    version_id = re.search(r"/staff/rounds/new\?version=(\d+)", draft_page).group(1)
    form_page = _text(client.get(f"/staff/rounds/new?version={version_id}"))
    assert 'type="datetime-local"' in form_page
    response = post(
        "/staff/rounds/new",
        {
            "title": "Kulttuuriohjelman kommentointi",
            "intro": "",
            "draft_version_id": version_id,
            "opens_at": "2026-01-01T08:00",
            "closes_at": "2099-01-31T16:00",
            "section_comments": "y",
            "comments_public": "y",
            "consent_key": "round",
            "retention_days": "365",
            "max_comment_length": "2000",
        },
    )
    assert response.status_code == 302
    round_ = db.scalar(select(Round).where(Round.title == "Kulttuuriohjelman kommentointi"))
    # Helsinki winter time is UTC+2: 8.00 local is 6.00 UTC.
    assert round_.opens_at == dt.datetime(2026, 1, 1, 6, 0, tzinfo=dt.UTC)
    admin = _text(client.get(response.headers["Location"]))
    assert f"/rounds/{round_.slug}" in admin and "Edit the general questions" in admin

    club = make_association(name="Kulttuuriseura ry", email="kulttuuri@example.fi")
    post(f"/staff/rounds/{round_.id}/distribution", {"association_ids": [str(club.id)]})
    assert _count(db, Invitation) == 1
    sent = post(f"/staff/rounds/{round_.id}/invitations", {})
    assert sent.status_code == 302
    assert f"/rounds/{round_.slug}" in body_of(smtp.to("kulttuuri@example.fi")[0])
    post(f"/staff/rounds/{round_.id}/invitations", {})
    assert len(smtp.to("kulttuuri@example.fi")) == 1

    listing = _text(client.get("/staff/rounds"))
    assert "Kulttuuriohjelman kommentointi" in listing and "Open" in listing
    bad_dates = post(f"/staff/rounds/{round_.id}/edit", {"title": "T", "draft_version_id": version_id,
                                                          "opens_at": "2026-02-01T08:00",
                                                          "closes_at": "2026-01-01T08:00",
                                                          "consent_key": "round", "retention_days": "1",
                                                          "max_comment_length": "100"})  # fmt: skip
    assert "The round must close after it opens." in _text(bad_dates)
    assert 'value="2026-02-01T08:00"' in _text(bad_dates)


def test_a_section_is_edited_as_markdown_into_a_new_version(
    client: Any, post: Any, login_as: Any, make_draft: Any, english: None
) -> None:
    login_as("coordinator")
    draft = make_draft()
    section = draft.versions[0].sections[1]
    form = _text(client.get(f"/staff/drafts/{draft.id}/sections/{section.id}/edit"))
    assert _textarea(form, "body") == "Yhdistyksiä on paljon.\n"
    saved = post(
        f"/staff/drafts/{draft.id}/sections/{section.id}/edit",
        {"heading": "Tausta", "body": "Yhdistyksiä on **paljon**.", "note": ""},
    )
    assert saved.status_code == 302
    page = _text(client.get(f"/staff/drafts/{draft.id}"))
    assert "Version 2" in page and "<strong>paljon</strong>" in page


def test_contact_persons_see_rounds_but_do_not_change_them(
    client: Any, post: Any, login_as: Any, make_round: Any
) -> None:
    round_ = make_round()
    login_as("contact_person")
    assert client.get("/staff/rounds").status_code == 200
    page = _text(client.get(f"/staff/rounds/{round_.id}"))
    assert f"/staff/rounds/{round_.id}/edit" not in page
    assert client.get(f"/staff/rounds/{round_.id}/edit").status_code == 403
    assert post(f"/staff/rounds/{round_.id}/invitations", {}).status_code == 403
    assert client.get("/staff/drafts/new").status_code == 403


def test_the_home_page_lists_open_rounds(client: Any, make_round: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    round_ = make_round(title="Avoin kierros")
    make_round(
        title="Päättynyt kierros",
        opens_at=now - dt.timedelta(days=5),
        closes_at=now - dt.timedelta(days=1),
    )
    page = _text(client.get("/"))
    assert f'href="/rounds/{round_.slug}"' in page and "Avoin kierros" in page
    assert "Päättynyt kierros" not in page


@pytest.mark.parametrize("path", ["/rounds/ei-ole", "/comments/x/1"])
def test_unknown_rounds_and_links(client: Any, post: Any, path: str) -> None:
    response = client.get(path) if path.startswith("/rounds") else post(path, {})
    assert response.status_code == 404


def test_a_form_without_its_key_is_made_whole_again(
    post: Any, make_round: Any, db: Any, english: None
) -> None:
    round_ = make_round()
    section = round_.version.sections[0]
    data = _comment_data(section, "Avain puuttui.", submission_key="")
    page = _text(post(_section_path(round_, section), data))
    assert "The form was incomplete" in page and _count(db, Comment) == 0
    fresh = re.search(rf'name="s{section.id}-submission_key" type="hidden" value="([^"]+)"', page)
    assert fresh and len(fresh.group(1)) >= 16
    data[f"s{section.id}-submission_key"] = fresh.group(1)
    assert post(_section_path(round_, section), data).status_code == 302
    assert _count(db, Comment) == 1
