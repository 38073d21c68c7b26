"""Delivery of a digest mailing: SMTP down, busy (421) and refusing (550); claims and stuck rows."""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

from sqlalchemy import func, select

from participation.digests import services as digests
from participation.mail import services
from participation.mail.models import FAILED, QUEUED, SENDING, SENT, OutboxMessage
from participation.mail.transport import make_transport
from tests.conftest import SMTPSink
from tests.digests import factories as f


class BusySink(SMTPSink):
    """Answers 421 (service not available, try later) to the first `busy` recipients."""

    def __init__(self, busy: int) -> None:
        super().__init__()
        self.busy = busy

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: N802
        if self.busy > 0:
            self.busy -= 1
            return "421 4.3.2 Service not available, try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)


def _deliver(db: Any, url: str, now: dt.datetime) -> dict[str, int]:
    with make_transport(url) as transport:
        return services.deliver_pending(db, transport, now=now)


def _next_due(db: Any) -> dt.datetime:
    return db.scalar(
        select(func.max(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == QUEUED)
    ) + dt.timedelta(seconds=1)


def test_mailing_to_50_survives_a_dead_then_busy_server_and_one_refusal(
    db: Any, now: dt.datetime
) -> None:
    round_ = f.make_round(db, now=now, sections=2)
    (section, _other) = f.sections_of(db, round_)
    for n in range(50):
        person = f.add_participant(
            db, round_, name=f"Henkilö {n}", email=f"p{n}@example.org", now=now
        )
        f.add_comment(db, person, f"Kommentti {n}", now=now, section=section, decision="noted")
    db.commit()
    mailing = digests.publish_round_digest(db, round_.id, now=now, staff_user_id=None)
    db.commit()
    assert digests.render_digest(db, mailing.digest_id, now=now).status == "ready"

    sink = BusySink(busy=2)  # not started yet: connections are refused
    sink.refuse.add("p17@example.org")
    counts = _deliver(db, sink.url, now)
    assert counts == {"sent": 0, "failed": 0, "retry": 1, "waiting": 49}
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.mailing_id == mailing.id)).all()
    assert len(rows) == 50 and all(r.status == QUEUED and r.next_attempt_at > now for r in rows)
    # Nothing is due before the backoff has passed.
    assert _deliver(db, sink.url, now + dt.timedelta(seconds=10))["retry"] == 0

    sink.start()
    try:
        later = _next_due(db)
        assert _deliver(db, sink.url, later) == {"sent": 0, "failed": 0, "retry": 1, "waiting": 49}
        later = _next_due(db)
        assert _deliver(db, sink.url, later) == {"sent": 0, "failed": 0, "retry": 1, "waiting": 49}
        later = _next_due(db)
        assert _deliver(db, sink.url, later) == {"sent": 49, "failed": 1, "retry": 0, "waiting": 0}
        assert _deliver(db, sink.url, later + dt.timedelta(hours=2))["sent"] == 0
    finally:
        sink.stop()

    received = collections.Counter(rcpt for _from, rcpts in sink.envelopes for rcpt in rcpts)
    assert set(received.values()) == {1} and len(received) == 49
    assert "p17@example.org" not in received
    for row in rows:
        db.refresh(row)
    failed = [r for r in rows if r.status == FAILED]
    assert [r.recipient for r in failed] == ["p17@example.org"]
    assert "550" in failed[0].last_error
    assert sum(r.status == SENT for r in rows) == 49
    # Every message carried the PDF and went to its one recipient only.
    assert all(len(list(m.iter_attachments())) == 1 for m in sink.messages)
    assert all(len(rcpts) == 1 for _from, rcpts in sink.envelopes)
    progress = digests.mailing_progress(db, mailing.id)
    assert progress["counts"]["sent"] == 49 and progress["counts"]["failed"] == 1
    assert progress["active"] is False and progress["percent"] == 100


def _row(db: Any, now: dt.datetime, to: str, status: str, claimed: dt.datetime) -> OutboxMessage:
    row = OutboxMessage(
        recipient=to,
        subject="Aihe",
        body_text="x",
        purpose="t",
        status=status,
        attempts=1,
        created_at=now,
        next_attempt_at=claimed,
    )
    db.add(row)
    db.commit()
    return row


def test_rows_left_sending_are_never_sent_again_and_reported_failed(
    db: Any, now: dt.datetime, smtp: Any, app: Any
) -> None:
    old = _row(db, now, "old@example.org", SENDING, now - dt.timedelta(minutes=16))
    recent = _row(db, now, "recent@example.org", SENDING, now - dt.timedelta(minutes=5))
    queued = _row(db, now, "queued@example.org", QUEUED, now)
    assert _deliver(db, app.config["MAIL_URL"], now)["sent"] == 1
    assert [m["To"] for m in smtp.messages] == ["queued@example.org"]
    assert services.release_stuck(db, now=now) == 1
    db.commit()
    assert old.status == FAILED and "interrupted while sending" in old.last_error
    assert recent.status == SENDING and queued.status == SENT
    # Staff retry after checking: then it goes, once.
    services.retry_message(db, old.id, now=now)
    _deliver(db, app.config["MAIL_URL"], now)
    assert [m["To"] for m in smtp.messages] == ["queued@example.org", "old@example.org"]
