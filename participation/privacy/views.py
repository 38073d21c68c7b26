"""Routes of the privacy capability: a person's own data through a mailed link, consent texts
and retention for staff."""

from __future__ import annotations

import datetime as dt
import json

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests

from participation.accounts.forms import ConfirmForm
from participation.accounts.policy import coordinator_required
from participation.db import utcnow
from participation.errors import DomainError, Invalid
from participation.extensions import db, limiter
from participation.i18n import current_locale
from participation.mail import tasks as mail_tasks
from participation.pagination import Page, page_arg
from participation.privacy import bp, services
from participation.privacy.forms import ConsentTextForm, PrivacyRequestForm
from participation.tokens import LinkExpired, LinkInvalid
from participation.web import absolute_url, render_link_problem, show_errors, typed_value_key


def _link_hours() -> int:
    return int(current_app.config["PRIVACY_LINK_HOURS"])


def _link_url(token: str) -> str:
    return absolute_url("privacy.show_link", token=token)


def _request_limit() -> str:
    return current_app.config.get("PRIVACY_RATE_LIMIT", "5 per hour")


@bp.errorhandler(TooManyRequests)
def _too_many(error: TooManyRequests) -> tuple[str, int]:
    return render_template("privacy/too_many.html", limit=_request_limit()), 429


@bp.errorhandler(LinkExpired)
@bp.errorhandler(LinkInvalid)
def _link_problem(error: DomainError) -> tuple[str, int]:
    db.session.rollback()
    return render_link_problem("privacy/link_problem.html", error)


# --- The person's own pages ----------------------------------------------------------------


@bp.route("/privacy", methods=["GET", "POST"])
@limiter.limit(_request_limit, methods=["POST"])
@limiter.limit(_request_limit, methods=["POST"], key_func=typed_value_key("privacy"))
def request_link() -> str | Response:
    form = PrivacyRequestForm()
    if form.validate_on_submit():
        services.request_privacy_link(
            db.session,
            form.email.data,
            make_url=_link_url,
            lifetime=dt.timedelta(hours=_link_hours()),
            locale=current_locale(),
            now=utcnow(),
        )
        db.session.commit()
        mail_tasks.kick_outbox()  # asked for every address alike, so the timing tells nothing
        return redirect(url_for("privacy.link_sent"))
    return render_template("privacy/request.html", form=form, hours=_link_hours())


@bp.get("/privacy/sent")
def link_sent() -> str:
    return render_template("privacy/link_sent.html", hours=_link_hours())


@bp.get("/privacy/link/<token>")
def show_link(token: str) -> str:
    person = services.get_person_by_link(db.session, token, utcnow())
    return render_template("privacy/link.html", person=person, token=token, form=ConfirmForm())


@bp.post("/privacy/link/<token>/download")
def download_data(token: str) -> Response:
    now = utcnow()
    data = services.export_by_link(db.session, token, now)
    response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    filename = f"my-data-{now.date().isoformat()}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/privacy/link/<token>/erase")
def confirm_erasure(token: str) -> str:
    person = services.get_person_by_link(db.session, token, utcnow())
    return render_template(
        "privacy/confirm_erasure.html", person=person, token=token, form=ConfirmForm()
    )


@bp.post("/privacy/link/<token>/erase")
def erase_data(token: str) -> Response:
    services.erase_by_link(db.session, token, utcnow())
    db.session.commit()
    return redirect(url_for("privacy.show_erased"))


@bp.get("/privacy/erased")
def show_erased() -> str:
    return render_template("privacy/erased.html")


# --- Staff ---------------------------------------------------------------------------------


@bp.get("/staff/privacy/consents")
@coordinator_required
def list_consent_texts() -> str:
    return render_template(
        "privacy/consent_texts.html", texts=services.list_consent_texts(db.session)
    )


@bp.route("/staff/privacy/consents/new", methods=["GET", "POST"])
@coordinator_required
def publish_consent_text() -> str | Response:
    form = ConsentTextForm()
    if request.method == "GET" and (key := request.args.get("key", "").strip()):
        current = services.find_current_consent_text(db.session, key)
        form.key.data = key[:40]
        if current is not None:
            form.text_fi.data, form.text_sv.data, form.text_en.data = (
                current.text_fi,
                current.text_sv,
                current.text_en,
            )
    if form.validate_on_submit():
        try:
            text = services.publish_consent_text(
                db.session,
                form.key.data,
                form.text_fi.data,
                form.text_sv.data or "",
                form.text_en.data or "",
                utcnow(),
            )
        except Invalid as exc:
            show_errors(form, exc)
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            flash(
                _("Version %(v)s of “%(key)s” was published.", v=text.version, key=text.key),
                "success",
            )
            return redirect(url_for("privacy.list_consent_texts"))
    return render_template("privacy/publish_consent_text.html", form=form)


@bp.get("/staff/privacy/retention")
@coordinator_required
def show_retention() -> str:
    page = page_arg(request.args)
    per_page = current_app.config["PAGE_SIZE"]
    overview = services.retention_overview(
        db.session,
        int(current_app.config["RETENTION_DAYS"]),
        utcnow(),
        page=page,
        per_page=per_page,
    )
    return render_template(
        "privacy/retention.html",
        preview=overview.preview,
        page=Page(overview.erasures, page, per_page, overview.total_erasures),
        form=ConfirmForm(),
    )


@bp.post("/staff/privacy/retention")
@coordinator_required
def run_retention() -> Response:
    counts = services.run_retention(db.session, int(current_app.config["RETENTION_DAYS"]), utcnow())
    db.session.commit()
    flash(
        _(
            "Retention run: %(people)s people erased, %(messages)s old messages deleted.",
            people=counts.get("people", 0),
            messages=counts.get("messages_deleted", 0),
        ),
        "success",
    )
    return redirect(url_for("privacy.show_retention"))
