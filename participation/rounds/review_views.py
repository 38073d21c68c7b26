"""Routes for reviewing a round's comments: filters, hiding, decisions, progress, who has
answered, reminders and the export. Staff only; a contact person sees only the rounds they
created (review.can_review)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from participation.accounts.policy import staff_required
from participation.db import utcnow
from participation.errors import Invalid, WrongState
from participation.extensions import db
from participation.mail import tasks as mail_tasks
from participation.pagination import page_arg, page_size
from participation.register import exporting
from participation.rounds import bp, review
from participation.rounds.models import Round
from participation.rounds.review_forms import (
    DecisionForm,
    HideForm,
    ReminderForm,
    decision_form,
    hide_form,
)
from participation.web import absolute_url, is_htmx, redisplay_on_csrf_error, show_errors


def _load(round_id: int) -> Round:
    return review.get_round_for_review(db.session, round_id, user=current_user)


def _back(round_id: int, comment_id: int) -> Response:
    """Back to the same page and filters, at the comment."""
    return redirect(
        url_for(
            "rounds.review_comments",
            round_id=round_id,
            _anchor=f"comment-{comment_id}",
            **_list_args(),
        )
    )


def _list_args() -> dict[str, Any]:
    """The filters and page of the list the action was taken on, kept in form action URLs."""
    args: dict[str, Any] = review.parse_filter(request.args).as_args()
    page = page_arg(request.args)
    if page > 1:
        args["page"] = page
    return args


def _comment_context(
    item: review.ReviewItem,
    *,
    decision: DecisionForm | None = None,
    hiding: HideForm | None = None,
) -> dict[str, Any]:
    return {
        "item": item,
        "decision_form": decision or decision_form(item.comment),
        "hide_form": hiding or hide_form(item.comment),
        "reason_max": review.REASON_MAX,
    }


def _comment_response(
    round_: Round,
    comment_id: int,
    *,
    notice: str = "",
    decision: DecisionForm | None = None,
    hiding: HideForm | None = None,
) -> str:
    """For htmx: the comment's block, and the progress line swapped out of band."""
    item = review.get_review_item(db.session, round_.id, comment_id)
    return render_template(
        "rounds/_review_comment.html",
        round=round_,
        list_args=_list_args(),
        htmx_response=True,
        notice=notice,
        progress=review.count_progress(db.session, round_.id),
        **_comment_context(item, decision=decision, hiding=hiding),
    )


def _review_page(
    round_: Round,
    *,
    failed: int | None = None,
    decision: DecisionForm | None = None,
    hiding: HideForm | None = None,
    message: str = "",
) -> str:
    flt = review.parse_filter(request.args)
    results = review.list_comments(
        db.session,
        round_.id,
        flt,
        page=page_arg(request.args),
        per_page=page_size(),
    )
    sections, associations = review.list_filter_choices(db.session, round_)
    contexts = [
        _comment_context(
            item,
            decision=decision if item.comment.id == failed else None,
            hiding=hiding if item.comment.id == failed else None,
        )
        for item in results.items
    ]
    return render_template(
        "rounds/review_comments.html",
        round=round_,
        results=results,
        comments=contexts,
        flt=flt,
        list_args=_list_args(),
        sections=sections,
        associations=associations,
        decisions=review.DECISION_LABELS,
        progress=review.count_progress(db.session, round_.id),
        failed_form=decision if decision is not None and decision.errors else hiding,
        failed_comment=failed,
        message=message,
    )


@bp.get("/staff/rounds/<int:round_id>/comments")
@staff_required
def review_comments(round_id: int) -> str:
    return _review_page(_load(round_id))


def _after_change(round_: Round, comment_id: int, notice: str) -> str | Response:
    db.session.commit()
    if is_htmx():
        return _comment_response(round_, comment_id, notice=notice)
    flash(notice, "success")
    return _back(round_.id, comment_id)


def _refused(
    round_: Round,
    comment_id: int,
    *,
    decision: DecisionForm | None = None,
    hiding: HideForm | None = None,
) -> Response:
    """The block (htmx) or the page with the messages beside the fields and the typed text kept.
    htmx swaps only 2xx answers, so its partial comes with 200. A Response, not a tuple: after
    an expired CSRF token the error handler calls the view again and sets the status itself."""
    db.session.rollback()
    if is_htmx():
        return make_response(
            _comment_response(round_, comment_id, decision=decision, hiding=hiding)
        )
    page = _review_page(round_, failed=comment_id, decision=decision, hiding=hiding)
    return make_response(page, 422)


def _act(
    round_: Round,
    comment_id: int,
    form: DecisionForm | HideForm,
    action: Callable[[], object],
    notice: str,
) -> Any:
    """Run a validated form's service call; on refusal show the form again with its messages."""
    if form.validate_on_submit():
        try:
            action()
        except Invalid as exc:
            show_errors(form, exc)
        except WrongState as exc:
            form.form_errors.append(exc.message)
        else:
            return _after_change(round_, comment_id, notice)
    if isinstance(form, DecisionForm):
        return _refused(round_, comment_id, decision=form)
    return _refused(round_, comment_id, hiding=form)


@bp.post("/staff/rounds/<int:round_id>/comments/<int:comment_id>/decision")
@staff_required
@redisplay_on_csrf_error
def decide_comment(round_id: int, comment_id: int) -> Any:
    round_ = _load(round_id)
    item = review.get_review_item(db.session, round_.id, comment_id)
    form = decision_form(item.comment, formdata=request.form)
    return _act(
        round_,
        comment_id,
        form,
        lambda: review.decide_comment(
            db.session,
            round_.id,
            comment_id,
            decision=form.decision.data,
            reason=form.reason.data or "",
            user_id=current_user.id,
            now=utcnow(),
        ),
        _("The decision on comment %(n)s was saved.", n=item.number),
    )


@bp.post("/staff/rounds/<int:round_id>/comments/<int:comment_id>/hide")
@staff_required
@redisplay_on_csrf_error
def hide_comment(round_id: int, comment_id: int) -> Any:
    round_ = _load(round_id)
    item = review.get_review_item(db.session, round_.id, comment_id)
    form = hide_form(item.comment, formdata=request.form)
    return _act(
        round_,
        comment_id,
        form,
        lambda: review.hide_comment(
            db.session,
            round_.id,
            comment_id,
            reason=form.reason.data or "",
            user_id=current_user.id,
            now=utcnow(),
        ),
        _("Comment %(n)s was hidden.", n=item.number),
    )


@bp.post("/staff/rounds/<int:round_id>/comments/<int:comment_id>/unhide")
@staff_required
def unhide_comment(round_id: int, comment_id: int) -> Any:
    round_ = _load(round_id)
    item = review.get_review_item(db.session, round_.id, comment_id)
    review.unhide_comment(db.session, round_.id, comment_id)
    return _after_change(round_, comment_id, _("Comment %(n)s is shown again.", n=item.number))


@bp.get("/staff/rounds/<int:round_id>/comments.<fmt>")
@staff_required
def export_comments(round_id: int, fmt: str) -> Response:
    if fmt not in {"csv", "xlsx"}:
        abort(404)
    round_ = _load(round_id)
    header, rows = review.export_comments(db.session, round_.id)
    stamp = utcnow().astimezone(review.HELSINKI).date().isoformat()
    if fmt == "csv":
        body, mimetype = exporting.to_csv(header, rows), exporting.CSV_MIMETYPE
    else:
        body = exporting.to_xlsx(header, rows, title=_("Comments"))
        mimetype = exporting.XLSX_MIMETYPE
    name = f"round-{round_.id}-comments-{stamp}.{fmt}"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- who has answered, reminders ----------------------------------------------------------------


def _answered_page(round_: Round, form: ReminderForm) -> str:
    now = utcnow()
    statuses = review.list_invitation_status(db.session, round_.id)
    return render_template(
        "rounds/review_answered.html",
        round=round_,
        statuses=statuses,
        answered=sum(1 for s in statuses if s.answered),
        plan=review.plan_reminders(statuses, now=now),
        is_open=round_.is_open(now),
        now=now,
        form=form,
    )


@bp.get("/staff/rounds/<int:round_id>/answered")
@staff_required
def show_answered(round_id: int) -> str:
    return _answered_page(_load(round_id), ReminderForm())


@bp.post("/staff/rounds/<int:round_id>/reminders")
@staff_required
def send_round_reminders(round_id: int) -> Any:
    round_ = _load(round_id)
    form = ReminderForm()
    if not form.validate_on_submit():
        return _answered_page(round_, form), 400
    try:
        result = review.send_reminders(
            db.session,
            round_.id,
            round_url=absolute_url("rounds.show_round", slug=round_.slug),
            include_recent=bool(form.include_recent.data),
            locale=current_app.config["BABEL_DEFAULT_LOCALE"],
            now=utcnow(),
        )
    except WrongState as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("rounds.show_answered", round_id=round_.id))
    db.session.commit()
    mail_tasks.kick_outbox()
    if result.sent:
        flash(
            ngettext(
                "A reminder was sent to %(num)s association.",
                "A reminder was sent to %(num)s associations.",
                result.sent,
            ),
            "success",
        )
    else:
        flash(_("No reminders were sent."), "success")
    if result.skipped_recent:
        flash(
            ngettext(
                "%(num)s association was left out: it was reminded less than 24 hours ago.",
                "%(num)s associations were left out: they were reminded less than 24 hours ago.",
                result.skipped_recent,
            ),
            "success",
        )
    return redirect(url_for("rounds.show_answered", round_id=round_.id))
