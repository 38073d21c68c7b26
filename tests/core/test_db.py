"""SQLite's write lock: work that reads and then writes takes the lock when it begins."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from participation.db import make_engine, write_intent


def _read_then_write(url: str, *, intent: bool, rounds: int = 30) -> list[str]:
    """Two threads, each on its own connection: read the counter, pause, write it back + 1.
    Returns the errors seen; the final count is checked by the caller."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS counter (n INTEGER NOT NULL)"))
        conn.execute(text("DELETE FROM counter"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    errors: list[str] = []
    start = threading.Barrier(2)

    def work() -> None:
        start.wait()
        for _ in range(rounds):
            try:
                if intent:
                    with write_intent(), engine.begin() as conn:
                        _bump(conn)
                else:
                    with engine.begin() as conn:
                        _bump(conn)
            except OperationalError as exc:
                errors.append(str(exc.orig))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        total = conn.execute(text("SELECT n FROM counter")).scalar_one()
    engine.dispose()
    errors.append(f"total={total}")
    return errors


def _bump(conn) -> None:  # noqa: ANN001
    n = conn.execute(text("SELECT n FROM counter")).scalar_one()
    threading.Event().wait(0.002)  # let the other thread commit in between
    conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})


def test_with_write_intent_concurrent_read_then_write_neither_fails_nor_loses_updates(
    tmp_path: Path,
) -> None:
    outcome = _read_then_write(f"sqlite:///{tmp_path / 'lock.db'}", intent=True)
    assert outcome == ["total=60"]


def test_without_it_sqlite_refuses_the_upgrade_which_is_why_it_exists(tmp_path: Path) -> None:
    outcome = _read_then_write(f"sqlite:///{tmp_path / 'lock.db'}", intent=False)
    if outcome == ["total=60"]:
        pytest.skip("the threads never overlapped on this run")
    assert any("locked" in line for line in outcome[:-1]) or outcome[-1] != "total=60"


def test_post_requests_begin_with_the_write_lock_and_get_requests_do_not(tmp_path: Path) -> None:
    from participation.db import _write_intent
    from tests.conftest import make_test_app

    app = make_test_app(tmp_path, f"sqlite:///{tmp_path / 'probe.db'}", WTF_CSRF_ENABLED=False)
    seen: dict[str, bool] = {}

    @app.route("/_intent_probe", methods=["GET", "POST"], endpoint="_intent_probe")
    def probe() -> str:
        from flask import request

        seen[request.method] = _write_intent.get()
        return "ok"

    client = app.test_client()
    client.get("/_intent_probe")
    client.post("/_intent_probe")
    assert seen == {"GET": False, "POST": True}


def test_respondents_survey_requests_leave_no_line_in_the_access_or_limiter_logs() -> None:
    import logging

    from participation.web import RespondentLogFilter

    keep = RespondentLogFilter().filter

    def line(message: str) -> logging.LogRecord:
        return logging.LogRecord("werkzeug", logging.INFO, "", 0, message, (), None)

    assert not keep(line('10.0.0.7 - - [1/Jan] "POST /surveys/kysely HTTP/1.1" 302 -'))
    assert not keep(line('10.0.0.7 - - [1/Jan] "GET /surveys/i/SECRET-TOKEN HTTP/1.1" 200 -'))
    assert not keep(line("ratelimit 5 per 1 minute (10.0.0.7) exceeded at endpoint: surveys.x"))
    # Staff pages and everything else are logged as before.
    assert keep(line('10.0.0.7 - - [1/Jan] "GET /staff/surveys/3/results HTTP/1.1" 200 -'))
    assert keep(line('10.0.0.7 - - [1/Jan] "GET /events/ilta HTTP/1.1" 200 -'))
    assert any(isinstance(f, RespondentLogFilter) for f in logging.getLogger("werkzeug").filters)
