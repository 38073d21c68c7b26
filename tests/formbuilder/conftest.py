"""Factories for the form builder tests: forms owned by a given staff member, question specs
as the builder's form posts them, and a stored response."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from participation.formbuilder import services
from participation.formbuilder.models import FormDefinition

SEVEN = [
    "Kumppanuusfoorumit",
    "Yhdistysten uutiskirje",
    "Yhdistysagentit",
    "Avustukset",
    "Vapaaehtoistoiminnan koordinointi",
    "Tilat",
    "Kaupungin koordinointi",
]


def spec(qtype: str, label: str = "Kysymys", **settings: Any) -> dict[str, Any]:
    """A question spec with the builder form's field names."""
    return {"question_type": qtype, "label_fi": label, **settings}


# One valid spec per question type, with the settings a person would fill in.
SPECS: dict[str, dict[str, Any]] = {
    "short_text": spec("short_text", "Nimesi", max_length=80),
    "long_text": spec("long_text", "Kerro lisää"),
    "single_choice": spec("single_choice", "Alue", options_fi="Pohjoinen\nEtelä\nItä"),
    "multiple_choice": spec(
        "multiple_choice", "Valitse kolme tärkeintä", options_fi="\n".join(SEVEN), max_choices=3
    ),
    "rating": spec(
        "rating", "Arvosana", scale_min=1, scale_max=5, min_label_fi="Huono", max_label_fi="Hyvä"
    ),
    "ranking": spec("ranking", "Järjestä", options_fi="\n".join(SEVEN), top_n=3),
    "yes_no": spec("yes_no", "Asutko kunnassa?"),
    "number": spec("number", "Ikä", min_value=0, max_value=120, integer=True),
    "date": spec("date", "Päivä", min_date=dt.date(2025, 1, 1), max_date=dt.date(2025, 12, 31)),
    "email": spec("email", "Sähköposti"),
    "consent": spec("consent", "Hyväksyn tietojeni käsittelyn.", required=True),
    "info": spec("info", "Kiitos vastauksistasi."),
}


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def make_form(db: Any, make_user: Callable[..., Any], now: dt.datetime) -> Callable[..., Any]:
    """make_form(owner=None, title=..., questions=[spec, ...]) -> FormDefinition (committed)."""
    counter = iter(range(1, 10_000))

    def _make(
        owner: Any = None, title: str | None = None, questions: list[dict[str, Any]] = ()
    ) -> FormDefinition:
        owner = owner or make_user("coordinator")
        form = services.create_form(
            db, owner_id=owner.id, title=title or f"Lomake {next(counter)}", now=now
        )
        for question in questions:
            services.add_question(db, form, question, now=now)
        db.commit()
        return form

    return _make


@pytest.fixture
def answer(db: Any, now: dt.datetime) -> Callable[..., Any]:
    """Store a response to ``form`` (the empty answer by default: every question optional)."""

    def _answer(form: FormDefinition, answers: dict[str, Any] | None = None) -> Any:
        response = services.record_response(db, form, answers or {}, source="paper", now=now)
        db.commit()
        return response

    return _answer


def keys(form: FormDefinition) -> list[str]:
    return [q["key"] for q in form.questions]
