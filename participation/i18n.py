"""Locale and time zone choice, and date formatting in Europe/Helsinki per locale."""

from __future__ import annotations

import datetime as dt

from flask import current_app, request, session
from flask_babel import format_date, format_datetime

HELSINKI = "Europe/Helsinki"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    # Finnish first: the Accept-Language header only decides between our other two.
    return current_app.config["BABEL_DEFAULT_LOCALE"]


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
    return request.full_path.rstrip("?") if request else "/"
