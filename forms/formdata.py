"""Answers read straight from posted form data, without binding a WTForms form.

Binding a built form class (one field object per question, each processing its input) costs
more than everything else in a busy answer POST. ``answers_from_formdata`` reads the posted
values exactly as the fields in ``forms.fields`` process them and checks them with the same
``check_answer`` rules, so where it returns answers, the bound form would validate without an
error and ``answers_from_form`` would return the same dict. Where anything would be refused
it returns None: bind the form then, for its messages beside the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from forms.answers import check_answer, parse_date, parse_number

# wtforms.BooleanField.false_values: what an unticked consent box may post.
_FALSE_VALUES = ("false", "")


class FormData(Protocol):
    """What WTForms reads posted data from (werkzeug's MultiDict)."""

    def getlist(self, key: str) -> list[str]: ...


class _Refused(Exception):
    """The field itself would refuse the input (it could not be parsed)."""


def _posted_value(question: Mapping[str, Any], values: list[str]) -> Any:
    """The canonical value the question's field would give for the posted strings (WTForms
    takes the first of several for single-valued fields)."""
    qtype = question["type"]
    if qtype in ("short_text", "long_text", "email", "single_choice", "yes_no"):
        return values[0] if values else None
    if qtype == "multiple_choice":
        return list(values)
    if qtype == "ranking":
        return [v.strip() for v in values]
    if qtype == "rating":
        if not values:
            return None
        try:
            return int(values[0])  # the field's coerce
        except ValueError:
            raise _Refused() from None
    if qtype in ("number", "date"):
        if not values or not values[0].strip():
            return None
        try:
            return parse_number(values[0]) if qtype == "number" else parse_date(values[0])
        except ValueError:
            raise _Refused() from None
    if qtype == "consent":
        return bool(values) and values[0] not in _FALSE_VALUES
    raise ValueError(f"no field for question type {qtype!r}")


def answers_from_formdata(
    schema: Mapping[str, Any], formdata: FormData, *, locale: str = "fi"
) -> dict[str, Any] | None:
    """Normalised answers {key: value} (unanswered questions left out) from posted data, or
    None when any answer would be refused.

    ``schema`` must be normalised already: the ``form_schema`` of a class from
    ``build_form_class`` (it is not validated again here).
    """
    answers: dict[str, Any] = {}
    for question in schema["questions"]:
        if question["type"] == "info":
            continue
        key = question["key"]
        try:
            value = _posted_value(question, formdata.getlist(key))
        except _Refused:
            return None
        cleaned, error = check_answer(question, value, locale)
        if error is not None:
            return None
        if cleaned is not None:
            answers[key] = cleaned
    return answers
