"""`kick_outbox`: a request's mail reaches the worker's queue as one delayed delivery per burst,
and that delivery sends what every request of the burst committed."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from participation import migrate
from participation.extensions import db
from participation.mail import services
from participation.mail import tasks as mail_tasks
from tests.conftest import SMTPSink, database_url, make_test_app, reset_database


@pytest.fixture
def queued_app(tmp_path: Path):  # noqa: ANN201
    url = database_url(tmp_path, "kick")
    reset_database(url)
    app = make_test_app(tmp_path, url, QUEUE_IMMEDIATE=False, QUEUE_URL="memory://")
    migrate.upgrade(app)
    return app


def _queue(to: str) -> None:
    services.queue_mail(
        db.session,
        to=to,
        template="privacy_link",
        purpose="test",
        now=dt.datetime.now(dt.UTC),
        name="Testi",
        link="http://localhost/x",
        hours=24,
    )
    db.session.commit()


def test_a_burst_of_kicks_schedules_one_delivery(queued_app, monkeypatch) -> None:
    huey = queued_app.extensions["huey"]
    clock = [1000.0]
    monkeypatch.setattr(mail_tasks.time, "time", lambda: clock[0])
    with queued_app.app_context():
        for _ in range(5):
            mail_tasks.kick_outbox()
        assert huey.pending_count() == 1
        clock[0] += mail_tasks.KICK_DELAY  # the first one's time has come: it may have started
        mail_tasks.kick_outbox()
        assert huey.pending_count() == 2


def test_the_delivery_sends_everything_committed_before_it_runs(queued_app) -> None:
    sink = SMTPSink()
    sink.start()
    queued_app.config["MAIL_URL"] = sink.url
    consumer = queued_app.extensions["huey"].create_consumer(
        workers=1, worker_type="thread", periodic=False, check_worker_health=False
    )
    try:
        with queued_app.app_context():
            for n in range(3):
                _queue(f"kick{n}@example.org")
                mail_tasks.kick_outbox()  # only the first schedules a delivery
        consumer.start()
        deadline = time.monotonic() + 10
        while len(sink.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(m["To"] for m in sink.messages) == [
            "kick0@example.org",
            "kick1@example.org",
            "kick2@example.org",
        ]
    finally:
        consumer.stop(graceful=True)
        sink.stop()
