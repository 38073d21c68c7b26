"""A survey attached to an event reaches its attendees through the event's thank-you mail:
the public link, or a personal invitation link for an invitations-only survey; once per
person however often the worker runs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select

from participation.events import tasks as event_tasks
from participation.events.models import Event
from participation.mail.models import OutboxMessage
from participation.surveys import services
from participation.surveys.models import SurveyAnswer, SurveyInvitation
from tests.events import factories as ef
from tests.surveys.factories import make_survey, question_keys

TWO = [
    {"question_type": "short_text", "label_fi": "Mikä jäi mieleen?", "max_length": 200},
    {"question_type": "yes_no", "label_fi": "Tuletko uudelleen?", "required": True},
]
FEEDBACK = "https://palaute.esimerkkila.example/ilta"
INVITE_LINK = re.compile(r"http://\S+/surveys/i/\S+")


def _past_event(db: Any, now: dt.datetime, *, people: tuple[str, ...]) -> Event:
    event = ef.make_event(db, now=now, state="past", title="Yhdistysilta keväällä")
    for name in people:
        ef.make_registration(
            db, event, name=name, email=f"{name.lower()}@example.org", now=now, attended=True
        )
    ef.make_registration(db, event, name="Poissa", email="poissa@example.org", now=now)
    db.flush()
    return event


def _thank_yous(db: Any) -> dict[str, str]:
    mails = db.scalars(
        select(OutboxMessage).where(OutboxMessage.purpose == "event_thank_you")
    ).all()
    bodies: dict[str, str] = {}
    for mail in mails:
        assert mail.recipient not in bodies, f"two thank-yous to {mail.recipient}"
        bodies[mail.recipient] = mail.body_text
    return bodies


def test_public_survey_link_goes_with_the_feedback_link_once_per_attendee(
    db: Any, now: dt.datetime
) -> None:
    event = _past_event(db, now, people=("Aino", "Eero"))
    event.feedback_url = FEEDBACK
    survey = make_survey(db, now=now, questions=TWO, title="Palaute illasta", event_id=event.id)
    # Neither a closed survey of the same event nor another event's survey goes along.
    closed = make_survey(db, now=now, questions=TWO, state="closed", event_id=event.id)
    other_event = ef.make_event(db, now=now, title="Toinen ilta")
    other = make_survey(db, now=now, questions=TWO, event_id=other_event.id)
    db.flush()

    assert event_tasks.send_due_thank_yous(db, now) == 2
    assert event_tasks.send_due_thank_yous(db, now + dt.timedelta(minutes=5)) == 0

    bodies = _thank_yous(db)
    assert sorted(bodies) == ["aino@example.org", "eero@example.org"]
    public = f"http://localhost/surveys/{survey.slug}"
    for body in bodies.values():
        assert FEEDBACK in body
        assert public in body and "Palaute illasta" in body
        assert closed.slug not in body and other.slug not in body
        assert "/surveys/i/" not in body
    # A public survey needs no invitations.
    assert db.scalar(select(func.count(SurveyInvitation.id))) == 0


def test_invitations_only_survey_gets_one_personal_link_per_attendee(
    client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    event = _past_event(db, now, people=("Aino", "Eero"))
    event.feedback_url = ""
    survey = make_survey(
        db, now=now, questions=TWO, title="Palaute illasta", public_link=False, event_id=event.id
    )
    # Eero was invited by hand before the event: his invitation is reused, not doubled.
    services.invite(db, survey.id, ["Eero@Example.org"], now=now - dt.timedelta(days=2))
    keys = question_keys(db, survey)
    db.commit()

    assert event_tasks.send_due_thank_yous(db, now) == 2
    assert event_tasks.send_due_thank_yous(db, now + dt.timedelta(hours=1)) == 0
    db.commit()

    invitations = services.list_invitations(db, survey.id)
    assert [i.email_key for i in invitations] == ["aino@example.org", "eero@example.org"]
    assert all(i.sent_at is not None for i in invitations)
    assert invitations[0].name == "Aino"
    bodies = _thank_yous(db)
    links = {to: INVITE_LINK.findall(body) for to, body in bodies.items()}
    assert all(len(found) == 1 for found in links.values()), links
    assert links["aino@example.org"] != links["eero@example.org"]
    assert all(FEEDBACK not in body for body in bodies.values())
    assert f"/surveys/{survey.slug}" not in bodies["aino@example.org"]

    # Aino's personal link opens the survey as her invitation and takes her answer.
    link = links["aino@example.org"][0]
    token = link.rsplit("/", 1)[1]
    response = client.get(link.removeprefix("http://localhost"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Tuletko uudelleen?" in html
    assert re.search(rf'name="invitation"[^>]*value="{re.escape(token)}"', html) or re.search(
        rf'value="{re.escape(token)}"[^>]*name="invitation"', html
    )
    submission_key = re.search(r'name="submission_key"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="submission_key"', html
    )
    sent = post(
        f"/surveys/{survey.slug}",
        {
            "invitation": token,
            "submission_key": submission_key.group(1),
            "page": "0",
            keys[0]: "Hyvät keskustelut",
            keys[1]: "yes",
            "action": "send",
        },
    )
    assert sent.status_code == 302 and "/thanks" in sent.headers["Location"]
    assert services.answered_counts(db, survey.id) == (1, 2)
    assert db.scalar(select(func.count(SurveyAnswer.id))) == 1


def test_an_answered_invitation_gets_no_new_link(db: Any, now: dt.datetime) -> None:
    event = _past_event(db, now, people=("Aino",))
    event.feedback_url = ""
    survey = make_survey(db, now=now, questions=TWO, public_link=False, event_id=event.id)
    services.invite(db, survey.id, ["aino@example.org"], now=now)
    (invitation,) = services.list_invitations(db, survey.id)
    invitation.answered = True  # anonymous: a second answer would be refused anyway
    db.flush()

    assert event_tasks.send_due_thank_yous(db, now) == 1
    body = _thank_yous(db)["aino@example.org"]
    assert "/surveys/i/" not in body and f"/surveys/{survey.slug}" not in body
    assert "Yhdistysilta keväällä" in body
    assert services.list_invitations(db, survey.id)[0].sent_at is None
