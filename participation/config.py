"""Configuration read from the environment, with embedded defaults for one machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _secret_key(instance: Path) -> str:
    """A SECRET_KEY from the environment, else one generated once and kept in instance/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance: Path) -> dict:
    """Everything the app reads, in one place; `instance/config.py` may override afterwards."""
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    secure = base_url.startswith("https://")
    hosts = os.environ.get("TRUSTED_HOSTS", "")
    return {
        "SECRET_KEY": _secret_key(instance),
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance / 'participation.db'}"
        ),
        "MAIL_URL": os.environ.get("MAIL_URL", f"file://{instance / 'outbox'}"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "osallistu@example.invalid"),
        "QUEUE_URL": os.environ.get("QUEUE_URL", f"sqlite:///{instance / 'queue.db'}"),
        "BASE_URL": base_url,
        "TRUSTED_HOSTS": [h.strip() for h in hosts.split(",") if h.strip()] or None,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "5 per minute"),
        "EDIT_LINK_RATE_LIMIT": os.environ.get("EDIT_LINK_RATE_LIMIT", "5 per hour"),
        "PRIVACY_RATE_LIMIT": os.environ.get("PRIVACY_RATE_LIMIT", "5 per hour"),
        "ROUND_COMMENT_RATE_LIMIT": os.environ.get("ROUND_COMMENT_RATE_LIMIT", "20 per minute"),
        "EVENT_REGISTRATION_RATE_LIMIT": os.environ.get(
            "EVENT_REGISTRATION_RATE_LIMIT", "20 per minute"
        ),
        # Generous: a room or a school answering at once shares one address.
        "SURVEY_ANSWER_RATE_LIMIT": os.environ.get("SURVEY_ANSWER_RATE_LIMIT", "60 per minute"),
        # Keyed by the phone's cookie, not the address: a whole room shares one network.
        "LIVE_VOTE_RATE_LIMIT": os.environ.get("LIVE_VOTE_RATE_LIMIT", "30 per minute"),
        # Autosaves per facilitator's link (a keystroke pause each; several devices per link).
        "FACILITATOR_NOTE_RATE_LIMIT": os.environ.get(
            "FACILITATOR_NOTE_RATE_LIMIT", "300 per minute"
        ),
        # Public theme proposals per address (votes on themes are keyed by the browser).
        "THEME_PROPOSAL_RATE_LIMIT": os.environ.get("THEME_PROPOSAL_RATE_LIMIT", "10 per hour"),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", secure),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", secure),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        # A 20 MB upload must be refused with a page, not read into memory.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 10 * 1024 * 1024)),
        "MAX_FORM_MEMORY_SIZE": 2 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "fi",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Helsinki",
        "LANGUAGES": ["fi", "sv", "en"],
        "MUNICIPALITY_NAME": os.environ.get("MUNICIPALITY_NAME", "Esimerkkilän kaupunki"),
        "MUNICIPALITY_LOGO": os.environ.get("MUNICIPALITY_LOGO", ""),
        "ACCENT_COLOR": os.environ.get("ACCENT_COLOR", "#0b5394"),
        "EDIT_LINK_HOURS": int(os.environ.get("EDIT_LINK_HOURS", 72)),
        "PRIVACY_LINK_HOURS": int(os.environ.get("PRIVACY_LINK_HOURS", 24)),
        "RETENTION_DAYS": int(os.environ.get("RETENTION_DAYS", 3 * 365)),
        "PAGE_SIZE": 25,
    }
