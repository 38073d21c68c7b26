"""Routes of the digests capability: publish a round's digest, follow its mailing, download."""

from __future__ import annotations

import io

from flask import abort, flash, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from participation.accounts.policy import staff_required
from participation.db import utcnow
from participation.digests import bp, policy, services, tasks
from participation.digests.round_digest import get_round
from participation.extensions import db
from participation.mail import services as mail
from participation.mail import tasks as mail_tasks
from participation.web import render_page_or_partial


@bp.post("/staff/rounds/<int:round_id>/digest")
@staff_required
def publish_round_digest(round_id: int) -> Response:
    round_ = get_round(db.session, round_id)
    if not policy.can_publish(current_user, round_.created_by_id):
        abort(403)
    mailing = services.publish_round_digest(
        db.session, round_id, now=utcnow(), staff_user_id=current_user.id
    )
    db.session.commit()
    tasks.render_digest(mailing.digest_id)
    flash(
        _("The digest is being made. Each recipient gets it by e-mail when it is ready."), "success"
    )
    return redirect(url_for("digests.show_mailing", mailing_id=mailing.id))


def _check_mailing(mailing_id: int) -> None:
    """403 unless the user may follow the mailing. Raises NotFound."""
    mailing = mail.get_mailing(db.session, mailing_id)
    owner = services.subject_owner_id(db.session, mailing.digest_id)
    if not policy.can_follow_mailing(current_user, mailing, owner):
        abort(403)


@bp.get("/staff/mailings/<int:mailing_id>")
@staff_required
def show_mailing(mailing_id: int) -> str:
    _check_mailing(mailing_id)
    progress = services.mailing_progress(db.session, mailing_id)
    return render_page_or_partial(
        "digests/mailing.html", "digests/_mailing_progress.html", **progress
    )


@bp.post("/staff/mailings/<int:mailing_id>/retry")
@staff_required
def retry_failed_messages(mailing_id: int) -> Response:
    _check_mailing(mailing_id)
    count, digest_ids = mail.retry_failed(db.session, mailing_id, now=utcnow())
    db.session.commit()
    _send_again(digest_ids)
    flash(
        ngettext("%(num)s message was queued again.", "%(num)s messages were queued again.", count),
        "success",
    )
    return redirect(url_for("digests.show_mailing", mailing_id=mailing_id))


@bp.post("/staff/mailings/<int:mailing_id>/messages/<int:message_id>/retry")
@staff_required
def retry_mailing_message(mailing_id: int, message_id: int) -> Response:
    _check_mailing(mailing_id)
    digest_ids = mail.retry_mailing_message(db.session, mailing_id, message_id, now=utcnow())
    db.session.commit()
    _send_again(digest_ids)
    flash(_("The message was queued again."), "success")
    return redirect(url_for("digests.show_mailing", mailing_id=mailing_id))


def _send_again(digest_ids: list[int]) -> None:
    """A digest that failed renders again (and then delivers); otherwise deliver at once."""
    for digest_id in digest_ids:
        tasks.render_digest(digest_id)
    if not digest_ids:
        mail_tasks.kick_outbox()


@bp.get("/digests/<int:digest_id>.pdf")
def download_digest(digest_id: int) -> Response:
    """A published digest for anyone; staff may open any digest that is ready."""
    digest = services.get_downloadable_digest(
        db.session, digest_id, staff=current_user.is_authenticated
    )
    return send_file(
        io.BytesIO(digest.pdf or b""),
        mimetype="application/pdf",
        as_attachment=False,
        download_name=mail.pdf_filename(digest.title),
        max_age=0,
    )
