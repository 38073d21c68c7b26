"""Shared fixtures: one app per test session on SQLite (default) or PostgreSQL (TEST_DATABASE_URL),
migrated from empty to head; each test in a transaction rolled back through a savepoint."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from participation import create_app, migrate
from participation.db import make_engine
from participation.extensions import db as database
from participation.extensions import limiter

TEST_PASSWORD = "correct horse battery"


_run_lock: Any = None


def pytest_configure(config: pytest.Config) -> None:
    """On PostgreSQL, one test run at a time per server: a second run (another checkout's, a
    colleague's) would drop the schema under the first. It waits here for the first to end."""
    import os

    url = os.environ.get("TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        return
    from sqlalchemy.engine import make_url

    global _run_lock
    admin = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = make_engine(
        admin.set(database="postgres").render_as_string(False), isolation_level="AUTOCOMMIT"
    )
    _run_lock = engine.connect()  # held (and the lock with it) until the process ends
    _run_lock.execute(text("SELECT pg_advisory_lock(727001)"))


def reset_database(url: str) -> None:
    """Empty the test database so migrations really start from nothing."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def database_url(tmp: Path, name: str) -> str:
    import os

    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp / (name + '.db')}"
    if name == "test":
        return url
    # A second database beside the first, for tests that need committed data (browser, races).
    from sqlalchemy.engine import make_url

    base = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = make_engine(
        base.set(database="postgres").render_as_string(False), isolation_level="AUTOCOMMIT"
    )
    db_name = f"{base.database}_{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    admin.dispose()
    return base.set(database=db_name).render_as_string(False)


class Client(FlaskClient):
    """The `db` fixture keeps one app context open for the whole test, and Flask reuses it for
    each request; a browser's requests would each get a fresh `g`, so clear it first (Flask-Login
    and Flask-Babel cache the user and the locale there)."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import g, has_app_context

        if has_app_context():
            for key in list(g):
                g.pop(key)
        return super().open(*args, **kwargs)


def make_test_app(tmp: Path, url: str, **extra: Any) -> Flask:
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp / "instance"),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": url,
        "QUEUE_IMMEDIATE": True,
        "MAIL_URL": f"file://{tmp / 'outbox'}",
        "BASE_URL": "http://localhost",
        "SERVER_NAME": None,
        "RATELIMIT_ENABLED": True,
        # Cheap hashes: the suite creates hundreds of users; production keeps argon2's defaults.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
    }
    config.update(extra)
    app = create_app(config)
    app.test_client_class = Client
    return app


@contextmanager
def committed_app(
    tmp_path_factory: pytest.TempPathFactory, name: str, **config: Any
) -> Iterator[Flask]:
    """An app on a database of its own, migrated, for tests whose threads commit on separate
    connections (races). CSRF is off; the rate limits a race needs lifted come in `config`
    (not RATELIMIT_ENABLED=False: the limiter is shared by every app of the test session)."""
    tmp = tmp_path_factory.mktemp(name)
    url = database_url(tmp, name)
    reset_database(url)
    app = make_test_app(tmp, url, WTF_CSRF_ENABLED=False, **config)
    migrate.upgrade(app)
    try:
        yield app
    finally:
        app.extensions["db_engine"].dispose()


def in_app(app: Flask, fn: Callable[[], Any]) -> Any:
    """`fn()` in an app context of `app`, its session removed afterwards."""
    with app.app_context():
        try:
            return fn()
        finally:
            database.session.remove()


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("app")
    url = database_url(tmp, "test")
    reset_database(url)
    app = make_test_app(tmp, url)
    migrate.upgrade(app)
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def db(app: Flask) -> Iterator[Any]:
    """The app's scoped session, bound to one connection whose transaction is rolled back."""
    connection = app.extensions["db_engine"].connect()
    transaction = connection.begin()
    database.session.remove()
    database.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    with app.app_context():
        yield database.session
    database.session.remove()
    transaction.rollback()
    connection.close()
    database.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
    limiter.reset()


@pytest.fixture
def client(app: Flask, db: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def form_post(values: dict[str, Any], prefix: str = "") -> MultiDict:
    """Posted form data as a browser sends it: None leaves a field out, a list sends it once
    per item; `prefix` as a form with a prefix names its fields ("reg" → "reg-name")."""
    items: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None:
            continue
        for one in value if isinstance(value, list) else [value]:
            items.append((f"{prefix}-{key}" if prefix else key, one))
    return MultiDict(items)


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """The token a real browser would send: read from the page's meta tag."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_META.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def post(client: FlaskClient) -> Callable[..., Any]:
    """POST a form with a valid CSRF token, as a browser would."""

    def _post(path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        data = dict(data or {})
        data.setdefault("csrf_token", csrf_token(client))
        return client.post(path, data=data, **kwargs)

    return _post


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    from participation.accounts import services

    counter = iter(range(1, 10_000))

    def _make(role: str = "coordinator", **overrides: Any) -> Any:
        n = next(counter)
        values = {
            "email": f"staff{n}@example.org",
            "name": f"Staff {n}",
            "role": role,
            "password": TEST_PASSWORD,
        }
        values.update(overrides)
        user = services.create_user(db, **values)
        db.commit()  # only releases the savepoint: the test's outer transaction still rolls back
        return user

    return _make


@pytest.fixture
def login_as(client: FlaskClient, db: Any, make_user: Callable[..., Any]) -> Callable[..., Any]:
    """Sign the test client in as a new user of `role` through a real server-side session."""
    from participation.accounts import services

    def _login(role: str = "coordinator", **overrides: Any) -> Any:
        user = make_user(role, **overrides)
        token = services.start_session(db, user, now=dt.datetime.now(dt.UTC))
        db.commit()
        with client.session_transaction() as s:
            s["_user_id"] = token
            s["_fresh"] = True
        return user

    return _login


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPSink:
    """A real SMTP server (aiosmtpd) in a thread; collects what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp(app: Flask) -> Iterator[SMTPSink]:
    sink = SMTPSink()
    sink.start()
    previous = app.config["MAIL_URL"]
    app.config["MAIL_URL"] = sink.url
    yield sink
    app.config["MAIL_URL"] = previous
    sink.stop()


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()
