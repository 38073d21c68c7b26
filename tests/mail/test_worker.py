"""The real worker (`flask --app app worker`) killed with SIGKILL in the middle of a mailing,
then started again: it finishes the mailing and nobody gets a second copy.

Marked `worker`: it starts subprocesses and takes about 15 seconds.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from participation import migrate
from participation.digests import services as digests
from participation.digests import tasks as digest_tasks
from participation.extensions import db as database
from participation.mail import services
from participation.mail.models import FAILED, QUEUED, SENDING, SENT, OutboxMessage
from tests.conftest import SMTPSink, database_url, make_test_app, reset_database
from tests.digests import factories as f

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 24


class SlowSink(SMTPSink):
    """Takes a while over each message, so the worker can be killed in the middle."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(0.12)
        return await super().handle_DATA(server, session, envelope)


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()}")
        time.sleep(0.1)


@pytest.mark.worker
def test_worker_killed_mid_mailing_resumes_without_duplicates(tmp_path: Path) -> None:
    sink = SlowSink()
    sink.start()
    url = database_url(tmp_path, "worker")
    reset_database(url)
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}"
    worker_app = make_test_app(
        tmp_path, url, QUEUE_IMMEDIATE=False, QUEUE_URL=queue_url, MAIL_URL=sink.url
    )
    migrate.upgrade(worker_app)
    now = dt.datetime.now(dt.UTC)
    with worker_app.app_context():
        session = database.session
        round_ = f.make_round(session, now=now, sections=1, with_form=False)
        for n in range(RECIPIENTS):
            f.add_participant(session, round_, name=f"H {n}", email=f"w{n}@example.org", now=now)
        session.commit()
        mailing = digests.publish_round_digest(session, round_.id, now=now, staff_user_id=None)
        session.commit()
        digest_tasks.render_digest(mailing.digest_id)  # into the SQLite queue, as a view does
        mailing_id = mailing.id

    env = {
        **os.environ,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": url,
        "QUEUE_URL": queue_url,
        "MAIL_URL": sink.url,
        "SECRET_KEY": "test-secret-key-not-for-production",
    }
    command = [sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", "2"]
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def rows() -> list[OutboxMessage]:
        with worker_app.app_context():
            found = database.session.scalars(
                select(OutboxMessage).where(OutboxMessage.mailing_id == mailing_id)
            ).all()
            database.session.remove()
            return list(found)

    worker = start()
    try:
        _wait_for(lambda: len(sink.messages) >= 6, 30, "the first messages", log_path)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        at_kill = len(sink.messages)
        assert at_kill < RECIPIENTS, "the worker finished before it could be killed"

        worker = start()
        _wait_for(
            lambda: all(r.status in (SENT, SENDING) for r in rows()),
            30,
            "the rest of the mailing",
            log_path,
        )
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
        sink.stop()
        log.close()

    final = rows()
    received = collections.Counter(m["To"] for m in sink.messages)
    assert max(received.values()) == 1, "someone got a second copy"
    sent = [r for r in final if r.status == SENT]
    stuck = [r for r in final if r.status == SENDING]
    assert len(sent) + len(stuck) == RECIPIENTS
    assert len(stuck) <= 2  # at most one per worker thread was cut off mid-send
    assert all(received[r.recipient] == 1 for r in sent)
    assert len(sent) > at_kill - len(stuck)  # the restarted worker really sent the rest

    # The periodic task later reports the interrupted ones as failed, for staff to check.
    with worker_app.app_context():
        released = services.release_stuck(database.session, now=now + dt.timedelta(minutes=30))
        database.session.commit()
        assert released == len(stuck)
        statuses = database.session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.mailing_id == mailing_id)
        ).all()
        database.session.remove()
    assert set(statuses) <= {SENT, FAILED} and QUEUED not in statuses
    worker_app.extensions["db_engine"].dispose()
