"""Factories for the register tests, made through the register's own services."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest

from participation.register import people, services
from participation.register.models import Association, Category, Person

# Factories date their rows before the tests' own times, so "newest first" is well defined.
CREATED = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)

CSRF = re.compile(r'(name="csrf_token"[^>]*value=|name="csrf-token" content=)"[^"]+"')


def without_csrf(html: str) -> str:
    return CSRF.sub(r'\1""', html)


@pytest.fixture
def categories(db: Any) -> dict[str, Category]:
    found = {c.key: c for c in services.ensure_default_categories(db)}
    db.commit()
    return found


@pytest.fixture
def make_association(db: Any, categories: dict[str, Category]) -> Callable[..., Association]:
    counter = iter(range(1, 10_000))

    def _make(**overrides: Any) -> Association:
        n = next(counter)
        now = overrides.pop("now", CREATED)
        values: dict[str, Any] = {
            "name": f"Yhdistys {n} ry",
            "email": f"yhdistys{n}@example.fi",
            "category": categories["others"].id,
            "active": True,
        }
        if isinstance(overrides.get("category"), str):
            overrides["category"] = categories[overrides["category"]].id
        values.update(overrides)
        association = services.create_association(db, values, now=now)
        db.commit()
        return association

    return _make


@pytest.fixture
def make_person(db: Any) -> Callable[..., Person]:
    counter = iter(range(1, 10_000))

    def _make(associations: tuple[Association, ...] = (), **overrides: Any) -> Person:
        n = next(counter)
        values: dict[str, Any] = {
            "name": f"Henkilö {n}",
            "email": f"henkilo{n}@example.fi",
            "language": "fi",
            "association_ids": [a.id for a in associations],
        }
        values.update(overrides)
        person = people.create_person(db, values, now=CREATED, staff_user_id=None)
        db.commit()
        return person

    return _make
