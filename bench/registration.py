"""Benchmark: a burst of event registrations through the whole app against a bare Flask insert.

For each database (SQLite in a temporary directory, then a fresh PostgreSQL database on
127.0.0.1) one open event with CAPACITY seats is made, and two servers are run with gunicorn
and 2 sync workers, loaded in alternating turns (the load generator and the servers are those of
bench/comment_post.py):

- "ours": the app itself; every virtual client first GETs the event page for its session cookie
  and CSRF token, then registers (htmx, as the page does) again and again with a new address and
  submission key each time: CSRF check, rate limiter, the form engine's questions, the event's
  lock, the seat count, the insert, the confirmation (with its .ics) or waitlist mail in the
  outbox, and the re-rendered registration area;
- "bare": the comment benchmark's one-route Flask app that inserts one row.

Each gets DURATION seconds from CONNECTIONS concurrent clients. Afterwards the registrations in
the database must equal the successful answers, the confirmed seats must not exceed the capacity
(`oversold=0`), and the first CAPACITY of them must be the confirmed ones.

    pip install -e '.[bench]'
    python bench/registration.py                 # both databases
    python bench/registration.py sqlite          # or only one
    # prints registrations/s per database and oversold=N; last line ratio=ours/bare (the lowest)
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import comment_post as bench  # noqa: E402  (the load generator and the servers)

DURATION = float(os.environ.get("BENCH_DURATION", 10))
CAPACITY = int(os.environ.get("BENCH_CAPACITY", 300))
PG_DB = "bench_registration"


class RegistrationClient(bench.Client):
    """A person's browser: the event page once, then registrations one after another."""

    def __init__(self, slug: str) -> None:
        self.slug = slug

    async def prepare(self, port: int, number: int) -> dict[str, object]:
        jar, token = await bench.open_page(port, f"/events/{self.slug}")
        # A fresh prefix per phase (warm-up, then measured): the same address twice would be
        # answered "already registered" and store nothing.
        prefix = secrets.token_hex(3)
        return {"jar": jar, "token": token, "n": f"{prefix}{number}", "i": 0}

    def next_request(self, state: dict) -> tuple[str, str, bytes, dict[str, str]]:
        state["i"] += 1
        who = f"{state['n']}-{state['i']}"
        fields = {
            "reg-csrf_token": state["token"],
            "reg-name": f"Penkki Osallistuja {who}",
            "reg-email": f"penkki{who}@example.org",
            "reg-association_id": "",
            "reg-seats": "1",
            "reg-consent": "y",
            "reg-homepage": "",
            "reg-submission_key": secrets.token_urlsafe(24),
        }
        headers = {
            "Cookie": bench.cookie_header(state),
            "HX-Request": "true",
            "X-CSRFToken": state["token"],
        }
        return "POST", f"/events/{self.slug}/register", urlencode(fields).encode(), headers


def run_one(database: str) -> float:
    from sqlalchemy import func, select

    from participation.events import services
    from participation.events.models import CONFIRMED, Registration
    from participation.extensions import db
    from tests.events import factories

    seen: dict[str, Any] = {"oversold": 0, "per_status": ""}

    def count_registrations(event_id: int) -> int:
        rows = db.session.execute(
            select(
                Registration.status,
                func.count(),
                func.coalesce(func.sum(Registration.seats), 0),
            )
            .where(Registration.event_id == event_id)
            .group_by(Registration.status)
        ).all()
        stored = sum(count for _status, count, _seats in rows)
        confirmed = sum(seats for status, _count, seats in rows if status == CONFIRMED)
        seen["oversold"] = max(confirmed - CAPACITY, 0)
        first = db.session.scalars(
            select(Registration.status)
            .where(Registration.event_id == event_id)
            .order_by(Registration.id)
        ).all()
        expected = [CONFIRMED] * min(CAPACITY, stored)
        if first[: len(expected)] != expected or confirmed != len(expected):
            raise SystemExit(f"{database}: the seats did not go to the first arrivals")
        seen["per_status"] = ", ".join(f"{status}={count}" for status, count, _seats in rows)
        return stored

    def setup(now: dt.datetime) -> bench.Ours:
        services.ensure_event_consent_text(db.session, now)
        event = factories.make_event(db.session, now=now, capacity=CAPACITY)
        event_id = event.id
        return bench.Ours(
            RegistrationClient(event.slug),
            lambda: count_registrations(event_id),
            unit="registrations/s",
            notes=lambda: [
                f"{database}: capacity {CAPACITY}, {seen['per_status']}, "
                f"oversold={seen['oversold']}"
            ],
        )

    ratio = bench.run_database(
        database,
        pg_db=PG_DB,
        duration=DURATION,
        setup=setup,
        env={"EVENT_REGISTRATION_RATE_LIMIT": "1000000 per minute"},
        bare_unit="inserts/s",
    )
    if seen["oversold"]:
        raise SystemExit(f"{database}: oversold={seen['oversold']}")
    return ratio


def main() -> None:
    databases = sys.argv[1:] or ["sqlite", "postgresql"]
    print(
        f"{DURATION:.0f} s per server, {bench.CONNECTIONS} connections, "
        f"gunicorn {bench.WORKERS} workers, capacity {CAPACITY}"
    )
    ratios = [run_one(database) for database in databases]
    print("oversold=0")
    print(f"ratio={min(ratios):.3f}")


if __name__ == "__main__":
    main()
