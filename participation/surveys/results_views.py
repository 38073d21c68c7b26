"""Routes for a survey's results: the staff page (filters, hiding free texts, publishing,
exports) and the public results page once published.

Staff see, hide texts in, export and publish the results of the surveys they may run
(policy.managed_survey: a coordinator every survey, a contact person their own). The public page exists only while the results are published and never shows hidden
texts or anything that points to an answer.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from participation.db import utcnow
from participation.errors import Invalid, NotFound
from participation.extensions import db
from participation.i18n import current_locale
from participation.pagination import page_arg
from participation.register import exporting
from participation.surveys import bp, results
from participation.surveys.charts import bar_chart
from participation.surveys.exporting import export_answers
from participation.surveys.models import Survey
from participation.surveys.policy import managed_survey, view_required
from participation.web import is_htmx

HELSINKI_STAMP_FORMAT = "%Y-%m-%d"


def _published_survey(slug: str) -> Survey:
    survey = db.session.scalar(select(Survey).where(Survey.slug == slug))
    if survey is None or survey.results_published_at is None:
        raise NotFound(_("No such results."))
    return survey


def _view_args() -> dict[str, Any]:
    """Filters, search and text page of the page an action was taken on."""
    args: dict[str, Any] = results.parse_filters(request.args).as_args()
    q = " ".join(str(request.args.get("q") or "").split())[: results.SEARCH_MAX]
    if q:
        args["q"] = q
    page = page_arg(request.args)
    if page > 1:
        args["page"] = page
    return args


def _pager_args() -> dict[str, Any]:
    """The view's arguments without the page (the pager adds its own)."""
    return {k: v for k, v in _view_args().items() if k != "page"}


def _results(survey: Survey, *, public: bool) -> results.SurveyResults:
    return results.survey_results(
        db.session,
        survey,
        filters=results.ResultFilters() if public else results.parse_filters(request.args),
        public=public,
        text_page=page_arg(request.args),
        text_query=str(request.args.get("q") or ""),
        locale=current_locale(),
    )


@bp.get("/staff/surveys/<int:survey_id>/results")
@view_required
def show_results(survey_id: int) -> str:
    survey = managed_survey(survey_id)
    return render_template(
        "surveys/results.html",
        survey=survey,
        res=_results(survey, public=False),
        view_args=_view_args(),
        pager_args=_pager_args(),
        can_manage=True,
        bar_chart=bar_chart,
        now=utcnow(),
    )


@bp.get("/surveys/<slug>/results")
def public_results(slug: str) -> str:
    survey = _published_survey(slug)
    return render_template(
        "surveys/results_public.html",
        survey=survey,
        res=_results(survey, public=True),
        view_args=_view_args(),
        pager_args=_pager_args(),
        bar_chart=bar_chart,
    )


@bp.get("/staff/surveys/<int:survey_id>/answers.<fmt>")
@view_required
def export_results(survey_id: int, fmt: str) -> Response:
    if fmt not in {"csv", "xlsx"}:
        abort(404)
    survey = managed_survey(survey_id)
    # Option and question labels in Finnish, the survey's own language.
    header, rows = export_answers(db.session, survey, locale="fi")
    stamp = utcnow().strftime(HELSINKI_STAMP_FORMAT)
    if fmt == "csv":
        body, mimetype = exporting.to_csv(header, rows), exporting.CSV_MIMETYPE
    else:
        body = exporting.to_xlsx(header, rows, title=_("Answers"))
        mimetype = exporting.XLSX_MIMETYPE
    name = f"survey-{survey.id}-answers-{stamp}.{fmt}"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _after_text_change(survey: Survey, answer_id: int, key: str, notice: str) -> Any:
    if is_htmx():
        item = results.text_item(db.session, survey, answer_id, key)
        return render_template(
            "surveys/_results_text.html",
            survey=survey,
            item=item,
            view_args=_view_args(),
            can_manage=True,
            notice=notice,
            reason_max=results.REASON_MAX,
        )
    flash(notice, "success")
    return redirect(
        url_for(
            "surveys.show_results",
            survey_id=survey.id,
            _anchor=f"text-{answer_id}-{key}",
            **_view_args(),
        )
    )


@bp.post("/staff/surveys/<int:survey_id>/results/texts/<int:answer_id>/<key>/hide")
@view_required
def hide_text(survey_id: int, answer_id: int, key: str) -> Any:
    survey = managed_survey(survey_id)
    reason = str(request.form.get("reason") or "")
    try:
        results.hide_text(
            db.session,
            survey,
            answer_id,
            key,
            reason=reason,
            staff_user_id=current_user.id,
            now=utcnow(),
        )
    except Invalid as exc:
        db.session.rollback()
        item = results.text_item(db.session, survey, answer_id, key)
        context = {
            "survey": survey,
            "item": item,
            "view_args": _view_args(),
            "can_manage": True,
            "error": exc.message,
            "typed_reason": reason,
            "reason_max": results.REASON_MAX,
        }
        if is_htmx():
            return render_template("surveys/_results_text.html", **context), 422
        return render_template("surveys/results_hide.html", **context), 422
    db.session.commit()
    return _after_text_change(survey, answer_id, key, _("The text is hidden from the public."))


@bp.post("/staff/surveys/<int:survey_id>/results/texts/<int:answer_id>/<key>/unhide")
@view_required
def unhide_text(survey_id: int, answer_id: int, key: str) -> Any:
    survey = managed_survey(survey_id)
    results.unhide_text(db.session, survey, answer_id, key)
    db.session.commit()
    return _after_text_change(survey, answer_id, key, _("The text is shown to the public again."))


@bp.post("/staff/surveys/<int:survey_id>/results/publish")
@view_required
def publish_results(survey_id: int) -> Response:
    survey = managed_survey(survey_id)
    if request.form.get("publish") == "1":
        results.publish_results(db.session, survey, now=utcnow())
        db.session.commit()
        flash(_("The results are published."), "success")
    else:
        results.unpublish_results(db.session, survey, now=utcnow())
        db.session.commit()
        flash(_("The results are no longer public."), "success")
    return redirect(url_for("surveys.show_results", survey_id=survey.id))
