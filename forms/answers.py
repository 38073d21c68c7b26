"""Answer rules shared by the web form and by imported (JSON) answers.

Both paths first bring a value into a canonical Python shape and then call
``check_answer``, so a typed-in paper answer gets exactly the same rules and
messages as one posted from the browser.

Canonical shapes per question type (None always means "not answered"):
text types and email: str; single_choice: option key str; multiple_choice:
list of keys; ranking: list of keys with "" for blank positions; rating: int;
yes_no: "yes"/"no"; number: Decimal; date: date; consent: bool.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from email_validator import EmailNotValidError, validate_email

from forms.messages import format_date, format_number, message
from forms.schema import MAX_NUMBER_MAGNITUDE

# C0 controls except tab and newline: NUL cannot be stored in PostgreSQL text
# or jsonb, and the others only ever come from pasting binary junk.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Digits are limited so that every accepted value converts to float exactly
# enough and to JSON without surprises (no exponents, NaN or Infinity).
_NUMBER = re.compile(r"^[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})$")
_ISO_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_FINNISH_DATE = re.compile(r"^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})$")
_WHOLE_NUMBER = re.compile(r"^-?[0-9]{1,6}$")
# RFC 5321 caps a path at 256 octets; refusing longer input early keeps a
# pasted megabyte from reaching the email parser.
_MAX_EMAIL_INPUT = 320

Result = tuple[Any, str | None]


class _Invalid(Exception):
    """A JSON value of the wrong shape; carries the message id to show."""


def clean_text(value: str) -> str:
    """Normalise newlines (browsers post CRLF, which would count twice) and strip."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_CHARS.sub("", value).strip()


def parse_number(raw: str) -> Decimal:
    """Parse "1 234,5", "-2" or "0.75"; Finns write a decimal comma."""
    cleaned = "".join(raw.split()).replace("\u2212", "-").replace(",", ".")
    if not _NUMBER.match(cleaned):
        raise ValueError(f"not a number: {raw[:50]!r}")
    return Decimal(cleaned)


def parse_date(raw: str) -> date:
    """Parse ISO (what <input type=date> posts) or Finnish d.m.yyyy."""
    cleaned = raw.strip()
    if match := _ISO_DATE.match(cleaned):
        year, month, day = match.groups()
    elif match := _FINNISH_DATE.match(cleaned):
        day, month, year = match.groups()
    else:
        raise ValueError(f"not a date: {raw[:50]!r}")
    return date(int(year), int(month), int(day))


def _option_keys(question: Mapping[str, Any]) -> list[str]:
    return [option["key"] for option in question["options"]]


def _is_empty(qtype: str, value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return not clean_text(value)
    if qtype in ("multiple_choice", "ranking"):
        return not any(isinstance(v, str) and v.strip() for v in value)
    return False


def _check_text(question: Mapping[str, Any], value: str, locale: str) -> Result:
    cleaned = clean_text(value)
    limit = question["max_length"]
    if len(cleaned) > limit:
        return None, message("too_long", locale, n=limit)
    return cleaned, None


def _check_single(question: Mapping[str, Any], value: str, locale: str) -> Result:
    if value not in _option_keys(question):
        return None, message("invalid_choice", locale)
    return value, None


def _check_multiple(question: Mapping[str, Any], value: list[str], locale: str) -> Result:
    keys = _option_keys(question)
    chosen = set(value)
    if not chosen <= set(keys):
        return None, message("invalid_choice", locale)
    low, high = question["min_choices"], question["max_choices"]
    count = len(chosen)
    if low is not None and low == high and count != low:
        return None, message("choose_exactly", locale, n=low)
    if high is not None and count > high:
        return None, message("choose_at_most", locale, n=high)
    if low is not None and count < low:
        return None, message("choose_at_least", locale, n=low)
    # Schema order, so identical selections always store identically.
    return [key for key in keys if key in chosen], None


def _check_ranking(question: Mapping[str, Any], value: list[str], locale: str) -> Result:
    keys = set(_option_keys(question))
    top_n = question["top_n"]
    filled = [v for v in value if v]
    if len(value) > top_n or not set(filled) <= keys:
        return None, message("invalid_choice", locale)
    if len(set(filled)) != len(filled):
        return None, message("rank_duplicate", locale)
    if len(filled) < top_n:
        return None, message("rank_count", locale, n=top_n)
    return filled, None


def _check_rating(question: Mapping[str, Any], value: int, locale: str) -> Result:
    valid = isinstance(value, int) and not isinstance(value, bool)
    if not valid or not question["scale_min"] <= value <= question["scale_max"]:
        return None, message("invalid_choice", locale)
    return value, None


def _check_yes_no(question: Mapping[str, Any], value: str, locale: str) -> Result:
    if value not in ("yes", "no"):
        return None, message("invalid_choice", locale)
    return value == "yes", None


def _check_number(question: Mapping[str, Any], value: Decimal, locale: str) -> Result:
    if not value.is_finite() or abs(value) >= MAX_NUMBER_MAGNITUDE:
        return None, message("not_a_number", locale)
    if question["integer"] and value != value.to_integral_value():
        return None, message("not_whole_number", locale)
    # Compare via str so that a bound of 0.1 means the decimal 0.1, not the float.
    low = None if question["min_value"] is None else Decimal(str(question["min_value"]))
    high = None if question["max_value"] is None else Decimal(str(question["max_value"]))
    if (low is not None and value < low) or (high is not None and value > high):
        shown_low = None if low is None else format_number(question["min_value"], locale)
        shown_high = None if high is None else format_number(question["max_value"], locale)
        if low is not None and high is not None:
            return None, message("number_range", locale, min=shown_low, max=shown_high)
        if low is not None:
            return None, message("number_min", locale, min=shown_low)
        return None, message("number_max", locale, max=shown_high)
    return (int(value) if question["integer"] else float(value)), None


def _check_date(question: Mapping[str, Any], value: date, locale: str) -> Result:
    low = question["min_date"] and date.fromisoformat(question["min_date"])
    high = question["max_date"] and date.fromisoformat(question["max_date"])
    if (low and value < low) or (high and value > high):
        shown_low = low and format_date(low, locale)
        shown_high = high and format_date(high, locale)
        if low and high:
            return None, message("date_range", locale, min=shown_low, max=shown_high)
        if low:
            return None, message("date_min", locale, min=shown_low)
        return None, message("date_max", locale, max=shown_high)
    return value.isoformat(), None


def _check_email(question: Mapping[str, Any], value: str, locale: str) -> Result:
    cleaned = value.strip()
    if len(cleaned) > _MAX_EMAIL_INPUT:
        return None, message("email_invalid", locale)
    try:
        # Deliverability needs DNS, which must not slow down or fail a submit.
        checked = validate_email(cleaned, check_deliverability=False)
    except EmailNotValidError:
        return None, message("email_invalid", locale)
    return checked.normalized, None


def _check_consent(question: Mapping[str, Any], value: bool, locale: str) -> Result:
    return True, None


_CHECKS: dict[str, Callable[[Mapping[str, Any], Any, str], Result]] = {
    "short_text": _check_text,
    "long_text": _check_text,
    "single_choice": _check_single,
    "multiple_choice": _check_multiple,
    "ranking": _check_ranking,
    "rating": _check_rating,
    "yes_no": _check_yes_no,
    "number": _check_number,
    "date": _check_date,
    "email": _check_email,
    "consent": _check_consent,
}


def check_answer(question: Mapping[str, Any], value: Any, locale: str) -> Result:
    """Check one canonical value; returns (normalised JSON value or None, first error or None)."""
    qtype = question["type"]
    if qtype == "info":
        return None, None
    if _is_empty(qtype, value):
        if question["required"]:
            return None, message("consent_required" if qtype == "consent" else "required", locale)
        return None, None
    return _CHECKS[qtype](question, value, locale)


def _from_json(question: Mapping[str, Any], raw: Any) -> Any:
    """Bring a JSON value into the canonical shape, raising _Invalid(message id)."""
    qtype = question["type"]
    if raw is None:
        return None
    if qtype in ("short_text", "long_text", "single_choice", "email"):
        if not isinstance(raw, str):
            raise _Invalid("invalid_value")
        return raw
    if qtype in ("multiple_choice", "ranking"):
        if qtype == "multiple_choice" and isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list | tuple) or not all(
            v is None or isinstance(v, str) for v in raw
        ):
            raise _Invalid("invalid_value")
        return ["" if v is None else v.strip() for v in raw]
    if qtype == "rating":
        if isinstance(raw, str) and _WHOLE_NUMBER.match(raw.strip()):
            return int(raw)
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        raise _Invalid("invalid_choice")
    if qtype == "yes_no":
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        if isinstance(raw, str):
            return raw.strip().lower()
        raise _Invalid("invalid_choice")
    if qtype == "number":
        try:
            if isinstance(raw, str):
                return parse_number(raw) if raw.strip() else None
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                # repr gives the shortest round-tripping text, so 0.1 stays 0.1.
                return Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        except (ValueError, InvalidOperation):
            pass
        raise _Invalid("not_a_number")
    if qtype == "date":
        if isinstance(raw, date):
            # A datetime is a date too, but its isoformat() would carry the time.
            return date(raw.year, raw.month, raw.day)
        if isinstance(raw, str):
            if not raw.strip():
                return None
            try:
                return parse_date(raw)
            except ValueError:
                pass
        raise _Invalid("date_invalid")
    if qtype == "consent":
        if not isinstance(raw, bool):
            raise _Invalid("invalid_value")
        return raw
    return raw


def check_json_answer(question: Mapping[str, Any], raw: Any, locale: str) -> Result:
    """Like check_answer, for a value read from JSON (imports, typed-in paper answers)."""
    try:
        value = _from_json(question, raw)
    except _Invalid as invalid:
        return None, message(str(invalid), locale)
    return check_answer(question, value, locale)
