"""Facilitators' links (staff), the facilitator's notes page (no account: a link with a token)
and the coordinator's live overview of the groups during the evening.

The notes page works without JavaScript (one "Save" posts every question); with it,
static/js/facilitator.js keeps each text in the browser's storage and autosaves it per question
through `autosave_note`, which answers in JSON.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_time
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from participation.accounts.policy import staff_required
from participation.db import utcnow
from participation.errors import DomainError, Invalid, NotFound, WrongState
from participation.evenings import bp, notes, planning
from participation.evenings.models import FacilitatorLink, GroupNote
from participation.evenings.notes_forms import LinkForm, NotesForm, RevokeForm, new_key
from participation.events.models import Event
from participation.events.policy import get_event_for
from participation.extensions import db, limiter
from participation.surveys import qr
from participation.tokens import LinkInvalid, token_hash
from participation.web import absolute_url, is_htmx, redisplay_on_csrf_error

DEVICE_COOKIE = "evening_device"
DEVICE_COOKIE_DAYS = 7
# Autosave sends a question's text about once a second while someone types; a link is shared
# by a group's one or two facilitators.
DEFAULT_NOTE_RATE_LIMIT = "300 per minute"


def _event(event_id: int) -> Event:
    return get_event_for(db.session, event_id, user=current_user)


# --- staff: the links ------------------------------------------------------------------------


def _link_forms(event: Event, posted: tuple[int, LinkForm] | None = None) -> dict[int, LinkForm]:
    """A form per group: the posted one as sent (with its errors), fresh ones for the rest."""
    forms = {}
    for group in event.groups:
        if posted is not None and posted[0] == group.id:
            forms[group.id] = posted[1]
        else:
            forms[group.id] = LinkForm(prefix=f"g{group.id}", formdata=None)
    return forms


def _facilitators_page(
    event: Event,
    *,
    posted: tuple[int, LinkForm] | None = None,
    created: tuple[FacilitatorLink, str] | None = None,
    status: int = 200,
) -> Response:
    new_link = None
    if created is not None:
        link, token = created
        url = absolute_url("evenings.facilitator_page", token=token)
        group = next(g for g in event.groups if g.id == link.group_id)
        title = _("QR code of the notes page of %(group)s", group=group.name)
        new_link = {
            "link": link,
            "group": group,
            "url": url,
            "qr": Markup(qr.qr_svg(url, title=title, inline=True, scale=6)),  # noqa: S704
        }
    page = render_template(
        "evenings/facilitators.html",
        event=event,
        evening_page="facilitators",
        groups=notes.list_links(db.session, event),
        forms=_link_forms(event, posted),
        revoke=RevokeForm(),
        new_link=new_link,
        now=utcnow(),
    )
    return make_response(page, status)


@bp.get("/staff/events/<int:event_id>/evening/facilitators")
@staff_required
def list_facilitators(event_id: int) -> Response:
    return _facilitators_page(_event(event_id))


@bp.post("/staff/events/<int:event_id>/evening/facilitators/groups/<int:group_id>/links")
@staff_required
@redisplay_on_csrf_error
def create_facilitator_link(event_id: int, group_id: int) -> Response:
    event = _event(event_id)
    if not any(g.id == group_id for g in event.groups):
        raise NotFound(_("No such breakout group."))
    form = LinkForm(prefix=f"g{group_id}")
    if not form.validate_on_submit():
        return _facilitators_page(
            event, posted=(group_id, form), status=422 if request.form else 400
        )
    try:
        created = notes.create_link(
            db.session,
            event.id,
            group_id,
            label=form.label.data or "",
            submission_key=form.submission_key.data or "",
            created_by_id=current_user.id,
            now=utcnow(),
        )
    except Invalid as exc:
        db.session.rollback()
        form.label.errors = exc.errors.get("label", [])
        if not form.label.errors:
            form.form_errors.append(exc.message)
        return _facilitators_page(_event(event_id), posted=(group_id, form), status=422)
    except WrongState as exc:
        db.session.rollback()
        form.form_errors.append(exc.message)
        return _facilitators_page(_event(event_id), posted=(group_id, form), status=409)
    db.session.commit()
    # Shown on this answer only: the token is not stored, so the page cannot show it again.
    return _facilitators_page(event, created=created)


@bp.post("/staff/events/<int:event_id>/evening/facilitators/revoke")
@staff_required
def revoke_facilitator_link(event_id: int) -> Response:
    event = _event(event_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Reload the page and try again."), "error")
        return redirect(url_for("evenings.list_facilitators", event_id=event.id))
    link = notes.revoke_link(db.session, event.id, form.link_id.data, now=utcnow())
    db.session.commit()
    flash(
        _(
            "The link of %(label)s was revoked: it no longer opens the notes page. The notes "
            "written through it are kept.",
            label=link.label,
        ),
        "success",
    )
    return redirect(url_for("evenings.list_facilitators", event_id=event.id, _anchor="links"))


# --- staff: the live overview ----------------------------------------------------------------


def _overview_context(event: Event) -> dict[str, Any]:
    now = utcnow()
    return {
        "event": event,
        "evening_page": "overview",
        "overview": notes.live_overview(db.session, event, now=now),
        "refreshed_at": now,
    }


@bp.get("/staff/events/<int:event_id>/evening/overview")
@staff_required
def live_overview(event_id: int) -> str:
    return render_template("evenings/overview.html", **_overview_context(_event(event_id)))


@bp.get("/staff/events/<int:event_id>/evening/overview/live")
@staff_required
def refresh_live_overview(event_id: int) -> str | Response:
    """The overview's changing part, polled by the page every few seconds."""
    event = _event(event_id)
    if not is_htmx():
        return redirect(url_for("evenings.live_overview", event_id=event.id))
    return render_template("evenings/_notes_overview.html", **_overview_context(event))


# --- the facilitator's page -----------------------------------------------------------------


def _link_problem(error: LinkInvalid) -> Response:
    """A clear page for an unknown, tampered (404) or revoked (410) link."""
    page = render_template(
        "evenings/facilitator_link_problem.html", revoked=isinstance(error, notes.LinkRevoked)
    )
    return make_response(page, error.status)


def _link_or_problem(token: str) -> FacilitatorLink | Response:
    try:
        return notes.get_link(db.session, token)
    except LinkInvalid as exc:
        return _link_problem(exc)


def _device() -> str:
    """This device's key: the page's own (it came with the form), else the cookie's."""
    for value in (request.form.get("device", ""), request.cookies.get(DEVICE_COOKIE, "")):
        if notes.KEY_PATTERN.match(value):
            return value
    return new_key()


def _keep_device(response: Response, device: str) -> Response:
    if request.cookies.get(DEVICE_COOKIE) != device:
        response.set_cookie(
            DEVICE_COOKIE,
            device,
            max_age=DEVICE_COOKIE_DAYS * 86400,
            path="/f/",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            httponly=True,
            samesite="Lax",
        )
    return response


def _saved_label(note: GroupNote) -> str:
    return _("Saved %(time)s", time=format_time(note.updated_at, "short"))


def _notes_page(
    link: FacilitatorLink,
    token: str,
    device: str,
    *,
    form: NotesForm | None = None,
    typed: dict[int, str] | None = None,
    errors: dict[int, list[str]] | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    """The notes page; `typed` holds texts sent that were not saved, shown instead of the
    stored ones so nothing written is lost."""
    event = db.session.get(Event, link.event_id)
    assert event is not None
    author_key = notes.device_author_key(device)
    mine = notes.device_notes(db.session, link, author_key)
    if form is None:
        name = next((n.author_name for n in mine.values() if n.author_name), "")
        form = NotesForm(formdata=None, data={"author_name": name, "device": device})
    form.device.data = device
    typed = typed or {}
    page = render_template(
        "evenings/facilitator.html",
        event=event,
        group=next(g for g in event.groups if g.id == link.group_id),
        link=link,
        token=token,
        questions=planning.questions(db.session, event.id),
        mine=mine,
        bodies={q: typed.get(q, n.body) for q, n in mine.items()} | typed,
        saved_labels={q: _saved_label(n) for q, n in mine.items()},
        others=notes.others_notes(db.session, link, author_key),
        errors=errors or {},
        form=form,
        message=message,
        is_open=notes.is_open_for_notes(event, utcnow()),
        max_length=notes.MAX_NOTE_LENGTH,
    )
    return _keep_device(make_response(page, status), device)


@bp.get("/f/<token>")
def facilitator_page(token: str) -> Response:
    link = _link_or_problem(token)
    if isinstance(link, Response):
        return link
    return _notes_page(link, token, _device())


def _posted_notes() -> list[notes.NoteInput]:
    found = []
    for key, body in request.form.items():
        if not key.startswith("note-") or not key[5:].isdigit() or len(key) > 20:
            continue
        question_id = int(key[5:])
        raw = request.form.get(f"revision-{question_id}", "")
        revision = int(raw) if raw.isdigit() and len(raw) < 10 else 1
        found.append(notes.NoteInput(question_id=question_id, body=body, revision=revision))
    return found


@bp.post("/f/<token>")
@redisplay_on_csrf_error
def save_facilitator_notes(token: str) -> Response:
    """The page's "Save" button (without JavaScript): every question at once."""
    link = _link_or_problem(token)
    if isinstance(link, Response):
        return link
    device = _device()
    posted = _posted_notes()
    typed = {item.question_id: item.body for item in posted}
    form = NotesForm()
    if not form.validate_on_submit():
        # An expired form (the page says so above the notes) or a too long name.
        status = 400 if form.csrf_token.errors else 422
        return _notes_page(link, token, device, form=form, typed=typed, status=status)
    try:
        result = notes.save_notes(
            db.session,
            link,
            posted,
            author_key=notes.device_author_key(device),
            author_name=form.author_name.data or "",
            now=utcnow(),
        )
    except Invalid as exc:
        db.session.rollback()
        errors = {
            int(k[5:]): v
            for k, v in exc.errors.items()
            if k.startswith("note-") and k[5:].isdigit()
        }
        form.author_name.errors = exc.errors.get("author_name", [])
        return _notes_page(
            link, token, device, form=form, typed=typed, errors=errors,
            message=_("Nothing was saved: check the notes marked below."), status=422,
        )  # fmt: skip
    except (WrongState, NotFound) as exc:
        db.session.rollback()
        link = db.session.get(FacilitatorLink, link.id) or link
        return _notes_page(
            link, token, device, form=form, typed=typed, message=exc.message, status=exc.status
        )
    except LinkInvalid as exc:  # revoked a moment ago
        db.session.rollback()
        return _link_problem(exc)
    db.session.commit()
    if result.stale:
        stale = {q: typed[q] for q in result.stale}
        errors = {
            q: [
                _(
                    "This device had saved a newer text of this note (perhaps in another tab), "
                    "so the text below was not saved. Check it and save again."
                )
            ]
            for q in result.stale
        }
        return _notes_page(
            link, token, device, form=form, typed=stale, errors=errors,
            message=_("Some notes were not saved: see below."), status=409,
        )  # fmt: skip
    flash(_("The notes were saved %(time)s.", time=format_time(utcnow(), "short")), "success")
    response = redirect(url_for("evenings.facilitator_page", token=token), code=303)
    return _keep_device(response, device)


def _json_error(error: DomainError, *, field: str | None = None, retry: bool = False) -> Response:
    response = jsonify(
        error=error.message or _("The note was not saved."), field=field, retry=retry
    )
    response.status_code = error.status
    return response


def _note_rate_limit() -> str:
    return str(current_app.config.get("FACILITATOR_NOTE_RATE_LIMIT", DEFAULT_NOTE_RATE_LIMIT))


def _note_rate_key() -> str:
    return "evening-note:" + token_hash((request.view_args or {}).get("token", ""))


@bp.post("/f/<token>/notes/<int:question_id>")
@limiter.limit(_note_rate_limit, key_func=_note_rate_key)
def autosave_note(token: str, question_id: int) -> Response:
    """One question's text from the page's script; answers in JSON."""
    try:
        link = notes.get_link(db.session, token)
    except LinkInvalid as exc:
        message = (
            _("The organiser has revoked this link, so notes are no longer saved.")
            if isinstance(exc, notes.LinkRevoked)
            else _("The link does not work, so notes are not saved.")
        )
        return _json_error(type(exc)(message))
    device = request.form.get("device", "")
    if not notes.KEY_PATTERN.match(device):
        device = request.cookies.get(DEVICE_COOKIE, "")
    if not notes.KEY_PATTERN.match(device):
        return _json_error(Invalid(_("Reload the page: your text is kept on this device.")))
    raw = request.form.get("revision", "")
    if not raw.isdigit() or len(raw) > 9:
        return _json_error(Invalid(_("Reload the page: your text is kept on this device.")))
    try:
        saved = notes.save_note(
            db.session,
            link,
            question_id,
            author_key=notes.device_author_key(device),
            author_name=request.form.get("author_name", ""),
            body=request.form.get("body", ""),
            revision=int(raw),
            now=utcnow(),
        )
    except Invalid as exc:
        db.session.rollback()
        return _json_error(exc, field=next(iter(exc.errors), None))
    except DomainError as exc:
        db.session.rollback()
        return _json_error(exc)
    db.session.commit()
    return _keep_device(
        jsonify(
            saved=saved.written,
            revision=saved.note.revision,
            same=saved.note.body == notes.clean_body(request.form.get("body", "")),
            status=_saved_label(saved.note),
        ),
        device,
    )


@bp.get("/f/<token>/others")
def facilitator_others(token: str) -> Response:
    """The other facilitators' notes of the group, polled by the page."""
    link = _link_or_problem(token)
    if isinstance(link, Response):
        return link
    author_key = notes.device_author_key(_device())
    page = render_template(
        "evenings/_notes_others.html",
        questions=planning.questions(db.session, link.event_id),
        others=notes.others_notes(db.session, link, author_key),
        oob=True,
    )
    return make_response(page)
