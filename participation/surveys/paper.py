"""The blank paper survey: a tagged, printable PDF of the survey's questions with boxes to tick,
for those who do not answer online (staff type the returned forms in as paper answers).

Every question type prints: boxes for choices and yes/no, a numbered box per option for a
ranking, a row of boxes for a rating, ruled lines for texts, a box for a number or a date.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

import forms as engine
from participation.digests import pdf
from participation.errors import Busy, NotFound
from participation.extensions import db
from participation.formbuilder.models import FormDefinition
from participation.i18n import current_locale
from participation.surveys import bp
from participation.surveys.models import Survey
from participation.surveys.policy import managed_survey, view_required
from participation.web import absolute_url

# Ruled lines to write on, by text type.
TEXT_LINES = {"short_text": 2, "long_text": 7, "email": 1}


def _question(question: dict[str, Any], language: str) -> dict[str, Any]:
    """One question as plain data for the template, with its instruction in words."""
    qtype = question["type"]
    row: dict[str, Any] = {
        "key": question["key"],
        "type": qtype,
        "label": engine.text(question.get("label"), language),
        "help": engine.text(question.get("help"), language),
        "required": bool(question.get("required")),
        "options": [engine.text(o["label"], language) for o in question.get("options", [])],
        "instruction": "",
        "lines": TEXT_LINES.get(qtype, 0),
    }
    if qtype == "single_choice":
        row["instruction"] = _("Tick one box.")
    elif qtype == "multiple_choice":
        low, high = question.get("min_choices"), question.get("max_choices")
        if high and low and low == high:
            row["instruction"] = ngettext("Tick %(num)s box.", "Tick exactly %(num)s boxes.", high)
        elif high and low:
            row["instruction"] = _("Tick %(low)s to %(high)s boxes.", low=low, high=high)
        elif high:
            row["instruction"] = ngettext(
                "Tick at most %(num)s box.", "Tick at most %(num)s boxes.", high
            )
        elif low:
            row["instruction"] = ngettext(
                "Tick at least %(num)s box.", "Tick at least %(num)s boxes.", low
            )
        else:
            row["instruction"] = _("Tick all that apply.")
    elif qtype == "ranking":
        count = len(row["options"])
        top_n = question.get("top_n") or count
        if top_n < count:
            row["instruction"] = _(
                "Choose the %(num)s most important: write 1 in the box of the most important, "
                "2 in the next and so on. Leave the others empty.",
                num=top_n,
            )
        else:
            row["instruction"] = _(
                "Write 1 in the box of the most important, 2 in the next and so on."
            )
    elif qtype == "rating":
        low, high = question.get("scale_min", 1), question.get("scale_max", 5)
        row["scale"] = list(range(low, high + 1))
        row["min_label"] = engine.text(question.get("min_label"), language)
        row["max_label"] = engine.text(question.get("max_label"), language)
        row["instruction"] = _(
            "Tick one box: %(low)s is the lowest, %(high)s the highest.", low=low, high=high
        )
    elif qtype == "yes_no":
        row["options"] = [_("Yes"), _("No")]
        row["instruction"] = _("Tick one box.")
    elif qtype == "number":
        row["instruction"] = _("Write a number in the box.")
    elif qtype == "date":
        row["instruction"] = _("Write the date as day.month.year.")
    elif qtype == "consent":
        row["instruction"] = _("Tick the box if you agree.")
    return row


def paper_context(session: Session, survey: Survey, *, language: str) -> dict[str, Any]:
    """Plain data for templates/surveys/paper.html (in the caller's locale). Raises NotFound."""
    form = session.get(FormDefinition, survey.form_id)
    if form is None:
        raise NotFound()
    questions = [_question(q, language) for q in form.questions]
    number = 0
    for question in questions:
        if question["type"] != "info":
            number += 1
            question["number"] = number
    online = (
        absolute_url("surveys.show_survey", slug=survey.slug)
        if survey.public_link and "surveys.show_survey" in current_app.view_functions
        else None
    )
    return {
        "language": language,
        "title": _("Survey: %(title)s", title=survey.title),
        "municipality": current_app.config["MUNICIPALITY_NAME"],
        "survey": {
            "title": survey.title,
            "welcome": survey.welcome,
            "anonymous": survey.anonymous,
            "closes_at": survey.closes_at,
            "online_url": online,
        },
        "questions": questions,
        "any_required": any(q["required"] for q in questions),
        "static_url": current_app.static_url_path,
    }


def render_blank_pdf(session: Session, survey: Survey, *, language: str) -> bytes:
    """The blank survey as a tagged PDF in `language`. Raises NotFound, pdf.RenderFailed."""
    from participation.digests.services import render_options

    with force_locale(language):
        context = paper_context(session, survey, language=language)
        html = render_template("surveys/paper.html", **context)
    return pdf.render_pdf(html, title=context["title"], language=language, **render_options()).pdf


# --- route ----------------------------------------------------------------------------------


@bp.get("/staff/surveys/<int:survey_id>/paper.pdf")
@view_required
def paper_pdf(survey_id: int) -> Response:
    """The blank survey to print, in the staff member's language."""
    survey = managed_survey(survey_id)
    try:
        data = render_blank_pdf(db.session, survey, language=current_locale())
    except pdf.RenderFailed as exc:
        raise Busy(_("The paper survey could not be made: %(reason)s", reason=exc.reason)) from exc
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="survey-{survey.id}-paper.pdf"'},
    )
