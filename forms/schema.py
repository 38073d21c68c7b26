"""Question schema: validation, normalisation and versioned editing.

A schema is plain JSON (stored in a DB column by the app)::

    {"version": 3, "questions": [{"key": "q_ab12cd34", "type": "short_text", ...}]}

Every editing operation returns a new schema with ``version + 1`` and never
mutates its input, so the app can compare old and new and store both.
"""

from __future__ import annotations

import base64
import copy
import math
import re
import secrets
from collections.abc import Mapping
from datetime import date
from typing import Any

QUESTION_TYPES: tuple[str, ...] = (
    "short_text",
    "long_text",
    "single_choice",
    "multiple_choice",
    "rating",
    "ranking",
    "yes_no",
    "number",
    "date",
    "email",
    "consent",
    "info",
)

# Types whose answers refer to option keys.
CHOICE_TYPES: frozenset[str] = frozenset({"single_choice", "multiple_choice", "ranking"})

# Per-type settings with their defaults; anything else in a question is a typo
# (e.g. "max_choice") that would otherwise silently do nothing.
TYPE_SETTINGS: dict[str, dict[str, Any]] = {
    "short_text": {"max_length": 500},
    "long_text": {"max_length": 5000},
    "single_choice": {"options": []},
    "multiple_choice": {"options": [], "min_choices": None, "max_choices": None},
    "rating": {"scale_min": 1, "scale_max": 5, "min_label": {}, "max_label": {}},
    "ranking": {"options": [], "top_n": None},
    "yes_no": {},
    "number": {"min_value": None, "max_value": None, "integer": False},
    "date": {"min_date": None, "max_date": None},
    "email": {},
    "consent": {},
    "info": {},
}
COMMON_KEYS: tuple[str, ...] = ("key", "type", "label", "help", "required")

# Keys become HTML names and ids and Python attribute names on the form class,
# so keep them to a safe alphabet with a prefix that cannot clash with Form's
# own attributes (data, errors, validate, ...).
QUESTION_KEY_RE = re.compile(r"^q_[a-z0-9_]{1,60}$")
OPTION_KEY_RE = re.compile(r"^o_[a-z0-9_]{1,60}$")
ISO_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# More radio buttons than this is not a rating scale any more.
MAX_RATING_STEPS = 20
# Matches the engine's number parser: beyond this floats lose whole units.
MAX_NUMBER_MAGNITUDE = 10**15
FALLBACK_LOCALES: tuple[str, ...] = ("fi", "en", "sv")


class SchemaError(ValueError):
    """Invalid schema or refused change; ``messages`` lists every problem found."""

    def __init__(self, messages: list[str] | str) -> None:
        self.messages: list[str] = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("; ".join(self.messages))


def new_key(prefix: str = "q") -> str:
    """Random stable key such as "q_k3j9x2ab" (40 random bits, base32, lowercase)."""
    return f"{prefix}_" + base64.b32encode(secrets.token_bytes(5)).decode("ascii").lower()


def empty_schema() -> dict[str, Any]:
    return {"version": 1, "questions": []}


def text(value: Mapping[str, str] | str | None, locale: str | None = "fi") -> str:
    """Localised text: locale, then fi, en, sv, then any non-empty translation."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    for candidate in (locale, *FALLBACK_LOCALES):
        if candidate and value.get(candidate):
            return value[candidate]
    return next((v for v in value.values() if v), "")


# --- validation ------------------------------------------------------------


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but True as a bound is certainly a mistake.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) < MAX_NUMBER_MAGNITUDE
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _localised(value: Any, where: str, errors: list[str], *, required: bool) -> dict[str, str]:
    """Validate a {locale: text} dict; returns it with empty translations dropped."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()
    ):
        errors.append(f"{where}: must be an object of locale -> text")
        return {}
    cleaned = {k: v.strip() for k, v in value.items() if v.strip()}
    if required and not cleaned:
        errors.append(f"{where}: needs a non-empty text in at least one language")
    return cleaned


def _options(question: Mapping[str, Any], where: str, errors: list[str]) -> list[dict[str, Any]]:
    raw = question.get("options")
    if not isinstance(raw, list):
        errors.append(f"{where}: options must be a list")
        return []
    options: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, option in enumerate(raw):
        at = f"{where} option {index + 1}"
        if not isinstance(option, Mapping):
            errors.append(f"{at}: must be an object")
            continue
        unknown = set(option) - {"key", "label"}
        if unknown:
            errors.append(f"{at}: unknown settings {sorted(unknown)}")
        key = option.get("key")
        if not isinstance(key, str) or not OPTION_KEY_RE.match(key):
            errors.append(f"{at}: key must look like 'o_abc123', got {key!r}")
        elif key in seen:
            errors.append(f"{at}: duplicate option key {key!r}")
        else:
            seen.add(key)
        label = _localised(option.get("label"), f"{at} label", errors, required=True)
        options.append({"key": key, "label": label})
    if len(raw) < 2:
        errors.append(f"{where}: needs at least 2 options")
    return options


def _optional_count(value: Any, name: str, where: str, errors: list[str]) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or value < 1:
        errors.append(f"{where}: {name} must be a positive whole number")
        return None
    return value


def _iso_date(value: Any, name: str, where: str, errors: list[str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and ISO_DATE_RE.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    errors.append(f"{where}: {name} must be an ISO date (yyyy-mm-dd), got {value!r}")
    return None


def _validate_question(raw: Any, index: int, errors: list[str]) -> dict[str, Any] | None:
    where = f"question {index + 1}"
    if not isinstance(raw, Mapping):
        errors.append(f"{where}: must be an object")
        return None
    key = raw.get("key")
    if isinstance(key, str) and QUESTION_KEY_RE.match(key):
        where = f"{where} ({key})"
    else:
        errors.append(f"{where}: key must look like 'q_abc123', got {key!r}")
    qtype = raw.get("type")
    if qtype not in TYPE_SETTINGS:
        errors.append(f"{where}: unknown question type {qtype!r}")
        return None
    settings = TYPE_SETTINGS[qtype]
    unknown = set(raw) - set(COMMON_KEYS) - set(settings)
    if unknown:
        errors.append(f"{where}: unknown settings for {qtype}: {sorted(unknown)}")

    required = raw.get("required", False)
    if not isinstance(required, bool):
        errors.append(f"{where}: required must be true or false")
        required = False
    question: dict[str, Any] = {
        "key": key,
        "type": qtype,
        "label": _localised(raw.get("label"), f"{where} label", errors, required=True),
        "help": _localised(raw.get("help"), f"{where} help", errors, required=False),
        # An info block has nothing to answer, so it can never be required.
        "required": required and qtype != "info",
    }
    for name, default in settings.items():
        value = raw.get(name)
        question[name] = copy.deepcopy(default) if value is None else value

    if qtype in ("short_text", "long_text"):
        if not _is_int(question["max_length"]) or question["max_length"] < 1:
            errors.append(f"{where}: max_length must be a positive whole number")
    elif qtype in CHOICE_TYPES:
        question["options"] = _options(raw, where, errors)
        count = len(question["options"])
        if qtype == "multiple_choice":
            low = _optional_count(question["min_choices"], "min_choices", where, errors)
            high = _optional_count(question["max_choices"], "max_choices", where, errors)
            question["min_choices"], question["max_choices"] = low, high
            if low is not None and high is not None and low > high:
                errors.append(f"{where}: min_choices {low} is greater than max_choices {high}")
            if high is not None and high > count:
                errors.append(f"{where}: max_choices {high} exceeds the {count} options")
            if low is not None and low > count:
                errors.append(f"{where}: min_choices {low} exceeds the {count} options")
        elif qtype == "ranking":
            top_n = question["top_n"]
            if top_n is None:
                question["top_n"] = count  # rank them all
            elif not _is_int(top_n) or not 1 <= top_n <= count:
                errors.append(f"{where}: top_n must be between 1 and the {count} options")
    elif qtype == "rating":
        low, high = question["scale_min"], question["scale_max"]
        if not (_is_int(low) and _is_int(high)):
            errors.append(f"{where}: scale_min and scale_max must be whole numbers")
        elif low >= high:
            errors.append(f"{where}: scale_min {low} must be less than scale_max {high}")
        elif high - low > MAX_RATING_STEPS:
            errors.append(f"{where}: a rating scale can have at most {MAX_RATING_STEPS + 1} steps")
        for name in ("min_label", "max_label"):
            question[name] = _localised(raw.get(name), f"{where} {name}", errors, required=False)
    elif qtype == "number":
        low, high = question["min_value"], question["max_value"]
        for name, bound in (("min_value", low), ("max_value", high)):
            if bound is not None and not _is_number(bound):
                errors.append(f"{where}: {name} must be a finite number below 10^15")
        if _is_number(low) and _is_number(high) and low > high:
            errors.append(f"{where}: min_value {low} is greater than max_value {high}")
        if not isinstance(question["integer"], bool):
            errors.append(f"{where}: integer must be true or false")
    elif qtype == "date":
        low = _iso_date(question["min_date"], "min_date", where, errors)
        high = _iso_date(question["max_date"], "max_date", where, errors)
        question["min_date"], question["max_date"] = low, high
        if low and high and low > high:
            errors.append(f"{where}: min_date {low} is after max_date {high}")
    return question


def validate_schema(schema: Any) -> dict[str, Any]:
    """Return a normalised deep copy with defaults filled; raise SchemaError listing all faults."""
    if not isinstance(schema, Mapping):
        raise SchemaError("schema must be an object")
    errors: list[str] = []
    unknown = set(schema) - {"version", "questions"}
    if unknown:
        errors.append(f"unknown top-level keys {sorted(unknown)}")
    version = schema.get("version", 1)
    if not _is_int(version) or version < 1:
        errors.append("version must be a positive whole number")
    raw_questions = schema.get("questions", [])
    if not isinstance(raw_questions, list):
        raise SchemaError([*errors, "questions must be a list"])
    questions: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_questions):
        question = _validate_question(raw, index, errors)
        if question is None:
            continue
        key = question["key"]
        if isinstance(key, str) and key in seen:
            errors.append(f"question {index + 1}: duplicate key {key!r}")
        seen.add(key)
        questions.append(question)
    if errors:
        raise SchemaError(errors)
    return {"version": version, "questions": questions}


# --- editing ---------------------------------------------------------------


def _by_key(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {q.get("key"): q for q in schema.get("questions", []) if isinstance(q, Mapping)}


def _label(question: Mapping[str, Any]) -> str:
    return text(question.get("label")) or str(question.get("key"))


def check_change(old: Mapping[str, Any], new: Mapping[str, Any], *, has_answers: bool) -> None:
    """Refuse changes that would orphan stored answers.

    Once answers exist, a question may not be deleted or retyped and none of
    its options deleted. Rewording, reordering and adding stay allowed, and so
    does deleting an info block, which has no answers.
    """
    if not has_answers:
        return
    errors: list[str] = []
    new_questions = _by_key(new)
    for key, before in _by_key(old).items():
        if before.get("type") == "info":
            continue
        after = new_questions.get(key)
        if after is None:
            errors.append(f"question {_label(before)!r} already has answers; it cannot be deleted")
            continue
        if after.get("type") != before.get("type"):
            errors.append(
                f"question {_label(before)!r} already has answers; its type cannot be changed"
            )
            continue
        kept = {o.get("key") for o in after.get("options") or []}
        for option in before.get("options") or []:
            if option.get("key") not in kept:
                errors.append(
                    f"option {_label(option)!r} of question {_label(before)!r} already has "
                    "answers; it cannot be deleted"
                )
    if errors:
        raise SchemaError(errors)


def _commit(
    old: Mapping[str, Any], questions: list[dict[str, Any]], *, has_answers: bool
) -> dict[str, Any]:
    """Validate the edited question list and return it as the next version."""
    new = validate_schema({"version": old["version"] + 1, "questions": questions})
    check_change(old, new, has_answers=has_answers)
    return new


def _fill_option_keys(question: dict[str, Any]) -> None:
    options = question.get("options")
    if not isinstance(options, list):
        return
    used = {o.get("key") for o in options if isinstance(o, Mapping)}
    filled = []
    for option in options:
        if isinstance(option, Mapping) and not option.get("key"):
            key = new_key("o")
            while key in used:
                key = new_key("o")
            used.add(key)
            option = {**option, "key": key}
        filled.append(option)
    question["options"] = filled


def _position(questions: list[dict[str, Any]], key: str) -> int:
    for index, question in enumerate(questions):
        if question["key"] == key:
            return index
    raise SchemaError(f"no question with key {key!r}")


def add_question(
    schema: Mapping[str, Any],
    question: Mapping[str, Any],
    *,
    index: int | None = None,
    has_answers: bool = False,
) -> dict[str, Any]:
    """Insert ``question`` (at the end by default), giving it and its options keys if missing."""
    old = validate_schema(schema)
    questions = old["questions"]
    added = copy.deepcopy(dict(question))
    if not added.get("key"):
        used = {q["key"] for q in questions}
        added["key"] = new_key()
        while added["key"] in used:
            added["key"] = new_key()
    _fill_option_keys(added)
    questions = [*questions]
    questions.insert(len(questions) if index is None else index, added)
    return _commit(old, questions, has_answers=has_answers)


def update_question(
    schema: Mapping[str, Any],
    key: str,
    changes: Mapping[str, Any],
    *,
    has_answers: bool = False,
) -> dict[str, Any]:
    """Apply ``changes`` to one question; a None value resets a setting to its default.

    When the type changes, settings the new type does not have are dropped so
    that e.g. turning a single choice into a multiple choice keeps its options
    while turning it into a short text does not trip over them.
    """
    old = validate_schema(schema)
    questions = copy.deepcopy(old["questions"])
    position = _position(questions, key)
    if changes.get("key", key) != key:
        raise SchemaError("a question's key cannot be changed")
    current = questions[position]
    updated = {**current, **copy.deepcopy(dict(changes))}
    if updated.get("type") != current["type"] and updated.get("type") in TYPE_SETTINGS:
        allowed = set(COMMON_KEYS) | set(TYPE_SETTINGS[updated["type"]])
        updated = {k: v for k, v in updated.items() if k in allowed or k in changes}
    _fill_option_keys(updated)
    questions[position] = updated
    return _commit(old, questions, has_answers=has_answers)


def move_question(
    schema: Mapping[str, Any], key: str, offset: int, *, has_answers: bool = False
) -> dict[str, Any]:
    """Move a question ``offset`` places (-1 up, +1 down), clamped to the list ends."""
    old = validate_schema(schema)
    questions = [*old["questions"]]
    position = _position(questions, key)
    question = questions.pop(position)
    target = min(max(position + offset, 0), len(questions))
    questions.insert(target, question)
    return _commit(old, questions, has_answers=has_answers)


def delete_question(
    schema: Mapping[str, Any], key: str, *, has_answers: bool = False
) -> dict[str, Any]:
    old = validate_schema(schema)
    questions = [*old["questions"]]
    del questions[_position(questions, key)]
    return _commit(old, questions, has_answers=has_answers)
