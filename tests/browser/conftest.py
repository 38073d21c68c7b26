"""Browser tests: Playwright driving Debian's Chromium against the app served on 127.0.0.1.

One live server (its own app and database) and one browser per test session; a fresh browser
context per test. Console errors and CSP violations fail the test, and a failing test leaves a
full-page screenshot in test-artifacts/.

Data comes from services run in the live app's context and committed, never from the `db` or
`client` fixtures of tests/conftest.py, which rebind the shared session to a rolled-back connection.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale, gettext
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from participation import migrate
from participation.extensions import db, limiter
from tests.conftest import TEST_PASSWORD, database_url, make_test_app, reset_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Chromium reports CSP violations in the console; this makes sure of it, with the directive named.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || e.documentURI}:${e.lineNumber}`);
});
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _no_chromium_reason() -> str:
    return f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees every collected item of the session, so pick out our own.
    missing = not Path(CHROMIUM).exists()
    for item in items:
        if HERE not in Path(item.path).parents:
            continue
        item.add_marker(pytest.mark.browser)
        if missing and not _in_ci():  # under CI the browser fixture fails instead
            item.add_marker(pytest.mark.skip(reason=_no_chromium_reason()))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)  # read by browser_page's teardown
    return report


@dataclass
class LiveServer:
    app: Flask
    url: str

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The live app's session in its app context; committed on leaving the block."""
        with self.app.app_context():
            yield db.session
            db.session.commit()

    def t(self, msgid: str, locale: str = "fi", **variables: Any) -> str:
        """A UI string as the live app shows it in `locale`, so tests survive translation."""
        with self.app.test_request_context(), force_locale(locale):
            return gettext(msgid, **variables)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("browser")
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # one database per xdist worker
    url = database_url(tmp, f"browser_{worker}" if worker else "browser")
    reset_database(url)
    app = make_test_app(
        tmp,
        url,
        QUEUE_IMMEDIATE=True,
        MAIL_URL=f"file://{tmp / 'outbox'}",
        RATELIMIT_ENABLED=True,
        WTF_CSRF_ENABLED=True,  # a real browser sends the tokens
    )
    migrate.upgrade(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)  # port 0: no race for a free port
    base_url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base_url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(app=app, url=base_url)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app.extensions["db_engine"].dispose()


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if _in_ci():
            pytest.fail(_no_chromium_reason() + "; CI must not pass by skipping browser tests")
        pytest.skip(_no_chromium_reason())
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()
    playwright.stop()


@dataclass
class ConsoleWatch:
    """Console errors, uncaught page errors and CSP violations seen during one test."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expect errors matching `pattern` (e.g. the 404 a test asks for on purpose)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def console() -> ConsoleWatch:
    watch = ConsoleWatch()
    # Chromium asks every site for /favicon.ico on its own; the app has none (yet).
    watch.allow(r"status of 404 .*/favicon\.ico")
    return watch


@pytest.fixture
def browser_page(
    chromium_browser: Browser,
    live_server: LiveServer,
    console: ConsoleWatch,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    # The `db` fixture of other tests rebinds the shared scoped session; start from the defaults.
    db.session.remove()
    db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
    # Each test starts with fresh login-attempt counters, as if a minute had passed.
    limiter.reset()
    context = chromium_browser.new_context(
        base_url=live_server.url, locale="fi-FI", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    context.add_init_script(CSP_REPORTER)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: (
            msg.type == "error"
            and console.errors.append(f"console: {msg.text} ({msg.location.get('url')})")
        ),
    )
    page.on("pageerror", lambda exc: console.errors.append(f"page error: {exc}"))
    yield page
    unexpected = console.unexpected()
    failed = any(
        getattr(request.node, f"report_{when}", None) is not None
        and getattr(request.node, f"report_{when}").failed
        for when in ("setup", "call")
    )
    shot = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid) + ".png")
    if failed or unexpected:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    else:
        shot.unlink(missing_ok=True)  # no stale picture of an old failure
    context.close()
    if unexpected:
        pytest.fail(
            "The browser reported errors (a CSP-blocked script or style, a JS error, a failed load):\n"
            + "\n".join(f"  {e}" for e in unexpected)
        )


@dataclass
class StaffLogin:
    email: str
    name: str
    role: str
    password: str = TEST_PASSWORD


_counter = itertools.count(1)


@pytest.fixture
def staff_login(live_server: LiveServer) -> Callable[..., StaffLogin]:
    """Create a staff user in the live app and sign in through the real login form."""
    from participation.accounts import services

    def _login(page: Page, role: str = "coordinator") -> StaffLogin:
        n = next(_counter)
        staff = StaffLogin(
            email=f"staff{n}-{uuid.uuid4().hex[:8]}@example.org", name=f"Staff {n}", role=role
        )
        with live_server.session() as session:
            services.create_user(
                session, email=staff.email, name=staff.name, role=role, password=staff.password
            )
        page.goto("/login")
        page.get_by_label(live_server.t("E-mail")).fill(staff.email)
        page.get_by_label(live_server.t("Password")).fill(staff.password)
        page.get_by_role("button", name=live_server.t("Sign in")).click()
        expect(page).to_have_url(live_server.url + "/staff")
        expect(page.get_by_role("heading", level=1)).to_have_text(live_server.t("Overview"))
        return staff

    return _login
