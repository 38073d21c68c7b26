"""Fixtures for the form engine tests: no Flask app, no Werkzeug."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from forms import build_form_class


class DummyPostData(dict):
    """The multi-dict interface WTForms needs: every name maps to a list of values."""

    def __init__(self, data: dict[str, str | list[str]]) -> None:
        super().__init__({k: v if isinstance(v, list) else [v] for k, v in data.items()})

    def getlist(self, key: str) -> list[str]:
        return list(self.get(key, []))


def options(*names: str) -> list[dict[str, Any]]:
    return [
        {"key": f"o_{n}", "label": {"fi": f"{n} fi", "sv": f"{n} sv", "en": f"{n} en"}}
        for n in names
    ]


SCHEMA: dict[str, Any] = {
    "version": 1,
    "questions": [
        {
            "key": "q_name",
            "type": "short_text",
            "label": {"fi": "Nimi", "sv": "Namn", "en": "Name"},
            "max_length": 10,
        },
        {"key": "q_story", "type": "long_text", "label": {"fi": "Kerro lisää"}},
        {
            "key": "q_area",
            "type": "single_choice",
            "label": {"fi": "Alue", "sv": "Område", "en": "Area"},
            "required": True,
            "options": options("north", "south", "east"),
        },
        {
            "key": "q_topics",
            "type": "multiple_choice",
            "label": {"fi": "Tärkeimmät aiheet"},
            "help": {"fi": "Valitse enintään kolme."},
            "max_choices": 3,
            "options": options("a", "b", "c", "d", "e", "f", "g"),
        },
        {
            "key": "q_rate",
            "type": "rating",
            "label": {"fi": "Arvosana"},
            "min_label": {"fi": "Huono"},
            "max_label": {"fi": "Erinomainen"},
        },
        {
            "key": "q_rank",
            "type": "ranking",
            "label": {"fi": "Järjestä hankkeet"},
            "top_n": 3,
            "options": options("park", "library", "pool", "road"),
        },
        {"key": "q_resident", "type": "yes_no", "label": {"fi": "Asutko kunnassa?"}},
        {
            "key": "q_age",
            "type": "number",
            "label": {"fi": "Ikä"},
            "integer": True,
            "min_value": 0,
            "max_value": 120,
        },
        {
            "key": "q_visit",
            "type": "date",
            "label": {"fi": "Käyntipäivä"},
            "min_date": "2025-01-01",
            "max_date": "2025-12-31",
        },
        {"key": "q_email", "type": "email", "label": {"fi": "Sähköposti"}},
        {
            "key": "q_ok",
            "type": "consent",
            "label": {"fi": "Hyväksyn tietojeni käsittelyn."},
            "required": True,
        },
        {"key": "q_note", "type": "info", "label": {"fi": "Kiitos vastauksistasi."}},
    ],
}

# The two required questions answered; everything else left empty.
MINIMAL_POST: dict[str, str] = {"q_area": "o_north", "q_ok": "y"}


@pytest.fixture
def schema() -> dict[str, Any]:
    return copy.deepcopy(SCHEMA)


@pytest.fixture
def submit(schema: dict[str, Any]) -> Callable[..., Any]:
    """Post ``data`` (merged over the minimal valid answers) and validate the form."""

    def _submit(
        data: dict[str, str | list[str]],
        *,
        locale: str = "fi",
        questions: dict[str, Any] | None = None,
        minimal: bool = True,
    ) -> Any:
        form_class = build_form_class(questions or schema, locale=locale)
        posted = {**MINIMAL_POST, **data} if minimal and questions is None else data
        form = form_class(DummyPostData(posted))
        form.validate()
        return form

    return _submit


@pytest.fixture
def post_data() -> type[DummyPostData]:
    return DummyPostData


@pytest.fixture
def single() -> Callable[..., dict[str, Any]]:
    """A schema with the one question "q_x" of ``qtype`` and ``settings``."""

    def _single(qtype: str, **settings: Any) -> dict[str, Any]:
        question = {"key": "q_x", "type": qtype, "label": {"fi": "Kysymys"}, **settings}
        return {"version": 1, "questions": [question]}

    return _single
