from __future__ import annotations

import datetime as dt
import logging

from flask import current_app

from participation.extensions import db
from participation.mail import services
from participation.mail.transport import make_transport
from participation.queue import crontab, task

log = logging.getLogger(__name__)


@task()
def deliver_outbox() -> dict[str, int]:
    with make_transport(current_app.config["MAIL_URL"]) as transport:
        return services.deliver_pending(db.session, transport, now=dt.datetime.now(dt.UTC))


@task(periodic=crontab(minute="*"))
def deliver_outbox_periodically() -> None:
    """Picks up messages left waiting for a retry, or queued while no worker ran; reports rows
    a killed worker left 'sending' as failed, for staff to check and retry (never re-sent)."""
    stuck = services.release_stuck(db.session, now=dt.datetime.now(dt.UTC))
    db.session.commit()
    if stuck:
        log.warning("%s messages were interrupted while sending and are marked failed", stuck)
    deliver_outbox.call_local()
