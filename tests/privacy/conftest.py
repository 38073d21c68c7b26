"""Factories for the privacy tests. The register's own services are written elsewhere, so people
and associations are made from the register models directly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from participation.models import metadata
from participation.register.models import Association, Person


@pytest.fixture
def make_person(db: Any) -> Callable[..., Person]:
    counter = iter(range(1, 10_000))

    def _make(associations: tuple[Association, ...] = (), **overrides: Any) -> Person:
        n = next(counter)
        values: dict[str, Any] = {"name": f"Person {n}", "email": f"person{n}@example.org"}
        values.update(overrides)
        person = Person(**values)
        person.associations.extend(associations)
        db.add(person)
        db.commit()
        return person

    return _make


@pytest.fixture
def make_association(db: Any) -> Callable[..., Association]:
    counter = iter(range(1, 10_000))

    def _make(**overrides: Any) -> Association:
        n = next(counter)
        values: dict[str, Any] = {"name": f"Association {n}", "email": f"assoc{n}@example.org"}
        values.update(overrides)
        association = Association(**values)
        db.add(association)
        db.commit()
        return association

    return _make


def every_value(db: Any) -> Iterator[tuple[str, str, str]]:
    """(table, column, value as text) for every column of every row of every table."""
    for table in metadata.sorted_tables:
        for row in db.execute(select(table)).mappings():
            for column, value in row.items():
                yield table.name, column, str(value)


def places_holding(db: Any, needle: str) -> list[tuple[str, str]]:
    needle = needle.lower()
    return [(t, c) for t, c, v in every_value(db) if needle in v.lower()]


def ago(now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(days=days)
