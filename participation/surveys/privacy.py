"""Personal data in surveys: the privacy capability's eraser and exporter.

Only identified surveys keep who answered (name, address, register person, invitation);
invitations and results requests keep an address in every survey. Erasure removes who, and
keeps what was said: the answers stay (in the results as anyone's), the invitation stays as an
"answered" tick for the counts, a results request goes.

Registers itself with participation.privacy.registry when its package is imported.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from participation import tokens
from participation.events.privacy import labelled_answers, plain_value
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.privacy import registry
from participation.register.models import Person
from participation.surveys.models import (
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyProgress,
    SurveyResultsRequest,
)

# The same purposes as participation.surveys.services (not imported from there: services
# imports the privacy capability's neighbours, which import this module).
INVITATION_PURPOSE = "survey_invitation"
PROGRESS_PURPOSE = "survey_progress"


def _address(person: Person) -> str:
    return person.email.strip().lower()


def _answers_of(session: Session, person: Person) -> list[SurveyAnswer]:
    address = _address(person)
    return list(
        session.scalars(
            select(SurveyAnswer)
            .where(
                or_(
                    SurveyAnswer.person_id == person.id,
                    func.lower(SurveyAnswer.email) == address,
                )
            )
            .order_by(SurveyAnswer.id)
        )
    )


def _invitations_of(session: Session, person: Person) -> list[SurveyInvitation]:
    return list(
        session.scalars(
            select(SurveyInvitation)
            .where(SurveyInvitation.email_key == _address(person))
            .order_by(SurveyInvitation.id)
        )
    )


def _requests_of(session: Session, person: Person) -> list[SurveyResultsRequest]:
    return list(
        session.scalars(
            select(SurveyResultsRequest)
            .where(SurveyResultsRequest.email_key == _address(person))
            .order_by(SurveyResultsRequest.id)
        )
    )


def erase_survey_data(session: Session, person: Person, now: dt.datetime) -> dict[str, int]:
    """Eraser for participation.privacy: who answered goes from the person's answers, their
    invitations keep only whether they were answered (their links and saved progress go), and
    their requests for results are deleted."""
    answers = _answers_of(session, person)
    for answer in answers:
        answer.name = None
        answer.email = None
        answer.person_id = None
    invitations = _invitations_of(session, person)
    invitation_ids = [i.id for i in invitations]
    for invitation in invitations:
        # The address key is unique per survey: a placeholder unique per row.
        invitation.email = invitation.email_key = f"erased-{invitation.id}"
        invitation.name = ""
    session.flush()
    progress_ids: list[int] = []
    if invitation_ids:
        progress_ids = list(
            session.scalars(
                select(SurveyProgress.id).where(SurveyProgress.invitation_id.in_(invitation_ids))
            )
        )
        session.execute(
            delete(tokens.ActionLink).where(
                tokens.ActionLink.purpose == INVITATION_PURPOSE,
                tokens.ActionLink.subject_id.in_(invitation_ids),
            )
        )
    if progress_ids:
        session.execute(
            delete(tokens.ActionLink).where(
                tokens.ActionLink.purpose == PROGRESS_PURPOSE,
                tokens.ActionLink.subject_id.in_(progress_ids),
            )
        )
        session.execute(delete(SurveyProgress).where(SurveyProgress.id.in_(progress_ids)))
    requests = _requests_of(session, person)
    if requests:
        session.execute(
            delete(SurveyResultsRequest).where(
                SurveyResultsRequest.id.in_([r.id for r in requests])
            )
        )
    session.flush()
    return {
        "survey_answers": len(answers),
        "survey_invitations": len(invitations),
        "survey_results_requests": len(requests),
    }


def export_survey_data(session: Session, person: Person) -> dict[str, Any]:
    """Exporter for participation.privacy: the person's answers to identified surveys (with
    the questions), their invitations and their requests for results."""
    answers = _answers_of(session, person)
    invitations = _invitations_of(session, person)
    requests = _requests_of(session, person)
    survey_ids = (
        {a.survey_id for a in answers}
        | {i.survey_id for i in invitations}
        | {r.survey_id for r in requests}
    )
    titles = dict(
        session.execute(select(Survey.id, Survey.title).where(Survey.id.in_(survey_ids))).all()
    )
    responses = {
        r.id: r
        for r in session.scalars(
            select(FormResponse).where(FormResponse.id.in_([a.response_id for a in answers]))
        )
    }
    forms = {
        f.id: f
        for f in session.scalars(
            select(FormDefinition).where(
                FormDefinition.id.in_({r.form_id for r in responses.values()})
            )
        )
    }
    exported_answers = []
    for answer in answers:
        response = responses.get(answer.response_id)
        exported_answers.append(
            {
                "survey": titles.get(answer.survey_id, ""),
                "answered_on": plain_value(answer.answered_on),
                "name": answer.name,
                "email": answer.email,
                "answers": labelled_answers(
                    forms.get(response.form_id) if response else None,
                    response.answers if response else {},
                ),
            }
        )
    return {
        "survey_answers": exported_answers,
        "survey_invitations": [
            {
                "survey": titles.get(i.survey_id, ""),
                "email": i.email,
                "invited_at": plain_value(i.invited_at),
                "answered": i.answered,
                "wants_results": i.wants_results,
            }
            for i in invitations
        ],
        "survey_results_requests": [
            {
                "survey": titles.get(r.survey_id, ""),
                "email": r.email,
                "requested_on": plain_value(r.requested_on),
            }
            for r in requests
        ],
    }


registry.register(exporter=export_survey_data, eraser=erase_survey_data)
