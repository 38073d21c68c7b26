"""Where messages go: .eml files in instance/outbox/ by default, or an SMTP server by MAIL_URL.

MAIL_URL forms: file:///path/to/dir, smtp://user:pass@host:25 (plain), smtp+starttls://host:587,
smtps://host:465. User and password are URL-encoded.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


class _Closing:
    """`with make_transport(url) as transport:` closes the connection however the batch ends."""

    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # type: ignore[attr-defined]


class FileTransport(_Closing):
    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage) -> None:
        name = message["Message-ID"].strip("<>").replace("@", "_").replace("/", "_")
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(bytes(message))
        tmp.replace(self.directory / f"{name}.eml")  # atomic: a reader never sees half a file

    def close(self) -> None:
        pass


class SMTPTransport(_Closing):
    """One connection reused for a batch; reconnects when the server dropped it."""

    def __init__(self, url: str, timeout: float = 20) -> None:
        parsed = urlparse(url)
        self.scheme = parsed.scheme
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or {"smtps": 465, "smtp+starttls": 587}.get(parsed.scheme, 25)
        self.user = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.scheme == "smtps":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.scheme == "smtp+starttls":
                conn.starttls(context=context)
        if self.user:
            conn.login(self.user, self.password or "")
        return conn

    def send(self, message: EmailMessage) -> None:
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self._conn = self._connect()
            self._conn.send_message(message)

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
            self._conn = None


def make_transport(url: str) -> FileTransport | SMTPTransport:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FileTransport(unquote(parsed.path))
    if parsed.scheme in {"smtp", "smtps", "smtp+starttls"}:
        return SMTPTransport(url)
    raise ValueError(f"MAIL_URL scheme not supported: {parsed.scheme}")
