"""Routes of the summary (edit with a preview, publish as a PDF mailing, the public page) and of
the year's figures (the list, its CSV, recording an evening's figures again).

Staff pages load the event through events.policy.get_event_for: coordinators run every evening,
a contact person only their own (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from participation.accounts.policy import staff_required
from participation.db import utcnow
from participation.digests import tasks as digest_tasks
from participation.errors import Invalid, WrongState
from participation.evenings import bp
from participation.evenings import digest as evening_digest
from participation.evenings import figures as evening_figures
from participation.evenings import summary as summaries
from participation.evenings.models import ALL_REGISTERED
from participation.evenings.summary_forms import ConfirmForm, SummaryForm
from participation.events.models import Event
from participation.events.policy import get_event_for, sees_all_events
from participation.extensions import db
from participation.i18n import current_locale
from participation.register import exporting
from participation.web import is_htmx, redisplay_on_csrf_error, show_errors


def _event(event_id: int) -> Event:
    """The event if the signed-in user may run it (NotFound, Forbidden otherwise)."""
    return get_event_for(db.session, event_id, user=current_user)


# --- the editor -------------------------------------------------------------------------------


def _when(event: Event) -> str:
    from participation.i18n import date_filter

    return date_filter(event.starts_at, "medium")


def _set_choices(form: SummaryForm, event: Event) -> None:
    """The selects' options; a saved choice no longer offered stays selectable."""
    session = db.session
    none = ("", _("None"))
    events = summaries.later_events(session, event)
    surveys = summaries.follow_up_surveys(session, event)
    rounds = summaries.follow_up_rounds(session, event)
    form.next_event_id.choices = [none] + [(str(e.id), f"{e.title} ({_when(e)})") for e in events]
    form.follow_up_survey_id.choices = [none] + [(str(s.id), s.title) for s in surveys]
    form.follow_up_round_id.choices = [none] + [(str(r.id), r.title) for r in rounds]
    for select in (form.next_event_id, form.follow_up_survey_id, form.follow_up_round_id):
        offered = {value for value, _label in select.choices}
        if select.data and str(select.data) not in offered:
            select.choices.append((str(select.data), _("(the earlier choice)")))


def _form_for(event: Event) -> SummaryForm:
    summary = summaries.find_summary(db.session, event.id)
    if request.method == "POST":
        form = SummaryForm()
    elif summary is None:
        # First open: a draft from the notes, the vote and the themes (saved on "Save").
        form = SummaryForm(
            data={
                "body": summaries.prefill(db.session, event),
                "audience": ALL_REGISTERED,
                "include_invited": True,
            }
        )
    else:
        form = SummaryForm(
            data={
                "body": summary.body,
                "next_steps": summary.next_steps,
                "next_event_id": str(summary.next_event_id or ""),
                "follow_up_survey_id": str(summary.follow_up_survey_id or ""),
                "follow_up_round_id": str(summary.follow_up_round_id or ""),
                "audience": summary.audience,
                "include_invited": summary.include_invited,
            }
        )
    _set_choices(form, event)
    return form


def _raw(form: SummaryForm) -> dict[str, Any]:
    return {
        "body": form.body.data or "",
        "next_steps": form.next_steps.data or "",
        "next_event_id": form.next_event_id.data,
        "follow_up_survey_id": form.follow_up_survey_id.data,
        "follow_up_round_id": form.follow_up_round_id.data,
        "audience": form.audience.data,
        "include_invited": form.include_invited.data,
    }


def _preview(form: SummaryForm) -> dict[str, Any]:
    return {
        "body": summaries.render_markdown(form.body.data or ""),
        "next_steps": summaries.render_markdown(form.next_steps.data or ""),
    }


def _editor(event: Event, form: SummaryForm, **extra: Any) -> str:
    summary = summaries.find_summary(db.session, event.id)
    now = utcnow()
    latest = evening_digest.latest_digest(db.session, event.id)
    return render_template(
        "evenings/summary_edit.html",
        event=event,
        evening_page="summary",
        form=form,
        summary=summary,
        ended=now >= event.ends_at,
        latest=latest,
        max_body=summaries.MAX_BODY,
        max_next_steps=summaries.MAX_NEXT_STEPS,
        **extra,
    )


@bp.route("/staff/events/<int:event_id>/evening/summary", methods=["GET", "POST"])
@staff_required
@redisplay_on_csrf_error
def edit_summary(event_id: int) -> str | Response:
    event = _event(event_id)
    form = _form_for(event)
    if not form.validate_on_submit():
        return _editor(event, form)
    if request.form.get("preview"):
        return _editor(event, form, preview=_preview(form))
    if request.form.get("refill"):
        # Nothing is saved: the earlier text stays on the page until "Save".
        earlier = form.body.data or ""
        form.body.data = summaries.prefill(db.session, event)
        return _editor(event, form, earlier=earlier)
    try:
        summaries.save_summary(
            db.session, event, _raw(form), now=utcnow(), staff_user_id=current_user.id
        )
    except Invalid as exc:
        db.session.rollback()
        show_errors(form, exc)
        return _editor(event, form)
    db.session.commit()
    flash(_("The summary was saved."), "success")
    return redirect(url_for("evenings.edit_summary", event_id=event.id))


@bp.post("/staff/events/<int:event_id>/evening/summary/preview")
@staff_required
def preview_summary(event_id: int) -> str | Response:
    """The preview region for htmx; a plain post gets the whole editor with the preview."""
    event = _event(event_id)
    form = _form_for(event)
    if not form.validate_on_submit():
        return _editor(event, form)
    if is_htmx():
        return render_template("evenings/_summary_preview.html", preview=_preview(form))
    return _editor(event, form, preview=_preview(form))


# --- publishing -------------------------------------------------------------------------------


@bp.route("/staff/events/<int:event_id>/evening/summary/publish", methods=["GET", "POST"])
@staff_required
def publish_summary(event_id: int) -> str | Response:
    event = _event(event_id)
    form = ConfirmForm()
    now = utcnow()
    if form.validate_on_submit():
        try:
            mailing = evening_digest.publish_summary(
                db.session, event.id, now=now, staff_user_id=current_user.id
            )
        except WrongState as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("evenings.publish_summary", event_id=event.id))
        db.session.commit()
        digest_tasks.render_digest(mailing.digest_id)
        flash(
            _("The summary is published and its PDF is being made. Each recipient gets it by "
              "e-mail when it is ready."),
            "success",
        )  # fmt: skip
        return redirect(url_for("digests.show_mailing", mailing_id=mailing.id))
    summary = summaries.find_summary(db.session, event.id)
    problem = None
    try:
        evening_digest.check_can_publish(event, summary, now)
    except WrongState as exc:
        problem = exc.message
    found = evening_digest.recipients(db.session, event, summary) if summary else []
    return render_template(
        "evenings/summary_publish.html",
        event=event,
        evening_page="summary",
        form=form,
        summary=summary,
        problem=problem,
        participants=sum(1 for r in found if r.template == evening_digest.PARTICIPANT_MAIL),
        associations=sum(1 for r in found if r.template == evening_digest.ASSOCIATION_MAIL),
        total=len(found),
        latest=evening_digest.latest_digest(db.session, event.id),
    )


# --- the public page --------------------------------------------------------------------------


@bp.get("/events/<slug>/summary")
def public_summary(slug: str) -> str:
    event, summary = summaries.get_public_summary(db.session, slug)
    result = summaries.vote_result(db.session, event.id, locale=current_locale())
    latest = evening_digest.latest_digest(db.session, event.id)
    return render_template(
        "evenings/summary_public.html",
        event=event,
        summary=summary,
        body=summaries.render_markdown(summary.body),
        next_steps=summaries.render_markdown(summary.next_steps),
        links=summaries.next_links(db.session, summary),
        vote=result,
        vote_chart=evening_digest.vote_chart(result) if result else None,
        themes=summaries.handled_themes(db.session, event.id),
        pdf=evening_digest.public_digest(db.session, event.id),
        pdf_in_progress=latest is not None and latest.in_progress,
    )


@bp.app_template_global()
def evening_summary_url(event: Event) -> str | None:
    """The public summary's address once it is published, else None (for the event page)."""
    if summaries.find_published_summary(db.session, event.id) is None:
        return None
    return url_for("evenings.public_summary", slug=event.slug)


# --- the year's figures -----------------------------------------------------------------------


def _year_arg(now: Any) -> int:
    raw = request.args.get("year", "")
    if raw.isdigit() and len(raw) == 4:
        return int(raw)
    return evening_figures.helsinki_year(now)


def _mine() -> int | None:
    return None if sees_all_events(current_user) else current_user.id


@bp.get("/staff/evenings/figures")
@staff_required
def figures() -> str:
    now = utcnow()
    found = evening_figures.year_figures(db.session, _year_arg(now), now=now, created_by_id=_mine())
    return render_template(
        "evenings/figures.html",
        found=found,
        form=ConfirmForm(),
        categories_of=evening_figures.categories_of,
        category_label=evening_figures.category_label,
    )


@bp.get("/staff/evenings/figures.csv")
@staff_required
def export_figures() -> Response:
    now = utcnow()
    found = evening_figures.year_figures(db.session, _year_arg(now), now=now, created_by_id=_mine())
    header, rows = evening_figures.figures_table(found)
    name = f"evening-figures-{found.year}.csv"
    return Response(
        exporting.to_csv(header, rows),
        mimetype=exporting.CSV_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/staff/events/<int:event_id>/evening/figures")
@staff_required
def record_event_figures(event_id: int) -> Response:
    event = _event(event_id)  # the CSRF token is checked for every POST (CSRFProtect)
    evening_figures.record_figures(db.session, event.id, utcnow())
    db.session.commit()
    flash(_("The figures of “%(title)s” were recorded again.", title=event.title), "success")
    return redirect(
        url_for(
            "evenings.figures",
            year=evening_figures.helsinki_year(event.starts_at),
            _anchor=f"event-{event.id}",
        )
    )
