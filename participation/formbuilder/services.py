"""Forms built by staff: details, questions (through the form engine) and stored responses.

Question edits take a flat "spec" of plain values named like the builder's form fields
(``label_fi``, ``options_fi``, ``max_choices`` ...), so an Invalid's ``errors`` map straight back
onto those fields. The engine's own messages are English and technical; every rule a person
can break is checked here first with a translated message, and anything the engine still
refuses becomes one generic translated message.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, joinedload

import forms as engine
from participation.errors import Conflict, Invalid, NotFound
from participation.formbuilder import policy
from participation.formbuilder.models import SOURCES, FormDefinition, FormResponse

log = logging.getLogger(__name__)

LOCALES = engine.LOCALES  # ("fi", "sv", "en"); Finnish is the one required language
CHOICE_TYPES = ("single_choice", "multiple_choice", "ranking")
TEXT_TYPES = ("short_text", "long_text")
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_OPTIONS = 100
MAX_OPTION_LENGTH = 500
MAX_RATING_STEPS = 21
MAX_NUMBER = 10**15


# --- forms -------------------------------------------------------------------


def _check_details(title: str, description: str) -> tuple[str, str]:
    title, description = (title or "").strip(), (description or "").strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Give the form a title.")]
    elif len(title) > MAX_TITLE:
        errors["title"] = [_("Use at most %(n)s characters.", n=MAX_TITLE)]
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = [_("Use at most %(n)s characters.", n=MAX_DESCRIPTION)]
    if errors:
        raise Invalid(_("Check the form's details."), errors)
    return title, description


def create_form(
    session: Session, *, owner_id: int, title: str, description: str = "", now: dt.datetime
) -> FormDefinition:
    """A new empty form owned by ``owner_id``. Raises Invalid for a missing or too long title."""
    title, description = _check_details(title, description)
    form = FormDefinition(
        title=title,
        description=description,
        schema=engine.empty_schema(),
        owner_id=owner_id,
        created_at=now,
        updated_at=now,
    )
    session.add(form)
    session.flush()
    return form


def update_form(
    session: Session, form: FormDefinition, *, title: str, description: str, now: dt.datetime
) -> None:
    """Rename the form or change its description. Raises Invalid like create_form."""
    form.title, form.description = _check_details(title, description)
    form.updated_at = now
    session.flush()


def find_form(session: Session, form_id: int) -> FormDefinition | None:
    return session.get(FormDefinition, form_id)


def get_form(session: Session, form_id: int, *, user: Any = None) -> FormDefinition:
    """The form; with ``user``, only one that user may edit.

    Raises NotFound for a missing form and, so that ids reveal nothing, also for someone
    else's form.
    """
    form = find_form(session, form_id)
    if form is None or (user is not None and not policy.can_edit(user, form)):
        raise NotFound(_("No such form."))
    return form


def list_forms(
    session: Session, user: Any, *, page: int, per_page: int
) -> tuple[list[tuple[FormDefinition, int]], int]:
    """(form, response count) pairs, newest change first, and the total: all forms for a
    coordinator, their own for a contact person. Two queries whatever the page size."""
    where = [] if policy.can_see_all(user) else [FormDefinition.owner_id == user.id]
    total = session.scalar(select(func.count(FormDefinition.id)).where(*where)) or 0
    counts = (
        select(FormResponse.form_id, func.count(FormResponse.id).label("n"))
        .group_by(FormResponse.form_id)
        .subquery()
    )
    rows = session.execute(
        select(FormDefinition, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.form_id == FormDefinition.id)
        .options(joinedload(FormDefinition.owner))
        .where(*where)
        .order_by(FormDefinition.updated_at.desc(), FormDefinition.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [(form, count) for form, count in rows], total


def duplicate_form(
    session: Session, form: FormDefinition, *, owner_id: int, title: str, now: dt.datetime
) -> FormDefinition:
    """A copy with the same questions (and keys) at schema version 1, without responses."""
    title, description = _check_details(title[:MAX_TITLE], form.description)
    copy = FormDefinition(
        title=title,
        description=description,
        schema={"version": 1, "questions": engine.validate_schema(form.schema)["questions"]},
        owner_id=owner_id,
        created_at=now,
        updated_at=now,
    )
    session.add(copy)
    session.flush()
    return copy


# --- responses ---------------------------------------------------------------


def has_answers(session: Session, form_id: int) -> bool:
    return bool(session.scalar(select(exists().where(FormResponse.form_id == form_id))))


def count_responses(session: Session, form_id: int) -> int:
    return (
        session.scalar(select(func.count(FormResponse.id)).where(FormResponse.form_id == form_id))
        or 0
    )


def record_response(
    session: Session,
    form: FormDefinition,
    answers: dict[str, Any],
    *,
    source: str = "web",
    locale: str = "fi",
    now: dt.datetime,
) -> FormResponse:
    """Check ``answers`` (JSON values by question key) with the form's rules and store them.

    Raises Invalid with the engine's messages (in ``locale``) by question key. The form row is
    share-locked, so a concurrent edit cannot delete a question while its answer is stored.
    """
    if source not in SOURCES:
        raise Invalid(_("Unknown source of answers."))
    form = _locked(session, form, read=True)
    cleaned, errors = engine.validate_answers(form.schema, answers, locale=locale)
    if errors:
        raise Invalid(_("Check the answers."), errors)
    response = FormResponse(
        form_id=form.id,
        answers=cleaned,
        schema_version=form.version,
        source=source,
        submitted_at=now,
    )
    session.add(response)
    session.flush()
    return response


# --- questions ---------------------------------------------------------------


def _locked(session: Session, form: FormDefinition, *, read: bool = False) -> FormDefinition:
    """Re-read the form under a row lock (PostgreSQL; SQLite serialises writers anyway), so two
    edits of one schema cannot overwrite each other."""
    return session.scalars(
        select(FormDefinition)
        .where(FormDefinition.id == form.id)
        .with_for_update(read=read)
        .execution_options(populate_existing=True)
    ).one()


def find_question(form: FormDefinition, key: str) -> dict[str, Any] | None:
    return next((q for q in form.questions if q["key"] == key), None)


def get_question(form: FormDefinition, key: str) -> dict[str, Any]:
    """Raises NotFound when the form has no question ``key``."""
    question = find_question(form, key)
    if question is None:
        raise NotFound(_("No such question."))
    return question


def _save(form: FormDefinition, schema: dict[str, Any], now: dt.datetime) -> None:
    form.schema = schema
    form.updated_at = now


def _engine_refused(error: engine.SchemaError) -> Invalid:
    # Our own checks catch what a person can get wrong; what is left is a bug or a race.
    log.warning("form engine refused a change: %s", error)
    return Invalid(_("The question could not be saved. Check its settings and try again."))


def add_question(
    session: Session, form: FormDefinition, spec: dict[str, Any], *, now: dt.datetime
) -> str:
    """Append the question described by ``spec``; returns its key.

    Raises Invalid with messages by field name.
    """
    form = _locked(session, form)
    question = build_question(spec)
    try:
        schema = engine.add_question(
            form.schema, question, has_answers=has_answers(session, form.id)
        )
    except engine.SchemaError as exc:
        raise _engine_refused(exc) from exc
    _save(form, schema, now)
    session.flush()
    return schema["questions"][-1]["key"]


def update_question(
    session: Session, form: FormDefinition, key: str, spec: dict[str, Any], *, now: dt.datetime
) -> None:
    """Replace question ``key`` with ``spec``; options keep their keys when their text is
    unchanged, else by position.

    Raises NotFound for an unknown key and Invalid by field name, also when answers exist and
    the change would retype the question or remove an option.
    """
    form = _locked(session, form)
    current = get_question(form, key)
    answered = has_answers(session, form.id)
    spec = {**spec, "question_type": spec.get("question_type") or current["type"]}
    if answered and spec["question_type"] != current["type"] and current["type"] != "info":
        msg = _("The form already has answers, so the type of this question cannot be changed.")
        raise Invalid(msg, {"question_type": [msg]})
    question = build_question(spec, current=current)
    if answered:
        _check_options_kept(current, question)
    # Every setting of the type is given (None means the default), so blanking a field works.
    question.pop("key", None)
    try:
        schema = engine.update_question(form.schema, key, question, has_answers=answered)
    except engine.SchemaError as exc:
        raise _engine_refused(exc) from exc
    _save(form, schema, now)
    session.flush()


def move_question(
    session: Session, form: FormDefinition, key: str, offset: int, *, now: dt.datetime
) -> None:
    """Move question ``key`` ``offset`` places (-1 up, +1 down). Raises NotFound."""
    form = _locked(session, form)
    get_question(form, key)
    try:
        schema = engine.move_question(form.schema, key, offset)
    except engine.SchemaError as exc:
        raise _engine_refused(exc) from exc
    _save(form, schema, now)
    session.flush()


def delete_question(session: Session, form: FormDefinition, key: str, *, now: dt.datetime) -> None:
    """Raises NotFound, or Conflict when the form has answers (info blocks can always go)."""
    form = _locked(session, form)
    question = get_question(form, key)
    answered = has_answers(session, form.id)
    if answered and question["type"] != "info":
        raise Conflict(
            _(
                "The question “%(label)s” cannot be deleted because the form already has "
                "answers. You can still reword it.",
                label=engine.text(question["label"], "fi"),
            )
        )
    try:
        schema = engine.delete_question(form.schema, key, has_answers=answered)
    except engine.SchemaError as exc:
        raise _engine_refused(exc) from exc
    _save(form, schema, now)
    session.flush()


def can_delete_question(question: dict[str, Any], answered: bool) -> bool:
    return not answered or question["type"] == "info"


def _check_options_kept(current: dict[str, Any], question: dict[str, Any]) -> None:
    kept = {o.get("key") for o in question.get("options") or []}
    lost = [o for o in current.get("options") or [] if o["key"] not in kept]
    if lost:
        msg = _(
            "The option “%(option)s” already has answers, so it cannot be removed. Keep its "
            "line; you can reword it or add new lines.",
            option=engine.text(lost[0]["label"], "fi"),
        )
        raise Invalid(msg, {"options_fi": [msg]})


# --- spec <-> engine question --------------------------------------------------


def _lines(value: str | None) -> list[str]:
    """Non-empty lines of a textarea, stripped."""
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def _localised(spec: dict[str, Any], name: str) -> dict[str, str]:
    return {
        loc: (spec.get(f"{name}_{loc}") or "").strip()
        for loc in LOCALES
        if (spec.get(f"{name}_{loc}") or "").strip()
    }


def _number(value: Any) -> int | float | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _iso(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _option_keys(current: dict[str, Any] | None, labels: list[str]) -> list[str | None]:
    """Keys for the new option lines: an unchanged Finnish text keeps its key (so reordering
    or removing lines keeps answers attached to the right option), then the remaining lines
    take the remaining keys by position (a reworded line keeps its key), the rest get new ones."""
    old = [(o["key"], engine.text(o["label"], "fi")) for o in (current or {}).get("options") or []]
    keys: list[str | None] = [None] * len(labels)
    used: set[str] = set()
    by_text = {text: key for key, text in old}
    for index, label in enumerate(labels):
        key = by_text.get(label)
        if key and key not in used:
            keys[index] = key
            used.add(key)
    leftover = iter(key for key, _text in old if key not in used)
    for index in range(len(labels)):
        if keys[index] is None:
            keys[index] = next(leftover, None)
    return keys


def build_question(spec: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The engine question for ``spec``; raises Invalid with translated messages by field."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    qtype = spec.get("question_type")
    if qtype not in engine.QUESTION_TYPES:
        fail("question_type", _("Choose the type of question."))
        raise Invalid(_("Check the question."), errors)
    label = _localised(spec, "label")
    if "fi" not in label:
        fail("label_fi", _("Write the question in Finnish."))
    question: dict[str, Any] = {
        "type": qtype,
        "label": label,
        "help": _localised(spec, "help"),
        "required": bool(spec.get("required")) and qtype != "info",
    }
    if current is not None:
        question["key"] = current["key"]

    if qtype in CHOICE_TYPES:
        _choice_settings(spec, current, question, fail)
    elif qtype in TEXT_TYPES:
        question["max_length"] = spec.get("max_length")
    elif qtype == "rating":
        low = 1 if spec.get("scale_min") is None else spec["scale_min"]
        high = 5 if spec.get("scale_max") is None else spec["scale_max"]
        if low >= high:
            fail("scale_max", _("The highest value must be greater than the lowest."))
        elif high - low + 1 > MAX_RATING_STEPS:
            fail("scale_max", _("A scale can have at most %(n)s steps.", n=MAX_RATING_STEPS))
        question.update(
            scale_min=low,
            scale_max=high,
            min_label=_localised(spec, "min_label"),
            max_label=_localised(spec, "max_label"),
        )
    elif qtype == "number":
        low, high = _number(spec.get("min_value")), _number(spec.get("max_value"))
        for name, bound in (("min_value", low), ("max_value", high)):
            if bound is not None and (not math.isfinite(bound) or abs(bound) >= MAX_NUMBER):
                fail(name, _("Enter a number smaller than a thousand million million."))
        if low is not None and high is not None and low > high and not errors:
            fail("max_value", _("The largest value cannot be smaller than the smallest."))
        question.update(min_value=low, max_value=high, integer=bool(spec.get("integer")))
    elif qtype == "date":
        low, high = _iso(spec.get("min_date")), _iso(spec.get("max_date"))
        if low and high and low > high:
            fail("max_date", _("The latest date cannot be before the earliest."))
        question.update(min_date=low, max_date=high)

    if errors:
        raise Invalid(_("Check the question."), errors)
    return question


def _choice_settings(
    spec: dict[str, Any], current: dict[str, Any] | None, question: dict[str, Any], fail: Any
) -> None:
    qtype = question["type"]
    lines = {loc: _lines(spec.get(f"options_{loc}")) for loc in LOCALES}
    finnish = lines["fi"]
    count = len(finnish)
    if count < 2:
        fail("options_fi", _("Give at least two options, one per line."))
    elif count > MAX_OPTIONS:
        fail("options_fi", _("A question can have at most %(n)s options.", n=MAX_OPTIONS))
    if any(len(line) > MAX_OPTION_LENGTH for line in finnish):
        fail("options_fi", _("Each option can have at most %(n)s characters.", n=MAX_OPTION_LENGTH))
    repeated = sorted({line for line in finnish if finnish.count(line) > 1})
    if repeated:
        fail(
            "options_fi",
            _("Each option must be different: “%(option)s” is given twice.", option=repeated[0]),
        )
    for loc in ("sv", "en"):
        if lines[loc] and len(lines[loc]) != count:
            fail(
                f"options_{loc}",
                _(
                    "Give the translated options in the same order, one line for each of the "
                    "%(n)s Finnish options, or leave this empty.",
                    n=count,
                ),
            )
    keys = _option_keys(current, finnish)
    options = []
    for index, (key, label) in enumerate(zip(keys, finnish, strict=True)):
        labels = {"fi": label}
        for loc in ("sv", "en"):
            if len(lines[loc]) == count:
                labels[loc] = lines[loc][index]
        options.append({"key": key, "label": labels} if key else {"label": labels})
    question["options"] = options

    if qtype == "multiple_choice":
        low, high = spec.get("min_choices"), spec.get("max_choices")
        if high is not None and count >= 2 and high > count:
            fail(
                "max_choices",
                _("There are only %(n)s options, so at most %(n)s can be chosen.", n=count),
            )
        if low is not None and count >= 2 and low > count:
            fail(
                "min_choices",
                _("There are only %(n)s options, so at most %(n)s can be chosen.", n=count),
            )
        if low is not None and high is not None and low > high:
            fail("min_choices", _("The minimum cannot be greater than the maximum."))
        question.update(min_choices=low, max_choices=high)
    elif qtype == "ranking":
        top_n = spec.get("top_n")
        if top_n is not None and count >= 2 and top_n > count:
            fail(
                "top_n",
                _("There are only %(n)s options, so at most %(n)s can be ranked.", n=count),
            )
        question["top_n"] = top_n


def spec_from_question(question: dict[str, Any]) -> dict[str, Any]:
    """The builder form's field values for an existing question (the reverse of build_question)."""
    spec: dict[str, Any] = {
        "question_type": question["type"],
        "required": question.get("required", False),
    }
    for loc in LOCALES:
        spec[f"label_{loc}"] = question["label"].get(loc, "")
        spec[f"help_{loc}"] = question.get("help", {}).get(loc, "")
        options = question.get("options") or []
        if options and all(o["label"].get(loc) for o in options):
            spec[f"options_{loc}"] = "\n".join(o["label"][loc] for o in options)
        for end in ("min_label", "max_label"):
            spec[f"{end}_{loc}"] = (question.get(end) or {}).get(loc, "")
    for name in (
        "min_choices",
        "max_choices",
        "scale_min",
        "scale_max",
        "top_n",
        "min_value",
        "max_value",
        "integer",
        "max_length",
    ):
        if name in question:
            spec[name] = question[name]
    for name in ("min_date", "max_date"):
        if question.get(name):
            spec[name] = dt.date.fromisoformat(question[name])
    # A ranking with every option ranked stores top_n = number of options; show it blank.
    if question["type"] == "ranking" and question.get("top_n") == len(question.get("options", [])):
        spec["top_n"] = None
    return spec
