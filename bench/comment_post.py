"""Benchmark: comment POSTs through the whole app against a bare Flask insert, same database.

For each database (SQLite in a temporary directory, then a fresh PostgreSQL database on
127.0.0.1), an open round with five sections is made and two servers are started, each with
gunicorn and 2 sync workers on 127.0.0.1, and loaded one at a time:

- "ours": the app itself (`participation.create_app()`); every virtual client first GETs the
  round page for its session cookie and CSRF token, then POSTs comments (htmx, as the page does)
  with a fresh submission key each time: CSRF check, rate limiter, validation, the insert, the
  first comment's participant and confirmation mail in the outbox, the re-rendered section;
- "bare": a Flask app with one route that inserts one row through a SQLAlchemy session.

Each gets WARMUP seconds of load, then a bounded, measured load of DURATION seconds in all from
CONNECTIONS concurrent clients (asyncio, one request per connection, as gunicorn's sync workers
close each), in ROUNDS turns taken in alternating order (bare, ours, ours, bare, …): the
machine's own drift during a run (other work, PostgreSQL's background work) moved the baseline
by a fifth from one run to the next when each server had its time in one piece. Each client's
first page (its cookie and token) is fetched before the clock starts. Afterwards the rows in
the database are counted and must equal the successful responses.

    pip install -e '.[bench]'
    python bench/comment_post.py                 # both databases
    python bench/comment_post.py sqlite          # or only one
    # prints requests/s and p95 per server and database; last line ratio=ours/bare (the lowest)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DURATION = float(os.environ.get("BENCH_DURATION", 20))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", 32))
WARMUP = float(os.environ.get("BENCH_WARMUP", 3))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 4))  # turns of the measured time, see run_database
WORKERS = 2
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "bench_comment_post"


@dataclass
class Result:
    ok: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    stored: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def summary(self, seconds: float) -> str:
        p95 = statistics.quantiles(self.latencies, n=20)[-1] * 1000 if self.latencies else 0.0
        return f"{self.ok / seconds:.0f} req/s, p95 {p95:.0f} ms, ok={self.ok} failed={self.failed}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a small HTTP/1.1 client (one request per connection) -------------------------------


async def request(
    port: int, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, list[str]], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed.setdefault(name.strip().lower(), []).append(value.strip())
    return int(status_line.split()[1]), parsed, content


def cookie_of(headers: dict[str, list[str]], jar: dict[str, str]) -> None:
    for value in headers.get("set-cookie", []):
        name, _, rest = value.partition("=")
        jar[name] = rest.split(";", 1)[0]


class Client:
    """A virtual client of the load: `prepare` once per connection, then `next_request` and
    `after` in turn until the phase ends."""

    async def prepare(self, port: int, number: int) -> dict[str, Any]:
        return {"i": 0, "n": number}

    def next_request(self, state: dict) -> tuple[str, str, bytes, dict[str, str]]:
        raise NotImplementedError

    def after(self, state: dict, status: int, headers: dict[str, list[str]]) -> bool:
        """Keep the answer's cookies; True when the answer counts as a stored row."""
        if "jar" in state:
            cookie_of(headers, state["jar"])
        return status in (200, 201)


async def open_page(port: int, path: str) -> tuple[dict[str, str], str]:
    """GET a page as a browser does first: its session cookie and the CSRF token of its meta tag."""
    jar: dict[str, str] = {}
    status, headers, content = await request(port, "GET", path)
    assert status == 200, (path, status)
    cookie_of(headers, jar)
    token = re.search(rb'<meta name="csrf-token" content="([^"]+)"', content)
    assert token, f"no CSRF token on {path}"
    return jar, token.group(1).decode()


def cookie_header(state: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in state["jar"].items())


async def _phase(port: int, client: Client, seconds: float, result: Result) -> float:
    """Every virtual client prepares (its first page, not measured), then all of them load the
    server until `seconds` have passed; returns the seconds measured, until the last answer."""
    states = await asyncio.gather(*(client.prepare(port, n) for n in range(CONNECTIONS)))
    start = time.perf_counter()
    deadline = start + seconds

    async def one_client(state: dict[str, Any]) -> None:
        while time.perf_counter() < deadline:
            method, path, body, headers = client.next_request(state)
            sent = time.perf_counter()
            try:
                status, got, _content = await request(
                    port, method, path, body=body, headers=headers
                )
            except OSError:
                result.failed += 1
                continue
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if client.after(state, status, got):
                result.ok += 1
                result.latencies.append(time.perf_counter() - sent)
            else:
                result.failed += 1

    await asyncio.gather(*(one_client(state) for state in states))
    return time.perf_counter() - start


class OurClient(Client):
    """A participant's browser: the page once, then comments on the sections in turn."""

    def __init__(self, slug: str, section_ids: list[int]) -> None:
        self.slug, self.section_ids = slug, section_ids

    async def prepare(self, port: int, number: int) -> dict[str, Any]:
        jar, token = await open_page(port, f"/rounds/{self.slug}")
        return {"jar": jar, "token": token, "n": number, "i": 0}

    def next_request(self, state: dict) -> tuple[str, str, bytes, dict[str, str]]:
        state["i"] += 1
        section = self.section_ids[state["i"] % len(self.section_ids)]
        prefix = f"s{section}-"  # each section's form has its own field prefix
        fields = {
            "csrf_token": state["token"],
            prefix + "name": f"Penkki Osallistuja {state['n']}",
            prefix + "email": f"penkki{state['n']}@example.org",
            prefix + "association_id": "",
            prefix + "consent": "y",
            prefix + "homepage": "",
            prefix + "body": f"Kommentti {state['i']} osioon {section}: tilat ja avustukset.",
            prefix + "submission_key": secrets.token_urlsafe(24),
        }
        headers = {"Cookie": cookie_header(state), "HX-Request": "true"}
        path = f"/rounds/{self.slug}/sections/{section}/comments"
        return "POST", path, urlencode(fields).encode(), headers


class BareClient(Client):
    def next_request(self, state: dict) -> tuple[str, str, bytes, dict[str, str]]:
        state["i"] += 1
        body = urlencode({"body": f"Rivi {state['n']}-{state['i']}"}).encode()
        return "POST", "/insert", body, {}


# --- servers ----------------------------------------------------------------------------


def serve(app_spec: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """Start gunicorn and return once every worker has loaded the app (bench/gunicorn_ready.py):
    the port answers from the master's first moment, but a worker still importing the app
    serves nothing, and that import is no part of the throughput measured."""
    port = free_port()
    ready = Path(tempfile.mkdtemp(prefix="bench-ready-"))
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind",
        f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning",
        "--config", str(ROOT / "bench" / "gunicorn_ready.py"),
        "--pythonpath", f"{ROOT},{ROOT / 'bench'}", *os.environ.get("BENCH_GUNICORN_ARGS", "").split(), app_spec,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env={**os.environ, **env, "BENCH_READY_DIR": str(ready)}, cwd=ROOT
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(ready.iterdir())) >= WORKERS:
            shutil.rmtree(ready, ignore_errors=True)
            return process, port
        time.sleep(0.1)
    process.kill()
    shutil.rmtree(ready, ignore_errors=True)
    raise RuntimeError(f"{app_spec} did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


@dataclass
class Ours:
    """What a benchmark runs against the app: its client, and how to count (and check) the rows
    it stored; `count` runs in an app context after the load."""

    client: Client
    count: Callable[[], int]
    unit: str = "req/s"
    notes: Callable[[], list[str]] = list  # lines printed before the ratio


def run_database(
    database: str,
    *,
    pg_db: str,
    duration: float,
    setup: Callable[[dt.datetime], Ours],
    env: dict[str, str] | None = None,
    instance_config: str = "",
    bare_unit: str = "req/s",
) -> float:
    """One database: a temporary directory (and on PostgreSQL a fresh database), the app
    migrated, `setup` (in an app context) for the app's side, then the bare server and the app
    served and loaded in turn; the stored rows must equal the successful answers. Prints a line
    per server, the `notes`, and the ratio ours/bare, which it returns."""
    from sqlalchemy import text

    from participation import create_app, migrate
    from participation.db import make_engine
    from participation.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix=pg_db.replace("_", "-") + "-"))
    if database == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {pg_db}"))
        url = f"postgresql://postgres@127.0.0.1:5432/{pg_db}"
    if instance_config:
        # instance/config.py overrides any setting, also those without an environment variable.
        (tmp / "config.py").write_text(instance_config)
    app_env = {
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(tmp),
        "SECRET_KEY": "bench-" + secrets.token_hex(8),
        "MAIL_URL": f"file://{tmp / 'outbox'}",
        "QUEUE_URL": f"sqlite:///{tmp / 'queue.db'}",
        **(env or {}),
    }
    os.environ.update(app_env)
    server_env = {**app_env, "BENCH_DATABASE_URL": url}
    app = create_app({"INSTANCE_PATH": str(tmp)})
    migrate.upgrade(app)
    with app.app_context():
        ours = setup(dt.datetime.now(dt.UTC))
        db.session.commit()
        identity = " AUTOINCREMENT" if database == "sqlite" else " GENERATED ALWAYS AS IDENTITY"
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    f"CREATE TABLE bench_row (id INTEGER PRIMARY KEY{identity},"
                    " body TEXT NOT NULL, created_at TIMESTAMP NOT NULL)"
                )
            )
            if database == "postgresql":
                # The baseline's 20,000 rows would set autovacuum off on its table while the
                # next server is measured: its clean-up is no part of either side's work.
                conn.execute(text("ALTER TABLE bench_row SET (autovacuum_enabled = false)"))

    def count_bare() -> int:
        return db.session.scalar(text("SELECT count(*) FROM bench_row"))

    def checkpoint() -> None:
        if database == "postgresql":
            # Each phase starts from a checkpoint: the WAL the one before wrote is flushed
            # now, not during the next one's measurement.
            engine = make_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text("CHECKPOINT"))
            engine.dispose()

    sides = {
        "bare": ("comment_post_apps:bare()", BareClient(), count_bare, bare_unit),
        "ours": ("app:app", ours.client, ours.count, ours.unit),
    }
    results = {name: Result() for name in sides}
    measured = dict.fromkeys(sides, 0.0)
    warmed = dict.fromkeys(sides, 0)
    servers = {}
    try:
        for name, (spec, _client, _count, _unit) in sides.items():
            servers[name] = serve(spec, server_env)
        # Each server's first requests load templates, catalogues and connections: a warm-up
        # each, not measured. Then the measured time in ROUNDS turns, bare and ours in
        # alternating order (bare, ours, ours, bare, …), so that the machine's drift (other
        # work on it, PostgreSQL's own) falls on both alike.
        for name, (_spec, client, _count, _unit) in sides.items():
            warm = Result()
            asyncio.run(_phase(servers[name][1], client, WARMUP, warm))
            warmed[name] = warm.ok
        for turn in range(ROUNDS):
            for name in ("bare", "ours") if turn % 2 == 0 else ("ours", "bare"):
                checkpoint()
                client = sides[name][1]
                port = servers[name][1]
                measured[name] += asyncio.run(
                    _phase(port, client, duration / ROUNDS, results[name])
                )
    finally:
        for process, _port in servers.values():
            stop(process)
    lines = []
    throughput = {}
    for name, (_spec, _client, count, unit) in sides.items():
        result, seconds = results[name], measured[name]
        with app.app_context():
            stored = count()
            db.session.remove()
        if stored != result.ok + warmed[name]:
            raise SystemExit(
                f"{name}: {result.ok + warmed[name]} answered ok but {stored} rows stored"
            )
        if result.failed:
            print(f"{database} {name}: statuses {result.statuses}", file=sys.stderr)
        throughput[name] = result.ok / seconds
        lines.append(f"{database} {name}: {result.summary(seconds).replace('req/s', unit)}")
    ratio = throughput["ours"] / throughput["bare"]
    for line in lines + ours.notes():
        print(line)
    print(f"{database}: ratio={ratio:.3f}")
    app.extensions["db_engine"].dispose()
    if database == "postgresql":
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)"))
    shutil.rmtree(tmp, ignore_errors=True)
    return ratio


def run_one(database: str) -> float:
    from sqlalchemy import func, select

    from participation.extensions import db
    from participation.rounds import services as rounds
    from participation.rounds.models import Comment
    from tests.digests import factories

    def setup(now: dt.datetime) -> Ours:
        rounds.ensure_round_consent_text(db.session, now)
        round_ = factories.make_round(db.session, now=now, sections=5, state="open")
        section_ids = [s.id for s in factories.sections_of(db.session, round_)]
        return Ours(
            OurClient(round_.slug, section_ids),
            lambda: db.session.scalar(select(func.count()).select_from(Comment)),
        )

    return run_database(
        database,
        pg_db=PG_DB,
        duration=DURATION,
        setup=setup,
        env={"ROUND_COMMENT_RATE_LIMIT": "1000000 per minute"},
    )


def main() -> None:
    databases = sys.argv[1:] or ["sqlite", "postgresql"]
    print(f"{DURATION:.0f} s per server, {CONNECTIONS} connections, gunicorn {WORKERS} workers")
    ratios = [run_one(database) for database in databases]
    print(f"ratio={min(ratios):.3f}")


if __name__ == "__main__":
    main()
