"""forms.answers_from_formdata, which the quick answering path uses instead of binding the form:
wherever it returns answers, the bound form validates and answers_from_form gives the same dict;
wherever the bound form refuses anything, it returns None. Checked over many random posts with
every question type (no app needed)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form

from forms import answers_from_form, build_form_class
from forms.formdata import answers_from_formdata
from tests.conftest import form_post


def _options(*names: str) -> list[dict[str, Any]]:
    return [{"key": f"o_{n}", "label": {"fi": n}} for n in names]


SCHEMA: dict[str, Any] = {
    "version": 3,
    "questions": [
        {"key": "q_short", "type": "short_text", "label": {"fi": "a"}, "max_length": 10},
        {"key": "q_long", "type": "long_text", "label": {"fi": "b"}, "required": True},
        {
            "key": "q_single",
            "type": "single_choice",
            "label": {"fi": "c"},
            "options": _options("x", "y", "z"),
        },
        {
            "key": "q_multi",
            "type": "multiple_choice",
            "label": {"fi": "d"},
            "min_choices": 1,
            "max_choices": 2,
            "options": _options("a", "b", "c"),
        },
        {"key": "q_info", "type": "info", "label": {"fi": "Tietoa"}},
        {"key": "q_rate", "type": "rating", "label": {"fi": "e"}, "scale_min": 0},
        {
            "key": "q_rank",
            "type": "ranking",
            "label": {"fi": "f"},
            "top_n": 2,
            "options": _options("p", "q", "r"),
        },
        {"key": "q_yes", "type": "yes_no", "label": {"fi": "g"}},
        {
            "key": "q_int",
            "type": "number",
            "label": {"fi": "h"},
            "integer": True,
            "min_value": 0,
            "max_value": 100,
        },
        {"key": "q_dec", "type": "number", "label": {"fi": "i"}},
        {
            "key": "q_date",
            "type": "date",
            "label": {"fi": "j"},
            "min_date": "2026-01-01",
            "max_date": "2026-12-31",
        },
        {"key": "q_mail", "type": "email", "label": {"fi": "k"}},
        {"key": "q_ok", "type": "consent", "label": {"fi": "l"}, "required": True},
    ],
}

# Posted values per question that the form accepts, and others (some accepted too, most not).
# None leaves the name out; a list posts it repeatedly.
GOOD: dict[str, list[Any]] = {
    "q_short": [None, "", "Maija", " Maija ", "x" * 10, "a\r\nb"],
    "q_long": ["Kiitos\r\nhyvästä illasta", "  teksti  ", ["eka", "toka"]],
    "q_single": [None, "o_x", "o_z", ["o_y", "o_x"]],
    "q_multi": [["o_a"], ["o_a", "o_c"], ["o_c", "o_b"]],
    "q_rate": [None, "0", "5", " 3 ", "+4", ["2", "9"]],
    "q_rank": [None, [], ["o_p", "o_q"], [" o_r", "o_q "]],
    "q_yes": [None, "", "yes", "no", ["no", "yes"]],
    "q_int": [None, "", "7", "1 0", "7,0", "\u22122", "  "],
    "q_dec": [None, "", "2,5", "0.75", ".5", "-.5"],
    "q_date": [None, "", "2026-05-14", "14.5.2026"],
    "q_mail": [None, "", "vastaaja@example.org", "VASTAAJA@Example.ORG", " a@example.fi "],
    "q_ok": ["y", "on", "true"],
}
ODD: dict[str, list[Any]] = {
    "q_short": ["  ", "x" * 11, "a\x00b", "\x00" * 12],
    "q_long": [None, "", " \r\n "],
    "q_single": ["", "o_w", " o_x", "O_X"],
    "q_multi": [None, [], ["o_a", "o_b", "o_c"], ["o_d"], [" o_a"], ["o_a", "o_a"]],
    "q_rate": ["", "6", "-1", "1_0", "x", "3.0", "٣"],
    "q_rank": [["o_p", ""], ["o_p", "o_p"], ["o_p"], ["o_p", "o_q", "o_r"], ["o_s", "o_p"]],
    "q_yes": ["YES", "maybe", "true"],
    "q_int": ["7,5", "101", "-1", "abc", "1e2", "0x10"],
    "q_dec": ["1e3", "1" * 16, "NaN", "inf", "1,2,3"],
    "q_date": ["2025-12-31", "2027-01-01", "2026-02-30", "huomenna", "2026-5-14"],
    "q_mail": ["ei osoite", "a@", "@example.org", "a" * 330 + "@example.org"],
    "q_ok": [None, "", "false", ["", "y"]],
}


@pytest.fixture(scope="module")
def form_class() -> Any:
    return build_form_class(SCHEMA, locale="fi", base=Form)


def _bound(form_class: Any, posted: MultiDict) -> dict[str, Any] | None:
    form = form_class(formdata=posted)
    if not form.validate():
        return None
    return answers_from_form(form, form.form_schema)


def test_a_complete_answer_reads_as_the_bound_form_does(form_class: Any) -> None:
    posted = form_post(
        {
            "q_long": "Hyvä\r\nilta",
            "q_multi": ["o_c", "o_a"],
            "q_rate": "4",
            "q_rank": ["o_r", "o_p"],
            "q_yes": "no",
            "q_int": "1 0",
            "q_dec": "2,5",
            "q_date": "14.5.2026",
            "q_mail": "VASTAAJA@Example.ORG",
            "q_ok": "y",
        }
    )
    answers = answers_from_formdata(form_class.form_schema, posted)
    assert answers == _bound(form_class, posted)
    assert answers == {
        "q_long": "Hyvä\nilta",
        "q_multi": ["o_a", "o_c"],
        "q_rate": 4,
        "q_rank": ["o_r", "o_p"],
        "q_yes": False,
        "q_int": 10,
        "q_dec": 2.5,
        "q_date": "2026-05-14",
        "q_mail": "VASTAAJA@example.org",
        "q_ok": True,
    }


def test_anything_the_bound_form_refuses_is_none(form_class: Any) -> None:
    good = {"q_long": "x", "q_multi": ["o_a"], "q_ok": "y"}
    assert answers_from_formdata(form_class.form_schema, form_post(good)) is not None
    for key, bad in [("q_short", "x" * 11), ("q_rate", "x"), ("q_int", "abc"), ("q_ok", "")]:
        posted = form_post({**good, key: bad})
        assert _bound(form_class, posted) is None
        assert answers_from_formdata(form_class.form_schema, posted) is None


def test_random_posts_agree_with_the_bound_form(form_class: Any) -> None:
    rnd = random.Random(20261126)
    accepted = 0
    for _ in range(3000):
        # Mostly acceptable values, so that both outcomes are common.
        choice = {
            key: rnd.choice(good if rnd.random() < 0.95 else ODD[key]) for key, good in GOOD.items()
        }
        posted = form_post(choice)
        expected = _bound(form_class, posted)
        assert answers_from_formdata(form_class.form_schema, posted) == expected, choice
        accepted += expected is not None
    assert 500 < accepted < 2500
