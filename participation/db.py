"""SQLAlchemy 2 set-up: declarative base, engine options per database, a request-scoped session."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from flask import current_app, request
from sqlalchemy import (
    JSON,
    DateTime,
    MetaData,
    Table,
    bindparam,
    cast,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic can drop them again on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict: JSON, list: JSON}


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and SQLAlchemy's recipe so pysqlite's transactions (and savepoints) work."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=15000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer committed in between (busy_timeout cannot help: its
        # snapshot is stale). Work that means to write takes the write lock up front instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


# Set for requests that change things (POST and the like) and for worker tasks: on SQLite their
# transactions begin IMMEDIATE, so they queue for the one write lock instead of failing on it.
_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


def set_write_intent(value: bool) -> None:
    _write_intent.set(value)


@contextlib.contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside take SQLite's write lock when they begin (no-op elsewhere)."""
    reset = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(reset)


def guarded_insert(
    table: Table, values: list[tuple[str, str, Any]], *where: Any, typed: bool
) -> Any:
    """INSERT INTO table (columns) SELECT :params WHERE <where> RETURNING table.id: a row
    stored only while the guards hold, checked in the same statement as the write, so nothing
    need be read first. `values` are (column, parameter name, type); `typed` casts them for
    PostgreSQL, which cannot tell the types of bare parameters in a SELECT list (on SQLite a
    CAST would change them)."""

    def value(name: str, type_: Any) -> Any:
        param = bindparam(name, type_=type_)
        return cast(param, type_) if typed else param

    return (
        insert(table)
        .from_select(
            [column for column, _, _ in values],
            select(*(value(name, type_) for _, name, type_ in values)).where(*where),
        )
        .returning(table.c.id)
    )


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Transactions begun inside are plain (deferred) ones, also in a POST: for reading what a
    write will need without holding SQLite's one write lock meanwhile. Commit (or roll back)
    the reads before leaving, so the write that follows begins a transaction of its own."""
    reset = _write_intent.set(False)
    try:
        yield
    finally:
        _write_intent.reset(reset)


class AppSession(Session):
    """Binds to the current app's engine unless given a bind (tests bind a connection)."""

    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any:
        if self.bind is not None:
            return self.bind
        return current_app.extensions["db_engine"]


class Database:
    """A scoped session over each app's engine; views use `db.session`, services take a session.

    The engine lives in `app.extensions`, so several apps in one process (tests) keep their own.
    """

    def __init__(self) -> None:
        self.session = scoped_session(sessionmaker(class_=AppSession, expire_on_commit=False))

    @property
    def engine(self) -> Engine:
        return current_app.extensions["db_engine"]

    def init_app(self, app: Any) -> None:
        app.extensions["db_engine"] = make_engine(app.config["DATABASE_URL"])

        @app.before_request
        def _intent() -> None:
            set_write_intent(request.method not in SAFE_METHODS)

        @app.teardown_appcontext
        def _remove(_exc: BaseException | None) -> None:
            self.session.remove()
