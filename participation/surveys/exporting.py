"""A survey's answers as a spreadsheet: one row per answer, one column per question, readable
values (option labels, not keys). Written through participation.register.exporting, which
neutralises formulas. Nothing identifying: the answer's number, its day, source and category."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from forms.schema import text as localised
from participation.surveys.models import Survey
from participation.surveys.results import list_categories, load_rows, survey_form


def _label(question: Mapping[str, Any], key: str, locale: str) -> str:
    for option in question.get("options") or []:
        if option["key"] == key:
            return localised(option["label"], locale)
    return key


def answer_text(question: Mapping[str, Any], value: Any, locale: str) -> str:
    """An answer as the text of a spreadsheet cell ("" when not answered)."""
    if value is None:
        return ""
    qtype = question["type"]
    if qtype == "yes_no":
        if value in (True, "yes"):
            return _("Yes")
        if value in (False, "no"):
            return _("No")
        return ""
    if qtype == "single_choice" and isinstance(value, str):
        return _label(question, value, locale)
    if qtype == "multiple_choice" and isinstance(value, list):
        return "; ".join(_label(question, str(v), locale) for v in value if v)
    if qtype == "ranking" and isinstance(value, list):
        # "1. Premises; 2. Grants": the order is the answer.
        ranked = [v for v in value if v]
        return "; ".join(
            f"{n}. {_label(question, str(v), locale)}" for n, v in enumerate(ranked, 1)
        )
    if qtype == "consent":
        return _("Yes") if value is True else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def export_answers(
    session: Session, survey: Survey, *, locale: str = "fi"
) -> tuple[list[str], list[list[str]]]:
    """Every answer of the survey as a header and rows of plain text for to_csv / to_xlsx.
    Question labels and option labels in `locale` (Finnish by default, the survey's own
    language). Three queries whatever the number of answers."""
    form = survey_form(session, survey)
    questions = [q for q in form.questions if q["type"] != "info"]
    categories = {c.value: c.label for c in list_categories(session, locale=locale)}
    sources = {"web": _("Online"), "paper": _("On paper")}
    header = [
        _("Answer"),
        _("Day"),
        _("Source"),
        _("Category"),
        *[localised(q["label"], locale) for q in questions],
    ]
    data = [
        [
            str(row.answer_id),
            row.answered_on.isoformat(),
            sources.get(row.source, row.source),
            categories.get(str(row.category_id), "") if row.category_id else "",
            *[answer_text(q, row.answers.get(q["key"]), locale) for q in questions],
        ]
        for row in load_rows(session, survey, form)
    ]
    return header, data
