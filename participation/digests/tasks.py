"""Worker tasks: render a digest once, then deliver the messages that waited for it."""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app

from participation.digests import pdf, services
from participation.extensions import db
from participation.mail import tasks as mail_tasks
from participation.queue import crontab, task

log = logging.getLogger(__name__)


@task()
def render_digest(digest_id: int) -> str | None:
    """Render (if still pending) and send what waited for it; returns the digest's status."""
    digest = services.render_digest(db.session, digest_id, now=dt.datetime.now(dt.UTC))
    mail_tasks.deliver_outbox()
    return digest.status if digest else None


@task(periodic=crontab(minute="*"))
def render_lost_digests() -> None:
    """Enqueue digests whose render was lost (a lost queue message or a killed worker)."""
    time_limit = float(current_app.config.get("PDF_TIME_LIMIT", pdf.TIME_LIMIT))
    ids = services.digests_to_render(db.session, now=dt.datetime.now(dt.UTC), time_limit=time_limit)
    db.session.commit()
    for digest_id in ids:
        log.info("digest %s: render enqueued again", digest_id)
        render_digest(digest_id)
