"""Benchmark: the evening's live vote under gunicorn (2 sync workers) against a bare Flask insert.

For each database (SQLite in a temporary directory, then a fresh PostgreSQL database on
127.0.0.1) an evening going on now gets an open live vote with five options (choose up to
three), and the servers of bench/comment_post.py are run, loaded in alternating turns:

- "bare": the comment benchmark's one-route Flask app that inserts one row;
- "ours": the app itself, in two phases:
  1. the room: PHONES simulated phones, each its own cookie, start spread over ROOM_SECONDS;
     each GETs the vote page (its session, CSRF token and phone cookie) and POSTs one vote as
     the page's htmx does, while SCREENS big-screen clients poll the results fragment every
     second as the screen's htmx does. Prints votes/s, the votes' p95, the delay from the last
     vote's answer until every screen shows all the votes, and counted=N/PHONES (the answers
     in the database);
  2. the burst: WARMUP + DURATION seconds of unpaced votes from CONNECTIONS clients, every
     vote from a fresh phone (a new phone cookie on the session and CSRF token the client got
     from the page once), measured like the bare insert; ratio = votes/s / bare inserts/s.
     Every answered vote must be one answer in the database.

    pip install -e '.[bench]'
    python bench/live_vote.py                   # both databases
    python bench/live_vote.py sqlite            # or only one
    # last line: ratio=votes/bare (the lowest); target counted=300/300, delay <= 2 s, ratio >= 0.5
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import re
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import comment_post as bench  # noqa: E402  (the load generator and the servers)

DURATION = float(os.environ.get("BENCH_DURATION", 20))
PHONES = int(os.environ.get("BENCH_PHONES", 300))
ROOM_SECONDS = float(os.environ.get("BENCH_ROOM_SECONDS", 10))
SCREENS = 5
POLL = 1.0  # the screen's hx-trigger="every 1s"
PG_DB = "bench_live_vote"
TOTAL = re.compile(rb'data-total="(\d+)"')


class Room:
    """Phase 1: the phones of a room voting while the big screens poll."""

    def __init__(self, code: str, keys: list[str]) -> None:
        self.code, self.keys = code, keys
        self.latencies: list[float] = []
        self.failed: dict[str, int] = {}
        self.first_sent = 0.0
        self.last_answered = 0.0
        self.seen_all: list[float] = []  # per screen: when it first showed every vote

    async def phone(self, port: int, n: int, start: float) -> None:
        await asyncio.sleep(max(0.0, start + n * ROOM_SECONDS / PHONES - time.perf_counter()))
        jar, token = await bench.open_page(port, f"/v/{self.code}")
        choices = random.Random(n).sample(self.keys, 1 + n % 3)
        body = urlencode([("csrf_token", token)] + [("choice", k) for k in choices]).encode()
        headers = {"Cookie": bench.cookie_header({"jar": jar}), "HX-Request": "true"}
        sent = time.perf_counter()
        self.first_sent = self.first_sent or sent
        status, _headers, content = await bench.request(
            port, "POST", f"/v/{self.code}", body=body, headers=headers
        )
        done = time.perf_counter()
        if status == 200 and b"flash-success" in content:
            self.latencies.append(done - sent)
            self.last_answered = max(self.last_answered, done)
        else:
            self.failed[str(status)] = self.failed.get(str(status), 0) + 1

    async def screen(self, port: int, n: int, stop: asyncio.Event) -> None:
        await asyncio.sleep(n * POLL / SCREENS)  # screens opened at different moments
        path = f"/v/{self.code}/screen/results"
        while not stop.is_set():
            tick = time.perf_counter()
            status, _headers, content = await bench.request(port, "GET", path)
            found = TOTAL.search(content) if status == 200 else None
            if found and int(found.group(1)) >= PHONES:
                self.seen_all.append(time.perf_counter())
                return
            await asyncio.sleep(max(0.0, tick + POLL - time.perf_counter()))

    async def run(self, port: int) -> None:
        stop = asyncio.Event()
        start = time.perf_counter()
        screens = [asyncio.create_task(self.screen(port, n, stop)) for n in range(SCREENS)]
        await asyncio.gather(*(self.phone(port, n, start) for n in range(PHONES)))
        try:
            await asyncio.wait_for(asyncio.gather(*screens), timeout=30)
        except TimeoutError:
            stop.set()

    def lines(self, database: str, counted: int) -> list[str]:
        ok = len(self.latencies)
        seconds = max(self.last_answered - self.first_sent, 1e-9)
        p95 = statistics.quantiles(self.latencies, n=20)[-1] * 1000 if ok > 1 else 0.0
        delay = (
            f"{max(self.seen_all) - self.last_answered:.2f} s"
            if len(self.seen_all) == SCREENS
            else "never (not every screen showed every vote)"
        )
        failed = f" failed={self.failed}" if self.failed else ""
        return [
            f"{database} room: {PHONES} phones over {ROOM_SECONDS:.0f} s, {SCREENS} screens: "
            f"{ok / seconds:.0f} votes/s, vote p95 {p95:.0f} ms{failed}",
            f"{database} room: last vote on every screen after {delay}",
            f"{database} room: counted={counted}/{PHONES}",
        ]


class BurstClient(bench.Client):
    """Phase 2: unpaced votes, each from a fresh phone. The room (phase 1) is run first, on
    the same server, by the first client to start."""

    def __init__(self, code: str, keys: list[str], room: Room, count_room: Any) -> None:
        self.code, self.keys, self.room, self.count_room = code, keys, room, count_room
        self.room_task: asyncio.Task[None] | None = None
        self.room_counted = 0

    async def prepare(self, port: int, number: int) -> dict[str, Any]:
        if self.room_task is None:
            self.room_task = asyncio.create_task(self.room.run(port))
            await self.room_task
            self.room_counted = self.count_room()
        else:
            await self.room_task
        jar, token = await bench.open_page(port, f"/v/{self.code}")
        jar.pop("vote_phone", None)
        return {"jar": jar, "token": token, "n": number, "i": 0}

    def next_request(self, state: dict) -> tuple[str, str, bytes, dict[str, str]]:
        state["i"] += 1
        choices = self.keys[state["i"] % len(self.keys) :][:2] or self.keys[:1]
        body = urlencode([("csrf_token", state["token"])] + [("choice", k) for k in choices])
        cookies = {**state["jar"], "vote_phone": secrets.token_urlsafe(24)}  # a fresh phone
        headers = {"Cookie": bench.cookie_header({"jar": cookies}), "HX-Request": "true"}
        return "POST", f"/v/{self.code}", body.encode(), headers

    def after(self, state: dict, status: int, headers: dict[str, list[str]]) -> bool:
        return status == 200 and "hx-retarget" not in headers


def run_one(database: str) -> float:
    from flask import current_app
    from sqlalchemy import func, select

    from participation.accounts import services as accounts
    from participation.evenings import vote
    from participation.extensions import db
    from participation.surveys.models import SurveyAnswer
    from tests.evenings.factories import make_evening

    def setup(now: dt.datetime) -> bench.Ours:
        event = make_evening(db.session, now=now, title="Penkki-ilta")
        event.starts_at = now - dt.timedelta(minutes=30)
        event.ends_at = now + dt.timedelta(hours=3)
        user = accounts.create_user(
            db.session, email="penkki@example.org", name="Penkki", role="coordinator",
            password="penkki penkki penkki",
        )  # fmt: skip
        live = vote.create_vote(
            db.session,
            event,
            question="Valitse kolme tärkeintä",
            options=["Avustukset", "Tilat", "Viestintä", "Vuosikello", "Hyvinvointikertomus"],
            max_choices=3,
            second_vote="update",
            staff_user_id=user.id,
            now=now,
        )
        vote.open_vote(db.session, live, event, now=now)
        keys = [o["key"] for o in vote.question_of(db.session, live)["options"]]
        survey_id = live.survey_id
        room = Room(live.code, keys)

        def answers() -> int:
            return db.session.scalar(
                select(func.count(SurveyAnswer.id)).where(SurveyAnswer.survey_id == survey_id)
            )

        app = current_app._get_current_object()  # type: ignore[attr-defined]

        def count_room() -> int:
            with app.app_context():
                try:
                    return answers()
                finally:
                    db.session.remove()

        client = BurstClient(live.code, keys, room, count_room)
        # The burst's stored answers: everything but the room's.
        return bench.Ours(
            client,
            lambda: answers() - client.room_counted,
            unit="votes/s",
            notes=lambda: room.lines(database, client.room_counted),
        )

    return bench.run_database(
        database,
        pg_db=PG_DB,
        duration=DURATION,
        setup=setup,
        # The app's own vote limit (30 a minute per phone) stays: every phone is a new key.
        bare_unit="inserts/s",
    )


def main() -> None:
    databases = sys.argv[1:] or ["sqlite", "postgresql"]
    print(
        f"room: {PHONES} phones over {ROOM_SECONDS:.0f} s with {SCREENS} screens; burst: "
        f"{DURATION:.0f} s (after {bench.WARMUP:.0f} s warm-up), {bench.CONNECTIONS} connections, "
        f"gunicorn {bench.WORKERS} workers"
    )
    ratios = [run_one(database) for database in databases]
    print(f"ratio={min(ratios):.3f}")


if __name__ == "__main__":
    main()
