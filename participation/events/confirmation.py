"""The mail a registration sends (the confirmation with the event's .ics, or the waitlist
notice), written before the event's lock is taken and stored under it as an outbox row in the
registration's transaction. Only the registrant's own link, which needs the new row's id, is
put in under the lock.

`participation.mail.services.queue_mail` renders and adds the row in one go; here its
`render_mail` runs outside the lock and the row is one INSERT under it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import insert
from sqlalchemy.orm import Session

from participation.kept import Kept
from participation.mail.models import OutboxMessage
from participation.mail.services import clean_header, render_mail

# Stand for the link and the name while the text is written. Random per process: nothing typed
# into the form can be taken for them.
LINK_MARK = f"[link-{secrets.token_hex(16)}]"
NAME_MARK = f"[name-{secrets.token_hex(16)}]"
_NEW_MESSAGE = insert(OutboxMessage.__table__)
# Texts written, by app, template, language and context: everyone registering for the same
# event (and group, and number of people) gets the same text but for the name and the link.
_texts: Kept[tuple[Any, ...], tuple[str, str]] = Kept(512)


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    body: str  # with LINK_MARK where the link goes
    purpose: str
    ics: str | None
    # What it was written from (the event's facts): written again if they changed meanwhile.
    written_from: tuple[Any, ...]


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def _text(template: str, locale: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of `templates/mail/<template>.txt` (first line `Subject: …`), with the
    marks for the name and the link."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    key = (app, template, locale, _frozen(context))
    return _texts.get_or_make(
        key, lambda: render_mail(template, locale, name=NAME_MARK, link=LINK_MARK, **context)
    )


def write(
    *,
    to: str,
    name: str,
    template: str,
    purpose: str,
    locale: str,
    ics: str | None,
    written_from: tuple[Any, ...],
    **context: Any,
) -> Mail:
    """The mail to `name` at `to`, its link left to `store`; `context` (hashable values and
    dicts of them) goes to the template. Raises Invalid when the recipient or subject holds a
    line break."""
    subject, body = _text(template, locale, context)
    return Mail(
        recipient=clean_header(to.strip()),
        subject=clean_header(subject.replace(NAME_MARK, name)),
        body=body.replace(NAME_MARK, name),
        purpose=purpose,
        ics=ics,
        written_from=written_from,
    )


def outbox_row(mail: Mail, *, link: str, now: dt.datetime) -> dict[str, Any]:
    """The outbox row's values (the rest are the row's defaults)."""
    return {
        "recipient": mail.recipient,
        "subject": mail.subject,
        "body_text": mail.body.replace(LINK_MARK, link),
        "purpose": mail.purpose,
        "created_at": now,
        "next_attempt_at": now,
        "attachment_ics": mail.ics,
    }


def store(session: Session, row: dict[str, Any]) -> None:
    """The outbox row (`outbox_row`), in the caller's transaction; the worker sends it after
    the commit."""
    session.connection().execute(_NEW_MESSAGE, row)
