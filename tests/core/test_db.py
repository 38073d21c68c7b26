"""SQLite's write lock: work that reads and then writes takes the lock when it begins."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from participation.db import make_engine, set_write_intent, write_intent


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


# --- the writers' queue (participation.db._QueuedConnection) --------------------------------


@pytest.fixture
def impatient(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers give up after 0.2 s instead of 15."""
    from participation import db as module

    monkeypatch.setattr(module, "BUSY_TIMEOUT", 0.2)


def _queue_engine(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER NOT NULL)"))
    return engine


def test_a_writer_waits_its_turn_and_goes_on_as_soon_as_the_one_before_commits(
    tmp_path: Path,
) -> None:
    """The second writer's BEGIN waits while the first is in its transaction and goes on
    within milliseconds of its commit. (SQLite's own busy wait sleeps 1, 2, 5, 10 … 100 ms
    between tries: after 0.2 s of waiting it goes on up to 50 ms late; the queue tries at
    least every 0.2 ms.)"""
    engine = _queue_engine(tmp_path)
    gaps = [_wait_after_a_commit(engine) for _ in range(3)]
    assert max(gaps) < 0.02, gaps
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 6
    engine.dispose()


def _wait_after_a_commit(engine: Any) -> float:
    """One writer holds its transaction 0.2 s while another begins one: how long after the
    first one's commit the second one's began."""
    holding = threading.Event()
    committed_at: list[float] = []
    began_at: list[float] = []

    def first() -> None:
        with write_intent(), engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            time.sleep(0.2)
        committed_at.append(time.monotonic())

    def second() -> None:
        holding.wait()
        with write_intent(), engine.begin() as conn:
            began_at.append(time.monotonic())
            conn.execute(text("INSERT INTO t VALUES (2)"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert began_at[0] >= committed_at[0] - 0.001  # not before the first one ended
    return began_at[0] - committed_at[0]


def test_the_queue_is_a_lock_on_a_file_beside_the_database_held_for_the_transaction(
    tmp_path: Path,
) -> None:
    engine = _queue_engine(tmp_path)
    queue = os.open(tmp_path / "queue.db-writers", os.O_RDWR | os.O_CREAT)

    def free() -> bool:
        try:
            fcntl.flock(queue, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(queue, fcntl.LOCK_UN)
        return True

    with write_intent(), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert not free()
    assert free()
    set_write_intent(False)  # (a POST in an earlier test of this thread left it set)
    with engine.begin() as conn:  # a transaction that only reads takes no turn
        conn.execute(text("SELECT n FROM t")).all()
        assert free()
    os.close(queue)
    engine.dispose()


def test_a_writer_that_waits_too_long_gets_database_is_locked(
    tmp_path: Path, impatient: None
) -> None:
    engine = _queue_engine(tmp_path)
    other = make_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    with write_intent(), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"), other.begin() as late:
            late.execute(text("INSERT INTO t VALUES (2)"))
        assert 0.2 <= time.monotonic() - started < 2
    # Its failed BEGIN left nothing held: the next writer goes straight in.
    with write_intent(), other.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (3)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 3]
    engine.dispose()
    other.dispose()


def test_the_turn_ends_with_a_rollback_an_error_and_a_closed_connection(
    tmp_path: Path, impatient: None
) -> None:
    engine = _queue_engine(tmp_path)
    with pytest.raises(RuntimeError), write_intent(), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("the request failed")  # engine.begin() rolls back
    with write_intent():
        conn = engine.connect()
        conn.begin()
        conn.execute(text("INSERT INTO t VALUES (2)"))
        conn.close()  # returned to the pool, which rolls back
        engine.dispose()  # closes it
    with write_intent(), engine.begin() as conn:  # would wait 0.2 s and fail if still held
        conn.execute(text("INSERT INTO t VALUES (3)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalars().all() == [3]
    engine.dispose()
