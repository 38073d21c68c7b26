"""Locale and time zone choice, and date formatting in Europe/Helsinki per locale."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime

HELSINKI = "Europe/Helsinki"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the CLI and the worker: Finnish unless force_locale() says
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    # Finnish first: the Accept-Language header only decides between our other two.
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_locale() -> str:
    """The request's locale code, e.g. "fi"."""
    from flask_babel import get_locale

    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    return HELSINKI


def datetime_filter(value: dt.datetime | None, fmt: str = "short") -> str:
    if value is None:
        return ""
    return format_datetime(value, fmt)


def date_filter(value: dt.date | dt.datetime | None, fmt: str = "short") -> str:
    if value is None:
        return ""
    return format_date(value, fmt)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths are followed after a login or a language switch."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def current_path() -> str:
    return request.full_path.rstrip("?") if has_request_context() else "/"


def compile_catalogues(directory: Path) -> None:
    """Compile each messages.po into messages.mo when the .mo is missing or older.

    The .po files are the source kept in git; compiling here means a fresh clone needs no
    extra build step. Written to a temporary file and renamed, so parallel workers are safe.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        tmp = mo_path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        tmp.replace(mo_path)
