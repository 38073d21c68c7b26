"""Staff accounts and their sessions."""

from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from participation.accounts.models import ROLES, StaffSession, User
from participation.errors import Conflict, Invalid, NotFound
from participation.tokens import new_token, token_hash

MIN_PASSWORD = 10
_hashers: dict[tuple[int, int], tuple[PasswordHasher, str]] = {}


def _hasher() -> tuple[PasswordHasher, str]:
    """Argon2id with argon2-cffi's defaults (the tests lower the cost through config), and a
    dummy hash of the same cost, verified when the e-mail is unknown so a miss takes as long."""
    params = (
        current_app.config.get("ARGON2_TIME_COST", 3),
        current_app.config.get("ARGON2_MEMORY_COST", 65536),
    )
    if params not in _hashers:
        hasher = PasswordHasher(time_cost=params[0], memory_cost=params[1])
        _hashers[params] = (hasher, hasher.hash("not a real password"))
    return _hashers[params]


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(
            _("Enter a valid e-mail address."), {"email": [_("Enter a valid e-mail address.")]}
        ) from exc


def create_user(session: Session, *, email: str, name: str, role: str, password: str) -> User:
    """Raises Invalid for a bad role, e-mail or short password, Conflict for a taken e-mail."""
    if role not in ROLES:
        raise Invalid(_("Unknown role."), {"role": [_("Unknown role.")]})
    if len(password) < MIN_PASSWORD:
        msg = _("The password must be at least %(n)s characters long.", n=MIN_PASSWORD)
        raise Invalid(msg, {"password": [msg]})
    email = normalise_email(email)
    if find_user_by_email(session, email):
        raise Conflict(_("A staff account with this e-mail already exists."))
    user = User(
        email=email,
        name=name.strip() or email,
        role=role,
        password_hash=_hasher()[0].hash(password),
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        msg = _("The password must be at least %(n)s characters long.", n=MIN_PASSWORD)
        raise Invalid(msg, {"password": [msg]})
    user.password_hash = _hasher()[0].hash(password)
    revoke_all_sessions(session, user.id, now=dt.datetime.now(dt.UTC))


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such staff member."))
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same cost either way)."""
    user = find_user_by_email(session, email)
    hasher, dummy = _hasher()
    try:
        hasher.verify(user.password_hash if user else dummy, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def start_session(session: Session, user: User, *, now: dt.datetime, user_agent: str = "") -> str:
    """Records a new login and returns its token (kept only in the signed cookie)."""
    token = new_token()
    session.add(
        StaffSession(
            user_id=user.id,
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            user_agent=user_agent[:200],
        )
    )
    user.last_login_at = now
    user.session_token = token
    session.flush()
    return token


def load_session_user(session: Session, token: str, *, now: dt.datetime) -> User | None:
    row = session.scalar(
        select(StaffSession).where(
            StaffSession.token_hash == token_hash(token), StaffSession.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.active:
        return None
    # Touch at most once a minute so every page view does not write.
    if now - row.last_seen_at > dt.timedelta(minutes=1):
        row.last_seen_at = now
    user = row.user
    user.session_token = token
    return user


def current_session_id(session: Session, token: str) -> int | None:
    return session.scalar(
        select(StaffSession.id).where(StaffSession.token_hash == token_hash(token))
    )


def list_sessions(session: Session, user_id: int) -> list[StaffSession]:
    return list(
        session.scalars(
            select(StaffSession)
            .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
            .order_by(StaffSession.last_seen_at.desc())
        )
    )


def revoke_session(session: Session, user_id: int, session_id: int, *, now: dt.datetime) -> None:
    """Raises NotFound when the session is not this user's."""
    row = session.get(StaffSession, session_id)
    if row is None or row.user_id != user_id:
        raise NotFound(_("No such session."))
    row.revoked_at = row.revoked_at or now


def revoke_token(session: Session, token: str, *, now: dt.datetime) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == token_hash(token), StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_all_sessions(session: Session, user_id: int, *, now: dt.datetime) -> int:
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount or 0


def set_active(session: Session, user: User, active: bool, *, now: dt.datetime) -> None:
    user.active = active
    if not active:
        revoke_all_sessions(session, user.id, now=now)
