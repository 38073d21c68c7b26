"""The values of the register's fields: length limits, and normalising what people type or a
spreadsheet holds into the form the register stores (registry numbers, e-mail and web addresses,
truth values, case-folded text for search and comparison).

The normalisers raise ValueError; the callers turn that into a message for the field or the row.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlparse

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

NAME_MAX = 200
REGISTRY_MAX = 20
AREA_MAX = 120
EMAIL_MAX = 254
WEBSITE_MAX = 300
DESCRIPTION_MAX = 1000
CATEGORY_NAME_MAX = 120

# Yhdistysrekisteri numbers: digits, optionally grouped by thousands with dots ("123.456").
REGISTRY_RE = re.compile(r"^(?:\d{1,9}|\d{1,3}(?:\.\d{3}){1,2})$")


def fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def normalise_registry_number(value: str) -> str:
    """'123456', '123.456' and ' 123.456 ' all become '123.456'. Raises ValueError if malformed."""
    value = value.strip().replace(" ", "")
    if not value:
        return ""
    if not REGISTRY_RE.match(value):
        raise ValueError(value)
    return f"{int(value.replace('.', '')):,}".replace(",", ".")


def normalise_email(value: str) -> str:
    """Lower-cased, validated syntax (no DNS look-up). Raises ValueError."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(value) from exc


def normalise_website(value: str) -> str:
    """An http(s) address; 'www.example.fi' gets https:// in front. Raises ValueError."""
    value = value.strip()
    if not value:
        return ""
    if "://" not in value:
        value = "https://" + value
    parsed = urlparse(value)
    host = parsed.hostname or ""
    if (
        parsed.scheme not in {"http", "https"}
        or "." not in host
        or any(c.isspace() for c in value)
        or parsed.username
        or parsed.password
    ):
        raise ValueError(value)
    return value


def parse_active(value: Any) -> bool:
    """Spreadsheet truth values in the three UI languages. Raises ValueError."""
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().casefold()
    if text in {"", "1", "x", "yes", "y", "true", "kyllä", "k", "ja", "active", "aktiivinen"}:
        return True
    if text in {"0", "no", "n", "false", "ei", "e", "nej", "inactive", "passiivinen"}:
        return False
    raise ValueError(text)


def _too_long(n: int) -> str:
    return _("Use at most %(n)s characters.", n=n)
