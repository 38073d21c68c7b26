"""The statements a registration from the public form executes, built once (Core, no ORM units
of work): a registration is the busiest write of an event, a whole room's within a minute, and
on PostgreSQL each statement is a round trip, most of them made while the event's lock is held.

On PostgreSQL the seat count also draws the new registration's id from its sequence (under the
lock, so ids keep the lock's order, the order of arrival), which lets the answers, the
registration, its own link and its mail (whose text holds the link, signed over that id) go in
as one statement. SQLite has no INSERT in a WITH clause: there they are four, all inside its one
write lock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    String,
    Text,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from participation.db import UTCDateTime
from participation.events.models import CONFIRMED, Registration
from participation.formbuilder.models import FormResponse
from participation.mail.models import OutboxMessage
from participation.tokens import ActionLink

_REGISTRATION = Registration.__table__
_LINK = ActionLink.__table__
_OUTBOX = OutboxMessage.__table__
_CONFIRMED_OF_EVENT = (
    _REGISTRATION.c.event_id == bindparam("event_id"),
    _REGISTRATION.c.status == CONFIRMED,
)

# The seats taken: a plain sum without groups (SQLite sorts for a GROUP BY).
_TAKEN = select(func.coalesce(func.sum(_REGISTRATION.c.seats), 0)).where(*_CONFIRMED_OF_EVENT)
_TAKEN_BY_GROUP = (
    select(_REGISTRATION.c.group_id, func.coalesce(func.sum(_REGISTRATION.c.seats), 0))
    .where(*_CONFIRMED_OF_EVENT)
    .group_by(_REGISTRATION.c.group_id)
)
# PostgreSQL: the same per group, with the next registration id drawn once (one row even when
# nothing is taken yet).
_NEXT_ID = select(
    func.nextval(
        literal_column("pg_get_serial_sequence('event_registration', 'id')::regclass")
    ).label("next_id")
).subquery("drawn")
_BY_GROUP = _TAKEN_BY_GROUP.subquery("taken")
_TAKEN_AND_NEXT_ID = select(_NEXT_ID.c.next_id, *_BY_GROUP.c).select_from(
    _NEXT_ID.outerjoin(_BY_GROUP, true())
)


def count_taken(
    conn: Connection, event_id: int, *, grouped: bool, next_id: bool = False
) -> tuple[int, dict[int, int], int | None]:
    """(seats taken, seats taken by group id, the next registration id or None). `grouped`:
    the event has groups; `next_id` (PostgreSQL only): draw the id in the same statement."""
    ids = {"event_id": event_id}
    if not grouped and not next_id:
        return int(conn.execute(_TAKEN, ids).scalar_one()), {}, None
    taken, by_group, drawn = 0, {}, None
    for row in conn.execute(_TAKEN_AND_NEXT_ID if next_id else _TAKEN_BY_GROUP, ids):
        if next_id:
            drawn, row = row[0], row[1:]
        group_id, seats = row
        if seats is not None:
            taken += int(seats)
            if group_id is not None:
                by_group[group_id] = int(seats)
    return taken, by_group, drawn


_NEW_REGISTRATION = {
    dialect: dialect_insert(_REGISTRATION).on_conflict_do_nothing().returning(_REGISTRATION.c.id)
    for dialect, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def insert_registration(conn: Connection, row: dict[str, Any]) -> int | None:
    """The registration's id, or None when its submission key or address is taken (nothing
    stored)."""
    return conn.execute(_NEW_REGISTRATION[conn.dialect.name], row).scalar()


_NEW_RESPONSE = insert(FormResponse.__table__).returning(FormResponse.__table__.c.id)


def insert_response(
    conn: Connection, form_id: int, answers: dict[str, Any], version: int, now: dt.datetime
) -> int:
    values = {"form_id": form_id, "answers": answers, "schema_version": version}
    return conn.execute(_NEW_RESPONSE, {**values, "submitted_at": now}).scalar_one()


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
        c.name: literal(c.default.arg, c.type)
        for c in table.c
        if c.default is not None and c.default.is_scalar and c.name not in given
    }


_ANSWER_COLUMNS = ("form_id", "answers", "schema_version", "submitted_at")
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


def _registration_with_mail() -> Any:
    answers_table = FormResponse.__table__
    answer_defaults = _defaults(answers_table, _ANSWER_COLUMNS)
    answers = (
        insert(answers_table)
        .from_select(
            [*_ANSWER_COLUMNS, *answer_defaults],
            select(
                _typed("form_id", Integer()),
                _typed("answers", JSON()),
                _typed("schema_version", Integer()),
                _typed("now", UTCDateTime()),
                *answer_defaults.values(),
            ).where(_typed("with_answers", Boolean())),
            include_defaults=False,
        )
        .returning(answers_table.c.id)
        .cte("new_answers")
    )
    columns = [c.name for c in _REGISTRATION.c if c.name not in _UNSET]
    values: dict[str, Any] = {
        name: bindparam(f"r_{name}", type_=_REGISTRATION.c[name].type) for name in columns
    }
    values["response_id"] = select(answers.c.id).scalar_subquery()
    registration = (
        postgresql.insert(_REGISTRATION)
        .values(values)
        .on_conflict_do_nothing()
        .returning(_REGISTRATION.c.id)
        .cte("new_registration")
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
    mail_defaults = _defaults(_OUTBOX, _MAIL_COLUMNS)
    mail = (
        insert(_OUTBOX)
        .from_select(
            [*_MAIL_COLUMNS, *mail_defaults],
            select(
                _typed("recipient", String()),
                _typed("subject", String()),
                _typed("body_text", Text()),
                _typed("mail_purpose", String()),
                _typed("now", UTCDateTime()),
                _typed("now", UTCDateTime()),
                _typed("attachment_ics", Text()),
                *mail_defaults.values(),
            ).select_from(link),
            include_defaults=False,
        )
        .returning(_OUTBOX.c.id)
        .cte("new_mail")
    )
    # Every part is carried out; what each stored tells whether the registration went in.
    return select(
        select(registration.c.id).scalar_subquery().label("registration_id"),
        select(answers.c.id).scalar_subquery().label("response_id"),
        select(mail.c.id).scalar_subquery().label("mail_id"),
    )


_REGISTRATION_WITH_MAIL = _registration_with_mail()


def insert_registration_with_mail(
    conn: Connection,
    row: dict[str, Any],
    link: dict[str, Any],
    mail: dict[str, Any],
    answers: tuple[int, dict[str, Any], int] | None,
) -> tuple[int | None, int | None]:
    """PostgreSQL: the registration `row` (with its id drawn by `count_taken`, without its
    response_id), its answers (form id, answers, schema version), its own link and its outbox
    row, in one statement. Returns (the registration's id, the answers' id): no registration
    when its submission key or address is taken, and then neither link nor mail (the answers
    are stored: the caller takes them out or uses them). `link` as for insert_link, `mail` as
    confirmation.outbox_row."""
    form_id, given, version = answers if answers is not None else (None, None, None)
    params = {
        **{f"r_{name}": value for name, value in row.items() if name != "response_id"},
        "now": link["created_at"],
        "with_answers": answers is not None,
        "form_id": form_id,
        "answers": given,
        "schema_version": version,
        "link_purpose": link["purpose"],
        "nonce_hash": link["nonce_hash"],
        "link_expires_at": link["expires_at"],
        "recipient": mail["recipient"],
        "subject": mail["subject"],
        "body_text": mail["body_text"],
        "mail_purpose": mail["purpose"],
        "attachment_ics": mail["attachment_ics"],
    }
    found = conn.execute(_REGISTRATION_WITH_MAIL, params).one()
    return found.registration_id, found.response_id
