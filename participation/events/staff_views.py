"""Staff routes for an event's registrations and its door.

Whoever may run the event (a coordinator, or the contact person who created it: see
events.policy) sees the registrations, the figures, the exports and the sign-in sheet, runs the
door (check-in and walk-ins) and changes registrations: adds one by hand (a phone call), moves
someone to another group, cancels on someone's behalf.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields import SelectChoice

import forms as engine
from participation.accounts.policy import staff_required
from participation.db import utcnow
from participation.digests.pdf import RenderFailed
from participation.errors import Busy, Invalid, NotFound, WrongState
from participation.events import bp, services, staff
from participation.events.models import CANCELLED, Event, Registration
from participation.events.policy import get_event_for
from participation.events.staff_forms import (
    PhoneRegistrationForm,
    WalkInForm,
    association_choices,
    group_choices,
    phone_form_class,
    seat_choices,
)
from participation.extensions import db
from participation.i18n import current_locale
from participation.mail import tasks as mail_tasks
from participation.pagination import page_arg, page_size
from participation.register import exporting
from participation.web import is_htmx, redisplay_on_csrf_error, show_errors


def _event(event_id: int) -> Event:
    """The event if the signed-in user may run it (NotFound, Forbidden otherwise); every view of
    one event starts here."""
    return get_event_for(db.session, event_id, user=current_user)


def _registration(event: Event, registration_id: int) -> Registration:
    """A registration of this event (another event's id is "not found")."""
    registration = services.get_registration(db.session, registration_id)
    if registration.event_id != event.id:
        raise NotFound(_("No such registration."))
    return registration


def _list_args() -> dict[str, Any]:
    """The filters and page of the list an action was taken on, kept in form action URLs."""
    args: dict[str, Any] = staff.parse_filter(request.args).as_args()
    page = page_arg(request.args)
    if page > 1:
        args["page"] = page
    return args


def _back_to_list(event: Event, registration_id: int | None = None) -> Response:
    anchor = f"registration-{registration_id}" if registration_id else None
    return redirect(
        url_for("events.list_registrations", event_id=event.id, _anchor=anchor, **_list_args())
    )


# --- the list -------------------------------------------------------------------------------


def _list_page(
    event: Event, *, failed: int | None = None, message: str = "", status: int = 200
) -> Response:
    flt = staff.parse_filter(request.args)
    results = staff.list_registrations(
        db.session, event, flt, page=page_arg(request.args), per_page=page_size()
    )
    page = render_template(
        "events/registrations.html",
        event=event,
        flt=flt,
        results=results,
        list_args=_list_args(),
        counts=staff.count_registrations(db.session, event, locale=current_locale()),
        associations=staff.list_filter_associations(db.session, event),
        statuses=staff.STATUS_LABELS,
        sources=staff.SOURCE_LABELS,
        failed=failed,
        message=message,
        now=utcnow(),
    )
    return make_response(page, status)


@bp.get("/staff/events/<int:event_id>/registrations")
@staff_required
def list_registrations(event_id: int) -> Response:
    return _list_page(_event(event_id))


@bp.get("/staff/events/<int:event_id>/registrations.<fmt>")
@staff_required
def export_registrations(event_id: int, fmt: str) -> Response:
    if fmt not in {"csv", "xlsx"}:
        abort(404)
    event = _event(event_id)
    flt = staff.parse_filter(request.args)
    header, rows = staff.export_registrations(db.session, event, flt, locale=current_locale())
    stamp = utcnow().astimezone(staff.HELSINKI).date().isoformat()
    if fmt == "csv":
        body, mimetype = exporting.to_csv(header, rows), exporting.CSV_MIMETYPE
    else:
        body = exporting.to_xlsx(header, rows, title=_("Registrations"))
        mimetype = exporting.XLSX_MIMETYPE
    name = f"event-{event.id}-registrations-{stamp}.{fmt}"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/staff/events/<int:event_id>/signin-sheet.pdf")
@staff_required
def print_signin_sheet(event_id: int) -> Response:
    """The sign-in sheet of everyone, or of one group (?group=<id>)."""
    event = _event(event_id)
    raw = request.args.get("group", "")
    group_id = int(raw) if raw.isdigit() and len(raw) < 12 else None
    if raw and group_id is None:
        abort(404)
    try:
        rendered = staff.render_signin_sheet(db.session, event, group_id, locale=current_locale())
    except RenderFailed as exc:
        raise Busy(_("The sign-in sheet could not be made: %(reason)s", reason=exc.reason)) from exc
    suffix = f"-group-{group_id}" if group_id else ""
    name = f"event-{event.id}-signin{suffix}.pdf"
    return Response(
        rendered.pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@bp.get("/staff/events/<int:event_id>/figures")
@staff_required
def show_event_figures(event_id: int) -> str:
    event = _event(event_id)
    return render_template(
        "events/registrations_figures.html",
        event=event,
        figures=staff.event_figures(db.session, event, now=utcnow(), locale=current_locale()),
    )


# --- changes to registrations --------------------------------------------------------------


@bp.post("/staff/events/<int:event_id>/registrations/<int:registration_id>/move")
@staff_required
def move_registration(event_id: int, registration_id: int) -> Response:
    event = _event(event_id)
    registration = _registration(event, registration_id)
    try:
        _moved, promoted = services.move_registration(
            db.session, registration.id, request.form.get("group_id") or None, now=utcnow()
        )
    except (Invalid, WrongState) as exc:
        db.session.rollback()
        event = _event(event_id)
        message = _move_refused(event, registration.name, request.form.get("group_id", ""), exc)
        return _list_page(event, failed=registration_id, message=message, status=422)
    db.session.commit()
    mail_tasks.kick_outbox()
    group = registration.group.name if registration.group else _("no group")
    flash(_("%(name)s was moved to %(group)s.", name=registration.name, group=group), "success")
    if promoted:
        flash(_promoted_message(promoted), "success")
    return _back_to_list(event, registration.id)


def _move_refused(event: Event, name: str, group_id: str, exc: Invalid | WrongState) -> str:
    """Why a move was refused, said to staff (the service's words are for the participant)."""
    errors = getattr(exc, "errors", {}) or {}
    group = next((g for g in event.groups if str(g.id) == group_id), None)
    if group is not None and errors.get("group_id") == [_("Full.")]:
        return _(
            "%(name)s was not moved: %(group)s is full. Cancel someone there first, or raise "
            "the group's capacity.",
            name=name,
            group=group.name,
        )
    details = " ".join(m for messages in errors.values() for m in messages)
    return _("%(name)s was not moved: %(reason)s", name=name, reason=details or exc.message)


def _promoted_message(promoted: list[Registration]) -> str:
    return _(
        "Promoted from the waitlist (mailed): %(names)s", names=", ".join(r.name for r in promoted)
    )


@bp.route(
    "/staff/events/<int:event_id>/registrations/<int:registration_id>/cancel",
    methods=["GET", "POST"],
)
@staff_required
def cancel_registration_on_behalf(event_id: int, registration_id: int) -> Any:
    """GET asks for confirmation; POST cancels, mails the person and promotes the waitlist."""
    event = _event(event_id)
    registration = _registration(event, registration_id)
    if request.method == "GET" or registration.status == CANCELLED:
        if registration.status == CANCELLED:
            flash(
                _("The registration of %(name)s is cancelled.", name=registration.name), "success"
            )
            return _back_to_list(event, registration.id)
        return render_template(
            "events/registrations_cancel.html",
            event=event,
            registration=registration,
            association=staff.door_row(db.session, event, registration.id).association,
            list_args=_list_args(),
        )
    promoted = services.cancel_registration(
        db.session, registration.id, now=utcnow(), by_staff=True
    )
    db.session.commit()
    mail_tasks.kick_outbox()
    flash(
        _(
            "The registration of %(name)s was cancelled and they were told by e-mail.",
            name=registration.name,
        ),
        "success",
    )
    if promoted:
        flash(_promoted_message(promoted), "success")
    return _back_to_list(event, registration.id)


def _phone_form(
    event: Event, seats: services.Availability, *, bound: bool
) -> PhoneRegistrationForm:
    definition = services.event_form(db.session, event)
    form_class = phone_form_class(definition.schema if definition else None, current_locale())
    if bound:
        form = form_class()
    else:
        form = form_class(formdata=None, data={"submission_key": secrets.token_urlsafe(24)})
    form.association_id.choices = association_choices(
        staff.list_active_associations(db.session), _("No association")
    )
    form.group_id.choices = [
        SelectChoice("", _("Choose a group")),
        *(
            SelectChoice(str(g.id), _group_label(g.name, seats.groups.get(g.id)))
            for g in event.groups
        ),
    ]
    form.seats.choices = seat_choices(event)
    return form


def _group_label(name: str, free: int | None) -> str:
    if free is None:
        return name
    if free <= 0:
        return _("%(name)s (full: waitlist)", name=name)
    return _("%(name)s (%(free)s free)", name=name, free=free)


def _phone_page(
    event: Event, form: PhoneRegistrationForm, seats: services.Availability, status: int = 200
) -> Response:
    question_keys = [
        q["key"]
        for q in getattr(form, "form_schema", {}).get("questions", [])
        if q["type"] != "info"
    ]
    page = render_template(
        "events/registrations_new.html",
        event=event,
        form=form,
        question_keys=question_keys,
        availability=seats,
        list_args=_list_args(),
    )
    return make_response(page, status)


@bp.get("/staff/events/<int:event_id>/registrations/new")
@staff_required
def new_registration(event_id: int) -> Response:
    event = _event(event_id)
    seats = services.availability(db.session, event)
    return _phone_page(event, _phone_form(event, seats, bound=False), seats)


@bp.post("/staff/events/<int:event_id>/registrations/new")
@staff_required
@redisplay_on_csrf_error
def add_registration(event_id: int) -> Response:
    event = _event(event_id)
    seats = services.availability(db.session, event)
    form = _phone_form(event, seats, bound=True)
    if not form.validate_on_submit():
        return _phone_page(event, form, seats, 422)
    data = form.registration_input()
    if hasattr(form, "form_schema"):
        data.answers = engine.answers_from_form(form, form.form_schema)
    try:
        outcome = services.register(
            db.session,
            event.id,
            data,
            now=utcnow(),
            manage_url=services.manage_link_url,
            by_staff=True,
        )
    except Invalid as exc:
        db.session.rollback()
        show_errors(form, exc)
        return _phone_page(_event(event_id), form, seats, 422)
    except (WrongState, Busy) as exc:
        db.session.rollback()
        form.form_errors.append(exc.message)
        return _phone_page(
            _event(event_id), form, seats, 422 if isinstance(exc, WrongState) else 409
        )
    db.session.commit()
    mail_tasks.kick_outbox()
    registration = outcome.registration
    if outcome.already_registered:
        flash(
            _("%(email)s was already registered; nothing was changed.", email=registration.email),
            "error",
        )
    elif outcome.waitlisted:
        flash(
            _("%(name)s was put on the waitlist and told by e-mail.", name=registration.name),
            "success",
        )
    elif not outcome.duplicate:
        flash(
            _("%(name)s was registered and sent a confirmation.", name=registration.name), "success"
        )
    return redirect(
        url_for(
            "events.list_registrations",
            event_id=event.id,
            _anchor=f"registration-{registration.id}",
        )
    )


# --- attendance, from the list and at the door ----------------------------------------------


def _wants_attended() -> bool:
    return request.form.get("attended") == "1"


@bp.post("/staff/events/<int:event_id>/registrations/<int:registration_id>/attended")
@staff_required
def mark_registration_attended(event_id: int, registration_id: int) -> Response:
    event = _event(event_id)
    registration = _registration(event, registration_id)
    attended = _wants_attended()
    try:
        services.mark_attended(db.session, registration.id, attended, now=utcnow())
    except WrongState as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back_to_list(event, registration_id)
    db.session.commit()
    if attended:
        flash(_("%(name)s marked attended.", name=registration.name), "success")
    else:
        flash(_("%(name)s no longer marked attended.", name=registration.name), "success")
    return _back_to_list(event, registration.id)


def _door_page(event: Event, walk_in: WalkInForm, status: int = 200) -> Response:
    q = request.args.get("q", "")
    door = staff.door_list(db.session, event, q)
    page = render_template(
        "events/checkin.html",
        event=event,
        door=door,
        walk_in=walk_in,
    )
    return make_response(page, status)


def _walk_in_form(event: Event, *, bound: bool) -> WalkInForm:
    form = WalkInForm() if bound else WalkInForm(formdata=None)
    form.association_id.choices = association_choices(
        staff.list_active_associations(db.session), _("No association")
    )
    form.group_id.choices = group_choices(event, _("No group"))
    return form


@bp.get("/staff/events/<int:event_id>/checkin")
@staff_required
def show_checkin(event_id: int) -> Any:
    """The door: search by name; htmx asks for the results only as the search is typed."""
    event = _event(event_id)
    if is_htmx():
        door = staff.door_list(db.session, event, request.args.get("q", ""))
        return render_template(
            "events/_checkin_results.html", event=event, door=door, htmx_search=True
        )
    return _door_page(event, _walk_in_form(event, bound=False))


@bp.post("/staff/events/<int:event_id>/checkin/<int:registration_id>")
@staff_required
def check_in_registration(event_id: int, registration_id: int) -> Response:
    """Tick someone in (or untick). htmx gets the person's row back, with the counts and a
    status message swapped out of band; without JavaScript, back to the same search."""
    event = _event(event_id)
    registration = _registration(event, registration_id)
    attended = _wants_attended()
    q = " ".join(request.form.get("q", "").split())[: staff.SEARCH_MAX]
    problem = ""
    try:
        services.mark_attended(db.session, registration.id, attended, now=utcnow())
    except WrongState as exc:
        db.session.rollback()
        problem = exc.message
    else:
        db.session.commit()
    if problem:
        notice = problem
    elif attended:
        notice = _("%(name)s marked attended.", name=registration.name)
    else:
        notice = _("%(name)s no longer marked attended.", name=registration.name)
    if is_htmx():
        row = staff.door_row(db.session, event, registration.id)
        return make_response(
            render_template(
                "events/_checkin_row.html",
                event=event,
                row=row,
                q=q,
                notice=notice,
                problem=bool(problem),
                counts=staff.door_counts(db.session, event),
                htmx_response=True,
            )
        )
    flash(notice, "error" if problem else "success")
    return redirect(
        url_for(
            "events.show_checkin",
            event_id=event.id,
            q=q or None,
            _anchor=f"door-{registration.id}",
        )
    )


@bp.post("/staff/events/<int:event_id>/checkin/walk-in")
@staff_required
@redisplay_on_csrf_error
def add_walk_in(event_id: int) -> Response:
    event = _event(event_id)
    form = _walk_in_form(event, bound=True)
    if not form.validate_on_submit():
        return _door_page(event, form, 422)
    try:
        registration = services.add_walk_in(
            db.session,
            event.id,
            name=form.name.data or "",
            email=form.email.data or "",
            association_id=form.association_id.data or None,
            group_id=form.group_id.data or None,
            now=utcnow(),
        )
    except Invalid as exc:
        db.session.rollback()
        show_errors(form, exc)
        return _door_page(_event(event_id), form, 422)
    except WrongState as exc:
        db.session.rollback()
        form.form_errors.append(exc.message)
        return _door_page(_event(event_id), form, 422)
    db.session.commit()
    flash(_("%(name)s added as a walk-in and marked attended.", name=registration.name), "success")
    return redirect(
        url_for(
            "events.show_checkin",
            event_id=event.id,
            q=registration.name,
            _anchor=f"door-{registration.id}",
        )
    )
