"""Single-use, expiring, purpose-bound links for people without accounts.

The token in the link is signed with itsdangerous (so a tampered or expired link is told apart
without a database look-up) and carries a random nonce; only the nonce's hash is stored, and a
link is spent when the form on its page is posted, never on GET (mail scanners open links).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from participation.db import Base, utcnow
from participation.errors import DomainError


class LinkExpired(DomainError):
    status = 410


class LinkInvalid(DomainError):
    """Tampered, unknown, already used, or for another purpose."""

    status = 404


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


class ActionLink(Base):
    """One mailed link. `subject_id` is what it acts on (an association, a person), by purpose."""

    __tablename__ = "action_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40), index=True)
    subject_id: Mapped[int] = mapped_column(index=True)
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    # No foreign key: a link may outlive its subject (erasure); then it simply stops working.
    used_at: Mapped[dt.datetime | None]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return _made_serializer(current_app.config["SECRET_KEY"], purpose)


@functools.lru_cache(maxsize=64)
def _made_serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    # Made once per key and purpose: a registration signs its own link under the event's lock.
    return URLSafeTimedSerializer(secret, salt=f"link:{purpose}")


def issue_link(
    session: Session, *, purpose: str, subject_id: int, lifetime: dt.timedelta, now: dt.datetime
) -> str:
    """Store a new link's hash and return the signed token to put in the URL."""
    nonce = new_token()
    session.add(
        ActionLink(
            purpose=purpose,
            subject_id=subject_id,
            nonce_hash=token_hash(nonce),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return sign(purpose, nonce, subject_id)


def sign(purpose: str, nonce: str, subject_id: int | None = None) -> str:
    """The token of a link whose row holds `nonce`'s hash. Without `subject_id` it can be made
    before the row's subject exists (a registration signs its link before the event's lock);
    the row alone then says what the link acts on."""
    payload: dict[str, Any] = {"n": nonce}
    if subject_id is not None:
        payload["s"] = subject_id
    return _serializer(purpose).dumps(payload)


def check_link(session: Session, token: str, *, purpose: str, now: dt.datetime) -> ActionLink:
    """The stored link behind `token`. Raises LinkExpired or LinkInvalid (tampered, used)."""
    try:
        data = _serializer(purpose).loads(token)
    except SignatureExpired as exc:
        raise LinkExpired() from exc
    except BadSignature as exc:
        raise LinkInvalid() from exc
    if not isinstance(data, dict) or not isinstance(data.get("n"), str):
        raise LinkInvalid()
    link = session.scalar(select(ActionLink).where(ActionLink.nonce_hash == token_hash(data["n"])))
    if link is None or link.purpose != purpose:
        raise LinkInvalid()
    if "s" in data and link.subject_id != data["s"]:
        raise LinkInvalid()
    if link.used_at is not None:
        raise LinkInvalid()
    if link.expires_at <= now:
        raise LinkExpired()
    return link


def use_link(session: Session, token: str, *, purpose: str, now: dt.datetime) -> ActionLink:
    """Check and spend a link in one go; the caller commits with the change it allows.

    The UPDATE only matches an unused row, so two posts of the same link cannot both spend it.
    """
    link = check_link(session, token, purpose=purpose, now=now)
    spent = session.execute(
        update(ActionLink)
        .where(ActionLink.id == link.id, ActionLink.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if not spent:
        raise LinkInvalid()
    session.refresh(link)
    return link
