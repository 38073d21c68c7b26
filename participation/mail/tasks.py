from __future__ import annotations

import datetime as dt
import logging
import threading
import time

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


_DELIVER = f"{__name__}.deliver_outbox"  # its name in the queue (participation.queue._name)


# How long a delivery asked for by a request waits in the queue: mails queued meanwhile by the
# same process ride along with it instead of each enqueueing a task of its own.
KICK_DELAY = 0.5
_kick_lock = threading.Lock()


def kick_outbox() -> None:
    """Have the worker deliver what this request just committed to the outbox, within about a
    second (the consumer's scheduler looks every second).

    A burst of requests (a room registering at once) enqueues one delivery per process and
    half second, not one per request: a delivery still waiting for its time picks up every row
    committed before it starts, so a request that sees one pending needs none of its own.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions["huey"].immediate:
        deliver_outbox()
        return
    with _kick_lock:
        due = app.extensions.get("outbox_kick_due", 0.0)
        now = time.time()
        if now < due:
            return
        app.extensions["huey_tasks"][_DELIVER].schedule(delay=KICK_DELAY)
        # From the time taken before scheduling: never later than the task's own.
        app.extensions["outbox_kick_due"] = now + KICK_DELAY


@task(periodic=crontab(minute="*"))
def deliver_outbox_periodically() -> None:
    """Picks up messages left waiting for a retry, or queued while no worker ran; reports rows
    a killed worker left 'sending' as failed, for staff to check and retry (never re-sent)."""
    stuck = services.release_stuck(db.session, now=dt.datetime.now(dt.UTC))
    db.session.commit()
    if stuck:
        log.warning("%s messages were interrupted while sending and are marked failed", stuck)
    deliver_outbox.call_local()
