from __future__ import annotations

import datetime as dt

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from participation.accounts.forms import ConfirmForm
from participation.accounts.policy import coordinator_required
from participation.extensions import db
from participation.mail import bp, services, tasks
from participation.pagination import Page, page_arg


@bp.get("/staff/outbox")
@coordinator_required
def list_outbox() -> str:
    page = page_arg(request.args)
    per_page = current_app.config["PAGE_SIZE"]
    rows, total = services.list_messages(db.session, page=page, per_page=per_page)
    mailings = services.list_mailings(db.session, limit=10) if page == 1 else []
    return render_template(
        "mail/outbox.html",
        page=Page(rows, page, per_page, total),
        form=ConfirmForm(),
        mailings=mailings,
        mailing_counts=services.count_by_status(db.session, [m.id for m in mailings]),
    )


@bp.get("/staff/outbox/<int:message_id>")
@coordinator_required
def show_message(message_id: int) -> str:
    return render_template(
        "mail/message.html",
        message=services.get_message(db.session, message_id),
        form=ConfirmForm(),
    )


@bp.post("/staff/outbox/<int:message_id>/retry")
@coordinator_required
def retry_message(message_id: int) -> Response:
    services.retry_message(db.session, message_id, now=dt.datetime.now(dt.UTC))
    db.session.commit()
    tasks.kick_outbox()
    flash(_("The message was queued again."), "success")
    return redirect(url_for("mail.show_message", message_id=message_id))
