"""A remembered participant's next comments take the short path (participation/rounds/quick.py);
whatever it cannot settle goes to the full path, which answers as it always did."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from sqlalchemy import func, select

from participation.rounds import quick
from participation.rounds.models import Comment, Participant
from tests.rounds.conftest import key
from tests.rounds.test_views import _comment_data, _section_path, _text, _textarea

HTMX = {"HX-Request": "true"}


def _count(db: Any, *where: Any) -> int:
    return db.scalar(select(func.count()).select_from(Comment).where(*where)) or 0


def _known(post: Any, round_: Any) -> Any:
    """Comment once (the full path): from then on the browser remembers the participant."""
    first = round_.version.sections[0]
    assert post(_section_path(round_, first), _comment_data(first, "Eka.")).status_code == 302
    return first


def _next(section: Any, body: str = "Seuraava.", submission_key: str | None = None) -> dict:
    prefix = f"s{section.id}"
    return {
        f"{prefix}-body": body,
        f"{prefix}-submission_key": submission_key or key(),
        f"{prefix}-homepage": "",
    }


def _spy(monkeypatch: Any) -> list[int | None]:
    """What the short path returned for each post (None: it left the post to the full path)."""
    seen: list[int | None] = []
    original = quick.add_comment

    def add_comment(*args: Any, **kwargs: Any) -> int | None:
        seen.append(result := original(*args, **kwargs))
        return result

    monkeypatch.setattr(quick, "add_comment", add_comment)
    return seen


def test_a_known_participants_comment_is_stored_and_answered_with_a_fresh_form(
    client: Any, post: Any, english: None, make_round: Any, db: Any, monkeypatch: Any
) -> None:
    round_ = make_round()
    _known(post, round_)
    seen = _spy(monkeypatch)
    second = round_.version.sections[1]
    response = post(
        _section_path(round_, second), _next(second, "Tilat <b>puuttuvat</b>."), headers=HTMX
    )
    assert response.status_code == 200 and seen and seen[0] is not None
    part = _text(response)
    assert part.lstrip().startswith(f'<div class="comment-area" id="area-s{second.id}"')
    assert "Thank you! Your comment was saved." in part
    assert "You are taking part as Maija Meikäläinen (maija@example.fi)" in part
    # Public in this round: the comment shows at once, as text, and the count follows.
    assert "Tilat &lt;b&gt;puuttuvat&lt;/b&gt;." in part
    assert f'id="count-s{second.id}" hx-swap-oob="true">(1 comment)' in part
    assert _textarea(part, f"s{second.id}-body") == ""
    stored = db.scalar(select(Comment).where(Comment.section_id == second.id))
    assert (
        stored.body == "Tilat <b>puuttuvat</b>." and stored.participant.name == "Maija Meikäläinen"
    )
    assert stored.hidden_reason == "" and stored.decision is None and stored.created_at is not None
    # Without JavaScript: back to the section, as the full path does.
    plain = post(_section_path(round_, second), _next(second, "Kolmas."))
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"#area-s{second.id}")
    assert _count(db) == 3 and db.scalar(select(func.count()).select_from(Participant)) == 1


def test_a_double_submit_of_a_known_participant_stores_one(
    post: Any, english: None, make_round: Any, db: Any, monkeypatch: Any
) -> None:
    round_ = make_round()
    section = _known(post, round_)
    seen = _spy(monkeypatch)
    data = _next(section, "Kahdesti.")
    first = post(_section_path(round_, section), data, headers=HTMX)
    again = post(_section_path(round_, section), data, headers=HTMX)
    assert first.status_code == again.status_code == 200
    assert "Thank you!" in _text(again)
    assert seen[0] is not None and seen[1] is None  # the second is the full path's duplicate
    assert _count(db, Comment.body == "Kahdesti.") == 1


def test_after_the_close_a_known_participant_keeps_the_text(
    client: Any, post: Any, english: None, make_round: Any, db: Any
) -> None:
    # Closing in a minute: the browser still remembers the participant at the close.
    round_ = make_round(closes_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    section = _known(post, round_)
    with time_machine.travel(round_.closes_at + dt.timedelta(seconds=1), tick=False):
        late = post(_section_path(round_, section), _next(section, "Myöhässä."), headers=HTMX)
    assert late.status_code == 200 and "Your text was not saved" in _text(late)
    assert _textarea(_text(late), f"s{section.id}-body") == "Myöhässä."
    with time_machine.travel(round_.closes_at - dt.timedelta(seconds=1), tick=False):
        ok = post(_section_path(round_, section), _next(section, "Ajoissa."), headers=HTMX)
    assert "Thank you!" in _text(ok)
    assert _count(db, Comment.body == "Myöhässä.") == 0
    assert _count(db, Comment.body == "Ajoissa.") == 1


def test_too_long_and_honeypot_posts_of_a_known_participant(
    post: Any, english: None, make_round: Any, db: Any
) -> None:
    round_ = make_round()
    section = _known(post, round_)
    long_text = "x" * 501
    response = post(_section_path(round_, section), _next(section, long_text), headers=HTMX)
    assert "at most 500 fit" in _text(response)
    assert _textarea(_text(response), f"s{section.id}-body") == long_text
    spam = _next(section, "Roskaa.")
    spam[f"s{section.id}-homepage"] = "http://spam.example"
    assert "Thank you!" in _text(post(_section_path(round_, section), spam, headers=HTMX))
    assert _count(db) == 1  # only the first comment


def test_an_erased_participant_is_asked_who_they_are_again(
    post: Any, english: None, make_round: Any, db: Any
) -> None:
    round_ = make_round()
    section = _known(post, round_)
    participant = db.scalar(select(Participant))
    participant.anonymised_at = dt.datetime.now(dt.UTC)
    db.commit()
    response = post(_section_path(round_, section), _next(section), headers=HTMX)
    assert "Enter your name." in _text(response)
    assert _count(db) == 1


def test_another_rounds_participant_is_not_this_rounds(
    post: Any, english: None, make_round: Any, db: Any
) -> None:
    first_round, second_round = make_round(), make_round()
    _known(post, first_round)
    section = second_round.version.sections[0]
    response = post(_section_path(second_round, section), _next(section), headers=HTMX)
    assert "Enter your name." in _text(response)
    assert _count(db, Comment.round_id == second_round.id) == 0


def test_the_guarded_insert_stores_nothing_once_the_round_closed(
    post: Any, make_round: Any, db: Any
) -> None:
    """The close falling between the read and the write: the insert's own guard holds."""
    round_ = make_round()
    section = _known(post, round_)
    participant = db.scalar(select(Participant))
    target = quick.find_target(db, round_.slug, section.id, [participant.id])
    assert target is not None and target.participant.id == participant.id
    round_.closes_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.commit()
    stored = quick.add_comment(
        db, target, body="Väliin.", submission_key=key(), now=dt.datetime.now(dt.UTC)
    )
    assert stored is None and _count(db, Comment.body == "Väliin.") == 0


def test_the_guarded_insert_stores_nothing_once_the_participant_was_erased(
    post: Any, make_round: Any, db: Any
) -> None:
    """An erasure falling between the read and the write: no comment for an erased person."""
    round_ = make_round()
    section = _known(post, round_)
    participant = db.scalar(select(Participant))
    target = quick.find_target(db, round_.slug, section.id, [participant.id])
    assert target is not None
    participant.anonymised_at = dt.datetime.now(dt.UTC)
    db.commit()
    stored = quick.add_comment(
        db, target, body="Poistetun.", submission_key=key(), now=dt.datetime.now(dt.UTC)
    )
    assert stored is None and _count(db, Comment.body == "Poistetun.") == 0


def test_a_stale_kept_round_never_stores_what_the_rules_now_refuse(
    post: Any, english: None, make_round: Any, db: Any, monkeypatch: Any
) -> None:
    """The process keeps what it read of the round for a while; staff change it meanwhile:
    the insert checks the round as it is now, and the full path gives the message."""
    round_ = make_round()
    section = _known(post, round_)
    seen = _spy(monkeypatch)
    assert "Thank you!" in _text(post(_section_path(round_, section), _next(section), headers=HTMX))
    assert seen[-1] is not None  # the round's facts are kept now
    round_.max_comment_length = 100
    db.commit()
    over = "y" * 150  # within the kept limit (500), over the new one
    refused = post(_section_path(round_, section), _next(section, over), headers=HTMX)
    assert seen[-1] is None and "at most 100 fit" in _text(refused)
    assert _textarea(_text(refused), f"s{section.id}-body") == over
    round_.section_comments = False
    db.commit()
    elsewhere = post(_section_path(round_, section), _next(section, "Osioon."), headers=HTMX)
    assert elsewhere.status_code == 404
    assert _count(db, Comment.body.in_([over, "Osioon."])) == 0
