"""validate_answers: imported / typed-in JSON answers follow the form's rules."""

from __future__ import annotations

import pytest

from forms import validate_answers

VALID = {
    "q_name": "  Matti ",
    "q_area": "o_south",
    "q_topics": ["o_c", "o_a"],
    "q_rate": 4,
    "q_rank": ["o_pool", "o_park", "o_road"],
    "q_resident": True,
    "q_age": 41,
    "q_visit": "2025-06-01",
    "q_email": "Matti@Example.FI",
    "q_ok": True,
}


def test_valid_answers_are_normalised(schema):
    answers, errors = validate_answers(schema, VALID, locale="fi")
    assert errors == {}
    assert answers == {
        **VALID,
        "q_name": "Matti",
        "q_topics": ["o_a", "o_c"],
        "q_email": "Matti@example.fi",
    }


def test_unknown_keys_and_info_are_ignored(schema):
    answers, errors = validate_answers(
        schema, {"q_area": "o_east", "q_ok": True, "q_gone": "x", "q_note": "y"}, locale="fi"
    )
    assert (answers, errors) == ({"q_area": "o_east", "q_ok": True}, {})


def test_missing_required_answers(schema):
    answers, errors = validate_answers(schema, {"q_ok": False}, locale="en")
    assert answers == {}
    assert errors == {
        "q_area": ["This field is required."],
        "q_ok": ["Your consent is required to submit the answer."],
    }


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("q_name", 5, "Virheellinen vastaus."),
        ("q_name", "x" * 11, "Enintään 10 merkkiä."),
        ("q_area", "o_west", "Valitse jokin annetuista vaihtoehdoista."),
        ("q_topics", ["o_a", "o_b", "o_c", "o_d"], "Valitse enintään 3."),
        ("q_topics", [1, 2], "Virheellinen vastaus."),
        ("q_rate", 6, "Valitse jokin annetuista vaihtoehdoista."),
        ("q_rate", True, "Valitse jokin annetuista vaihtoehdoista."),
        ("q_rank", ["o_park", "o_park", "o_pool"], "Kunkin vaihtoehdon voi valita vain kerran."),
        ("q_rank", ["o_park", None, "o_pool"], "Järjestä 3 eri vaihtoehtoa."),
        ("q_resident", "maybe", "Valitse jokin annetuista vaihtoehdoista."),
        ("q_age", "abc", "Anna luku."),
        ("q_age", 2.5, "Anna kokonaisluku."),
        ("q_age", True, "Anna luku."),
        ("q_age", float("nan"), "Anna luku."),
        ("q_age", 121, "Anna luku väliltä 0–120."),
        ("q_visit", "2025-13-01", "Anna päivämäärä muodossa pp.kk.vvvv."),
        ("q_visit", 20250601, "Anna päivämäärä muodossa pp.kk.vvvv."),
        ("q_visit", "2026-01-01", "Anna päivämäärä väliltä 1.1.2025–31.12.2025."),
        ("q_email", "matti(at)example.fi", "Anna sähköpostiosoite muodossa nimi@esimerkki.fi."),
        ("q_ok", "yes", "Virheellinen vastaus."),
    ],
)
def test_invalid_values(schema, key, value, error):
    answers, errors = validate_answers(schema, {**VALID, key: value}, locale="fi")
    assert errors == {key: [error]}
    assert key not in answers


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("q_age", "42", 42),
        ("q_age", 42.0, 42),
        ("q_rate", "3", 3),
        ("q_resident", "no", False),
        ("q_visit", "1.6.2025", "2025-06-01"),
        ("q_topics", "o_b", ["o_b"]),
        ("q_name", "", None),
    ],
)
def test_typed_in_values_are_converted(schema, key, value, stored):
    answers, errors = validate_answers(schema, {**VALID, key: value}, locale="fi")
    assert errors == {}
    assert answers.get(key) == stored
    assert type(answers.get(key)) is type(stored)


def test_messages_in_swedish(schema):
    _, errors = validate_answers(schema, {**VALID, "q_age": -3}, locale="sv")
    assert errors == {"q_age": ["Ange ett tal mellan 0 och 120."]}
