"""The outbox: queue a message in the caller's transaction, deliver pending ones in the worker."""

from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from participation.errors import Invalid, NotFound
from participation.mail.models import FAILED, QUEUED, SENDING, SENT, Mailing, OutboxMessage
from participation.mail.transport import Transport

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STUCK_AFTER = dt.timedelta(minutes=15)


def clean_header(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise Invalid("header values must not contain line breaks")
    return value


def render_mail(template: str, locale: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of `templates/mail/<template>.txt`, whose first line is `Subject: …`."""
    with force_locale(locale):
        rendered = render_template(f"mail/{template}.txt", **context)
    first, _, body = rendered.lstrip().partition("\n")
    return first.removeprefix("Subject:").strip(), body.strip() + "\n"


def queue_mail(
    session: Session,
    *,
    to: str,
    template: str,
    purpose: str,
    locale: str = "fi",
    now: dt.datetime,
    mailing_id: int | None = None,
    attachment_digest_id: int | None = None,
    ics: str | None = None,
    **context: Any,
) -> OutboxMessage:
    """Render `templates/mail/<template>.txt` (first line `Subject: …`) into an outbox row.

    With `attachment_digest_id` the digest's PDF is attached when the message is sent, and the
    message waits until the digest is rendered. `ics` (an iCalendar text) is attached as
    invite.ics. Raises Invalid when the recipient or subject holds a line break.
    """
    subject, body = render_mail(template, locale, **context)
    message = OutboxMessage(
        recipient=clean_header(to.strip()),
        subject=clean_header(subject),
        body_text=body,
        purpose=purpose,
        created_at=now,
        next_attempt_at=now,
        mailing_id=mailing_id,
        attachment_digest_id=attachment_digest_id,
        attachment_ics=ics,
    )
    session.add(message)
    session.flush()
    return message


def pdf_filename(title: str) -> str:
    """A file name for a PDF from its title: letters, digits and dashes only."""
    name = "-".join(re.sub(r"[^\w\s-]", " ", title).split())[:80].strip("-")
    return f"{name or 'document'}.pdf"


def build_message(
    row: OutboxMessage,
    sender: str,
    domain: str,
    attachment: tuple[str, bytes] | None = None,
) -> EmailMessage:
    """One message to one recipient; `attachment` is (file name, PDF bytes)."""
    message = EmailMessage()
    message["From"] = formataddr((current_app.config["MUNICIPALITY_NAME"], sender))
    message["To"] = clean_header(row.recipient)
    message["Subject"] = clean_header(row.subject)
    message["Message-ID"] = row.message_id or make_msgid(f"outbox{row.id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body_text)
    if attachment is not None:
        filename, data = attachment
        message.add_attachment(
            data, maintype="application", subtype="pdf", filename=clean_header(filename)
        )
    if row.attachment_ics:
        # Calendars read a file named *.ics of type text/calendar; METHOD:PUBLISH in the
        # file itself, so no client treats it as a meeting request to answer.
        message.add_attachment(
            row.attachment_ics.encode(),
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": "PUBLISH"},
        )
    return message


def _digests() -> Any:
    """The digests' models, imported late: the digests package imports this module."""
    from participation.digests import models

    return models


def _due(now: dt.datetime) -> Any:
    """Queued rows whose time has come and whose attachment, if any, is rendered."""
    digest_models = _digests()
    Digest = digest_models.Digest  # noqa: N806
    return (
        select(OutboxMessage.id)
        .outerjoin(Digest, Digest.id == OutboxMessage.attachment_digest_id)
        .where(
            OutboxMessage.status == QUEUED,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.attachment_digest_id.is_(None), Digest.status == digest_models.READY),
        )
    )


# How a send ended: sent, this recipient refused for good or for now, or the server unusable.
_PERMANENT, _TEMPORARY, _UNAVAILABLE = "permanent", "temporary", "unavailable"


def _outcome(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        if 421 in codes:
            return _UNAVAILABLE
        return _PERMANENT if codes and all(code >= 500 for code in codes) else _TEMPORARY
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        if exc.smtp_code == 421:
            return _UNAVAILABLE
        return _PERMANENT if exc.smtp_code >= 500 else _TEMPORARY
    # Refused or dropped connections, timeouts, TLS and greeting or login failures.
    return _UNAVAILABLE


def _reason(exc: Exception) -> str:
    """The server's words, for staff: "550 5.1.1 <a@b>: Recipient address rejected"."""

    def reply(code: int, message: bytes | str) -> str:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        return f"{code} {' '.join(text.split())}"

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(reply(code, msg) for code, msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return reply(exc.smtp_code, exc.smtp_error)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def deliver_pending(
    session: Session, transport: Transport, *, now: dt.datetime, batch: int = 200
) -> dict[str, int]:
    """Send every due message, one by one; each is claimed (and committed) first, so two workers
    never send it twice and a worker killed mid-send leaves it 'sending', never re-sent.

    A permanent refusal marks the row failed with its reason; a temporary one waits with backoff.
    When the server cannot be reached (or answers 421) the run stops and the remaining due rows
    wait as long as the one that failed, rather than each trying in turn. Messages whose digest
    is still being rendered wait untouched. Commits as it goes.
    """
    counts = {"sent": 0, "failed": 0, "retry": 0, "waiting": 0}
    sender = current_app.config["MAIL_FROM"]
    domain = sender.rpartition("@")[2] or "localhost"
    attachments: dict[int, tuple[str, bytes]] = {}
    while ids := _due_ids(session, now=now, batch=batch):
        for message_id in ids:
            claimed = _claim(session, message_id, sender, domain, attachments, now=now)
            session.commit()
            if claimed is None:
                continue  # another worker has it
            row, message = claimed
            outcome = "failed" if message is None else _send(row, message, transport, now=now)
            session.commit()
            if outcome == _UNAVAILABLE:
                counts["retry" if row.status == QUEUED else "failed"] += 1
                until = now + _backoff(row.attempts)
                counts["waiting"] += _postpone_due(session, now=now, until=until)
                session.commit()
                return counts
            counts[outcome] += 1
    return counts


# SQLite note: a transaction that has read and then writes fails at once ("database is locked")
# when another connection wrote in between. So every write transaction here starts with its
# write (the claim, the result), and no transaction stays open while a message is on the wire.


def _due_ids(session: Session, *, now: dt.datetime, batch: int) -> list[int]:
    ids = list(session.scalars(_due(now).order_by(OutboxMessage.id).limit(batch)))
    session.commit()  # end the read before the claims write
    return ids


def _claim(
    session: Session,
    message_id: int,
    sender: str,
    domain: str,
    attachments: dict[int, tuple[str, bytes]],
    *,
    now: dt.datetime,
) -> tuple[OutboxMessage, EmailMessage | None] | None:
    """Claim a queued row (queued → sending) and build its message, in one write transaction.
    None when someone else claimed it; no message when it cannot be built (then it failed)."""
    claimed = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == QUEUED)
        # While sending, next_attempt_at holds when the row was claimed.
        .values(status=SENDING, attempts=OutboxMessage.attempts + 1, next_attempt_at=now)
    ).rowcount
    if not claimed:
        return None
    row = session.get(OutboxMessage, message_id, populate_existing=True)
    assert row is not None
    try:
        attachment = _attachment(session, row.attachment_digest_id, attachments)
        message = build_message(row, sender, domain, attachment)
    except Invalid as exc:
        _mark_retry_or_failed(row, exc.message, now=now, permanent=True)
        return row, None
    row.message_id = message["Message-ID"]
    return row, message


def _send(
    row: OutboxMessage, message: EmailMessage, transport: Transport, *, now: dt.datetime
) -> str:
    """Send one claimed row and record the result on it; returns the key to count."""
    try:
        transport.send(message)
    except (OSError, smtplib.SMTPException) as exc:
        outcome = _outcome(exc)
        reason = _reason(exc)
        _mark_retry_or_failed(row, reason, now=now, permanent=outcome == _PERMANENT)
        if outcome == _UNAVAILABLE:
            return _UNAVAILABLE
        return "failed" if row.status == FAILED else "retry"
    row.status, row.sent_at, row.last_error = SENT, now, ""
    return "sent"


def _attachment(
    session: Session, digest_id: int | None, cache: dict[int, tuple[str, bytes]]
) -> tuple[str, bytes] | None:
    """The digest's PDF, read once per run and attached to every message that names it."""
    if digest_id is None:
        return None
    if digest_id not in cache:
        digest_models = _digests()
        Digest = digest_models.Digest  # noqa: N806
        found = session.execute(
            select(Digest.title, Digest.pdf).where(
                Digest.id == digest_id, Digest.status == digest_models.READY
            )
        ).one_or_none()
        if found is None or found.pdf is None:
            raise Invalid("the attachment is not available")
        cache[digest_id] = (pdf_filename(found.title), found.pdf)
    return cache[digest_id]


def _postpone_due(session: Session, *, now: dt.datetime, until: dt.datetime) -> int:
    """The server is down: every other due row waits until the failed one is tried again."""
    return (
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(_due(now).scalar_subquery()))
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


def _mark_retry_or_failed(
    row: OutboxMessage, reason: str, *, now: dt.datetime, permanent: bool
) -> None:
    row.last_error = reason[:500]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = FAILED
        return
    row.status = QUEUED
    row.next_attempt_at = now + _backoff(row.attempts)


def _backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, … up to an hour between tries."""
    return dt.timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


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
    """Queue a failed message again (a digest that failed to render is rendered again first).
    Raises NotFound."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound()
    if row.status == FAILED:
        row.status, row.next_attempt_at, row.attempts, row.last_error = QUEUED, now, 0, ""
        _render_again(session, [row.attachment_digest_id])
    return row


def _render_again(session: Session, digest_ids: list[int | None]) -> list[int]:
    """Failed digests among `digest_ids` go back to pending; returns their ids to enqueue."""
    ids = [i for i in set(digest_ids) if i is not None]
    if not ids:
        return []
    digest_models = _digests()
    Digest = digest_models.Digest  # noqa: N806
    failed = session.scalars(
        select(Digest).where(Digest.id.in_(ids), Digest.status == digest_models.FAILED)
    ).all()
    for digest in failed:
        digest.status, digest.error, digest.started_at = digest_models.PENDING, "", None
    return [d.id for d in failed]


# --- mailings -------------------------------------------------------------------


def get_mailing(session: Session, mailing_id: int) -> Mailing:
    """Raises NotFound."""
    mailing = session.get(Mailing, mailing_id)
    if mailing is None:
        raise NotFound()
    return mailing


def count_by_status(session: Session, mailing_ids: list[int]) -> dict[int, dict[str, int]]:
    """{mailing id: {"queued": n, "sending": n, "sent": n, "failed": n, "total": n}}."""
    counts = {i: dict.fromkeys((QUEUED, SENDING, SENT, FAILED, "total"), 0) for i in mailing_ids}
    if not mailing_ids:
        return counts
    rows = session.execute(
        select(OutboxMessage.mailing_id, OutboxMessage.status, func.count(OutboxMessage.id))
        .where(OutboxMessage.mailing_id.in_(mailing_ids))
        .group_by(OutboxMessage.mailing_id, OutboxMessage.status)
    ).all()
    for mailing_id, status, count in rows:
        counts[mailing_id][status] = count
        counts[mailing_id]["total"] += count
    return counts


def list_failed(session: Session, mailing_id: int, *, limit: int = 100) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.mailing_id == mailing_id, OutboxMessage.status == FAILED)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def retry_mailing_message(
    session: Session, mailing_id: int, message_id: int, *, now: dt.datetime
) -> list[int]:
    """Queue one failed message of the mailing again; returns digests to render again.
    Raises NotFound when the message is not part of the mailing."""
    row = session.get(OutboxMessage, message_id)
    if row is None or row.mailing_id != mailing_id:
        raise NotFound()
    if row.status != FAILED:
        return []
    row.status, row.next_attempt_at, row.attempts, row.last_error = QUEUED, now, 0, ""
    return _render_again(session, [row.attachment_digest_id])


def retry_failed(session: Session, mailing_id: int, *, now: dt.datetime) -> tuple[int, list[int]]:
    """Queue every failed message of the mailing again: (how many, digests to render again)."""
    get_mailing(session, mailing_id)
    digest_ids = session.scalars(
        select(OutboxMessage.attachment_digest_id)
        .where(OutboxMessage.mailing_id == mailing_id, OutboxMessage.status == FAILED)
        .distinct()
    ).all()
    count = (
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.mailing_id == mailing_id, OutboxMessage.status == FAILED)
            .values(status=QUEUED, next_attempt_at=now, attempts=0, last_error="")
            .execution_options(synchronize_session="fetch")
        ).rowcount
        or 0
    )
    return count, _render_again(session, list(digest_ids))


def list_mailings(session: Session, *, limit: int = 10) -> list[Mailing]:
    return list(session.scalars(select(Mailing).order_by(Mailing.id.desc()).limit(limit)))


def fail_waiting(session: Session, digest_id: int, reason: str) -> int:
    """Messages waiting for a digest that could not be made fail with the reason; never sent."""
    return (
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.attachment_digest_id == digest_id, OutboxMessage.status == QUEUED)
            .values(status=FAILED, last_error=reason[:500])
            .execution_options(synchronize_session="fetch")
        ).rowcount
        or 0
    )


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
