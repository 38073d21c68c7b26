"""The worker's part in surveys: one reminder to each invited person who has not answered.

The work is services.send_reminders (each invitation is claimed by setting reminded_at in the
transaction that queues its mail, so a second run finds nothing left); the task adds the
session, the commit and the delivery.
"""

from __future__ import annotations

from participation.db import utcnow
from participation.extensions import db
from participation.mail import tasks as mail_tasks
from participation.queue import task
from participation.surveys import services
from participation.web import absolute_url


def invitation_url(token: str) -> str:
    return absolute_url("surveys.answer_by_invitation", token=token)


def public_url(slug: str) -> str:
    return absolute_url("surveys.show_survey", slug=slug)


@task()
def send_survey_reminders(survey_id: int) -> int:
    """Remind the invited who have not answered (once each); returns how many were reminded."""
    sent = services.send_reminders(db.session, survey_id, now=utcnow(), link_url=invitation_url)
    db.session.commit()
    if sent:
        mail_tasks.deliver_outbox()
    return sent
