"""The survey's results as a PDF (a digest of kind "survey"): rendered once by the worker from the
public results (charts with their figures as tables, free texts that are not hidden), and mailed
through the outbox to those who asked for the results and, for an event's survey, to the event's
participants, one message per address.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import current_app, flash, redirect, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from participation.db import utcnow
from participation.digests import services as digests
from participation.digests import tasks as digest_tasks
from participation.errors import NotFound, WrongState
from participation.events.models import CONFIRMED, Event, Registration
from participation.extensions import db
from participation.mail.models import Mailing
from participation.surveys import bp, charts, results
from participation.surveys.models import Survey, SurveyInvitation, SurveyResultsRequest
from participation.surveys.policy import managed_survey, view_required
from participation.web import absolute_url

log = logging.getLogger(__name__)

SURVEY = "survey"
TEMPLATE = "digests/survey.html"
# WeasyPrint's SVG text takes no font from the page's CSS (it fell back to a monospace font);
# a presentation attribute on each <text> does.
SVG_TEXT = Markup("<text ")
SVG_TEXT_WITH_FONT = Markup(
    '<text font-family="Noto Sans, Liberation Sans, DejaVu Sans, sans-serif" '
)


def get_survey(session: Session, survey_id: int) -> Survey:
    """Raises NotFound."""
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFound()
    return survey


# --- the PDF's content ------------------------------------------------------------------------


def build_survey_context(session: Session, survey_id: int, *, language: str) -> dict[str, Any]:
    """Plain data for templates/digests/survey.html: the public results (no hidden free text),
    each question with its chart, the chart's figures and every visible free text.
    Raises NotFound."""
    survey = get_survey(session, survey_id)
    found = _public_results(session, survey, language, text_page=1)
    texts: dict[str, list[str]] = {}
    pages = 1
    for question in found.questions:
        if question.texts is not None:
            texts[question.key] = [item.text for item in question.texts.items]
            pages = max(pages, question.texts.pages)
    # The results page texts in pages; the PDF prints them all.
    for page in range(2, pages + 1):
        more = _public_results(session, survey, language, text_page=page)
        for question in more.questions:
            if question.texts is not None and question.texts.page == page:
                texts[question.key].extend(item.text for item in question.texts.items)
    return {
        "language": language,
        "municipality": current_app.config["MUNICIPALITY_NAME"],
        "survey": {
            "id": survey.id,
            "title": survey.title,
            "welcome": survey.welcome,
            "opens_at": survey.opens_at,
            "closes_at": survey.closes_at,
            "anonymous": survey.anonymous,
        },
        "total": found.total,
        "by_source": [_bar(bar) for bar in found.by_source],
        "questions": [_question(q, texts.get(q.key, [])) for q in found.questions],
    }


def _public_results(
    session: Session, survey: Survey, language: str, *, text_page: int
) -> results.SurveyResults:
    return results.survey_results(
        session,
        survey,
        filters=results.ResultFilters(),
        public=True,
        text_page=text_page,
        locale=language,
    )


def _bar(bar: results.Bar) -> dict[str, Any]:
    return {
        "label": bar.label,
        "count": bar.count,
        "percent": None if bar.share is None else round(100 * bar.share),
    }


def _question(question: results.QuestionResult, texts: list[str]) -> dict[str, Any]:
    """One question as plain data; a chart for those with bars (its figures as a table too)."""
    return {
        "number": question.number,
        "anchor": f"q-{question.number}",
        "label": question.label,
        "type": question.type,
        "answered": question.answered,
        "skipped": question.skipped,
        "bars": [_bar(bar) for bar in question.bars],
        "ranks": [
            {
                "place": r.place,
                "label": r.label,
                "score": r.score,
                "first_place": r.first_place,
                "ranked_by": r.ranked_by,
            }
            for r in question.ranks
        ],
        "top_n": question.top_n,
        "mean": question.mean,
        "minimum": question.minimum,
        "maximum": question.maximum,
        "scale": question.scale,
        "chart": _chart(question),
        "texts": texts,
    }


def _chart(question: results.QuestionResult) -> Markup | None:
    """The chart of a question with bars (dates have a table only)."""
    if not question.bars or question.type == "date":
        return None
    chart = charts.bar_chart(
        question.bars,
        title=question.label,
        value_header=_("Points") if question.type == "ranking" else None,
    )
    # User text in the chart is escaped, so "<text " only ever opens an SVG text element.
    return chart.replace(SVG_TEXT, SVG_TEXT_WITH_FONT)


def _build(session: Session, subject_id: int, language: str) -> dict[str, Any]:
    return build_survey_context(session, subject_id, language=language)


def _owner(session: Session, survey_id: int) -> int | None:
    survey = session.get(Survey, survey_id)
    return survey.created_by_id if survey else None


digests.register_kind(SURVEY, TEMPLATE, _build, _owner)


# --- publishing -------------------------------------------------------------------------------


def _recipients(session: Session, survey: Survey) -> list[tuple[str, str, str]]:
    """(address, language, template) for everyone the results go to, asked-for ones first."""
    found: list[tuple[str, str, str]] = []
    for email, language in session.execute(
        select(SurveyResultsRequest.email, SurveyResultsRequest.language)
        .where(SurveyResultsRequest.survey_id == survey.id)
        .order_by(SurveyResultsRequest.id)
    ):
        found.append((email, language, "survey_results_requested"))
    for email, language in session.execute(
        select(SurveyInvitation.email, SurveyInvitation.language)
        .where(SurveyInvitation.survey_id == survey.id, SurveyInvitation.wants_results.is_(True))
        .order_by(SurveyInvitation.id)
    ):
        found.append((email, language, "survey_results_requested"))
    if survey.event_id is not None:
        for email, language in session.execute(
            select(Registration.email, Registration.language)
            .where(
                Registration.event_id == survey.event_id,
                Registration.status == CONFIRMED,
                Registration.anonymised_at.is_(None),
                Registration.email != "",
            )
            .order_by(Registration.id)
        ):
            found.append((email, language, "survey_results_participant"))
    return found


def publish_results_digest(
    session: Session, survey_id: int, *, now: dt.datetime, staff_user_id: int | None
) -> Mailing:
    """Publish the survey's results PDF: a Digest (pending, rendered later by the worker), a
    Mailing, and in the same transaction one outbox row per address, each waiting for the PDF.

    The addresses are those that asked for the results and, for an event's survey, the event's
    confirmed participants; each gets one message of its own. The results become public too.
    Publishing again makes a new digest and mailing. Raises NotFound, or WrongState while the
    survey is still open.
    """
    survey = get_survey(session, survey_id)
    if survey.state(now) != "closed":
        raise WrongState(_("The results can be mailed after the survey has closed."))
    language = current_app.config["BABEL_DEFAULT_LOCALE"]
    survey_title = digests.one_line(survey.title)
    with force_locale(language):
        title = _("Survey results: %(title)s", title=survey_title)
    publishing = digests.start_digest_mailing(
        session,
        kind=SURVEY,
        subject_id=survey.id,
        title=title,
        purpose="digest_survey",
        now=now,
        staff_user_id=staff_user_id,
    )
    if survey.results_published_at is None:
        survey.results_published_at = now
    session.flush()
    event_title = None
    if survey.event_id is not None:
        event_title = session.scalar(select(Event.title).where(Event.id == survey.event_id))
    publishing.common = {
        "survey_title": survey_title,
        "event_title": digests.one_line(event_title) if event_title else None,
        "municipality": current_app.config["MUNICIPALITY_NAME"],
        "download_url": absolute_url("digests.download_digest", digest_id=publishing.digest.id),
    }
    for email, locale, template in _recipients(session, survey):
        publishing.queue(email, template, locale)
    return publishing.done()


# --- route ------------------------------------------------------------------------------------


@bp.post("/staff/surveys/<int:survey_id>/results/publish-pdf")
@view_required
def publish_results_pdf(survey_id: int) -> Response:
    managed_survey(survey_id)
    try:
        mailing = publish_results_digest(
            db.session, survey_id, now=utcnow(), staff_user_id=current_user.id
        )
    except WrongState as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("surveys.show_survey_admin", survey_id=survey_id))
    db.session.commit()
    digest_tasks.render_digest(mailing.digest_id)
    flash(
        _("The results PDF is being made. Each recipient gets it by e-mail when it is ready."),
        "success",
    )
    return redirect(url_for("digests.show_mailing", mailing_id=mailing.id))
