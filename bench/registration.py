"""Benchmark: a burst of event registrations through the whole app against a bare Flask insert.

For each database (SQLite in a temporary directory, then a fresh PostgreSQL database on
127.0.0.1) one open event with CAPACITY seats is made, and two servers are run one after the
other with gunicorn and 2 sync workers (the load generator and the servers are those of
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

import asyncio
import datetime as dt
import os
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import comment_post as bench  # noqa: E402  (the load generator and the servers)

ROOT = bench.ROOT
DURATION = float(os.environ.get("BENCH_DURATION", 10))
CAPACITY = int(os.environ.get("BENCH_CAPACITY", 300))
PG_DB = "bench_registration"


class RegistrationClient:
    """A person's browser: the event page once, then registrations one after another."""

    def __init__(self, slug: str) -> None:
        self.slug = slug

    async def prepare(self, port: int, number: int) -> dict[str, object]:
        jar: dict[str, str] = {}
        status, headers, content = await bench.request(port, "GET", f"/events/{self.slug}")
        assert status == 200, status
        bench.cookie_of(headers, jar)
        token = re.search(rb'<meta name="csrf-token" content="([^"]+)"', content)
        assert token, "no CSRF token on the event page"
        # A fresh prefix per phase (warm-up, then measured): the same address twice would be
        # answered "already registered" and store nothing.
        prefix = secrets.token_hex(3)
        return {"jar": jar, "token": token.group(1).decode(), "n": f"{prefix}{number}", "i": 0}

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
        cookies = "; ".join(f"{k}={v}" for k, v in state["jar"].items())
        headers = {"Cookie": cookies, "HX-Request": "true", "X-CSRFToken": state["token"]}
        return "POST", f"/events/{self.slug}/register", urlencode(fields).encode(), headers

    def after(self, state: dict, headers: dict[str, list[str]]) -> None:
        bench.cookie_of(headers, state["jar"])


def run_one(database: str) -> float:
    from sqlalchemy import func, select, text

    from participation import create_app, migrate
    from participation.db import make_engine
    from participation.events import services
    from participation.events.models import CONFIRMED, Registration
    from participation.extensions import db
    from tests.events import factories

    tmp = Path(tempfile.mkdtemp(prefix="bench-registration-"))
    if database == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        admin = make_engine(bench.PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {PG_DB}"))
        url = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
    env = {
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(tmp),
        "SECRET_KEY": "bench-" + secrets.token_hex(8),
        "MAIL_URL": f"file://{tmp / 'outbox'}",
        "QUEUE_URL": f"sqlite:///{tmp / 'queue.db'}",
        "EVENT_REGISTRATION_RATE_LIMIT": "1000000 per minute",
        "BENCH_DATABASE_URL": url,
    }
    os.environ.update({k: v for k, v in env.items() if k != "BENCH_DATABASE_URL"})
    app = create_app({"INSTANCE_PATH": str(tmp)})
    migrate.upgrade(app)
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        services.ensure_event_consent_text(db.session, now)
        event = factories.make_event(db.session, now=now, capacity=CAPACITY)
        event_id, slug = event.id, event.slug
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE bench_row (id INTEGER PRIMARY KEY"
                    + (
                        " AUTOINCREMENT"
                        if database == "sqlite"
                        else " GENERATED ALWAYS AS IDENTITY"
                    )
                    + ", body TEXT NOT NULL, created_at TIMESTAMP NOT NULL)"
                )
            )

    lines, throughput = [], {}
    oversold = 0
    for name, spec, client in (
        ("bare", "comment_post_apps:bare()", bench.BareClient()),
        ("ours", "app:app", RegistrationClient(slug)),
    ):
        process, port = bench.serve(spec, env)
        try:
            result, seconds = asyncio.run(bench.load(port, client, DURATION))
        finally:
            bench.stop(process)
        with app.app_context():
            if name == "ours":
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
                oversold = max(confirmed - CAPACITY, 0)
                first = db.session.scalars(
                    select(Registration.status)
                    .where(Registration.event_id == event_id)
                    .order_by(Registration.id)
                ).all()
                expected = [CONFIRMED] * min(CAPACITY, stored)
                if first[: len(expected)] != expected or confirmed != len(expected):
                    raise SystemExit(f"{database}: the seats did not go to the first arrivals")
                per_status = ", ".join(f"{status}={count}" for status, count, _seats in rows)
            else:
                stored = db.session.scalar(text("SELECT count(*) FROM bench_row"))
            db.session.remove()
        if stored != result.stored:
            raise SystemExit(f"{name}: {result.stored} answered ok but {stored} rows stored")
        if result.failed:
            print(f"{database} {name}: statuses {result.statuses}", file=sys.stderr)
        throughput[name] = result.ok / seconds
        summary = result.summary(seconds).replace(
            "req/s", "registrations/s" if name == "ours" else "inserts/s"
        )
        lines.append(f"{database} {name}: {summary}")
    ratio = throughput["ours"] / throughput["bare"]
    for line in lines:
        print(line)
    print(f"{database}: capacity {CAPACITY}, {per_status}, oversold={oversold}")
    print(f"{database}: ratio={ratio:.3f}")
    app.extensions["db_engine"].dispose()
    if database == "postgresql":
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
    shutil.rmtree(tmp, ignore_errors=True)
    if oversold:
        raise SystemExit(f"{database}: oversold={oversold}")
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
