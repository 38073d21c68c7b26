"""Request-level plumbing shared by every blueprint: headers, errors, template helpers."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from babel import support
from flask import Flask, Response, abort, current_app, g, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from limits import RateLimitItem, parse
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, SecurityError
from wtforms.form import BaseForm
from wtforms.i18n import messages_path

from participation.errors import DomainError, Invalid
from participation.extensions import db, limiter
from participation.i18n import current_path, date_filter, datetime_filter
from participation.tokens import LinkExpired

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


F = TypeVar("F", bound=Callable[..., Any])


def redisplay_on_csrf_error(view: F) -> F:
    """Mark a view whose FlaskForm re-shows the typed input when its CSRF token expired.

    Only for views that act solely after `form.validate_on_submit()`.
    """
    view.redisplay_on_csrf_error = True  # type: ignore[attr-defined]
    return view


def typed_value_key(prefix: str, field: str = "email") -> Callable[[], str]:
    """A rate-limit key per value typed into `field` (an e-mail address), beside the per-IP
    limit, so many machines cannot flood one mailbox or guess one account's password either."""

    def key() -> str:
        return f"{prefix}:" + (request.form.get(field, "").strip().lower()[:254] or "-")

    return key


@functools.cache
def _parsed_limit(text: str) -> RateLimitItem:
    return parse(text)


def within_rate_limit(limit: str) -> bool:
    """Count this request against the view's per-address limit (`limit` as "20 per minute")
    on the app limiter's storage directly: the decorator's machinery (limit resolution,
    headers) was a tenth of a comment post. False when the address is over it."""
    if not limiter.enabled:
        return True
    return limiter.limiter.hit(
        _parsed_limit(limit), request.endpoint or "-", get_remote_address() or "-"
    )


def limits_itself(view: F) -> F:
    """Mark a view that counts its own rate limit (`check_rate_limit`, `within_rate_limit`):
    flask-limiter then skips resolving decorated and default limits for it on every request
    (it has none: it would find nothing, at some cost to the busiest posts)."""
    view.limits_itself = True  # type: ignore[attr-defined]
    return view


@limiter.request_filter
def _limits_itself() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "limits_itself", False)


def check_rate_limit(limit: str) -> None:
    """As within_rate_limit; raises TooManyRequests (429) when the address is over it."""
    if not within_rate_limit(limit):
        abort(429)


def absolute_url(endpoint: str, **values: Any) -> str:
    """BASE_URL + the route's path, without needing a request (the worker and the CLI too)."""
    adapter = current_app.url_map.bind("localhost")
    return current_app.config["BASE_URL"] + adapter.build(endpoint, values)


def csrf_checked() -> bool:
    """CSRFProtect accepted this request's token (or CSRF is off). False also when the view
    runs from the CSRF error handler, which re-shows the form: a view that reads the posted
    data without its form's own token check must look here first."""
    return bool(g.get("csrf_valid")) or not current_app.config.get("WTF_CSRF_ENABLED", True)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def render_page_or_partial(page: str, partial: str, **context: Any) -> str:
    """The full page includes its partial; an htmx request gets only the partial."""
    return render_template(partial if is_htmx() else page, **context)


def show_errors(form: BaseForm, error: Invalid) -> None:
    """Put a service's messages beside the fields they concern (the rest above the form)."""
    for name, messages in error.errors.items():
        target = form._fields.get(name)
        if target is not None:
            target.errors = list(messages)
        else:
            form.form_errors.extend(messages)
    if not error.errors:
        form.form_errors.append(error.message)


def render_link_problem(template: str, error: DomainError) -> tuple[str, int]:
    """A mailed link that failed: 410 when it expired, 404 when it never worked or is spent.

    `template` extends errors/link_problem.html with the capability's own texts.
    """
    return render_template(template, expired=isinstance(error, LinkExpired)), error.status


@functools.cache
def _wtforms_catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


# Respondents' pages of surveys: an anonymous answer must leave no trace of who sent it, so the
# development server's access log and the rate limiter's warnings (which name the client's
# address, and for invitation links the token in the path) say nothing about these requests.
_RESPONDENT_PATH = re.compile(r"(?<!/staff)/surveys/|endpoint: surveys\.(?!show_results)")


class RespondentLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  (a malformed record is not ours to judge)
            return True
        return not _RESPONDENT_PATH.search(message)


def _quiet_respondent_logs() -> None:
    for name in ("werkzeug", "flask-limiter", "flask_limiter"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RespondentLogFilter) for f in logger.filters):
            logger.addFilter(RespondentLogFilter())


def init_app(app: Flask) -> None:
    _quiet_respondent_logs()

    @app.before_request
    def _wtforms_messages() -> None:
        # Flask-WTF would read WTForms' own catalogue from disk on every request; it looks
        # for it on the request first, so each process reads it once per language instead.
        request.wtforms_translations = _wtforms_catalogue(str(get_locale()))

    app.jinja_env.filters["datetime"] = datetime_filter
    app.jinja_env.filters["date"] = date_filter
    app.jinja_env.globals["current_path"] = current_path

    @app.context_processor
    def _globals() -> dict[str, Any]:
        accent = app.config["ACCENT_COLOR"]
        return {
            "municipality_name": app.config["MUNICIPALITY_NAME"],
            "municipality_logo": app.config["MUNICIPALITY_LOGO"],
            "accent_colour": accent if HEX_COLOUR.match(accent) else "#0b5394",
            "locale": str(get_locale() or "fi"),
            "url_map_endpoints": app.view_functions,
            "languages": [("fi", "Suomeksi"), ("sv", "På svenska"), ("en", "In English")],
        }

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if current_app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint and not request.endpoint.endswith("static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> tuple[str, int]:
        db.session.rollback()
        return render_error(error.status, error.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        view = app.view_functions.get(request.endpoint or "")
        if view is not None and getattr(view, "redisplay_on_csrf_error", False):
            # The form's own CSRF field fails too, so the view only re-shows what was typed
            # with the "form expired" note; nothing is acted on.
            return view(**(request.view_args or {})), 400
        return render_error(
            400,
            _(
                "The form had expired or came from elsewhere. Go back, reload the page and send it again."
            ),
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
        limit = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return render_error(
            413, _("The file or text sent was too large (at most %(mb)s MB).", mb=limit)
        )

    @app.errorhandler(SecurityError)
    def _untrusted_host(error: SecurityError) -> Response:
        # No URLs can be built for a host we do not serve, so no page either.
        return Response("Bad request: untrusted host\n", 400, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
        if error.code is None or error.code < 400:
            return error
        if error.code == 429:
            return render_error(429, _("Too many attempts. Wait a minute and try again."))
        return render_error(error.code, "")

    @app.errorhandler(Exception)
    def _server_error(error: Exception) -> tuple[str, int]:
        log.exception("unhandled error")
        db.session.rollback()
        return render_error(500, "")


def render_error(status: int, message: str) -> tuple[str, int]:
    titles = {
        400: _("The request could not be handled"),
        403: _("You do not have access to this page"),
        404: _("Page not found"),
        405: _("The request could not be handled"),
        409: _("This could not be done right now"),
        413: _("Too large"),
        422: _("Check the information"),
        429: _("Too many attempts"),
        500: _("Something went wrong on our side"),
    }
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(
        template, status=status, title=titles.get(status, titles[400]), message=message
    ), status
