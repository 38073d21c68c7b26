"""Personal data in comment rounds: the privacy capability's eraser and exporter for round
participants, and the rounds' own retention. A comment outlives its author: erasure and
retention anonymise the participant and keep what they said.

Registers itself with participation.privacy.registry when its package is imported.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from participation import tokens
from participation.digests.models import PENDING, READY, Digest
from participation.privacy import registry
from participation.register.models import Association, Person
from participation.rounds.models import Comment, Participant, Round, Section

MANAGE_PURPOSE = "round_manage"
ANONYMOUS_NAME = "—"


def anonymise_participants(
    session: Session, participants: list[Participant], now: dt.datetime
) -> int:
    """Name, address and the person link go; the comments, their association and the answers
    stay. The address becomes a placeholder unique per row (the column is unique per round).
    A digest that printed one of these names is withdrawn and made again without it."""
    _withdraw_digests_naming(session, [p for p in participants if p.name_public])
    for participant in participants:
        participant.name = ANONYMOUS_NAME
        participant.email = f"erased-{participant.id}"
        participant.person_id = None
        participant.consent_id = None
        participant.name_public = False
        participant.anonymised_at = now
    ids = [p.id for p in participants]
    if ids:
        session.execute(
            delete(tokens.ActionLink).where(
                tokens.ActionLink.purpose == MANAGE_PURPOSE, tokens.ActionLink.subject_id.in_(ids)
            )
        )
    session.flush()
    return len(participants)


def _withdraw_digests_naming(session: Session, named: list[Participant]) -> None:
    """Ready digests of the rounds where these names were shown go back to pending without
    their PDF: nobody can download the old file, and the worker's periodic task renders them
    again (mail still waiting for a digest then carries the new one)."""
    round_ids = {p.round_id for p in named}
    if not round_ids:
        return
    session.execute(
        update(Digest)
        .where(Digest.kind == "round", Digest.subject_id.in_(round_ids), Digest.status == READY)
        .values(status=PENDING, pdf=None, pages=0, size=0, started_at=None, rendered_at=None)
    )


def _participants_of(session: Session, person: Person) -> list[Participant]:
    return list(
        session.scalars(
            select(Participant).where(
                or_(
                    Participant.person_id == person.id,
                    func.lower(Participant.email) == person.email.strip().lower(),
                ),
                Participant.anonymised_at.is_(None),
            )
        )
    )


def erase_round_participants(session: Session, person: Person, now: dt.datetime) -> dict[str, int]:
    """Eraser for participation.privacy: the person's round participations are anonymised; their
    address quoted inside their own comments is blanked out too."""
    participants = _participants_of(session, person)
    pattern = re.compile(re.escape(person.email.strip()), re.IGNORECASE)
    if participants and person.email.strip():
        for comment in session.scalars(
            select(Comment).where(Comment.participant_id.in_([p.id for p in participants]))
        ):
            if pattern.search(comment.body):
                comment.body = pattern.sub("[erased]", comment.body)
    return {"round_participants": anonymise_participants(session, participants, now)}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def export_round_participation(session: Session, person: Person) -> dict[str, Any]:
    """Exporter for participation.privacy: every round the person took part in, with their
    comments (withdrawn ones too) and what became of them."""
    participants = _participants_of(session, person)
    ids = [p.id for p in participants]
    rounds = {
        r.id: r
        for r in session.scalars(
            select(Round).where(Round.id.in_({p.round_id for p in participants}))
        )
    }
    associations = dict(
        session.execute(
            select(Association.id, Association.name).where(
                Association.id.in_({p.association_id for p in participants if p.association_id})
            )
        ).all()
    )
    comments = session.execute(
        select(Comment, Section.heading)
        .outerjoin(Section, Section.id == Comment.section_id)
        .where(Comment.participant_id.in_(ids))
        .order_by(Comment.created_at, Comment.id)
    ).all()
    by_participant: dict[int, list[dict[str, Any]]] = {}
    for comment, heading in comments:
        by_participant.setdefault(comment.participant_id, []).append(
            {
                "section": heading,
                "comment": comment.body,
                "created_at": _plain(comment.created_at),
                "updated_at": _plain(comment.updated_at),
                "withdrawn_at": _plain(comment.withdrawn_at),
                "decision": comment.decision,
                "decision_reason": comment.decision_reason,
            }
        )
    return {
        "comment_rounds": [
            {
                "round": rounds[p.round_id].title if p.round_id in rounds else None,
                "name": p.name,
                "email": p.email,
                "association": associations.get(p.association_id),
                "name_public": p.name_public,
                "language": p.language,
                "created_at": _plain(p.created_at),
                "comments": by_participant.get(p.id, []),
            }
            for p in participants
        ]
    }


def anonymise_expired_rounds(session: Session, now: dt.datetime) -> dict[str, int]:
    """Retention: in every round closed longer ago than its retention period, anonymise all
    participants and mark the round done. Returns counts for the erasure log."""
    rounds = [
        r
        for r in session.scalars(
            select(Round).where(Round.anonymised_at.is_(None), Round.closes_at < now)
        )
        if r.closes_at + dt.timedelta(days=r.retention_days) <= now
    ]
    anonymised = 0
    for round_ in rounds:
        participants = list(
            session.scalars(
                select(Participant).where(
                    Participant.round_id == round_.id, Participant.anonymised_at.is_(None)
                )
            )
        )
        anonymised += anonymise_participants(session, participants, now)
        round_.anonymised_at = now
    session.flush()
    return {"rounds_anonymised": len(rounds), "round_participants": anonymised}


registry.register(
    exporter=export_round_participation,
    eraser=erase_round_participants,
    retention=lambda session, now, _days: anonymise_expired_rounds(session, now),
)
