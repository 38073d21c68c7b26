"""Facilitators saving at the same moment: no text is lost and the newest revision wins.

Real threads, each with its own test client and database connection, against a committed
database of their own (SQLite by default, PostgreSQL with TEST_DATABASE_URL), through the
autosave endpoint the page's script uses.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from participation.evenings import notes
from participation.evenings.models import GroupNote, WorkshopQuestion
from participation.evenings.notes_forms import new_key
from participation.extensions import db
from tests.conftest import committed_app, in_app
from tests.evenings.factories import make_evening


@pytest.fixture(scope="module")
def race_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with committed_app(
        tmp_path_factory, "notes_races", FACILITATOR_NOTE_RATE_LIMIT="1000000 per minute"
    ) as app:
        yield app


def _evening(app: Flask) -> tuple[str, int]:
    """An evening under way (notes are accepted until its end) with a link to its first group:
    (the link's token, the first question's id)."""

    def make() -> tuple[str, int]:
        now = dt.datetime.now(dt.UTC)
        event = make_evening(db.session, now=now, title=f"Kilpailuilta {new_key()[:6]}")
        _link, token = notes.create_link(
            db.session, event.id, event.groups[0].id, label="Ryhmä 1", submission_key=new_key(),
            created_by_id=None, now=now,
        )  # fmt: skip
        question = db.session.scalar(
            select(WorkshopQuestion.id)
            .where(WorkshopQuestion.event_id == event.id)
            .order_by(WorkshopQuestion.position)
        )
        db.session.commit()
        return token, question

    return in_app(app, make)


def _run_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(n)` in `count` threads released at the same moment; no thread may fail."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = work(n)
        except BaseException as exc:  # noqa: BLE001  (asserted on below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread never finished"
    assert errors == []
    return results


def _autosave(app: Flask, token: str, question: int, device: str, body: str, revision: int) -> int:
    response = app.test_client().post(
        f"/f/{token}/notes/{question}",
        data={"device": device, "body": body, "revision": str(revision), "author_name": device[:5]},
    )
    return response.status_code


def _rows(app: Flask, question: int) -> list[tuple[str, str, int]]:
    def load() -> list[tuple[str, str, int]]:
        rows = db.session.scalars(
            select(GroupNote).where(GroupNote.question_id == question).order_by(GroupNote.id)
        )
        return [(r.author_key, r.body, r.revision) for r in rows]

    return in_app(app, load)


def test_two_facilitators_typing_on_one_group_keep_both_texts(race_app: Flask) -> None:
    token, question = _evening(race_app)
    devices = ["anna-" + new_key(), "ville-" + new_key()]
    words = {devices[0]: "Avustushaku selkeämmäksi", devices[1]: "Yhteinen tapahtumakalenteri"}
    saves = 25

    def type_away(n: int) -> list[int]:
        # Each device sends its text growing a letter at a time, as autosave does.
        device = devices[n]
        text = words[device]
        return [
            _autosave(race_app, token, question, device, text[: 1 + i % len(text)] + f" {i}", i)
            for i in range(1, saves + 1)
        ]

    statuses = _run_threads(2, type_away)

    assert statuses == [[200] * saves, [200] * saves]
    rows = _rows(race_app, question)
    assert sorted((key, body, revision) for key, body, revision in rows) == sorted(
        (
            notes_key(device),
            words[device][: 1 + saves % len(words[device])] + f" {saves}",
            saves,
        )
        for device in devices
    )


def test_one_devices_saves_arriving_out_of_order_keep_the_newest(race_app: Flask) -> None:
    token, question = _evening(race_app)
    device = "tabletti-" + new_key()
    revisions = list(range(1, 41))
    random.Random(7).shuffle(revisions)  # a slow network delivers them in any order

    statuses = _run_threads(
        len(revisions),
        lambda n: _autosave(
            race_app, token, question, device, f"versio {revisions[n]}", revisions[n]
        ),
    )

    assert statuses == [200] * len(revisions)  # the racing first inserts became updates
    assert _rows(race_app, question) == [(notes_key(device), "versio 40", 40)]


def notes_key(device: str) -> str:
    return notes.device_author_key(device)
