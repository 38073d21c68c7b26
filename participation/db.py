"""SQLAlchemy 2 set-up: declarative base, engine options per database, a request-scoped session."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
import time
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
from sqlalchemy.exc import OperationalError
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
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT, "factory": _QueuedConnection}, **kwargs
        )
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


BUSY_TIMEOUT = 15.0  # seconds a SQLite writer waits for the write lock before it gives up


class _QueuedConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions first queue on a lock file beside the
    database (`<database>-writers`), held until the transaction ends.

    SQLite's own wait for its write lock (the busy timeout) sleeps 1, 2, 5, 10 … ms between
    tries however soon the lock comes free, so two busy web workers lose milliseconds per write
    to sleeping. The lock file is tried at intervals of at most 0.2 ms instead. SQLite's lock
    still decides: the queue only keeps this app's writers from colliding on it, and a writer
    outside the queue (the sqlite3 shell) is waited for as before."""

    _turn: int | None = None  # the lock file, opened at the first write transaction
    _holding = False

    def take_turn(self, database: str) -> None:
        """Wait (at most BUSY_TIMEOUT) until no other writer in the queue is in a transaction;
        raises sqlite3.OperationalError("database is locked") as SQLite would."""
        if self._turn is None:
            self._turn = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT, 0o600)
        pause, deadline = 0.00005, 0.0
        while True:
            try:
                fcntl.flock(self._turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                now = time.monotonic()
                if not deadline:
                    deadline = now + BUSY_TIMEOUT
                elif now > deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.0002)
            else:
                self._holding = True
                return

    def leave_turn(self) -> None:
        if self._holding and not self.in_transaction:
            fcntl.flock(self._turn, fcntl.LOCK_UN)  # type: ignore[arg-type]
            self._holding = False

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._turn is not None:
                os.close(self._turn)  # also ends its flock
                self._turn, self._holding = None, False


def _tune_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and SQLAlchemy's recipe so pysqlite's transactions (and savepoints) work."""
    database = engine.url.database
    on_disk = database not in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        if on_disk:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer committed in between (busy_timeout cannot help: its
        # snapshot is stale). Work that means to write takes the write lock up front instead,
        # after its turn in the writers' queue.
        if not _write_intent.get():
            conn.exec_driver_sql("BEGIN")
            return
        raw = conn.connection.dbapi_connection
        queued = on_disk and isinstance(raw, _QueuedConnection)
        if queued:
            try:
                raw.take_turn(database)
            except sqlite3.OperationalError as exc:  # as if BEGIN IMMEDIATE had timed out
                raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queued:
                raw.leave_turn()
            raise


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
