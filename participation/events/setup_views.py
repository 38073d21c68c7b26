"""The organiser's event pages under /staff/events: the list, creating, editing and duplicating
an event, its breakout groups, registration questions, distribution list and invitations,
publishing and cancelling."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from participation.accounts.forms import ConfirmForm
from participation.accounts.policy import staff_required
from participation.db import utcnow
from participation.errors import Conflict, DomainError, Invalid, WrongState
from participation.events import bp, services, setup
from participation.events.models import Event
from participation.events.policy import get_event_for, sees_all_events
from participation.events.setup_forms import (
    KIND_LABELS,
    CancelEventForm,
    DuplicateForm,
    EventForm,
    GroupForm,
    event_data,
)
from participation.extensions import db
from participation.mail import tasks as mail_tasks
from participation.pagination import Page, page_arg, page_size
from participation.register.distribution import list_invitable_associations
from participation.register.forms import DistributionForm
from participation.web import absolute_url, is_htmx, redisplay_on_csrf_error, show_errors

HELSINKI = ZoneInfo("Europe/Helsinki")
EXPIRED = "The form had expired or came from elsewhere. Go back, reload the page and send it again."


def _event(event_id: int) -> Event:
    """The event if the signed-in user may run it (NotFound, Forbidden otherwise); every view of
    one event starts here."""
    return get_event_for(db.session, event_id, user=current_user)


def _admin(event_id: int, anchor: str | None = None) -> Response:
    return redirect(url_for("events.show_event_admin", event_id=event_id, _anchor=anchor))


def _public_url(event: Event) -> str | None:
    """The event's public address, when the public pages are there to link to."""
    try:
        return absolute_url("events.show_event", slug=event.slug)
    except BuildError:
        return None


def _staff_page(path: str) -> str | None:
    """`path` if a staff page answers GET there (the registrations and door pages come with
    their own module), so this page links to them without knowing their endpoint names."""
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except (HTTPNotFound, MethodNotAllowed):
        return None
    return path


# --- the list -------------------------------------------------------------------------------


@bp.get("/staff/events")
@staff_required
def list_staff_events() -> str:
    page, now = page_arg(request.args), utcnow()
    mine = None if sees_all_events(current_user) else current_user.id
    rows, total = setup.list_events(
        db.session, now=now, page=page, per_page=page_size(), created_by_id=mine
    )
    return render_template(
        "events/staff_events.html",
        results=Page(rows, page, page_size(), total),
        upcoming=[r for r in rows if r.event.ends_at > now],
        past=[r for r in rows if r.event.ends_at <= now],
        now=now,
        kinds=KIND_LABELS,
    )


# --- creating and changing ------------------------------------------------------------------


def _next_evening(now: dt.datetime, days: int = 14) -> dt.datetime:
    """17.00 Helsinki time `days` from now: a typical association evening."""
    local = (now.astimezone(HELSINKI) + dt.timedelta(days=days)).replace(
        hour=17, minute=0, second=0, microsecond=0
    )
    return local.astimezone(dt.UTC)


@bp.route("/staff/events/new", methods=["GET", "POST"])
@staff_required
@redisplay_on_csrf_error
def create_event() -> str | Response:
    now = utcnow()
    start = _next_evening(now)
    form = EventForm(
        data={
            "starts_at": start,
            "ends_at": start + dt.timedelta(hours=3),
            "registration_opens_at": now.replace(second=0, microsecond=0),
            "registration_closes_at": start - dt.timedelta(days=2),
        }
    )
    if form.validate_on_submit():
        try:
            event = setup.create_event(
                db.session, form.values(), staff_user_id=current_user.id, now=now
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(
                _("The event was created with three registration questions: coffee, special "
                  "diet and accessibility needs."),
                "success",
            )  # fmt: skip
            return _admin(event.id)
    return render_template("events/staff_event_form.html", form=form, event=None)


@bp.route("/staff/events/<int:event_id>/edit", methods=["GET", "POST"])
@staff_required
@redisplay_on_csrf_error
def edit_event(event_id: int) -> str | Response:
    event = _event(event_id)
    form = EventForm(data=event_data(event))
    if event.cancelled_at is None and form.validate_on_submit():
        try:
            told = setup.update_event(
                db.session,
                event_id,
                form.values(),
                now=utcnow(),
                base_url=current_app.config["BASE_URL"],
                manage_url=services.manage_link_url,
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        except WrongState as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            mail_tasks.kick_outbox()
            if told:
                flash(
                    ngettext(
                        "The changes were saved. %(num)s registered person was told of the new "
                        "time or place.",
                        "The changes were saved. %(num)s registered people were told of the new "
                        "time or place.",
                        told,
                    ),
                    "success",
                )
            else:
                flash(_("The changes were saved."), "success")
            return _admin(event_id)
    return render_template(
        "events/staff_event_form.html",
        form=form,
        event=event,
        registrations=setup.event_figures(db.session, event),
    )


@bp.route("/staff/events/<int:event_id>/duplicate", methods=["GET", "POST"])
@staff_required
@redisplay_on_csrf_error
def duplicate_event(event_id: int) -> str | Response:
    source = _event(event_id)
    form = DuplicateForm(data=setup.suggest_copy(source, utcnow()))
    if form.validate_on_submit():
        try:
            copy = setup.duplicate_event(
                db.session, event_id, form.values(), staff_user_id=current_user.id, now=utcnow()
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(
                _("The copy was made. Check its settings, then publish it and send the "
                  "invitations."),
                "success",
            )  # fmt: skip
            return _admin(copy.id)
    return render_template("events/staff_duplicate.html", form=form, source=source)


# --- the organiser's page -------------------------------------------------------------------


@bp.get("/staff/events/<int:event_id>")
@staff_required
def show_event_admin(event_id: int) -> str:
    event = _event(event_id)
    now = utcnow()
    invitations = setup.list_invitations(db.session, event_id)
    distribution = DistributionForm(data={"association_ids": [a.id for _i, a in invitations]})
    distribution.association_ids.choices = [
        SelectChoice(a.id, a.name) for a in list_invitable_associations(db.session)
    ]
    return render_template(
        "events/staff_event.html",
        event=event,
        now=now,
        state=event.registration_state(now),
        kinds=KIND_LABELS,
        figures=setup.event_figures(db.session, event),
        questions=setup.registration_questions(db.session, event),
        public_url=_public_url(event) if event.published_at else None,
        registrations_url=_staff_page(f"/staff/events/{event.id}/registrations"),
        checkin_url=_staff_page(f"/staff/events/{event.id}/checkin"),
        invitations=invitations,
        unsent=sum(1 for i, _a in invitations if i.sent_at is None),
        distribution=distribution,
        confirm=ConfirmForm(),
    )


@bp.post("/staff/events/<int:event_id>/publish")
@staff_required
def publish_event(event_id: int) -> Response:
    _event(event_id)
    if ConfirmForm().validate_on_submit():
        try:
            setup.publish_event(db.session, event_id, now=utcnow())
        except WrongState as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("The event is published."), "success")
    return _admin(event_id)


@bp.post("/staff/events/<int:event_id>/unpublish")
@staff_required
def unpublish_event(event_id: int) -> Response:
    _event(event_id)
    if ConfirmForm().validate_on_submit():
        try:
            setup.unpublish_event(db.session, event_id, now=utcnow())
        except WrongState as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("The event is no longer shown on the public pages."), "success")
    return _admin(event_id)


@bp.route("/staff/events/<int:event_id>/cancel", methods=["GET", "POST"])
@staff_required
@redisplay_on_csrf_error
def cancel_event(event_id: int) -> str | Response:
    event = _event(event_id)
    form = CancelEventForm()
    if event.cancelled_at is None and form.validate_on_submit():
        try:
            told = setup.cancel_event(
                db.session,
                event_id,
                message=form.message.data or "",
                now=utcnow(),
                base_url=current_app.config["BASE_URL"],
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            mail_tasks.kick_outbox()
            flash(
                ngettext(
                    "The event was cancelled and %(num)s registered person was told.",
                    "The event was cancelled and %(num)s registered people were told.",
                    told,
                ),
                "success",
            )
            return _admin(event_id)
    return render_template(
        "events/staff_cancel.html",
        form=form,
        event=event,
        figures=setup.event_figures(db.session, event),
    )


# --- breakout groups ------------------------------------------------------------------------


@bp.route("/staff/events/<int:event_id>/groups/new", methods=["GET", "POST"])
@staff_required
@redisplay_on_csrf_error
def add_group(event_id: int) -> str | Response:
    event = _event(event_id)
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = setup.add_group(db.session, event_id, form.values(), now=utcnow())
        except Invalid as exc:
            show_errors(form, exc)
        except WrongState as exc:
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            flash(_("The group “%(name)s” was added.", name=group.name), "success")
            return _admin(event_id, "groups")
    return render_template("events/staff_group_form.html", form=form, event=event, group=None)


@bp.route("/staff/events/<int:event_id>/groups/<int:group_id>/edit", methods=["GET", "POST"])
@staff_required
@redisplay_on_csrf_error
def edit_group(event_id: int, group_id: int) -> str | Response:
    event = _event(event_id)
    group = setup.get_group(db.session, event_id, group_id)
    form = GroupForm(
        data={
            "name": group.name,
            "description": group.description,
            "capacity": "" if group.capacity is None else str(group.capacity),
            "facilitator": group.facilitator,
        }
    )
    if form.validate_on_submit():
        try:
            setup.update_group(db.session, event_id, group_id, form.values(), now=utcnow())
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        else:
            db.session.commit()
            mail_tasks.kick_outbox()  # anyone promoted by more seats
            flash(_("The changes were saved."), "success")
            return _admin(event_id, "groups")
    return render_template("events/staff_group_form.html", form=form, event=event, group=group)


def _after_group_change(event_id: int, message: str, category: str = "success") -> Any:
    """The group table alone for htmx (with the message in its status region), else back to
    the event's page with the message flashed."""
    if is_htmx():
        event = _event(event_id)
        return render_template(
            "events/staff_groups.html",
            event=event,
            figures=setup.event_figures(db.session, event),
            confirm=ConfirmForm(),
            status_message=message,
            status_category=category,
        )
    flash(message, category)
    return _admin(event_id, "groups")


@bp.post("/staff/events/<int:event_id>/groups/<int:group_id>/move")
@staff_required
def move_group(event_id: int, group_id: int) -> Any:
    _event(event_id)
    if not ConfirmForm().validate_on_submit():
        return _after_group_change(event_id, _(EXPIRED), "error")
    offset = -1 if request.form.get("direction") == "up" else 1
    setup.move_group(db.session, event_id, group_id, offset, now=utcnow())
    db.session.commit()
    message = _("The group was moved up.") if offset < 0 else _("The group was moved down.")
    return _after_group_change(event_id, message)


@bp.post("/staff/events/<int:event_id>/groups/<int:group_id>/remove")
@staff_required
def remove_group(event_id: int, group_id: int) -> Any:
    _event(event_id)
    if not ConfirmForm().validate_on_submit():
        return _after_group_change(event_id, _(EXPIRED), "error")
    try:
        setup.remove_group(db.session, event_id, group_id, now=utcnow())
    except Conflict as exc:
        db.session.rollback()
        return _after_group_change(event_id, exc.message, "error")
    db.session.commit()
    return _after_group_change(event_id, _("The group was removed."))


# --- registration questions -----------------------------------------------------------------


@bp.post("/staff/events/<int:event_id>/questions")
@staff_required
def add_questions(event_id: int) -> Response:
    _event(event_id)
    if ConfirmForm().validate_on_submit():
        try:
            setup.ensure_questions(
                db.session, event_id, staff_user_id=current_user.id, now=utcnow()
            )
        except Conflict as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("The event has its registration questions again."), "success")
    return _admin(event_id, "questions")


# --- the distribution list and invitations --------------------------------------------------


@bp.post("/staff/events/<int:event_id>/distribution")
@staff_required
def save_distribution(event_id: int) -> Response:
    _event(event_id)
    form = DistributionForm()
    if form.validate_on_submit():
        try:
            added, removed = setup.save_distribution(
                db.session, event_id, form.association_ids.data or [], now=utcnow()
            )
        except (Invalid, Conflict) as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(
                _("The distribution list was saved (%(added)s added, %(removed)s removed).",
                  added=added, removed=removed),
                "success",
            )  # fmt: skip
    return _admin(event_id, "distribution")


@bp.post("/staff/events/<int:event_id>/invitations")
@staff_required
def send_invitations(event_id: int) -> Response:
    event = _event(event_id)
    if ConfirmForm().validate_on_submit():
        link = _public_url(event) or ""
        try:
            result = setup.send_invitations(db.session, event_id, link=link, now=utcnow())
        except WrongState as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            mail_tasks.kick_outbox()
            flash(result.sent_text(), "success")
            if result.without_email:
                flash(result.without_email_text(), "error")
    return _admin(event_id, "distribution")
