"""The live vote: the staff page that makes, opens and closes it (with its short link and QR
code), the phone page /v/<code>, and the big screen for the projector.

The phone's POST is the hot path: no form class, no ORM objects, one service call, and for
htmx a small fragment (a plain POST gets a 303 back to the page). The phone is a random
cookie value of its own (not the session), so the rate limit can be per phone: a whole room
shares one network address.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import RateLimitItem, parse
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from participation.accounts.forms import ConfirmForm
from participation.accounts.policy import staff_required
from participation.db import utcnow
from participation.errors import Conflict, Invalid, NotFound, WrongState
from participation.evenings import bp, vote
from participation.evenings.models import UPDATE, LiveVote
from participation.evenings.vote_forms import VoteForm
from participation.events.models import Event
from participation.events.policy import get_event_for
from participation.events.services import get_event
from participation.extensions import csrf, db, limiter
from participation.i18n import current_locale
from participation.surveys import qr
from participation.web import absolute_url, is_htmx, redisplay_on_csrf_error, show_errors

PHONE_COOKIE = "vote_phone"
PHONE_COOKIE_AGE = 2 * 24 * 3600  # an evening, and the morning after


def _vote_limit() -> str:
    return current_app.config.get("LIVE_VOTE_RATE_LIMIT", "30 per minute")


def _phone_or_address() -> str:
    phone = request.cookies.get(PHONE_COOKIE, "")
    if vote.PHONE_PATTERN.match(phone):
        return "vote-phone:" + phone
    return "vote-address:" + (get_remote_address() or "-")


@functools.cache
def _parsed_limit(text: str) -> RateLimitItem:
    return parse(text)


def _limit_check() -> tuple[RateLimitItem, str, str] | None:
    """LIVE_VOTE_RATE_LIMIT per phone, straight on the app limiter's storage: the decorator's
    machinery (limit resolution, response headers) was a tenth of a vote's time. Aborts with
    429 when the phone is over it; returns what to count afterwards."""
    if not limiter.enabled:
        return None
    limit = (_parsed_limit(_vote_limit()), "live-vote", _phone_or_address())
    if not limiter.limiter.test(*limit):
        abort(429)
    return limit


def _repeat() -> bool:
    """Whether a vote POST counts against the phone's limit: all but a phone's first vote.
    A new phone's first vote can never be over the limit, and skipping it keeps a room of
    new phones from filling the limiter's storage with keys used once."""
    return not g.get("first_vote", False)


# The answer to a vote sent with htmx: into #vote-status, and any earlier message cleared.
DONE = Markup(
    '<p class="flash flash-success">%s</p>\n<div id="vote-error" hx-swap-oob="true"></div>\n'
)


def _short_url(code: str) -> str:
    return absolute_url("evenings.vote_page", code=code)


def _qr(code: str, *, inline: bool) -> str:
    return qr.qr_svg(_short_url(code), title=_("QR code of the vote's address"), inline=inline)


# --- staff ------------------------------------------------------------------------------------


def _admin(event_id: int) -> Response:
    return redirect(url_for("evenings.show_vote_admin", event_id=event_id))


def _new_vote_form(event: Event) -> VoteForm:
    return VoteForm(
        data={
            "question": _("Pick the three most important"),
            "options": "\n".join(vote.theme_titles(db.session, event.id)),
            "max_choices": vote.DEFAULT_MAX_CHOICES,
            "second_vote": UPDATE,
        }
    )


def _render_admin(event: Event, live: LiveVote | None, form: VoteForm | None, **extra: Any) -> Any:
    now = utcnow()
    context: dict[str, Any] = {"event": event, "live": live, "evening_page": "vote"}
    if live is None:
        context["form"] = form or _new_vote_form(event)
    else:
        context.update(
            state=vote.state_of(live, event, now),
            short_url=_short_url(live.code),
            # Markup made by segno and ElementTree (the title escaped), no user HTML.
            qr_svg=Markup(_qr(live.code, inline=True)),  # noqa: S704
            tally=vote.tally(db.session, live.id, locale=current_locale()),
            confirm=ConfirmForm(),
        )
    context.update(extra)
    return render_template("evenings/vote_admin.html", now=now, **context)


@bp.get("/staff/events/<int:event_id>/evening/vote")
@staff_required
def show_vote_admin(event_id: int) -> Any:
    event = get_event_for(db.session, event_id, user=current_user)
    return _render_admin(event, vote.event_vote(db.session, event.id), None)


@bp.post("/staff/events/<int:event_id>/evening/vote")
@staff_required
@redisplay_on_csrf_error
def create_vote(event_id: int) -> Any:
    event = get_event_for(db.session, event_id, user=current_user)
    existing = vote.event_vote(db.session, event.id)
    if existing is not None:
        return _admin(event.id)
    form = VoteForm()
    if form.validate_on_submit():
        try:
            vote.create_vote(
                db.session,
                event,
                question=form.question.data or "",
                options=(form.options.data or "").splitlines(),
                max_choices=form.max_choices.data,
                second_vote=form.second_vote.data or "",
                staff_user_id=current_user.id,
                now=utcnow(),
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        except (Conflict, WrongState) as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            return _admin(event.id)
    elif form.max_choices.errors:
        form.max_choices.errors = [_("Enter a whole number, such as 3.")]
    body = _render_admin(event, None, form)
    return body, 400 if form.csrf_token.errors else 422


def _managed_vote(event_id: int) -> tuple[Event, LiveVote]:
    event = get_event_for(db.session, event_id, user=current_user)
    live = vote.event_vote(db.session, event.id)
    if live is None:
        raise NotFound(_("The event has no live vote yet."))
    return event, live


@bp.post("/staff/events/<int:event_id>/evening/vote/open")
@staff_required
def open_vote(event_id: int) -> Any:
    event, live = _managed_vote(event_id)
    if ConfirmForm().validate_on_submit():
        vote.open_vote(db.session, live, event, now=utcnow())
        db.session.commit()
    return _admin(event.id)


@bp.post("/staff/events/<int:event_id>/evening/vote/close")
@staff_required
def close_vote(event_id: int) -> Any:
    event, live = _managed_vote(event_id)
    if ConfirmForm().validate_on_submit():
        vote.close_vote(db.session, live, now=utcnow())
        db.session.commit()
    return _admin(event.id)


@bp.get("/staff/events/<int:event_id>/evening/vote/qr.svg")
@staff_required
def vote_qr_svg(event_id: int) -> Response:
    _event, live = _managed_vote(event_id)
    return Response(
        _qr(live.code, inline=False),
        mimetype="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="vote-{live.code}-qr.svg"'},
    )


# --- the phone --------------------------------------------------------------------------------


def _phone() -> tuple[str, bool]:
    """The phone's key and whether it is new (then the answer sets the cookie)."""
    phone = request.cookies.get(PHONE_COOKIE, "")
    if vote.PHONE_PATTERN.match(phone):
        return phone, False
    return vote.new_phone(), True


def _with_phone(response: Response, phone: str, new: bool) -> Response:
    if new:
        response.set_cookie(
            PHONE_COOKIE,
            phone,
            max_age=PHONE_COOKIE_AGE,
            path="/v/",
            httponly=True,
            samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    return response


def _vote_context(code: str, *, chosen: list[str] | None, phone: str) -> dict[str, Any]:
    live = vote.get_vote_by_code(db.session, code)
    event = get_event(db.session, live.event_id)
    question = vote.question_of(db.session, live)
    secret = current_app.config["SECRET_KEY"]
    earlier = vote.phone_choices(db.session, live, phone=phone, secret=secret)
    locale = current_locale()
    return {
        "live": live,
        "event": event,
        "state": vote.state_of(live, event, utcnow()),
        "question": vote.label(question["label"], locale),
        "options": [(o["key"], vote.label(o["label"], locale)) for o in question["options"]],
        "max_choices": question["max_choices"] or len(question["options"]),
        "chosen": earlier if chosen is None else chosen,
        "voted": bool(earlier),
    }


def _render_vote(
    code: str,
    phone: str,
    new: bool,
    *,
    chosen: list[str] | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    context = _vote_context(code, chosen=chosen, phone=phone) | extra
    # htmx swaps only 2xx answers: the kept choices and the message must reach the page.
    if is_htmx():
        response = make_response(render_template("evenings/_vote_form.html", **context))
        # The form posts into its status line; a refusal replaces the whole form instead.
        response.headers["HX-Retarget"] = "#vote-region"
        response.headers["HX-Reswap"] = "outerHTML"
    else:
        response = make_response(render_template("evenings/vote.html", **context), status)
    return _with_phone(response, phone, new)


@bp.get("/v/<code>")
def vote_page(code: str) -> Response:
    phone, new = _phone()
    return _render_vote(code, phone, new)


def _cross_site() -> bool:
    """A vote sent from another site's page. The vote takes no CSRF token, so that a phone's
    page never expires during a long evening; the browser's Fetch Metadata and Origin headers
    tell a forged cross-site post apart instead (a browser sending neither is let through: a
    forged vote could be cast from any machine anyway, one per cookie)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    # The host only: behind a proxy that ends TLS the app may see http where the browser had
    # https.
    return origin is not None and urlsplit(origin).netloc != request.host


@bp.post("/v/<code>")
@csrf.exempt
def cast_vote(code: str) -> Response:
    limit = _limit_check()
    try:
        return _cast_vote(code)
    finally:
        # A phone's first vote never counts against its limit (see _repeat).
        if limit is not None and _repeat():
            limiter.limiter.hit(*limit)


def _cast_vote(code: str) -> Response:
    phone, new = _phone()
    chosen = request.form.getlist("choice")
    if _cross_site():
        notice = _("The vote can be sent only from its own page. Open the vote's address again.")
        return _render_vote(code, phone, new, chosen=chosen, status=403, notice=notice)
    try:
        cast = _cast(code, chosen, phone)
    except Invalid as exc:
        db.session.rollback()
        error = (exc.errors.get("choices") or [exc.message])[0]
        return _render_vote(code, phone, new, chosen=chosen, status=422, error=error)
    except (WrongState, Conflict) as exc:
        db.session.rollback()
        return _render_vote(code, phone, new, chosen=chosen, status=409, notice=exc.message)
    db.session.commit()
    g.first_vote = not cast.updated
    if not is_htmx():
        return _with_phone(redirect(url_for("evenings.vote_page", code=code), 303), phone, new)
    message = (
        _("Your vote was changed. Thank you!")
        if cast.updated
        else _("Your vote was counted. Thank you!")
    )
    # A few bytes into the page's status line, clearing an earlier message; no template.
    response = make_response(DONE % message)
    return _with_phone(response, phone, new)


def _cast(code: str, chosen: list[str], phone: str) -> vote.Cast:
    secret, now = current_app.config["SECRET_KEY"], utcnow()
    try:
        return vote.cast_vote(db.session, code, chosen, phone=phone, secret=secret, now=now)
    except IntegrityError:
        # The same phone's other request stored its first vote meanwhile: this one is now a
        # second vote (the first request's answer stands).
        db.session.rollback()
        return vote.cast_vote(db.session, code, chosen, phone=phone, secret=secret, now=now)


# --- the big screen ---------------------------------------------------------------------------


def _screen_context(code: str) -> dict[str, Any]:
    live = vote.get_vote_by_code(db.session, code)
    event = get_event(db.session, live.event_id)
    short = _short_url(live.code)
    return {
        "live": live,
        "event": event,
        "state": vote.state_of(live, event, utcnow()),
        "tally": vote.tally(db.session, live.id, locale=current_locale()),
        "short_url": short,
        "short_text": short.split("://", 1)[-1],
    }


@bp.get("/v/<code>/screen")
def vote_screen(code: str) -> str:
    context = _screen_context(code)
    # Markup made by segno and ElementTree (the title escaped), no user HTML.
    qr_svg = Markup(_qr(context["live"].code, inline=True))  # noqa: S704
    return render_template("evenings/screen.html", qr_svg=qr_svg, **context)


@bp.get("/v/<code>/screen/results")
def vote_screen_results(code: str) -> str:
    return render_template("evenings/_screen_results.html", **_screen_context(code))
