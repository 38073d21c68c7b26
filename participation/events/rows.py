"""The statements a registration from the public form executes, built once (Core, no ORM units
of work): a registration is the busiest write of an event, a whole room's within a minute, and
on PostgreSQL each statement is a round trip, most of them made while the event's lock is held.

On PostgreSQL the lock's statement also draws the new registration's id from its sequence
(under the lock, so ids keep the lock's order, the order of arrival), and one more statement
counts the seats taken, decides confirmed or waitlisted by them, and stores the answers, the
registration, its own link and its mail (both mails are written beforehand, their text holding
the link signed over that id). SQLite has no INSERT in a WITH clause: there the count comes with
the lock and the rows are four statements, all inside its one write lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from participation.db import UTCDateTime
from participation.events.models import CONFIRMED, WAITLISTED, Registration
from participation.formbuilder.models import WEB
from participation.formbuilder.rows import new_response_insert
from participation.mail.models import OutboxMessage
from participation.tokens import ActionLink


def _constant(value: Any, type_: Any = None) -> Any:
    """A constant of the code written into the statement, not sent as a parameter: psycopg
    caches its parsing of a statement only up to 4,096 characters and 50 parameters, and the
    registration's statement on PostgreSQL is near both."""
    if value is None:
        return null()
    if isinstance(value, str):
        assert "'" not in value
        return literal_column(f"'{value}'", type_ or String())
    assert isinstance(value, int)
    return literal_column(str(int(value)), type_ or Integer())


_REGISTRATION = Registration.__table__
_LINK = ActionLink.__table__
_OUTBOX = OutboxMessage.__table__
_CONFIRMED_OF_EVENT = (
    _REGISTRATION.c.event_id == bindparam("event_id"),
    _REGISTRATION.c.status == _constant(CONFIRMED),
)

# The seats taken: a plain sum without groups (SQLite sorts for a GROUP BY).
_TAKEN = select(func.coalesce(func.sum(_REGISTRATION.c.seats), _constant(0))).where(
    *_CONFIRMED_OF_EVENT
)
_TAKEN_BY_GROUP = (
    select(_REGISTRATION.c.group_id, func.coalesce(func.sum(_REGISTRATION.c.seats), _constant(0)))
    .where(*_CONFIRMED_OF_EVENT)
    .group_by(_REGISTRATION.c.group_id)
)
# PostgreSQL: the next registration's id, drawn by the lock's statement.
NEXT_ID = func.nextval(
    literal_column("pg_get_serial_sequence('event_registration', 'id')::regclass")
)


def count_taken(
    conn: Connection | Session, event_id: int, *, grouped: bool
) -> tuple[int, dict[int, int]]:
    """(seats taken, seats taken by group id). `grouped`: the event has groups. On a session,
    its pending changes are flushed first."""
    ids = {"event_id": event_id}
    if not grouped:
        return int(conn.execute(_TAKEN, ids).scalar_one()), {}
    taken, by_group = 0, {}
    for group_id, seats in conn.execute(_TAKEN_BY_GROUP, ids):
        taken += int(seats)
        if group_id is not None:
            by_group[group_id] = int(seats)
    return taken, by_group


_NEW_REGISTRATION = {
    dialect: dialect_insert(_REGISTRATION).on_conflict_do_nothing().returning(_REGISTRATION.c.id)
    for dialect, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def insert_registration(conn: Connection, row: dict[str, Any]) -> int | None:
    """The registration's id, or None when its submission key or address is taken (nothing
    stored)."""
    return conn.execute(_NEW_REGISTRATION[conn.dialect.name], row).scalar()


_NEW_RESPONSE = new_response_insert(typed=False)


def _response_params(
    answers: tuple[int, dict[str, Any], int] | None, now: dt.datetime
) -> dict[str, Any]:
    """The parameters of `new_response_insert` for (form id, answers, schema version)."""
    form_id, given, version = answers if answers is not None else (None, None, None)
    return {
        "form_id": form_id,
        "answers": given,
        "schema_version": version,
        "source": WEB,
        "submitted_at": now,
    }


def insert_response(
    conn: Connection, form_id: int, answers: dict[str, Any], version: int, now: dt.datetime
) -> int:
    params = _response_params((form_id, answers, version), now)
    return conn.execute(_NEW_RESPONSE, params).scalar_one()


_NEW_LINK = insert(_LINK)


def insert_link(conn: Connection, link: dict[str, Any]) -> None:
    """`link`: purpose, subject_id, nonce_hash, created_at, expires_at (tokens.issue_link's
    row)."""
    conn.execute(_NEW_LINK, link)


def _typed(name: str, type_: Any) -> Any:
    """A parameter in a SELECT list, typed: PostgreSQL cannot tell the type of a bare one (the
    psycopg dialect casts typed parameters)."""
    return bindparam(name, type_=type_)


def _defaults(table: Any, given: tuple[str, ...]) -> dict[str, Any]:
    """The columns not in `given` that have a default, with it (INSERT … SELECT does not fill
    them in)."""
    return {
        c.name: _constant(c.default.arg, c.type)
        for c in table.c
        if c.default is not None and c.default.is_scalar and c.name not in given
    }


_LINK_COLUMNS = ("purpose", "subject_id", "nonce_hash", "created_at", "expires_at")
_MAIL_COLUMNS = (
    "recipient",
    "subject",
    "body_text",
    "purpose",
    "created_at",
    "next_attempt_at",
    "attachment_ics",
)
# Left to their defaults (NULL) when a registration is made.
_UNSET = frozenset({"promoted_at", "cancelled_at", "reminded_at", "thanked_at", "anonymised_at"})


def _decided_registration() -> Any:
    taken = _TAKEN_BY_GROUP.cte("taken")
    seats_taken = taken.c[1]
    total = select(func.coalesce(func.sum(seats_taken), _constant(0))).scalar_subquery()
    in_group = (
        select(func.coalesce(func.sum(seats_taken), _constant(0)))
        .where(taken.c.group_id == _typed("r_group_id", Integer()))
        .scalar_subquery()
    )
    seats = _typed("r_seats", Integer())
    capacity, group_capacity = _typed("capacity", Integer()), _typed("group_capacity", Integer())
    # Availability.fits, on the seats counted now.
    fits = and_(
        or_(capacity.is_(None), seats <= capacity - total),
        or_(group_capacity.is_(None), seats <= group_capacity - in_group),
    )
    decided = select(
        case((fits, _constant(CONFIRMED)), else_=_constant(WAITLISTED)).label("status")
    ).cte("decided")
    confirmed = decided.c.status == _constant(CONFIRMED)

    answers = new_response_insert(_typed("with_answers", Boolean()), typed=True).cte("new_answers")
    decided_by_count = {
        "status": decided.c.status,
        "confirmed_at": case((confirmed, _typed("now", UTCDateTime()))),
        "response_id": select(answers.c.id).scalar_subquery(),
    }
    columns = [c.name for c in _REGISTRATION.c if c.name not in _UNSET]
    registration = (
        postgresql.insert(_REGISTRATION)
        .from_select(
            columns,
            select(
                *(
                    decided_by_count.get(name)
                    if name in decided_by_count
                    else _typed(f"r_{name}", _REGISTRATION.c[name].type)
                    for name in columns
                )
            ).select_from(decided),
        )
        .on_conflict_do_nothing()
        .returning(_REGISTRATION.c.id, _REGISTRATION.c.status)
        .cte("registered")
    )
    link = (
        insert(_LINK)
        .from_select(
            _LINK_COLUMNS,
            select(
                _typed("link_purpose", String()),
                registration.c.id,
                _typed("nonce_hash", String()),
                _typed("now", UTCDateTime()),
                _typed("link_expires_at", UTCDateTime()),
            ),
        )
        .returning(_LINK.c.subject_id)
        .cte("new_link")
    )
    now_confirmed = registration.c.status == _constant(CONFIRMED)

    def by_status(column: str, type_: Any) -> Any:
        """The confirmation's value (c_…) or the waitlist notice's (w_…)."""
        return case(
            (now_confirmed, _typed(f"c_{column}", type_)), else_=_typed(f"w_{column}", type_)
        )

    mail_defaults = _defaults(_OUTBOX, _MAIL_COLUMNS)
    mail = (
        insert(_OUTBOX)
        .from_select(
            [*_MAIL_COLUMNS, *mail_defaults],
            select(
                _typed("recipient", String()),
                by_status("subject", String()),
                by_status("body_text", Text()),
                by_status("purpose", String()),
                _typed("now", UTCDateTime()),
                _typed("now", UTCDateTime()),
                by_status("attachment_ics", Text()),
                *mail_defaults.values(),
            ).select_from(registration.join(link, link.c.subject_id == registration.c.id)),
            include_defaults=False,
        )
        .returning(_OUTBOX.c.id)
        .cte("new_mail")
    )
    # Every part is carried out; what each stored tells whether the registration went in.
    return select(
        select(registration.c.id).scalar_subquery().label("registration_id"),
        select(registration.c.status).scalar_subquery().label("status"),
        select(answers.c.id).scalar_subquery().label("response_id"),
        select(mail.c.id).scalar_subquery().label("mail_id"),
        select(func.array_agg(taken.c.group_id)).scalar_subquery().label("group_ids"),
        select(func.array_agg(seats_taken)).scalar_subquery().label("seats_taken"),
    )


_DECIDED_REGISTRATION = _decided_registration()


@dataclass(frozen=True)
class Decided:
    """What `insert_decided_registration` did: the registration's id and status (None when
    its submission key or address was taken: nothing stored but the answers), the answers'
    id, and the seats taken as counted before it (overall, and by group id)."""

    registration_id: int | None
    status: str | None
    response_id: int | None
    taken: int
    taken_by_group: dict[int, int]


def insert_decided_registration(
    conn: Connection,
    row: dict[str, Any],
    *,
    capacity: int | None,
    group_capacity: int | None,
    link: dict[str, Any],
    mails: dict[str, dict[str, Any]],
    answers: tuple[int, dict[str, Any], int] | None,
) -> Decided:
    """PostgreSQL, under the event's lock: count the seats taken, and store the registration
    `row` (its id drawn by the lock, without status, confirmed_at and response_id) as confirmed
    when `row["seats"]` fit the event's `capacity` and its group's `group_capacity` (None:
    unlimited), else waitlisted; with its answers (form id, answers, schema version), its own
    `link` (as for insert_link) and the mail for that status (`mails` by status, each as
    confirmation.outbox_row), in one statement. When the submission key or address is taken,
    neither registration, link nor mail is stored (the answers are: the caller takes them out
    or uses them)."""
    confirmation_mail, waitlist_mail = mails[CONFIRMED], mails[WAITLISTED]
    params = {
        **{f"r_{name}": value for name, value in row.items()},
        "event_id": row["event_id"],  # for the count
        "capacity": capacity,
        "group_capacity": group_capacity,
        "now": link["created_at"],
        "with_answers": answers is not None,
        **_response_params(answers, link["created_at"]),
        "link_purpose": link["purpose"],
        "nonce_hash": link["nonce_hash"],
        "link_expires_at": link["expires_at"],
        "recipient": confirmation_mail["recipient"],
        **{
            f"{prefix}_{column}": mail[column]
            for prefix, mail in (("c", confirmation_mail), ("w", waitlist_mail))
            for column in ("subject", "body_text", "purpose", "attachment_ics")
        },
    }
    found = conn.execute(_DECIDED_REGISTRATION, params).one()
    by_group, taken = {}, 0
    for group_id, seats in zip(found.group_ids or (), found.seats_taken or (), strict=True):
        taken += int(seats)
        if group_id is not None:
            by_group[group_id] = int(seats)
    return Decided(found.registration_id, found.status, found.response_id, taken, by_group)
