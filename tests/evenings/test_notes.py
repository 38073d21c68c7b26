"""Facilitators' links, the groups' notes and the live overview: the services' rules and the
pages through the test client (with and without the page's script)."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from participation.errors import Invalid, NotFound, WrongState
from participation.evenings import notes
from participation.evenings.models import FacilitatorLink, GroupNote, WorkshopQuestion
from participation.evenings.notes_forms import new_key
from participation.events.models import Event
from participation.tokens import LinkInvalid
from tests.evenings.factories import make_evening, ongoing

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def english(client: Any) -> None:
    """The UI in English, the source language of the messages asserted."""
    client.get("/lang/en")


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _link(db: Any, event: Event, group: int = 0, label: str = "Anna") -> tuple[Any, str]:
    link, token = notes.create_link(
        db,
        event.id,
        event.groups[group].id,
        label=label,
        submission_key=new_key(),
        created_by_id=None,
        now=event.starts_at - dt.timedelta(days=1),
    )
    return link, token


def _questions(db: Any, event: Event) -> list[WorkshopQuestion]:
    return list(
        db.scalars(
            select(WorkshopQuestion)
            .where(WorkshopQuestion.event_id == event.id)
            .order_by(WorkshopQuestion.position)
        )
    )


# --- services -------------------------------------------------------------------------------


def test_a_higher_revision_replaces_the_text_and_a_lower_or_equal_one_does_not(
    db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    link, _token = _link(db, event)
    question = _questions(db, event)[0]
    key = notes.device_author_key("device-one-0123456789")
    at = ongoing(event)

    first = notes.save_note(db, link, question.id, author_key=key, author_name="Anna",
                            body="Avustushaku on selkeä", revision=3, now=at)  # fmt: skip
    assert first.written and first.note.body == "Avustushaku on selkeä"

    late = notes.save_note(db, link, question.id, author_key=key, author_name="Anna",
                           body="Avustus", revision=2, now=at)  # fmt: skip
    assert not late.written and late.note.body == "Avustushaku on selkeä"
    same = notes.save_note(db, link, question.id, author_key=key, author_name="Anna",
                           body="jotain muuta", revision=3, now=at)  # fmt: skip
    assert not same.written and same.note.body == "Avustushaku on selkeä"

    newer = notes.save_note(db, link, question.id, author_key=key, author_name="Anna K.",
                            body="Avustushaku on selkeä ja nopea", revision=4, now=at)  # fmt: skip
    assert newer.written
    rows = list(db.scalars(select(GroupNote).where(GroupNote.question_id == question.id)))
    assert [(r.body, r.revision, r.author_name) for r in rows] == [
        ("Avustushaku on selkeä ja nopea", 4, "Anna K.")
    ]
    assert link.last_used_at is not None


def test_two_devices_of_one_group_keep_their_own_notes(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    link, _token = _link(db, event)
    first, second = _questions(db, event)[:2]
    at = ongoing(event)
    one, two = notes.device_author_key("a" * 20), notes.device_author_key("b" * 20)

    notes.save_note(db, link, first.id, author_key=one, author_name="Anna", body="Tilat", revision=1, now=at)  # fmt: skip
    notes.save_note(db, link, first.id, author_key=two, author_name="Ville", body="Viestintä",
                    revision=1, now=at + dt.timedelta(seconds=5))  # fmt: skip
    notes.save_note(db, link, second.id, author_key=two, author_name="Ville", body="   ",
                    revision=1, now=at)  # fmt: skip

    found = notes.event_notes(db, event.id)
    group = event.groups[0].id
    assert list(found) == [group]
    assert [n.body for n in found[group][first.id]] == ["Tilat", "Viestintä"]
    assert second.id not in found[group]  # only whitespace: not a note
    assert notes.notes_count(db, event.id) == 2
    assert [n.body for n in notes.others_notes(db, link, one)[first.id]] == ["Viestintä"]


def test_notes_are_refused_after_the_end_of_the_evening(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    link, _token = _link(db, event)
    question = _questions(db, event)[0]
    with pytest.raises(WrongState, match="päättynyt"):
        notes.save_note(db, link, question.id, author_key="k", author_name="", body="Myöhässä",
                        revision=1, now=event.ends_at)  # fmt: skip
    assert notes.notes_count(db, event.id) == 0


def test_an_oversized_note_gets_the_fields_message(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    link, _token = _link(db, event)
    question = _questions(db, event)[0]
    at = ongoing(event)
    with pytest.raises(Invalid) as raised:
        notes.save_note(db, link, question.id, author_key="k", author_name="",
                        body="x" * (notes.MAX_NOTE_LENGTH + 1), revision=1, now=at)  # fmt: skip
    assert list(raised.value.errors) == ["body"]
    # Exactly the limit is fine (and Windows line ends count as one character).
    body = "x" * (notes.MAX_NOTE_LENGTH - 2) + "\r\n" + "y"
    saved = notes.save_note(db, link, question.id, author_key="k", author_name="", body=body,
                            revision=1, now=at)  # fmt: skip
    assert saved.written and len(saved.note.body) == notes.MAX_NOTE_LENGTH


def test_a_revoked_link_saves_nothing(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    link, token = _link(db, event)
    question = _questions(db, event)[0]
    notes.revoke_link(db, event.id, link.id, now=now)
    with pytest.raises(LinkInvalid) as raised:
        notes.save_note(db, link, question.id, author_key="k", author_name="", body="Teksti",
                        revision=1, now=ongoing(event))  # fmt: skip
    assert raised.value.status == 410
    with pytest.raises(notes.LinkRevoked):
        notes.get_link(db, token)
    with pytest.raises(LinkInvalid) as unknown:
        notes.get_link(db, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert unknown.value.status == 404


def test_a_question_or_group_of_another_event_is_not_found(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    other = make_evening(db, now=now, title="Toinen ilta")
    link, _token = _link(db, event)
    with pytest.raises(NotFound):
        notes.save_note(db, link, _questions(db, other)[0].id, author_key="k", author_name="",
                        body="x", revision=1, now=ongoing(event))  # fmt: skip
    with pytest.raises(NotFound):
        notes.create_link(db, event.id, other.groups[0].id, label="Anna", submission_key=new_key(),
                          created_by_id=None, now=now)  # fmt: skip


def test_the_same_submission_key_gives_the_same_link(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    key = new_key()
    group = event.groups[0].id
    first = notes.create_link(db, event.id, group, label="Anna", submission_key=key,
                              created_by_id=None, now=now)  # fmt: skip
    again = notes.create_link(db, event.id, group, label="Anna", submission_key=key,
                              created_by_id=None, now=now)  # fmt: skip
    assert first == again
    assert db.scalar(select(func.count(FacilitatorLink.id))) == 1
    # Only the hash is stored.
    assert first[1] not in (first[0].token_hash, first[0].label)


# --- the staff pages ----------------------------------------------------------------------


def test_links_are_made_shown_once_and_revoked(
    client: Any, post: Any, login_as: Any, english: None, db: Any, now: dt.datetime
) -> None:
    user = login_as("contact_person")
    event = make_evening(db, now=now, creator_id=user.id)
    db.commit()
    group = event.groups[1]
    page = _text(client.get(f"/staff/events/{event.id}/evening/facilitators"))
    assert "<h1>Facilitators' links</h1>" in page and group.name in page
    key = re.search(rf'name="g{group.id}-submission_key"[^>]*value="([^"]+)"', page)
    assert key is not None

    url = f"/staff/events/{event.id}/evening/facilitators/groups/{group.id}/links"
    data = {f"g{group.id}-label": "Ville <b>", f"g{group.id}-submission_key": key.group(1)}
    response = post(url, data)
    assert response.status_code == 200
    shown = _text(response)
    link_url = re.search(r'id="new-link-url"[^>]*value="([^"]+)"', shown)
    assert link_url is not None and "/f/" in link_url.group(1)
    assert "it is shown only this once" in shown and 'class="qr-code"' in shown
    assert "Ville &lt;b&gt;" in shown
    # A double click: the same link, not a second one.
    assert re.search(r'id="new-link-url"[^>]*value="([^"]+)"', _text(post(url, data))).group(1) == link_url.group(1)  # fmt: skip
    (link,) = db.scalars(select(FacilitatorLink).where(FacilitatorLink.event_id == event.id))
    assert link.group_id == group.id and link.created_by_id == user.id

    listed = _text(client.get(f"/staff/events/{event.id}/evening/facilitators"))
    assert link_url.group(1) not in listed and "new-link-url" not in listed
    assert "Ville &lt;b&gt;" in listed and "in force" in listed

    token = link_url.group(1).rsplit("/", 1)[1]
    assert client.get(f"/f/{token}").status_code == 200
    response = post(f"/staff/events/{event.id}/evening/facilitators/revoke", {"link_id": link.id})
    assert response.status_code == 302
    assert "was revoked" in _text(client.get(response.headers["Location"]))
    revoked = client.get(f"/f/{token}")
    assert revoked.status_code == 410 and "revoked" in _text(revoked)


def test_a_link_needs_a_name_and_the_typed_text_stays(
    client: Any, post: Any, login_as: Any, english: None, db: Any, now: dt.datetime
) -> None:
    user = login_as("coordinator")
    event = make_evening(db, now=now, creator_id=user.id)
    db.commit()
    group = event.groups[0]
    url = f"/staff/events/{event.id}/evening/facilitators/groups/{group.id}/links"
    response = post(url, {f"g{group.id}-label": "", f"g{group.id}-submission_key": new_key()})
    assert response.status_code == 422
    assert "Write the facilitator's name." in _text(response)
    long = "Nimi" * 60
    response = post(url, {f"g{group.id}-label": long, f"g{group.id}-submission_key": new_key()})
    assert response.status_code == 422 and long in _text(response)
    assert db.scalar(select(func.count(FacilitatorLink.id))) == 0


def test_an_event_without_groups_says_where_to_add_them(
    client: Any, login_as: Any, english: None, db: Any, now: dt.datetime
) -> None:
    login_as("coordinator")
    event = make_evening(db, now=now, groups=[])
    db.commit()
    page = _text(client.get(f"/staff/events/{event.id}/evening/facilitators"))
    assert "The event has no breakout groups." in page
    assert f'href="/staff/events/{event.id}#groups"' in page


def test_the_overview_shows_every_groups_notes_and_the_vote_count(
    client: Any, login_as: Any, english: None, db: Any, now: dt.datetime
) -> None:
    login_as("coordinator")
    event = make_evening(db, now=now)
    link, _token = _link(db, event, group=2)
    first = _questions(db, event)[0]
    notes.save_note(db, link, first.id, author_key="k", author_name=HOSTILE, body=HOSTILE,
                    revision=1, now=ongoing(event))  # fmt: skip
    notes.save_note(db, link, first.id, author_key="l", author_name="", body="Yhteinen kalenteri",
                    revision=1, now=ongoing(event))  # fmt: skip
    db.commit()

    page = _text(client.get(f"/staff/events/{event.id}/evening/overview"))
    assert "Live overview" in page and 'hx-trigger="every 5s"' in page
    for group in event.groups:
        assert group.name in page
    assert "Yhteinen kalenteri" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "0 votes" in page
    assert "1 / 1" in page  # the third group's link in use

    partial = client.get(
        f"/staff/events/{event.id}/evening/overview/live", headers={"HX-Request": "true"}
    )
    assert partial.status_code == 200 and "<html" not in _text(partial)
    assert "Yhteinen kalenteri" in _text(partial)
    plain = client.get(f"/staff/events/{event.id}/evening/overview/live")
    assert plain.status_code == 302


# --- the facilitator's page ------------------------------------------------------------------


def test_the_notes_page_sets_a_device_key_and_saves_without_javascript(
    client: Any, post: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    link, token = _link(db, event)
    first, second, third = _questions(db, event)
    db.commit()

    response = client.get(f"/f/{token}")
    page = _text(response)
    assert response.status_code == 200
    assert event.groups[0].name in page and first.text in page and third.text in page
    cookie = client.get_cookie("evening_device", path="/f/")
    assert cookie is not None
    assert f'name="device" type="hidden" value="{cookie.value}"' in page
    assert 'src="/static/js/facilitator.js"' in page

    response = post(
        f"/f/{token}",
        {
            "device": cookie.value,
            "author_name": "Anna",
            f"note-{first.id}": "Avustukset\r\nTilat",
            f"revision-{first.id}": "1",
            f"note-{second.id}": "",
            f"revision-{second.id}": "1",
            f"note-{third.id}": HOSTILE,
            f"revision-{third.id}": "1",
        },
    )
    assert response.status_code == 303
    rows = {n.question_id: n for n in db.scalars(select(GroupNote))}
    assert set(rows) == {first.id, third.id}  # nothing written on the second: no row
    assert rows[first.id].body == "Avustukset\nTilat" and rows[first.id].author_name == "Anna"
    assert rows[first.id].author_key == notes.device_author_key(cookie.value)
    page = _text(client.get(response.headers["Location"]))
    assert "The notes were saved" in page
    assert "Avustukset\nTilat</textarea>" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert f'name="revision-{first.id}" value="2"' in page


def test_the_other_facilitators_notes_are_shown_and_polled(
    client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    link, token = _link(db, event)
    other, _other_token = _link(db, event, label="Ville")
    question = _questions(db, event)[1]
    notes.save_note(db, other, question.id, author_key="someone", author_name="Ville",
                    body=HOSTILE, revision=1, now=ongoing(event))  # fmt: skip
    db.commit()
    page = _text(client.get(f"/f/{token}"))
    assert "Other facilitators of the group" in page and "Ville" in page
    assert "<script>alert" not in page
    polled = _text(client.get(f"/f/{token}/others"))
    assert f'id="others-{question.id}" class="notes-others" hx-swap-oob="true"' in polled
    assert "&lt;script&gt;alert" in polled and "<script>alert" not in polled


def test_autosave_answers_in_json_and_keeps_the_newest_revision(
    client: Any, post: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    link, token = _link(db, event)
    question = _questions(db, event)[0]
    db.commit()
    client.get(f"/f/{token}")
    url = f"/f/{token}/notes/{question.id}"

    saved = post(url, {"body": "Uusin", "revision": "5", "author_name": "Anna"})
    assert saved.status_code == 200
    assert saved.json["saved"] is True and saved.json["revision"] == 5
    assert saved.json["status"].startswith("Saved ")
    late = post(url, {"body": "Vanha", "revision": "4", "author_name": "Anna"})
    assert late.json == {**late.json, "saved": False, "same": False, "revision": 5}
    (row,) = db.scalars(select(GroupNote))
    db.refresh(row)
    assert (row.body, row.revision) == ("Uusin", 5)

    too_long = post(url, {"body": "x" * 10_001, "revision": "6"})
    assert too_long.status_code == 422 and too_long.json["field"] == "body"
    assert "at most 10" in too_long.json["error"]
    assert post(url, {"body": "x", "revision": "kuusi"}).status_code == 422
    other_event = make_evening(db, now=now, title="Toinen")
    db.commit()
    foreign = post(f"/f/{token}/notes/{_questions(db, other_event)[0].id}", {"body": "x", "revision": "7"})  # fmt: skip
    assert foreign.status_code == 404
    without_token = client.post(url, data={"body": "x", "revision": "8"})
    assert without_token.status_code == 400  # CSRF
    db.refresh(row)
    assert (row.body, row.revision) == ("Uusin", 5)


def test_after_the_end_the_notes_are_refused_and_the_text_stays_on_the_page(
    client: Any, post: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now, state="past")
    link, token = _link(db, event)
    question = _questions(db, event)[0]
    db.commit()
    page = _text(client.get(f"/f/{token}"))
    assert "The evening has ended" in page and "readonly" in page

    typed = "Vielä yksi ajatus: <yhteinen> kalenteri"
    response = post(f"/f/{token}", {f"note-{question.id}": typed, f"revision-{question.id}": "1"})
    assert response.status_code == 409
    shown = _text(response)
    assert "notes can no longer be saved" in shown
    assert html.escape(typed, quote=False) + "</textarea>" in shown

    autosave = post(f"/f/{token}/notes/{question.id}", {"body": typed, "revision": "2"})
    assert autosave.status_code == 409 and "ended" in autosave.json["error"]
    assert db.scalar(select(func.count(GroupNote.id))) == 0


def test_an_oversized_note_without_javascript_is_shown_again_with_the_message(
    client: Any, post: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    link, token = _link(db, event)
    first, second = _questions(db, event)[:2]
    db.commit()
    long = "Pitkä muistiinpano. " * 600
    response = post(
        f"/f/{token}",
        {
            f"note-{first.id}": "Lyhyt",
            f"revision-{first.id}": "1",
            f"note-{second.id}": long,
            f"revision-{second.id}": "1",
        },
    )
    assert response.status_code == 422
    page = _text(response)
    assert "The note is too long: at most 10" in page
    assert long.replace("\r\n", "\n") + "</textarea>" in page and "Lyhyt</textarea>" in page
    assert f'id="note-{second.id}-error">' in page and 'aria-invalid="true"' in page
    assert db.scalar(select(func.count(GroupNote.id))) == 0  # nothing half-saved


def test_an_old_page_sent_again_does_not_replace_a_newer_text_nor_lose_its_own(
    client: Any, post: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    link, token = _link(db, event)
    question = _questions(db, event)[0]
    db.commit()
    client.get(f"/f/{token}")
    post(f"/f/{token}/notes/{question.id}", {"body": "Uudempi teksti", "revision": "3"})
    response = post(f"/f/{token}", {f"note-{question.id}": "Vanha sivu", f"revision-{question.id}": "1"})  # fmt: skip
    assert response.status_code == 409
    page = _text(response)
    assert "Vanha sivu</textarea>" in page and "had saved a newer text" in page
    assert f'name="revision-{question.id}" value="4"' in page  # saving again wins
    (row,) = db.scalars(select(GroupNote))
    assert row.body == "Uudempi teksti"


def test_an_expired_form_keeps_the_notes(
    app: Any, client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    link, token = _link(db, event)
    question = _questions(db, event)[0]
    db.commit()
    client.get(f"/f/{token}")
    response = client.post(
        f"/f/{token}",
        data={"csrf_token": "vanhentunut", f"note-{question.id}": "Tärkeä ajatus",
              f"revision-{question.id}": "1"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Tärkeä ajatus</textarea>" in _text(response)
    assert db.scalar(select(func.count(GroupNote.id))) == 0


@pytest.mark.parametrize("suffix", ["", "/others"])
def test_unknown_and_tampered_links_get_a_clear_page(
    client: Any, english: None, db: Any, now: dt.datetime, suffix: str
) -> None:
    event = make_evening(db, now=now)
    _link_row, token = _link(db, event)
    db.commit()
    for bad in ("x", token[:-2], token + "x", "ä" * 10):
        response = client.get(f"/f/{bad}{suffix}")
        assert response.status_code == 404, bad
        assert "The link does not work" in _text(response)
