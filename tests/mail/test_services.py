from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from participation.errors import Invalid
from participation.mail import services
from participation.mail.models import FAILED, QUEUED, SENT
from participation.mail.transport import FileTransport, make_transport
from tests.conftest import body_of


def _queue(db: Any, now: dt.datetime, to: str = "someone@example.org") -> Any:
    return services.queue_mail(
        db, to=to, template="test_message", purpose="test", now=now, name="Maija <b>"
    )


@pytest.fixture(autouse=True)
def _template(app: Any) -> Any:
    """A mail template for these tests only, through the app's real loader."""
    from jinja2 import ChoiceLoader, DictLoader

    original = app.jinja_loader
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "mail/test_message.txt": "Subject: {{ _('Hello') }} {{ name }}\n\nHei {{ name }}!\n"
                }
            ),
            original,
        ]
    )
    yield
    app.jinja_env.loader = original


def deliver(db: Any, app: Any, *, now: dt.datetime) -> dict[str, int]:
    with make_transport(app.config["MAIL_URL"]) as transport:
        return services.deliver_pending(db, transport, now=now)


def test_queue_writes_a_row_and_file_transport_writes_eml(
    db: Any, now: dt.datetime, tmp_path: Path
) -> None:
    row = _queue(db, now)
    assert row.status == QUEUED and row.subject.endswith("Maija <b>")
    counts = services.deliver_pending(db, FileTransport(str(tmp_path)), now=now)
    assert counts == {"sent": 1, "failed": 0, "retry": 0, "waiting": 0}
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "someone@example.org"
    assert "Hei Maija <b>!" in body_of(message)  # plain text: nothing to escape, nothing lost
    assert row.status == SENT
    # A second run sends nothing again.
    assert services.deliver_pending(db, FileTransport(str(tmp_path)), now=now)["sent"] == 0


def test_line_breaks_in_headers_are_refused(db: Any, now: dt.datetime) -> None:
    with pytest.raises(Invalid):
        _queue(db, now, to="a@example.org\r\nBcc: victim@example.org")


def test_smtp_delivery_one_message_per_recipient(
    db: Any, now: dt.datetime, smtp: Any, app: Any
) -> None:
    for n in range(3):
        _queue(db, now, to=f"p{n}@example.org")
    counts = deliver(db, app, now=now)
    assert counts["sent"] == 3
    assert sorted(rcpts[0] for _f, rcpts in smtp.envelopes) == [
        f"p{n}@example.org" for n in range(3)
    ]
    assert all(len(rcpts) == 1 for _f, rcpts in smtp.envelopes)


def test_permanent_refusal_fails_with_reason(
    db: Any, now: dt.datetime, smtp: Any, app: Any
) -> None:
    smtp.refuse.add("gone@example.org")
    row = _queue(db, now, to="gone@example.org")
    deliver(db, app, now=now)
    assert row.status == FAILED
    assert "550" in row.last_error


def test_server_down_waits_and_retries_with_backoff(
    db: Any, now: dt.datetime, smtp: Any, app: Any
) -> None:
    from tests.conftest import free_port

    row = _queue(db, now)
    with make_transport(f"smtp://127.0.0.1:{free_port()}") as dead:
        counts = services.deliver_pending(db, dead, now=now)
    assert counts["retry"] == 1 and row.status == QUEUED and row.attempts == 1
    assert row.next_attempt_at > now
    # Not due yet: nothing is tried.
    assert deliver(db, app, now=now)["sent"] == 0
    later = row.next_attempt_at + dt.timedelta(seconds=1)
    assert deliver(db, app, now=later)["sent"] == 1
    assert len(smtp.messages) == 1


def test_retry_of_failed_message(db: Any, now: dt.datetime, smtp: Any, app: Any) -> None:
    smtp.refuse.add("gone@example.org")
    row = _queue(db, now, to="gone@example.org")
    deliver(db, app, now=now)
    smtp.refuse.clear()
    services.retry_message(db, row.id, now=now)
    deliver(db, app, now=now)
    assert row.status == SENT and len(smtp.to("gone@example.org")) == 1
