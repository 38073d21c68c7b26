"""Build a WTForms form class from a schema, and read answers back out."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from wtforms import Form
from wtforms.fields import SelectChoice
from wtforms.validators import StopValidation

from forms import fields
from forms.answers import check_answer, check_json_answer
from forms.messages import message, normalise_locale
from forms.schema import text, validate_schema


class QuestionValidator:
    """Runs the shared answer rules, so the form and imports give identical messages."""

    def __init__(self, question: Mapping[str, Any], locale: str) -> None:
        self.question = question
        self.locale = locale
        # Field.__init__ copies these into field.flags, which the app uses to
        # mark required questions and WTForms to render the required attribute.
        self.field_flags = {"required": True} if question["required"] else {}

    def __call__(self, form: Any, field: fields.QuestionField) -> None:
        if field.process_errors:
            # The input could not be parsed; that message is already shown.
            raise StopValidation()
        _, error = check_answer(self.question, field.answer_value(), self.locale)
        if error:
            raise StopValidation(error)


def _choices(question: Mapping[str, Any], locale: str) -> list[SelectChoice]:
    return [SelectChoice(o["key"], text(o["label"], locale)) for o in question["options"]]


def _unbound_field(question: dict[str, Any], locale: str) -> Any:
    qtype = question["type"]
    common: dict[str, Any] = {
        "label": text(question["label"], locale),
        "description": text(question["help"], locale),
        "validators": [QuestionValidator(question, locale)],
        "question": question,
        "locale": locale,
    }
    # Choices are validated by QuestionValidator with our own messages; the
    # stock check would also reject an empty optional radio group.
    choice: dict[str, Any] = {"validate_choice": False}
    if qtype == "short_text":
        return fields.ShortTextField(**common)
    if qtype == "long_text":
        return fields.LongTextField(**common)
    if qtype == "single_choice":
        return fields.SingleChoiceField(choices=_choices(question, locale), **choice, **common)
    if qtype == "multiple_choice":
        return fields.MultipleChoiceField(choices=_choices(question, locale), **choice, **common)
    if qtype == "rating":
        steps = range(question["scale_min"], question["scale_max"] + 1)
        return fields.RatingField(
            choices=[SelectChoice(str(v), str(v)) for v in steps],
            coerce=int,
            invalid_value_message=message("invalid_choice", locale),
            **choice,
            **common,
        )
    if qtype == "ranking":
        return fields.RankingField(
            choices=_choices(question, locale),
            top_n=question["top_n"],
            placeholder=message("rank_placeholder", locale),
            **common,
        )
    if qtype == "yes_no":
        yes_no = [SelectChoice(v, message(v, locale)) for v in ("yes", "no")]
        return fields.YesNoField(choices=yes_no, **choice, **common)
    if qtype == "number":
        mode = "numeric" if question["integer"] else "decimal"
        return fields.NumberField(render_kw={"inputmode": mode}, **common)
    if qtype == "date":
        bounds = {k: question[f"{k}_date"] for k in ("min", "max") if question[f"{k}_date"]}
        return fields.DateField(format="%Y-%m-%d", render_kw=bounds or None, **common)
    if qtype == "email":
        return fields.EmailField(**common)
    if qtype == "consent":
        return fields.ConsentField(**common)
    raise ValueError(f"no field for question type {qtype!r}")


def build_form_class(schema: Mapping[str, Any], *, locale: str = "fi", base: type = Form) -> type:
    """A form class with one field per answerable question, named by question key.

    ``base`` may be Flask-WTF's FlaskForm; the class is created through the
    base's metaclass so its field collection works. The class carries
    ``form_schema`` (normalised) and ``form_locale``.
    """
    normalised = validate_schema(schema)
    locale = normalise_locale(locale)
    attrs: dict[str, Any] = {"form_schema": normalised, "form_locale": locale}
    for question in normalised["questions"]:
        if question["type"] != "info":
            attrs[question["key"]] = _unbound_field(question, locale)
    return type(base)("QuestionnaireForm", (base,), attrs)


@functools.lru_cache(maxsize=64)
def cached_form_class(schema_text: str, locale: str, base: type = Form) -> type:
    """`build_form_class` of a schema given as JSON text, built once per text, language and
    base: a form class holds no request's data, and building one costs more than answering.
    Keyed by the text itself, so a changed question makes a new class."""
    return build_form_class(json.loads(schema_text), locale=locale, base=base)


def answers_from_form(form: Any, schema: Mapping[str, Any]) -> dict[str, Any]:
    """Normalised JSON-safe answers {key: value}, leaving out unanswered questions.

    Call after ``form.validate()``; any answer that fails its rules is left
    out rather than stored half-checked.
    """
    answers: dict[str, Any] = {}
    for question in validate_schema(schema)["questions"]:
        key = question["key"]
        if question["type"] == "info" or key not in form:
            continue
        field = form[key]
        if field.process_errors:
            continue
        value, error = check_answer(question, field.answer_value(), "fi")
        if error is None and value is not None:
            answers[key] = value
    return answers


def validate_answers(
    schema: Mapping[str, Any], data: Mapping[str, Any], *, locale: str = "fi"
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check an already-JSON answers dict with the form's rules and messages.

    Returns (normalised answers, {key: [messages]}). Keys not in the schema
    are ignored, as aggregation ignores them.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for question in validate_schema(schema)["questions"]:
        if question["type"] == "info":
            continue
        key = question["key"]
        value, error = check_json_answer(question, data.get(key), locale)
        if error:
            errors[key] = [error]
        elif value is not None:
            answers[key] = value
    return answers, errors
