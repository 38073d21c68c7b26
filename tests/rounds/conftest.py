"""Factories for the comment-round tests: drafts made from Markdown through the real converter,
rounds through the real service (with their three general questions), associations."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from participation.register.models import Association
from participation.rounds import drafts, services
from participation.rounds.models import Draft, Round

MARKDOWN = """\
Johdatus ohjelmaan.

# Tausta

Yhdistyksiä on paljon.

# Tilat

Koulujen salit ovat iltaisin yhdistysten käytössä.

# Viestintä

Uutiskirje kuusi kertaa vuodessa.
"""

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def english(client: Any) -> None:
    """The UI in English, the source language of the messages asserted."""
    client.get("/lang/en")


@pytest.fixture
def staff_user(make_user: Callable[..., Any]) -> Any:
    return make_user("coordinator")


@pytest.fixture
def make_draft(db: Any, staff_user: Any) -> Callable[..., Draft]:
    def _make(markdown: str = MARKDOWN, title: str = "Yhdistysohjelma") -> Draft:
        draft = drafts.create_draft(
            db,
            title=title,
            parsed=drafts.parse_markdown(markdown),
            staff_user_id=staff_user.id,
            now=dt.datetime.now(dt.UTC),
        )
        db.commit()
        return drafts.get_draft(db, draft.id)

    return _make


@pytest.fixture
def make_round(db: Any, staff_user: Any, make_draft: Callable[..., Draft]) -> Callable[..., Round]:
    """An open round (opened a day ago, closing in a week) unless told otherwise."""

    def _make(draft: Draft | None = None, **overrides: Any) -> Round:
        now = dt.datetime.now(dt.UTC)
        draft = draft or make_draft()
        data: dict[str, Any] = {
            "title": "Kommentoi yhdistysohjelmaa",
            "intro": "Kerro mielipiteesi.",
            "draft_version_id": draft.versions[-1].id,
            "opens_at": now - dt.timedelta(days=1),
            "closes_at": now + dt.timedelta(days=7),
            "section_comments": True,
            "comments_public": True,
            "association_required": False,
            "consent_key": services.ROUND_CONSENT,
            "retention_days": 365,
            "max_comment_length": 500,
        }
        data.update(overrides)
        round_ = services.create_round(db, data, staff_user_id=staff_user.id, now=now)
        db.commit()
        return services.get_round_by_slug(db, round_.slug)

    return _make


@pytest.fixture
def make_association(db: Any) -> Callable[..., Association]:
    counter = iter(range(1, 10_000))

    def _make(**overrides: Any) -> Association:
        n = next(counter)
        values: dict[str, Any] = {"name": f"Yhdistys {n} ry", "email": f"yhdistys{n}@example.org"}
        values.update(overrides)
        association = Association(**values)
        db.add(association)
        db.commit()
        return association

    return _make


def key() -> str:
    """A form's submission key, as the page would render it."""
    return secrets.token_urlsafe(24)


def identity(**overrides: Any) -> services.Identity:
    values: dict[str, Any] = {
        "name": "Maija Meikäläinen",
        "email": "maija@example.fi",
        "consent": True,
        "language": "en",
    }
    values.update(overrides)
    return services.Identity(**values)


def no_link(token: str) -> str:
    return f"http://localhost/comments/{token}"
