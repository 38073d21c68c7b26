"""The participant's side of events: the public list, the event page with its registration
form, the .ics file and the calendar feed, and each registrant's own link /events/manage/<token>.

The registration form works as a plain POST (then a redirect) and in place with htmx; whatever
goes wrong (a field, a closed registration, a busy moment, too many sends, an expired form) the
typed text comes back with the message."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.exceptions import TooManyRequests
from wtforms.fields.choices import SelectChoice

import forms as engine
from participation.accounts.forms import ConfirmForm
from participation.db import read_only, utcnow
from participation.errors import Busy, Invalid, NotFound, WrongState
from participation.events import bp, ics, public, services
from participation.events.forms import (
    ChangeForm,
    RegistrationForm,
    input_from_formdata,
    new_submission_key,
    registration_form_class,
)
from participation.events.models import CANCELLED, CONFIRMED, WAITLISTED, Event, Registration
from participation.events.setup_forms import KIND_LABELS
from participation.events.staff_forms import seat_choices
from participation.extensions import db
from participation.i18n import HELSINKI, current_locale
from participation.kept import Kept
from participation.mail import tasks as mail_tasks
from participation.pagination import Page, page_arg
from participation.privacy import services as privacy
from participation.register.distribution import list_invitable_associations
from participation.tokens import LinkExpired, LinkInvalid
from participation.web import (
    check_rate_limit,
    csrf_checked,
    is_htmx,
    limits_itself,
    redisplay_on_csrf_error,
    render_error,
    render_link_problem,
    show_errors,
)

# What the page says after a registration (?registered=…): no names, no addresses.
OUTCOMES = (CONFIRMED, WAITLISTED, "already")
PUBLIC_PAGE_SIZE = 10


@bp.app_template_filter("event_kind")
def event_kind(kind: str) -> str:
    label = KIND_LABELS.get(kind)
    return str(label) if label is not None else kind


@bp.app_template_filter("event_when")
def event_when(event: Event) -> str:
    """ "Thursday 12 March 2027 17:00–20:00" in Helsinki time; both dates when it spans days."""
    zone = ZoneInfo(HELSINKI)
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    if start.date() == end.date():
        return _(
            "%(date)s, %(start)s–%(end)s",
            date=format_date(event.starts_at, "full"),
            start=format_time(event.starts_at, "short"),
            end=format_time(event.ends_at, "short"),
        )
    return _(
        "%(start_date)s %(start)s – %(end_date)s %(end)s",
        start_date=format_date(event.starts_at, "full"),
        start=format_time(event.starts_at, "short"),
        end_date=format_date(event.ends_at, "full"),
        end=format_time(event.ends_at, "short"),
    )


# --- the list, the calendar -------------------------------------------------------------------


@bp.get("/events")
def list_events() -> str:
    page = page_arg(request.args)
    rows, total = public.list_public_events(
        db.session, now=utcnow(), page=page, per_page=PUBLIC_PAGE_SIZE
    )
    return render_template(
        "events/events.html", results=Page(rows, page, PUBLIC_PAGE_SIZE, total), now=utcnow()
    )


@bp.get("/events/calendar.ics")
def calendar_feed() -> Response:
    body = ics.calendar_feed(
        public.feed_events(db.session, now=utcnow()),
        base_url=current_app.config["BASE_URL"],
        name=current_app.config["MUNICIPALITY_NAME"],
    )
    return Response(body, mimetype="text/calendar")


@bp.get("/events/<slug>/event.ics")
def event_ics(slug: str) -> Response:
    event = services.get_event_by_slug(db.session, slug)
    body = ics.event_ics(event, base_url=current_app.config["BASE_URL"])
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{event.slug}.ics"'},
    )


# --- the event page and its registration form -------------------------------------------------


@dataclass
class Area:
    """The registration area of the page: a form (fresh or as sent), a message, or the
    outcome of a registration just made."""

    form: Any = None
    notice: str = ""
    # "confirmed", "waitlisted" or "already" once sent.
    outcome: str = ""
    can_send: bool = True


def _association_choices() -> list[SelectChoice]:
    """Read once per request (a refused post may build the form twice)."""
    cached = g.get("event_association_choices")
    if cached is None:
        cached = [SelectChoice("", _("None – I come as a resident"))] + [
            SelectChoice(str(a.id), a.name) for a in list_invitable_associations(db.session)
        ]
        g.event_association_choices = cached
    return cached


def _group_choices(
    event: Event, seats: services.Availability, current: int | None = None
) -> list[SelectChoice]:
    choices = []
    for group in event.groups:
        free = seats.groups.get(group.id)
        if group.id == current:
            note = _("your group now")
        elif free is None:
            note = ""
        elif free <= 0:
            note = _("full – waitlist")
        else:
            note = _("%(n)s free", n=free)
        label = f"{group.name} ({note})" if note else group.name
        choices.append(SelectChoice(str(group.id), label))
    return choices


def _registration_form(found: services.FormEvent, *, bound: bool) -> RegistrationForm:
    """The form with the event's questions, without choices: a posted form needs only their
    values, and `_context` puts them in (the groups with their seats) before it is shown."""
    form_class = registration_form_class(found.form_schema, current_locale())
    if bound:
        return form_class(prefix="reg")
    return form_class(
        prefix="reg", formdata=None, data={"submission_key": new_submission_key(), "seats": "1"}
    )


def _consent_text(event: Event) -> str:
    text = privacy.find_current_consent_text(
        db.session, event.consent_key
    ) or privacy.find_current_consent_text(db.session, services.EVENT_CONSENT)
    return text.text(current_locale()) if text else ""


def _state_notice(event: Event, now: dt.datetime) -> str:
    """Why a form sent now takes nothing (empty while registration is open)."""
    try:
        services.check_open(event, now)
    except WrongState as exc:
        return exc.message
    return ""


def _context(found: services.FormEvent, area: Area, *, now: dt.datetime) -> dict[str, Any]:
    event = found.event
    seats = services.availability(db.session, event)
    state = event.registration_state(now)
    if area.form is None and state == "open" and not area.outcome:
        area.form = _registration_form(found, bound=False)
    if area.form is not None:
        area.form.association_id.choices = _association_choices()
        area.form.seats.choices = seat_choices(event)
        area.form.group_id.choices = _group_choices(event, seats)
        if state != "open":
            area.can_send = False
            area.notice = area.notice or _state_notice(event, now)
    return {
        "event": event,
        "state": state,
        "seats": seats,
        "area": area,
        "consent_text": _consent_text(event),
        "participants": public.public_participants(db.session, event),
        "question_keys": _question_keys(area.form),
    }


def _question_keys(form: Any) -> list[str]:
    schema = getattr(form, "form_schema", None)
    return _question_keys_of(schema) if schema else []


def _page(found: services.FormEvent, area: Area, *, now: dt.datetime) -> str:
    return render_template("events/event.html", **_context(found, area, now=now))


def _respond(found: services.FormEvent, area: Area, *, now: dt.datetime, status: int = 200) -> Any:
    """The whole page, or for htmx only the registration area: htmx swaps only 2xx answers,
    and the kept text with its message must reach the page."""
    if is_htmx():
        return render_template(
            "events/_registration.html", in_place=True, **_context(found, area, now=now)
        )
    body = _page(found, area, now=now)
    return body if status == 200 else (body, status)


@bp.get("/events/<slug>")
def show_event(slug: str) -> str:
    now = utcnow()
    found = services.get_event_for_form(db.session, slug)
    if privacy.find_current_consent_text(db.session, services.EVENT_CONSENT) is None:
        services.ensure_event_consent_text(db.session, now)
        db.session.commit()
    outcome = request.args.get("registered", "")
    return _page(found, Area(outcome=outcome if outcome in OUTCOMES else ""), now=now)


def _registration_limit() -> str:
    return current_app.config.get("EVENT_REGISTRATION_RATE_LIMIT", "20 per minute")


def _registered(
    found: services.FormEvent,
    outcome: str,
    *,
    now: dt.datetime,
    seats: services.Availability | None = None,
) -> Any:
    """Where a sent form ends: redirected to the page, or for htmx the outcome in place with
    the seats left (`seats` as counted under the lock; counted now when not given)."""
    event = found.event
    if not is_htmx():
        return redirect(
            url_for("events.show_event", slug=event.slug, registered=outcome) + "#registration"
        )
    if seats is None:
        return _respond(found, Area(outcome=outcome), now=now)
    state = event.registration_state(now)
    # The answer depends on nothing else: once an event is full, everyone waitlisted in a
    # burst gets the same one.
    key = (
        current_app._get_current_object(),  # type: ignore[attr-defined]
        current_locale(),
        request.script_root,
        event.slug,
        outcome,
        state,
        event.capacity,
        seats.free,
        tuple((group.id, seats.groups.get(group.id)) for group in event.groups),
    )
    return _registered_answers.get_or_make(
        key,
        lambda: render_template(
            "events/_registered.html",
            event=event,
            state=state,
            seats=seats,
            area=Area(outcome=outcome),
        ),
    )


# The htmx answers to registrations (events/_registered.html), by everything they show.
_registered_answers: Kept[tuple[Any, ...], str] = Kept(256)


def _end_reads() -> None:
    """End the transaction of the reads before the write. On SQLite a deferred transaction
    that then writes fails when another writer committed meanwhile; a new one begins
    IMMEDIATE and holds the write lock only for the write. PostgreSQL reads committed data
    afresh in every statement, so there the write goes on in the same transaction (a COMMIT
    and a BEGIN fewer)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.commit()


# The facts a registration reads of each event (`services.get_event_for_form`), kept in this
# process by app and slug, outside any session: a registration reads nothing before the lock,
# which tells whether they are still those (`services.lock_event`). Each changed fact bumps the
# event's `updated_at`, or is the consent text or the form's schema, returned with the lock.
_kept_events: Kept[tuple[Any, str], services.FormEvent] = Kept(256)


def _kept_event(slug: str) -> services.FormEvent | None:
    """The event's kept facts, read (and kept) when there are none; None when the event is not
    there to register to (the full path answers)."""
    key = (current_app._get_current_object(), slug)  # type: ignore[attr-defined]
    found = _kept_events.get(key)
    if found is not None:
        return found
    # Read in a session of its own, closed at once: its objects belong to no session then, so
    # nothing this or a later request does expires or refreshes them. (Bound to a connection,
    # as in tests, the read is in a savepoint rolled back on closing.)
    with (
        read_only(),
        Session(bind=db.session.get_bind(), join_transaction_mode="create_savepoint") as reader,
    ):
        try:
            found = services.get_event_for_form(reader, slug)
        except NotFound:
            return None
    if found.consent_text_id is None:  # the full path publishes the default text
        return None
    return _kept_events.put(key, found)


def _forget_event(slug: str) -> None:
    _kept_events.forget((current_app._get_current_object(), slug))  # type: ignore[attr-defined]


def _register_kept(found: services.FormEvent, *, now: dt.datetime) -> Any:
    """A registration on the event's kept facts: the answer, or None when anything but a stored
    registration would be (a refusal, a bot, the facts changed): the full path decides that."""
    if not csrf_checked():  # the form's own check refuses it (the full path re-shows it)
        return None
    form_class = registration_form_class(found.form_schema, current_locale())
    data = input_from_formdata(form_class, request.form, current_locale())
    if data is None:
        return None
    with read_only():
        try:
            pending = _prepared(found, data, getattr(form_class, "form_schema", None), now=now)
        except (Invalid, WrongState):
            db.session.rollback()
            return None
        if db.session().in_transaction():  # read an association: no transaction otherwise
            _end_reads()
    return _store(found, pending, now=now, kept=True)


def _store(
    found: services.FormEvent,
    pending: services.Pending,
    *,
    now: dt.datetime,
    area: Area | None = None,
    kept: bool = False,
) -> Any:
    """Store a prepared registration and answer as a sent form ends (`_registered`), or with
    the form again and its message when registration closed meanwhile (409) or the lock was
    not had in time (503). `kept`: `found` are the facts kept from an earlier request; None
    when they changed since (forgotten: the full path reads them afresh)."""
    try:
        stored = services.store_registration(
            db.session,
            pending,
            now=now,
            manage_url=services.manage_link_url,
            kept=found if kept else None,
        )
    except services.Stale:
        db.session.rollback()
        _forget_event(found.event.slug)
        return None
    except (WrongState, Busy) as exc:
        # Decided on facts found current under the lock: answered as the full path does (not
        # sent through it, which would wait for the lock again).
        db.session.rollback()
        area = area or Area(form=_registration_form(found, bound=True))
        area.notice = exc.message
        with read_only():
            if kept:
                found = services.get_event_for_form(db.session, found.event.slug)
            return _refused(
                found, area, now=now, status=409 if isinstance(exc, WrongState) else 503
            )
    db.session.commit()
    mail_tasks.kick_outbox()
    outcome = "already" if stored.already_registered else stored.status
    return _registered(found, outcome, now=now, seats=stored.seats)


@bp.post("/events/<slug>/register")
@redisplay_on_csrf_error
@limits_itself
def register(slug: str) -> Any:
    check_rate_limit(_registration_limit())
    now = utcnow()
    found = _kept_event(slug)
    if found is not None:
        answer = _register_kept(found, now=now)
        if answer is not None:
            return answer
    # Everything but the seat count and the rows is read and checked first, without the
    # write lock (SQLite) or the event's lock: the form, the event, the mail with its .ics.
    with read_only():
        found = services.get_event_for_form(db.session, slug)
        form = _registration_form(found, bound=True)
        area = Area(form=form)
        pending, status = None, 200
        if form.validate_on_submit():
            if (form.homepage.data or "").strip():
                return _registered(found, CONFIRMED, now=now)  # a bot: told it worked, nothing kept
            pending, status = _prepare(found, form, area, now=now)
        elif request.method == "POST" and not form.csrf_token.errors:
            # The questions failed: show what is wrong about the person at the same time.
            _values, errors = services.check_registration_input(
                db.session, found.event, form.registration_input(current_locale())
            )
            for name, messages in errors.items():
                form[name].errors = list(messages)
        if pending is None:
            return _refused(found, area, now=now, status=status)
        _end_reads()
    return _store(found, pending, now=now, area=area)


def _prepared(
    found: services.FormEvent,
    data: services.RegistrationInput,
    schema: dict[str, Any] | None,
    *,
    now: dt.datetime,
) -> services.Pending:
    """`services.prepare_registration` on the facts read with the event (raises as it does);
    `schema`: the registration form's, if it has questions."""
    return services.prepare_registration(
        db.session,
        found.event,
        data,
        now=now,
        consent_text_id=found.consent_text_id,
        form_version=schema["version"] if schema is not None else None,
    )


def _prepare(
    found: services.FormEvent, form: RegistrationForm, area: Area, *, now: dt.datetime
) -> tuple[services.Pending | None, int]:
    """The registration checked and its mail written, or None and the answer's status with
    the messages in `form` or `area`."""
    data = form.registration_input(current_locale())
    schema = getattr(form, "form_schema", None)
    if schema is not None:
        data.answers = engine.answers_from_form(form, schema)
    try:
        pending = _prepared(found, data, schema, now=now)
    except Invalid as exc:
        show_errors(form, exc)
        return None, 200
    except WrongState as exc:
        area.notice = exc.message
        return None, 409
    return pending, 200


def _refused(found: services.FormEvent, area: Area, *, now: dt.datetime, status: int) -> Any:
    """The form again as it was sent, with its messages."""
    form = area.form
    if not services.KEY_PATTERN.match(form.submission_key.data or ""):
        form.submission_key.data = new_submission_key()  # a broken form is whole when sent again
    return _respond(found, area, now=now, status=status)


@bp.errorhandler(TooManyRequests)
def _too_many_requests(error: TooManyRequests) -> Any:
    """The registration stays in its form with a message, as after any other refusal."""
    if request.endpoint != "events.register":
        return render_error(429, _("Too many attempts. Wait a minute and try again."))
    found = services.get_event_for_form(db.session, (request.view_args or {}).get("slug", ""))
    area = Area(
        form=_registration_form(found, bound=True),
        notice=_(
            "Many forms have been sent from your connection in a short time. Wait a minute and "
            "send again: what you typed is kept below."
        ),
    )
    return _respond(found, area, now=utcnow(), status=429)


# --- the registrant's own link ----------------------------------------------------------------


@dataclass
class Answer:
    label: str
    value: str


def _answer_rows(schema: dict[str, Any], answers: dict[str, Any]) -> list[Answer]:
    """The stored answers as label and readable value, in the form's order."""
    locale = current_locale()
    rows = []
    for question in engine.validate_schema(schema)["questions"]:
        if question["type"] == "info":
            continue
        value = answers.get(question["key"])
        labels = {o["key"]: engine.text(o["label"], locale) for o in question.get("options", [])}
        if value is None or value == "" or value == []:
            shown = _("Not answered")
        elif isinstance(value, bool):
            shown = _("Yes") if value else _("No")
        elif isinstance(value, list):
            shown = ", ".join(labels.get(str(v), str(v)) for v in value)
        else:
            shown = labels.get(str(value), str(value))
        rows.append(Answer(engine.text(question["label"], locale), shown))
    return rows


def _answers_form(event: Event, registration: Registration, *, bound: bool) -> FlaskForm | None:
    definition = services.event_form(db.session, event)
    if definition is None or not _question_keys_of(definition.schema):
        return None
    form_class = engine.build_form_class(definition.schema, locale=current_locale(), base=FlaskForm)
    if bound:
        return form_class(prefix="answers")
    return form_class(
        prefix="answers", formdata=None, data=services.answers_of(db.session, registration)
    )


def _question_keys_of(schema: dict[str, Any]) -> list[str]:
    return [q["key"] for q in schema.get("questions", []) if q.get("type") != "info"]


def _change_form(
    event: Event, registration: Registration, seats: services.Availability, *, bound: bool
) -> ChangeForm | None:
    if not event.groups and not event.allow_party:
        return None
    if bound:
        form = ChangeForm(prefix="change")
    else:
        form = ChangeForm(
            prefix="change",
            formdata=None,
            data={
                "group_id": str(registration.group_id or ""),
                "seats": str(registration.seats),
            },
        )
    form.group_id.choices = _group_choices(event, seats, registration.group_id)
    form.seats.choices = seat_choices(event)
    return form


def _manage_page(
    token: str,
    *,
    now: dt.datetime,
    change: ChangeForm | None = None,
    answers: FlaskForm | None = None,
    notice: str = "",
    template: str = "events/manage.html",
) -> str:
    registration = services.get_registration_by_link(db.session, token, now)
    event = services.get_event(db.session, registration.event_id)
    state = event.registration_state(now)
    active = registration.status != CANCELLED
    editable = active and state == "open"
    definition = services.event_form(db.session, event)
    return render_template(
        template,
        token=token,
        event=event,
        registration=registration,
        state=state,
        active=active,
        editable=editable,
        # Cancelling stays possible after the deadline, until the event: the seat may go on.
        cancellable=active and state in ("upcoming", "open", "closed"),
        answers=_answer_rows(definition.schema, services.answers_of(db.session, registration))
        if definition is not None
        else [],
        change_form=(
            change
            or _change_form(
                event, registration, services.availability(db.session, event), bound=False
            )
        )
        if editable
        else None,
        answers_form=(answers or _answers_form(event, registration, bound=False))
        if editable
        else None,
        notice=notice,
        confirm=ConfirmForm(),
    )


@bp.get("/events/manage/<token>")
def manage_registration(token: str) -> Any:
    try:
        return _manage_page(token, now=utcnow())
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem("events/link_problem.html", exc)


def _change(token: str, form: Any, *, now: dt.datetime, **changes: Any) -> tuple[str, int]:
    """Save a change from the own link: ("", 200) when saved, else the message and status
    (field messages go beside the fields of `form`)."""
    registration = services.get_registration_by_link(db.session, token, now)
    try:
        _registration, promoted = services.change_registration(
            db.session, registration.id, now=now, **changes
        )
    except Invalid as exc:
        db.session.rollback()
        for name, messages in exc.errors.items():
            if name in form._fields:
                form[name].errors = list(messages)
        return exc.message, 422
    except (WrongState, Busy) as exc:
        db.session.rollback()
        return exc.message, exc.status
    db.session.commit()
    if promoted:
        mail_tasks.kick_outbox()  # the promoted get their mail
    return "", 200


@bp.post("/events/manage/<token>/change")
@redisplay_on_csrf_error
def change_registration(token: str) -> Any:
    now = utcnow()
    try:
        registration = services.get_registration_by_link(db.session, token, now)
        event = services.get_event(db.session, registration.event_id)
        form = _change_form(
            event, registration, services.availability(db.session, event), bound=True
        )
        if form is None:
            return redirect(url_for("events.manage_registration", token=token))
        notice, status = "", 200
        if form.validate_on_submit():
            notice, status = _change(
                token,
                form,
                group_id=form.group_id.data or None,
                seats=form.seats.data or None,
                now=now,
            )
            if status == 200:
                flash(_("Your registration was changed."), "success")
                return redirect(url_for("events.manage_registration", token=token))
        body = _manage_page(token, now=now, change=form, notice=notice)
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem("events/link_problem.html", exc)
    return body if status == 200 else (body, status)


@bp.post("/events/manage/<token>/answers")
@redisplay_on_csrf_error
def change_answers(token: str) -> Any:
    now = utcnow()
    try:
        registration = services.get_registration_by_link(db.session, token, now)
        event = services.get_event(db.session, registration.event_id)
        form = _answers_form(event, registration, bound=True)
        if form is None:
            return redirect(url_for("events.manage_registration", token=token))
        notice, status = "", 200
        if form.validate_on_submit():
            answers = engine.answers_from_form(form, form.form_schema)
            notice, status = _change(token, form, answers=answers, now=now)
            if status == 200:
                flash(_("Your answers were saved."), "success")
                return redirect(url_for("events.manage_registration", token=token))
        body = _manage_page(token, now=now, answers=form, notice=notice)
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem("events/link_problem.html", exc)
    return body if status == 200 else (body, status)


@bp.get("/events/manage/<token>/cancel")
def confirm_cancel(token: str) -> Any:
    try:
        return _manage_page(token, now=utcnow(), template="events/cancel.html")
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem("events/link_problem.html", exc)


@bp.post("/events/manage/<token>/cancel")
def cancel_registration(token: str) -> Any:
    now = utcnow()
    try:
        registration = services.get_registration_by_link(db.session, token, now)
        if not ConfirmForm().validate_on_submit():
            flash(_("The form had expired. Confirm the cancellation again."), "error")
            return redirect(url_for("events.confirm_cancel", token=token))
        try:
            services.cancel_registration(db.session, registration.id, now=now)
        except (WrongState, Busy) as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("events.manage_registration", token=token))
        db.session.commit()
        mail_tasks.kick_outbox()
        flash(_("Your registration was cancelled. Thank you for letting us know."), "success")
        return redirect(url_for("events.manage_registration", token=token))
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem("events/link_problem.html", exc)
