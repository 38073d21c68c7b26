from __future__ import annotations

import datetime as dt

from flask import current_app

from participation.extensions import db
from participation.mail import services
from participation.mail.transport import make_transport
from participation.queue import crontab, task


@task()
def deliver_outbox() -> dict[str, int]:
    with make_transport(current_app.config["MAIL_URL"]) as transport:
        return services.deliver_pending(db.session, transport, now=dt.datetime.now(dt.UTC))


@task(periodic=crontab(minute="*"))
def deliver_outbox_periodically() -> None:
    """Picks up messages left waiting for a retry, or queued while no worker ran."""
    services.release_stuck(db.session, now=dt.datetime.now(dt.UTC))
    db.session.commit()
    deliver_outbox.call_local()
