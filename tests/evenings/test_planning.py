"""Planning an evening: the programme, the workshop questions and the theme ideas, through the
services and through the staff hub and the event's public page."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from participation.errors import Conflict, Invalid, NotFound, WrongState
from participation.evenings import planning
from participation.evenings.models import GroupNote, ProgrammeItem, Theme, ThemeVote
from participation.events import setup
from participation.events.models import EventInvitation
from participation.mail.models import OutboxMessage
from participation.register.models import Association
from tests.conftest import csrf_token
from tests.evenings.factories import make_evening

HOSTILE = "<script>alert('x')</script>"
HTMX = {"HX-Request": "true"}
KEY = "k" * 24


@pytest.fixture
def english(client: Any) -> None:
    """The UI in English, the source language of the messages asserted."""
    client.get("/lang/en")


@pytest.fixture
def coordinator(login_as: Any, english: None) -> Any:
    return login_as("coordinator")


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _send(client: Any, path: str, prefix: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """POST a prefixed form of the hub with its own CSRF field, as the page renders it."""
    token = csrf_token(client)
    return client.post(path, data={f"{prefix}-csrf_token": token, **data}, **kwargs)


def _programme_titles(db: Any, event_id: int) -> list[str]:
    return [i.title for i in planning.programme(db, event_id)]


# --- services: the programme ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("17.30", dt.time(17, 30)), ("9:05", dt.time(9, 5)), ("1730", dt.time(17, 30)),
     ("18", dt.time(18, 0)), (" 07.00 ", dt.time(7, 0))],
)  # fmt: skip
def test_times_are_read_as_people_write_them(typed: str, expected: dt.time) -> None:
    assert planning.parse_clock(typed) == expected


@pytest.mark.parametrize("typed", ["", "24.00", "17.60", "puoli kuusi", "17.3", "1.2.3"])
def test_what_is_not_a_time_is_refused(typed: str) -> None:
    assert planning.parse_clock(typed) is None


def test_programme_items_fall_in_place_by_time_and_move_by_hand(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    add = planning.add_programme_item
    add(db, event.id, at="18.00", title="Ryhmätyö", speaker="", now=now)
    add(db, event.id, at="17.00", title="Tervetuloa", speaker="Sivistysjohtaja", now=now)
    coffee = add(db, event.id, at="17.30", title="Kahvi", speaker="", now=now)
    assert _programme_titles(db, event.id) == ["Tervetuloa", "Kahvi", "Ryhmätyö"]

    assert planning.move_programme_item(db, event.id, coffee.id, 1, now=now)
    assert _programme_titles(db, event.id) == ["Tervetuloa", "Ryhmätyö", "Kahvi"]
    assert not planning.move_programme_item(db, event.id, coffee.id, 1, now=now)  # already last

    # A new time puts the line in its place again.
    planning.update_programme_item(
        db, event.id, coffee.id, at="16.45", title="Kahvi ja pulla", speaker="", now=now
    )
    assert _programme_titles(db, event.id) == ["Kahvi ja pulla", "Tervetuloa", "Ryhmätyö"]
    planning.delete_programme_item(db, event.id, coffee.id, now=now)
    items = planning.programme(db, event.id)
    assert [i.title for i in items] == ["Tervetuloa", "Ryhmätyö"]
    assert [i.position for i in items] == [0, 1]
    assert items[0].speaker == "Sivistysjohtaja" and items[0].at == dt.time(17, 0)


def test_a_bad_programme_item_gets_a_message_per_field(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    with pytest.raises(Invalid) as caught:
        planning.add_programme_item(
            db, event.id, at="puoli", title="  ", speaker="x" * 201, now=now
        )
    assert set(caught.value.errors) == {"at", "title", "speaker"}
    assert db.scalar(select(func.count(ProgrammeItem.id))) == 0


def test_another_events_programme_item_is_not_found(db: Any, now: dt.datetime) -> None:
    first, second = make_evening(db, now=now, title="Eka"), make_evening(db, now=now, title="Toka")
    item = planning.add_programme_item(db, first.id, at="17", title="Alku", speaker="", now=now)
    with pytest.raises(NotFound):
        planning.delete_programme_item(db, second.id, item.id, now=now)
    assert _programme_titles(db, first.id) == ["Alku"]


# --- services: workshop questions ---------------------------------------------------------------


def test_the_usual_five_questions_only_for_an_event_without_questions(
    db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now, questions=[])
    added = planning.use_default_questions(db, event.id, now=now)
    assert len(added) == 5 and len({q.text for q in added}) == 5
    assert [q.position for q in planning.questions(db, event.id)] == [0, 1, 2, 3, 4]
    with pytest.raises(Conflict):
        planning.use_default_questions(db, event.id, now=now)
    assert len(planning.questions(db, event.id)) == 5


def test_questions_are_added_last_moved_and_edited(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now, questions=["Yksi", "Kaksi"])
    three = planning.add_question(db, event.id, text="  Kolme?  ", now=now)
    assert [q.text for q in planning.questions(db, event.id)] == ["Yksi", "Kaksi", "Kolme?"]
    planning.move_question(db, event.id, three.id, -1, now=now)
    assert [q.text for q in planning.questions(db, event.id)] == ["Yksi", "Kolme?", "Kaksi"]
    planning.update_question(db, event.id, three.id, text="Kolme!", now=now)
    with pytest.raises(Invalid) as caught:
        planning.update_question(db, event.id, three.id, text=" ", now=now)
    assert "text" in caught.value.errors
    assert planning.get_question(db, event.id, three.id).text == "Kolme!"


def test_a_question_with_notes_is_not_removed(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now, questions=["Noted", "Empty"])
    noted, empty = planning.questions(db, event.id)
    group = event.groups[0]
    db.add_all(
        [
            GroupNote(event_id=event.id, group_id=group.id, question_id=noted.id,
                      author_key="a" * 20, body="Yhteinen kalenteri"),
            GroupNote(event_id=event.id, group_id=group.id, question_id=empty.id,
                      author_key="b" * 20, body=""),
        ]
    )  # fmt: skip
    db.flush()
    with pytest.raises(Conflict):
        planning.delete_question(db, event.id, noted.id, now=now)
    planning.delete_question(db, event.id, empty.id, now=now)  # only an empty draft on it
    assert [q.text for q in planning.questions(db, event.id)] == ["Noted"]
    assert db.scalar(select(func.count(GroupNote.id))) == 1


# --- services: themes and their votes -----------------------------------------------------------


def _propose(db: Any, event: Any, now: dt.datetime, **overrides: Any) -> Theme:
    values = {
        "title": "Yhteinen vuosikalenteri",
        "description": "",
        "association_id": None,
        "submission_key": overrides.pop("key", KEY),
    }
    values.update(overrides)
    return planning.propose_theme(db, event.id, now=now, **values)


def test_a_proposal_sent_twice_is_one_theme(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    first = _propose(db, event, now)
    again = _propose(db, event, now, title="Muuta")
    assert again.id == first.id and again.title == "Yhteinen vuosikalenteri"
    assert db.scalar(select(func.count(Theme.id))) == 1


def test_a_proposal_names_an_association_of_the_register_or_none(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    club = Association(name="Kyläseura")
    gone = Association(name="Lakannut seura", active=False)
    db.add_all([club, gone])
    db.flush()
    theme = _propose(db, event, now, association_id=str(club.id))
    assert planning.themes(db, event.id, include_hidden=False)[0].association_name == "Kyläseura"
    for bad in (str(gone.id), "999999", "x"):
        with pytest.raises(Invalid) as caught:
            _propose(db, event, now, key="z" * 24, association_id=bad)
        assert "association_id" in caught.value.errors
    assert theme.association_id == club.id


def test_proposals_and_votes_close_when_the_evening_starts(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    theme = _propose(db, event, now)
    with pytest.raises(WrongState):
        _propose(db, event, event.starts_at, key="y" * 24)
    with pytest.raises(WrongState):
        planning.set_theme_vote(
            db, event.id, theme.id, voter_key="v1", vote=True, now=event.starts_at
        )
    planning.set_theme_vote(
        db, event.id, theme.id, voter_key="v1", vote=True,
        now=event.starts_at - dt.timedelta(seconds=1),
    )  # fmt: skip
    assert planning.count_theme_votes(db, theme.id) == 1


def test_one_vote_per_browser_per_theme(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    theme = _propose(db, event, now)
    vote = planning.set_theme_vote
    assert vote(db, event.id, theme.id, voter_key="a", vote=True, now=now).votes == 1
    assert vote(db, event.id, theme.id, voter_key="a", vote=True, now=now).votes == 1
    assert vote(db, event.id, theme.id, voter_key="b", vote=True, now=now).votes == 2
    taken_back = vote(db, event.id, theme.id, voter_key="a", vote=False, now=now)
    assert (taken_back.voted, taken_back.votes) == (False, 1)
    assert planning.voted_theme_ids(db, event.id, "b") == {theme.id}
    assert planning.voted_theme_ids(db, event.id, "a") == set()


def test_hidden_themes_leave_the_public_list_and_take_no_votes(db: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    popular = _propose(db, event, now, title="Tilat", key="p" * 24)
    quiet = _propose(db, event, now, title="Avustukset", key="q" * 24)
    planning.set_theme_vote(db, event.id, popular.id, voter_key="a", vote=True, now=now)
    rows = planning.themes(db, event.id, include_hidden=False)
    assert [(r.theme.title, r.votes) for r in rows] == [("Tilat", 1), ("Avustukset", 0)]

    with pytest.raises(Invalid):
        planning.hide_theme(db, event.id, popular.id, reason="  ", now=now)
    planning.hide_theme(db, event.id, popular.id, reason="Sama kuin toinen", now=now)
    assert [r.theme.title for r in planning.themes(db, event.id, include_hidden=False)] == [
        "Avustukset"
    ]
    assert len(planning.themes(db, event.id, include_hidden=True)) == 2
    with pytest.raises(NotFound):
        planning.set_theme_vote(db, event.id, popular.id, voter_key="b", vote=True, now=now)

    planning.set_theme_handled(db, event.id, quiet.id, True, now=now)
    planning.set_theme_handled(db, event.id, popular.id, True, now=now)
    assert [t.title for t in planning.handled_themes(db, event.id)] == ["Avustukset"]
    planning.show_theme(db, event.id, popular.id, now=now)
    assert {t.title for t in planning.handled_themes(db, event.id)} == {"Tilat", "Avustukset"}
    assert planning.count_handled_themes(db, event.id) == 2


def test_the_stored_vote_key_is_a_hash_of_the_browsers_key() -> None:
    stored = planning.voter_hash("secret", "browser-key")
    assert len(stored) == 64 and "browser-key" not in stored
    assert stored == planning.voter_hash("secret", "browser-key")
    assert stored != planning.voter_hash("other secret", "browser-key")


# --- the staff hub ------------------------------------------------------------------------------


def test_the_hub_shows_the_programme_questions_and_themes(
    coordinator: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    planning.add_programme_item(
        db, event.id, at="17.30", title=HOSTILE, speaker="Juontaja", now=now
    )
    _propose(db, event, now, title="Yhteinen vuosikalenteri")
    db.commit()
    response = client.get(f"/staff/events/{event.id}/evening")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "&lt;script&gt;" in page and HOSTILE not in page
    text = html.unescape(page)
    assert "17:30" in text or "17.30" in text
    assert "Mitä pitäisi muuttaa?" in text and "Yhteinen vuosikalenteri" in text
    assert 'aria-current="page"' in page  # the evening's navigation marks this page


def test_a_bad_time_keeps_everything_typed(
    coordinator: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    db.commit()
    response = _send(
        client,
        f"/staff/events/{event.id}/evening/programme",
        "item",
        {"item-at": "puoli kuusi", "item-title": "Kahvi & pulla", "item-speaker": "Keittiö"},
    )
    assert response.status_code == 422
    page = _text(response)
    assert "Give the time as hours and minutes" in page
    assert 'value="puoli kuusi"' in page and 'value="Kahvi & pulla"' in page
    assert 'value="Keittiö"' in page
    assert planning.programme(db, event.id) == []


def test_adding_and_editing_a_programme_item(
    coordinator: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    db.commit()
    added = _send(
        client,
        f"/staff/events/{event.id}/evening/programme",
        "item",
        {"item-at": "17.00", "item-title": "Tervetuloa", "item-speaker": ""},
    )
    assert added.status_code == 303 and added.headers["Location"].endswith("#programme")
    (item,) = planning.programme(db, event.id)
    edit = f"/staff/events/{event.id}/evening/programme/edit?item={item.id}"
    assert 'value="17.00"' in _text(client.get(edit))
    refused = client.post(edit, data={"csrf_token": csrf_token(client), "at": "17.15", "title": ""})
    assert refused.status_code == 422 and 'value="17.15"' in _text(refused)
    saved = client.post(
        edit, data={"csrf_token": csrf_token(client), "at": "17.15", "title": "Avaus"}
    )
    assert saved.status_code == 303
    db.refresh(item)
    assert (item.at, item.title) == (dt.time(17, 15), "Avaus")
    assert client.get(f"/staff/events/{event.id}/evening/programme/edit?item=0").status_code == 404


def test_the_usual_questions_button_and_a_refused_removal(
    coordinator: Any, client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now, questions=[])
    db.commit()
    hub = f"/staff/events/{event.id}/evening"
    assert "Use the usual five questions" in _text(client.get(hub))
    done = post(f"{hub}/questions/defaults")
    assert done.status_code == 303
    assert "5 questions were added" in _text(client.get(done.headers["Location"]))
    assert len(planning.questions(db, event.id)) == 5

    first = planning.questions(db, event.id)[0]
    db.add(GroupNote(event_id=event.id, group_id=event.groups[0].id, question_id=first.id,
                     author_key="a" * 20, body="Muistiinpano"))  # fmt: skip
    db.commit()
    refused = post(f"{hub}/questions/delete", {"question_id": first.id})
    assert "cannot be removed" in _text(client.get(refused.headers["Location"]))
    assert len(planning.questions(db, event.id)) == 5


def test_hiding_a_theme_asks_for_the_reason_and_keeps_it_from_the_public(
    coordinator: Any, client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    theme = _propose(db, event, now, title="Mainos: osta meiltä")
    db.commit()
    hide = f"/staff/events/{event.id}/evening/themes/hide?theme={theme.id}"
    refused = post(hide, {"reason": ""})
    assert refused.status_code == 422 and "Say why the theme is hidden" in _text(refused)
    assert post(hide, {"reason": "Mainos, ei teema"}).status_code == 303
    db.refresh(theme)
    assert theme.hidden_at is not None and theme.hidden_reason == "Mainos, ei teema"
    assert "Mainos, ei teema" in _text(client.get(f"/staff/events/{event.id}/evening"))
    assert "osta meiltä" not in _text(client.get(f"/events/{event.slug}"))

    post(f"/staff/events/{event.id}/evening/themes/show", {"theme_id": theme.id})
    post(f"/staff/events/{event.id}/evening/themes/handled", {"theme_id": theme.id, "handled": "1"})
    db.refresh(theme)
    assert theme.hidden_at is None and theme.handled


def test_staff_add_a_theme_and_a_bad_one_keeps_its_text(
    coordinator: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    db.commit()
    path = f"/staff/events/{event.id}/evening/themes"
    refused = _send(
        client, path, "theme", {"theme-title": "", "theme-description": "Tilat iltakäyttöön"}
    )
    assert refused.status_code == 422
    assert "Tilat iltakäyttöön" in _text(refused) and "Give the theme a short title" in _text(
        refused
    )
    assert _send(client, path, "theme", {"theme-title": "Tilat"}).status_code == 303
    (row,) = planning.themes(db, event.id, include_hidden=True)
    assert row.theme.added_by_id == coordinator.id


def test_a_contact_person_runs_the_evening_of_their_own_event_only(
    login_as: Any, client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    user = login_as("contact_person")
    own = make_evening(db, now=now, creator_id=user.id, title="Oma ilta")
    other = make_evening(db, now=now, title="Toisen ilta")
    db.commit()
    assert client.get(f"/staff/events/{own.id}/evening").status_code == 200
    assert client.get(f"/staff/events/{other.id}/evening").status_code == 403
    refused = post(f"/staff/events/{other.id}/evening/questions/defaults")
    assert refused.status_code == 403


# --- the public page ----------------------------------------------------------------------------


def _public(client: Any, event: Any) -> str:
    response = client.get(f"/events/{event.slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _idea(client: Any, event: Any, **overrides: Any) -> Any:
    token = csrf_token(client, f"/events/{event.slug}")
    data = {
        "idea-csrf_token": token,
        "idea-title": "Yhteinen vuosikalenteri",
        "idea-description": "Kaikkien yhdistysten tapahtumat samaan paikkaan.",
        "idea-association_id": "",
        "idea-submission_key": KEY,
        "idea-homepage": "",
    }
    headers = overrides.pop("headers", None)
    data.update({f"idea-{k}": v for k, v in overrides.items()})
    return client.post(f"/events/{event.slug}/themes", data=data, headers=headers)


def test_the_event_page_shows_the_programme_and_the_themes_as_text(
    client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    planning.add_programme_item(db, event.id, at="17", title="Tervetuloa", speaker=HOSTILE, now=now)
    _propose(db, event, now, title=HOSTILE, description="<b>lihava</b>")
    db.commit()
    page = _public(client, event)
    assert HOSTILE not in page and "<b>lihava</b>" not in page
    assert "&lt;script&gt;" in page and "Tervetuloa" in page
    assert 'id="evening-themes"' in page and 'name="idea-title"' in page


def test_an_event_without_programme_or_themes_shows_no_evening(
    client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now, state="past")
    db.commit()
    page = _public(client, event)
    assert "evening-themes" not in page and "programme-list" not in page


def test_proposing_a_theme_without_javascript(
    client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    club = Association(name="Kyläseura")
    db.add(club)
    db.commit()
    sent = _idea(client, event, association_id=str(club.id))
    assert sent.status_code == 303 and sent.headers["Location"].endswith("#evening-themes")
    page = _text(client.get(sent.headers["Location"]))
    assert "Your theme idea “Yhteinen vuosikalenteri” is on the list" in page
    assert "Proposed by Kyläseura" in page
    again = _idea(client, event, association_id=str(club.id))  # the double click
    assert again.status_code == 303
    assert db.scalar(select(func.count(Theme.id)).where(Theme.event_id == event.id)) == 1


def test_a_refused_proposal_keeps_what_was_typed(
    client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    db.commit()
    refused = _idea(client, event, title="", description="Tärkeä & kiireellinen")
    assert refused.status_code == 422
    page = _text(refused)
    assert "Give the theme a short title" in page and "Tärkeä & kiireellinen" in page
    assert "hx-post" not in refused.get_data(as_text=True).split('class="theme-form"')[1]
    in_place = _idea(client, event, title="x" * 201, headers=HTMX)
    assert in_place.status_code == 422
    assert 'id="evening-themes"' in in_place.get_data(as_text=True)
    assert "x" * 201 in _text(in_place) and "At most 200 characters" in _text(in_place)
    assert db.scalar(select(func.count(Theme.id))) == 0


def test_a_proposal_after_the_start_is_refused_with_the_text_kept(
    client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now, state="past")
    db.commit()
    refused = _idea(client, event, description="Myöhässä mutta tärkeä")
    assert refused.status_code == 409
    page = _text(refused)
    assert "The evening has started" in page and "Myöhässä mutta tärkeä" in page
    assert db.scalar(select(func.count(Theme.id))) == 0


def test_an_expired_proposal_form_keeps_the_text(
    client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    db.commit()
    client.get(f"/events/{event.slug}")
    expired = client.post(
        f"/events/{event.slug}/themes",
        data={"idea-title": "Avustukset", "idea-description": "Haku kahdesti vuodessa"},
    )
    assert expired.status_code == 400
    page = _text(expired)
    assert "The form had expired" in page
    assert 'value="Avustukset"' in page and "Haku kahdesti vuodessa" in page
    assert db.scalar(select(func.count(Theme.id))) == 0


def test_the_honeypot_is_thanked_and_nothing_is_kept(
    client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    db.commit()
    assert _idea(client, event, homepage="http://spam.example").status_code == 303
    assert db.scalar(select(func.count(Theme.id))) == 0


def test_too_many_proposals_keep_the_text(
    app: Any, client: Any, english: None, db: Any, now: dt.datetime, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "THEME_PROPOSAL_RATE_LIMIT", "2 per hour")
    event = make_evening(db, now=now)
    db.commit()
    # Refused forms do not count; stored ideas do.
    assert _idea(client, event, title="").status_code == 422
    assert _idea(client, event, title="Yksi", submission_key="1" * 24).status_code == 303
    assert _idea(client, event, title="Kaksi", submission_key="2" * 24).status_code == 303
    limited = _idea(client, event, title="Kolme", submission_key="3" * 24)
    assert limited.status_code == 429
    assert 'value="Kolme"' in _text(limited) and "what you typed is kept" in _text(limited)
    assert db.scalar(select(func.count(Theme.id))) == 2


def _vote(client: Any, event: Any, theme: Theme, vote: str = "1", **kwargs: Any) -> Any:
    token = csrf_token(client, f"/events/{event.slug}")
    return client.post(
        f"/events/{event.slug}/themes/{theme.id}/vote",
        data={"csrf_token": token, "vote": vote},
        **kwargs,
    )


def test_a_browser_votes_once_per_theme_and_can_take_it_back(
    client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now)
    theme = _propose(db, event, now)
    db.commit()
    first = _vote(client, event, theme)
    assert first.status_code == 303 and first.headers["Location"].endswith(f"#theme-{theme.id}")
    cookie = client.get_cookie("evening_voter")
    assert cookie is not None and cookie.http_only
    _vote(client, event, theme)  # the same browser again: still one
    assert planning.count_theme_votes(db, theme.id) == 1
    (stored,) = db.scalars(select(ThemeVote.voter_key))
    assert cookie.value not in stored and len(stored) == 64
    page = _text(client.get(f"/events/{event.slug}"))
    assert "1 vote" in page and 'aria-pressed="true"' in page

    other = client.application.test_client()  # another browser
    _vote(other, event, theme)
    assert planning.count_theme_votes(db, theme.id) == 2

    in_place = _vote(client, event, theme, vote="0", headers=HTMX)
    assert in_place.status_code == 200
    fragment = in_place.get_data(as_text=True)
    assert f'id="theme-{theme.id}-vote"' in fragment and "<html" not in fragment
    assert "1 vote" in fragment and 'aria-pressed="false"' in fragment
    assert 'hx-swap-oob="true"' in fragment and "taken back" in html.unescape(fragment)
    assert planning.count_theme_votes(db, theme.id) == 1


def test_a_vote_after_the_start_is_refused_with_a_message(
    client: Any, english: None, db: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now, state="past")
    theme = _propose(db, event, event.starts_at - dt.timedelta(days=1))
    db.commit()
    refused = _vote(client, event, theme)
    assert "The evening has started" in _text(client.get(refused.headers["Location"]))
    in_place = _vote(client, event, theme, headers=HTMX)
    assert "The evening has started" in _text(in_place)
    assert planning.count_theme_votes(db, theme.id) == 0
    page = _public(client, event)
    assert f"/themes/{theme.id}/vote" not in page  # no vote buttons once it started


# --- the invitation -----------------------------------------------------------------------------


def test_the_invitation_mail_carries_the_programme(db: Any, app: Any, now: dt.datetime) -> None:
    event = make_evening(db, now=now)
    planning.add_programme_item(
        db, event.id, at="17.00", title="Tervetuloa", speaker="Pormestari", now=now
    )
    planning.add_programme_item(db, event.id, at="18.15", title="Ryhmätyö", speaker="", now=now)
    club = Association(name="Kyläseura", email="seura@example.org")
    db.add(club)
    db.flush()
    db.add(EventInvitation(event_id=event.id, association_id=club.id))
    db.flush()
    with app.test_request_context():
        setup.send_invitations(db, event.id, link="http://localhost/e", now=now)
    body = db.scalar(select(OutboxMessage.body_text).where(OutboxMessage.recipient == club.email))
    assert body is not None
    lines = [line.strip() for line in body.splitlines()]
    assert any(re.fullmatch(r"17[.:]00\s+Tervetuloa \(Pormestari\)", line) for line in lines), body
    assert any(re.fullmatch(r"18[.:]15\s+Ryhmätyö", line) for line in lines), body
