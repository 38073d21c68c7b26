"""The outbox: queue a message in the caller's transaction, deliver pending ones in the worker."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from participation.errors import Invalid, NotFound
from participation.mail.models import FAILED, QUEUED, SENDING, SENT, OutboxMessage
from participation.mail.transport import Transport

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STUCK_AFTER = dt.timedelta(minutes=15)


def _clean_header(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise Invalid("header values must not contain line breaks")
    return value


def queue_mail(
    session: Session,
    *,
    to: str,
    template: str,
    purpose: str,
    locale: str = "fi",
    now: dt.datetime,
    **context: Any,
) -> OutboxMessage:
    """Render `templates/mail/<template>.txt` (first line `Subject: …`) into an outbox row.

    Raises Invalid when the recipient or subject holds a line break.
    """
    with force_locale(locale):
        rendered = render_template(f"mail/{template}.txt", **context)
    first, _, body = rendered.lstrip().partition("\n")
    subject = first.removeprefix("Subject:").strip()
    message = OutboxMessage(
        recipient=_clean_header(to.strip()),
        subject=_clean_header(subject),
        body_text=body.strip() + "\n",
        purpose=purpose,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(message)
    session.flush()
    return message


def build_message(row: OutboxMessage, sender: str, domain: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((current_app.config["MUNICIPALITY_NAME"], sender))
    message["To"] = _clean_header(row.recipient)
    message["Subject"] = _clean_header(row.subject)
    message["Message-ID"] = row.message_id or make_msgid(f"outbox{row.id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body_text)
    return message


def deliver_pending(
    session: Session, transport: Transport, *, now: dt.datetime, batch: int = 200
) -> dict[str, int]:
    """Send due messages one by one; each is claimed first so two workers never send it twice.

    A temporary failure waits with backoff; a permanent refusal marks the row failed with its reason.
    """
    counts = {"sent": 0, "failed": 0, "retry": 0}
    sender = current_app.config["MAIL_FROM"]
    domain = sender.rpartition("@")[2] or "localhost"
    ids = session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(batch)
    ).all()
    for message_id in ids:
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == QUEUED)
            .values(status=SENDING, attempts=OutboxMessage.attempts + 1)
        ).rowcount
        session.commit()
        if not claimed:
            continue
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        message = build_message(row, sender, domain)
        row.message_id = message["Message-ID"]
        try:
            transport.send(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
            permanent = _is_permanent(exc)
            _mark_retry_or_failed(row, str(exc), now=now, permanent=permanent)
            counts["failed" if row.status == FAILED else "retry"] += 1
        except (OSError, smtplib.SMTPException) as exc:
            _mark_retry_or_failed(row, str(exc) or type(exc).__name__, now=now, permanent=False)
            counts["failed" if row.status == FAILED else "retry"] += 1
        else:
            row.status, row.sent_at, row.last_error = SENT, now, ""
            counts["sent"] += 1
        session.commit()
    return counts


def _is_permanent(exc: smtplib.SMTPException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    code = getattr(exc, "smtp_code", 0)
    return code >= 500


def _mark_retry_or_failed(
    row: OutboxMessage, reason: str, *, now: dt.datetime, permanent: bool
) -> None:
    row.last_error = reason[:500]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = FAILED
        return
    row.status = QUEUED
    row.next_attempt_at = now + dt.timedelta(seconds=min(3600, 30 * 2 ** (row.attempts - 1)))


def release_stuck(session: Session, *, now: dt.datetime) -> int:
    """Rows left 'sending' by a killed worker may or may not have gone out: mark them failed with
    a reason for staff to check, rather than risk a second copy."""
    return (
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == SENDING, OutboxMessage.next_attempt_at < now - STUCK_AFTER
            )
            .values(status=FAILED, last_error="interrupted while sending; check before retrying")
        ).rowcount
        or 0
    )


def retry_message(session: Session, message_id: int, *, now: dt.datetime) -> OutboxMessage:
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound()
    if row.status == FAILED:
        row.status, row.next_attempt_at, row.attempts = QUEUED, now, 0
    return row


def list_messages(session: Session, *, page: int, per_page: int) -> tuple[list[OutboxMessage], int]:
    total = session.scalar(select(func.count(OutboxMessage.id))) or 0
    rows = session.scalars(
        select(OutboxMessage)
        .order_by(OutboxMessage.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), total


def get_message(session: Session, message_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound()
    return row
