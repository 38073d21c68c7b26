"""Planning an evening: the staff hub /staff/events/<id>/evening (programme, workshop questions,
themes) and, on the event's public page, the programme, the theme ideas with their votes and the
form for proposing one.

Every staff URL carries only the event's id; which programme line, question or theme is meant
travels in the form (or `?item=` for an edit page). Public forms work as plain posts (then a
redirect) and in place with htmx; a refused proposal comes back with what was typed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from participation.accounts.forms import ConfirmForm
from participation.accounts.policy import staff_required
from participation.db import utcnow
from participation.errors import Conflict, Invalid, NotFound, WrongState
from participation.evenings import bp, planning
from participation.evenings.planning_forms import (
    HideThemeForm,
    ProgrammeItemForm,
    QuestionForm,
    ThemeForm,
    new_submission_key,
)
from participation.events import services as events
from participation.events.models import Event
from participation.events.policy import get_event_for
from participation.extensions import db, limiter
from participation.register.distribution import list_invitable_associations
from participation.web import is_htmx, redisplay_on_csrf_error, show_errors

# The browser's random key for theme votes (only its hash is stored).
VOTER_COOKIE = "evening_voter"
VOTER_COOKIE_AGE = 400 * 24 * 3600


def _event(event_id: int) -> Event:
    """The event if the signed-in user may run it (NotFound, Forbidden otherwise)."""
    return get_event_for(db.session, event_id, user=current_user)


def _hub_url(event_id: int, anchor: str | None = None) -> str:
    return url_for("evenings.show_evening", event_id=event_id, _anchor=anchor)


def _to_hub(event_id: int, anchor: str | None = None) -> Response:
    return redirect(_hub_url(event_id, anchor), code=303)


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _association_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("No association"))] + [
        SelectChoice(str(a.id), a.name) for a in list_invitable_associations(db.session)
    ]


def _public_url(event: Event) -> str | None:
    if event.published_at is None:
        return None
    try:
        return url_for("events.show_event", slug=event.slug)
    except BuildError:
        return None


# --- the staff hub --------------------------------------------------------------------------


def _item_form(bound: bool = False) -> ProgrammeItemForm:
    return (
        ProgrammeItemForm(prefix="item")
        if bound
        else ProgrammeItemForm(prefix="item", formdata=None)
    )


def _question_form(bound: bool = False) -> QuestionForm:
    return (
        QuestionForm(prefix="question") if bound else QuestionForm(prefix="question", formdata=None)
    )


def _staff_theme_form(bound: bool = False) -> ThemeForm:
    form = ThemeForm(prefix="theme") if bound else ThemeForm(prefix="theme", formdata=None)
    form.association_id.choices = _association_choices()
    return form


def _hub(
    event: Event,
    *,
    item_form: ProgrammeItemForm | None = None,
    question_form: QuestionForm | None = None,
    theme_form: ThemeForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    now = utcnow()
    questions = planning.questions(db.session, event.id)
    body = render_template(
        "evenings/planning.html",
        event=event,
        evening_page="planning",
        now=now,
        programme=planning.programme(db.session, event.id),
        questions=questions,
        noted={q.id: planning.count_question_notes(db.session, q.id) for q in questions},
        themes=planning.themes(db.session, event.id, include_hidden=True),
        proposals_open=planning.proposals_open(event, now),
        asks_for_themes=planning.asks_for_themes(event),
        public_url=_public_url(event),
        item_form=item_form or _item_form(),
        question_form=question_form or _question_form(),
        theme_form=theme_form or _staff_theme_form(),
        confirm=ConfirmForm(),
    )
    return body, status


@bp.get("/staff/events/<int:event_id>/evening")
@staff_required
def show_evening(event_id: int) -> Any:
    return _hub(_event(event_id))


def _direction() -> int:
    return -1 if request.form.get("direction") == "up" else 1


# The programme.


@bp.post("/staff/events/<int:event_id>/evening/programme")
@staff_required
@redisplay_on_csrf_error
def add_programme_item(event_id: int) -> Any:
    event = _event(event_id)
    form = _item_form(bound=True)
    if not form.validate_on_submit():
        return _hub(event, item_form=form)[0]  # the CSRF handler gives the 400
    try:
        item = planning.add_programme_item(
            db.session,
            event_id,
            at=form.at.data or "",
            title=form.title.data or "",
            speaker=form.speaker.data or "",
            now=utcnow(),
        )
    except Invalid as exc:
        db.session.rollback()
        show_errors(form, exc)
        return _hub(event, item_form=form, status=422)
    db.session.commit()
    flash(_("“%(title)s” was added to the programme.", title=item.title), "success")
    return _to_hub(event_id, "programme")


@bp.route("/staff/events/<int:event_id>/evening/programme/edit", methods=["GET", "POST"])
@staff_required
@redisplay_on_csrf_error
def edit_programme_item(event_id: int) -> Any:
    event = _event(event_id)
    item = planning.get_programme_item(db.session, event_id, _int(request.args.get("item")))
    form = ProgrammeItemForm(
        data={"at": f"{item.at:%H.%M}", "title": item.title, "speaker": item.speaker}
    )
    status = 200
    if form.validate_on_submit():
        try:
            planning.update_programme_item(
                db.session,
                event_id,
                item.id,
                at=form.at.data or "",
                title=form.title.data or "",
                speaker=form.speaker.data or "",
                now=utcnow(),
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("The programme item was saved."), "success")
            return _to_hub(event_id, "programme")
    body = render_template(
        "evenings/planning_edit.html",
        event=event,
        evening_page="planning",
        form=form,
        kind="programme",
        action=url_for("evenings.edit_programme_item", event_id=event_id, item=item.id),
    )
    return body if status == 200 else (body, status)


@bp.post("/staff/events/<int:event_id>/evening/programme/delete")
@staff_required
def delete_programme_item(event_id: int) -> Response:
    _event(event_id)
    if ConfirmForm().validate_on_submit():
        planning.delete_programme_item(
            db.session, event_id, _int(request.form.get("item_id")), now=utcnow()
        )
        db.session.commit()
        flash(_("The programme item was removed."), "success")
    return _to_hub(event_id, "programme")


@bp.post("/staff/events/<int:event_id>/evening/programme/move")
@staff_required
def move_programme_item(event_id: int) -> Response:
    _event(event_id)
    item_id = _int(request.form.get("item_id"))
    if ConfirmForm().validate_on_submit():
        planning.move_programme_item(db.session, event_id, item_id, _direction(), now=utcnow())
        db.session.commit()
    return _to_hub(event_id, f"programme-{item_id}")


# Workshop questions.


@bp.post("/staff/events/<int:event_id>/evening/questions")
@staff_required
@redisplay_on_csrf_error
def add_question(event_id: int) -> Any:
    event = _event(event_id)
    form = _question_form(bound=True)
    if not form.validate_on_submit():
        return _hub(event, question_form=form)[0]
    try:
        planning.add_question(db.session, event_id, text=form.text.data or "", now=utcnow())
    except Invalid as exc:
        db.session.rollback()
        show_errors(form, exc)
        return _hub(event, question_form=form, status=422)
    db.session.commit()
    flash(_("The question was added."), "success")
    return _to_hub(event_id, "questions")


@bp.post("/staff/events/<int:event_id>/evening/questions/defaults")
@staff_required
def use_default_questions(event_id: int) -> Response:
    _event(event_id)
    if ConfirmForm().validate_on_submit():
        try:
            added = planning.use_default_questions(db.session, event_id, now=utcnow())
        except Conflict as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(
                ngettext(
                    "%(num)s question was added. Change its wording as you like.",
                    "%(num)s questions were added. Change their wording as you like.",
                    len(added),
                ),
                "success",
            )
    return _to_hub(event_id, "questions")


@bp.route("/staff/events/<int:event_id>/evening/questions/edit", methods=["GET", "POST"])
@staff_required
@redisplay_on_csrf_error
def edit_question(event_id: int) -> Any:
    event = _event(event_id)
    question = planning.get_question(db.session, event_id, _int(request.args.get("question")))
    form = QuestionForm(data={"text": question.text})
    status = 200
    if form.validate_on_submit():
        try:
            planning.update_question(
                db.session, event_id, question.id, text=form.text.data or "", now=utcnow()
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("The question was saved."), "success")
            return _to_hub(event_id, "questions")
    body = render_template(
        "evenings/planning_edit.html",
        event=event,
        evening_page="planning",
        form=form,
        kind="question",
        notes=planning.count_question_notes(db.session, question.id),
        action=url_for("evenings.edit_question", event_id=event_id, question=question.id),
    )
    return body if status == 200 else (body, status)


@bp.post("/staff/events/<int:event_id>/evening/questions/delete")
@staff_required
def delete_question(event_id: int) -> Response:
    _event(event_id)
    if ConfirmForm().validate_on_submit():
        try:
            planning.delete_question(
                db.session, event_id, _int(request.form.get("question_id")), now=utcnow()
            )
        except Conflict as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("The question was removed."), "success")
    return _to_hub(event_id, "questions")


@bp.post("/staff/events/<int:event_id>/evening/questions/move")
@staff_required
def move_question(event_id: int) -> Response:
    _event(event_id)
    question_id = _int(request.form.get("question_id"))
    if ConfirmForm().validate_on_submit():
        planning.move_question(db.session, event_id, question_id, _direction(), now=utcnow())
        db.session.commit()
    return _to_hub(event_id, f"question-{question_id}")


# Themes.


@bp.post("/staff/events/<int:event_id>/evening/themes")
@staff_required
@redisplay_on_csrf_error
def add_theme(event_id: int) -> Any:
    event = _event(event_id)
    form = _staff_theme_form(bound=True)
    if not form.validate_on_submit():
        return _hub(event, theme_form=form)[0]
    try:
        theme = planning.add_theme(
            db.session,
            event_id,
            title=form.title.data or "",
            description=form.description.data or "",
            association_id=form.association_id.data or None,
            staff_user_id=current_user.id,
            now=utcnow(),
        )
    except Invalid as exc:
        db.session.rollback()
        show_errors(form, exc)
        return _hub(event, theme_form=form, status=422)
    db.session.commit()
    flash(_("The theme “%(title)s” was added.", title=theme.title), "success")
    return _to_hub(event_id, "themes")


@bp.route("/staff/events/<int:event_id>/evening/themes/hide", methods=["GET", "POST"])
@staff_required
@redisplay_on_csrf_error
def hide_theme(event_id: int) -> Any:
    event = _event(event_id)
    theme = planning.get_theme(db.session, event_id, _int(request.args.get("theme")))
    form = HideThemeForm(data={"reason": theme.hidden_reason})
    status = 200
    if form.validate_on_submit():
        try:
            planning.hide_theme(
                db.session, event_id, theme.id, reason=form.reason.data or "", now=utcnow()
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("The theme “%(title)s” is hidden.", title=theme.title), "success")
            return _to_hub(event_id, "themes")
    body = render_template(
        "evenings/planning_hide.html",
        event=event,
        evening_page="planning",
        form=form,
        theme=theme,
        votes=planning.count_theme_votes(db.session, theme.id),
    )
    return body if status == 200 else (body, status)


@bp.post("/staff/events/<int:event_id>/evening/themes/show")
@staff_required
def show_theme(event_id: int) -> Response:
    _event(event_id)
    theme_id = _int(request.form.get("theme_id"))
    if ConfirmForm().validate_on_submit():
        theme = planning.show_theme(db.session, event_id, theme_id, now=utcnow())
        db.session.commit()
        flash(_("The theme “%(title)s” is shown again.", title=theme.title), "success")
    return _to_hub(event_id, f"theme-{theme_id}")


@bp.post("/staff/events/<int:event_id>/evening/themes/handled")
@staff_required
def mark_theme_handled(event_id: int) -> Response:
    _event(event_id)
    theme_id = _int(request.form.get("theme_id"))
    if ConfirmForm().validate_on_submit():
        handled = request.form.get("handled") == "1"
        theme = planning.set_theme_handled(db.session, event_id, theme_id, handled, now=utcnow())
        db.session.commit()
        if handled:
            flash(_("“%(title)s” is marked handled at the evening.", title=theme.title), "success")
        else:
            flash(_("“%(title)s” is no longer marked handled.", title=theme.title), "success")
    return _to_hub(event_id, f"theme-{theme_id}")


# --- the event's public page ----------------------------------------------------------------


@dataclass
class EveningExtras:
    """What the event page shows of the evening (templates/evenings/_event_extras.html)."""

    event: Event
    programme: list
    themes: list[planning.ThemeRow]
    voted: set[int]
    # Theme ideas and votes are taken now.
    open: bool
    # The page has a themes section at all.
    show_themes: bool
    form: ThemeForm | None = None
    notice: str = ""
    # The title of a theme just proposed (the thank-you).
    proposed: str = ""


def _browser_key() -> str:
    return request.cookies.get(VOTER_COOKIE, "")


def _voter_hash(browser_key: str) -> str:
    return planning.voter_hash(current_app.config["SECRET_KEY"], browser_key) if browser_key else ""


def _proposal_form(*, bound: bool) -> ThemeForm:
    if bound:
        form = ThemeForm(prefix="idea")
    else:
        form = ThemeForm(
            prefix="idea", formdata=None, data={"submission_key": new_submission_key()}
        )
    form.association_id.choices = _association_choices()
    return form


def _extras(
    event: Event, *, form: ThemeForm | None = None, notice: str = "", proposed: str = ""
) -> EveningExtras:
    now = utcnow()
    rows = planning.themes(db.session, event.id, include_hidden=False)
    is_open = planning.proposals_open(event, now)
    asks = planning.asks_for_themes(event) or bool(rows)
    if is_open and asks and form is None:
        form = _proposal_form(bound=False)
    return EveningExtras(
        event=event,
        programme=planning.programme(db.session, event.id),
        themes=rows,
        voted=planning.voted_theme_ids(db.session, event.id, _voter_hash(_browser_key())),
        open=is_open,
        show_themes=asks and (is_open or bool(rows)),
        form=form if is_open else None,
        notice=notice,
        proposed=proposed,
    )


@bp.app_template_global()
def evening_extras(event: Event) -> EveningExtras:
    """The programme and the theme ideas for the event page."""
    return _extras(event)


@bp.app_template_filter("clock")
def clock(value: Any) -> str:
    """A programme time as the locale writes it ("17.30" in Finnish)."""
    from flask_babel import format_time

    return format_time(value, "short", rebase=False) if value is not None else ""


def _themes_section(extras: EveningExtras, status: int = 200) -> Any:
    body = render_template("evenings/_themes.html", event=extras.event, extras=extras)
    return body if status == 200 else (body, status)


def _proposal_limit() -> Any:
    return parse(current_app.config["THEME_PROPOSAL_RATE_LIMIT"])


def _proposal_limited() -> bool:
    """Checked before a proposal, counted only for one stored: a typo does not use it up."""
    if not limiter.enabled:
        return False
    return not limiter.limiter.test(_proposal_limit(), "theme-proposal", get_remote_address())


def _count_proposal() -> None:
    if limiter.enabled:
        limiter.limiter.hit(_proposal_limit(), "theme-proposal", get_remote_address())


@bp.post("/events/<slug>/themes")
@redisplay_on_csrf_error
def propose_theme(slug: str) -> Any:
    now = utcnow()
    event = events.get_event_by_slug(db.session, slug)
    form = _proposal_form(bound=True)
    notice, status = "", 200
    if form.validate_on_submit():
        if (form.homepage.data or "").strip():
            return _proposed(event, form.title.data or "")  # a bot: told it worked, nothing kept
        if _proposal_limited():
            notice, status = (
                _("Many theme ideas have been sent from your connection in a short time. Wait a "
                  "while and send again: what you typed is kept below."),
                429,
            )  # fmt: skip
        else:
            try:
                theme = planning.propose_theme(
                    db.session,
                    event.id,
                    title=form.title.data or "",
                    description=form.description.data or "",
                    association_id=form.association_id.data or None,
                    submission_key=form.submission_key.data or "",
                    now=now,
                )
            except Invalid as exc:
                db.session.rollback()
                show_errors(form, exc)
                status = 422
            except WrongState as exc:
                db.session.rollback()
                notice, status = exc.message, 409
            else:
                db.session.commit()
                _count_proposal()
                return _proposed(event, theme.title)
    if not planning.KEY_PATTERN.match(form.submission_key.data or ""):
        form.submission_key.data = new_submission_key()  # a broken form is whole when sent again
    extras = _extras(event, form=form, notice=notice)
    extras.form = form  # kept even when proposals closed meanwhile: the text is theirs
    if is_htmx():
        return _themes_section(extras, status)
    body = render_template("evenings/planning_propose.html", event=event, extras=extras)
    return body if status == 200 else (body, status)


def _proposed(event: Event, title: str) -> Any:
    if is_htmx():
        return _themes_section(_extras(event, proposed=title))
    flash(_("Thank you! Your theme idea “%(title)s” is on the list.", title=title), "success")
    return redirect(url_for("events.show_event", slug=event.slug, _anchor="evening-themes"), 303)


@bp.post("/events/<slug>/themes/<int:theme_id>/vote")
def vote_theme(slug: str, theme_id: int) -> Any:
    now = utcnow()
    event = events.get_event_by_slug(db.session, slug)
    browser_key = _browser_key() or secrets.token_urlsafe(24)
    wanted = request.form.get("vote") != "0"
    message, ok = "", True
    if not ConfirmForm().validate_on_submit():
        message = _(
            "The form had expired or came from elsewhere. Go back, reload the page and send it "
            "again."
        )
        ok = False
    else:
        try:
            result = planning.set_theme_vote(
                db.session,
                event.id,
                theme_id,
                voter_key=_voter_hash(browser_key),
                vote=wanted,
                now=now,
            )
        except (WrongState, NotFound, Invalid) as exc:
            db.session.rollback()
            message, ok = exc.message, False
        else:
            db.session.commit()
            if result.voted:
                message = _("Your vote for “%(title)s” was counted.", title=result.theme.title)
            else:
                message = _("Your vote for “%(title)s” was taken back.", title=result.theme.title)
    if is_htmx():
        response = _vote_block(event, theme_id, browser_key, message, ok)
    else:
        flash(message, "success" if ok else "error")
        response = redirect(
            url_for("events.show_event", slug=event.slug, _anchor=f"theme-{theme_id}"), 303
        )
    if not request.cookies.get(VOTER_COOKIE):
        response.set_cookie(
            VOTER_COOKIE,
            browser_key,
            max_age=VOTER_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    return response


def _vote_block(event: Event, theme_id: int, browser_key: str, message: str, ok: bool) -> Response:
    """The theme's vote button and count, and the message in the list's status region."""
    row = next(
        (
            r
            for r in planning.themes(db.session, event.id, include_hidden=False)
            if r.theme.id == theme_id
        ),
        None,
    )
    voted = planning.voted_theme_ids(db.session, event.id, _voter_hash(browser_key))
    body = render_template(
        "evenings/_themes_vote.html",
        event=event,
        row=row,
        theme_id=theme_id,
        voted=theme_id in voted,
        open=planning.proposals_open(event, utcnow()),
        message=message,
        ok=ok,
        oob=True,
    )
    return current_app.make_response(body)
