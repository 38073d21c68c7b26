"""A known participant's next comment in one statement: the common post, kept short.

Once a browser remembers its participant (after the first comment), a comment needs no identity
check, no register person, no consent and no mail. What the form and its answer show of the
round (limits, section headings, public or not) and of the participant (name, address) is kept
per process — the round's for a couple of seconds, the participant's until the process ends —
and one INSERT … SELECT stores the comment only while, in the database and at that moment, the
round is open, the section is one of the round's version and takes comments, the text fits the
round's limit, the participant is still the round's and the form's key is new. So a stale
cache can never store what the rules refuse: the insert then stores nothing, and the post goes
to `services.submit_comment`, which gives the message — as does anything else the short path
does not settle (an unknown person, a closed round, a too long text, a key seen before). The
rules themselves (`comment_length_error`, `KEY_PATTERN`) are the services' own.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, Text, and_, bindparam, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from participation.db import UTCDateTime, guarded_insert, read_only
from participation.kept import Kept
from participation.rounds.models import Comment, Participant, Round, Section
from participation.rounds.services import KEY_PATTERN, clean_body, comment_length_error

# How long a process shows what it read of a round before reading it again: a change by staff
# (a heading, the limit, public or not) reaches the forms within this time; the rules hold at
# once (the insert checks them).
ROUND_FACTS_FOR = 2.0
PARTICIPANTS_KEPT = 10_000


@dataclass(frozen=True)
class SectionRef:
    """A section as the comment form shows it."""

    id: int | None
    heading: str


@dataclass(frozen=True)
class Someone:
    """The participant as the form shows them ("You are taking part as …")."""

    id: int
    name: str
    email: str


@dataclass(frozen=True)
class RoundFacts:
    """What the comment form and its answer show of a round."""

    id: int
    slug: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    section_comments: bool
    comments_public: bool
    association_required: bool
    max_comment_length: int
    consent_key: str
    headings: dict[int, str]  # the sections of the version it comments on


@dataclass(frozen=True)
class Target:
    round: RoundFacts
    section: SectionRef | None
    participant: Someone


_ROUND = (
    select(
        Round.id,
        Round.slug,
        Round.opens_at,
        Round.closes_at,
        Round.section_comments,
        Round.comments_public,
        Round.association_required,
        Round.max_comment_length,
        Round.consent_key,
        Section.id.label("section_id"),
        Section.heading,
    )
    .outerjoin(Section, Section.version_id == Round.draft_version_id)
    .where(Round.slug == bindparam("slug"))
)
_PARTICIPANT = select(
    Participant.id, Participant.round_id, Participant.name, Participant.email
).where(Participant.id.in_(bindparam("ids", expanding=True)), Participant.anonymised_at.is_(None))

# slug -> (kept until, facts)
_rounds: Kept[str, tuple[float, RoundFacts]] = Kept(1000)
# (round slug, participant id) -> as shown; by slug, not round id: a slug is never given twice
_participants: Kept[tuple[str, int], Someone] = Kept(PARTICIPANTS_KEPT)


def _round_facts(session: Session, slug: str) -> tuple[RoundFacts | None, bool]:
    """The round's facts, and whether they were read (not kept)."""
    kept = _rounds.get(slug)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1], False
    rows = session.connection().execute(_ROUND, {"slug": slug}).all()
    if not rows:
        return None, True
    first = rows[0]
    facts = RoundFacts(
        id=first.id,
        slug=first.slug,
        opens_at=first.opens_at,
        closes_at=first.closes_at,
        section_comments=first.section_comments,
        comments_public=first.comments_public,
        association_required=first.association_required,
        max_comment_length=first.max_comment_length,
        consent_key=first.consent_key,
        headings={r.section_id: r.heading for r in rows if r.section_id is not None},
    )
    _rounds.put(slug, (time.monotonic() + ROUND_FACTS_FOR, facts))
    return facts, True


def _participant(
    session: Session, round_: RoundFacts, remembered: list[int]
) -> tuple[Someone | None, bool]:
    """The remembered participant of this round, and whether it was read (not kept)."""
    for participant_id in remembered:
        if (kept := _participants.get((round_.slug, participant_id))) is not None:
            return kept, False
    rows = session.connection().execute(_PARTICIPANT, {"ids": remembered}).all()
    found = next((r for r in rows if r.round_id == round_.id), None)
    if found is None:
        return None, True
    someone = Someone(found.id, found.name, found.email)
    _participants.put((round_.slug, found.id), someone)
    return someone, True


def find_target(
    session: Session, slug: str, section_id: int | None, remembered: list[int]
) -> Target | None:
    """The round, section and remembered participant as the form shows them, or None when
    any is missing (the full path then says which). What is not kept is read in a plain
    transaction, on SQLite ended before returning (the write lock is taken for the insert
    alone); elsewhere the insert continues it."""
    if not remembered:
        return None
    with read_only():
        round_, read = _round_facts(session, slug)
        participant = None
        if round_ is not None:
            participant, read_too = _participant(session, round_, remembered)
            read = read or read_too
        if read and session.connection().dialect.name == "sqlite":
            session.commit()
    if round_ is None or participant is None:
        return None
    section = None
    if section_id is not None:
        if not round_.section_comments or section_id not in round_.headings:
            return None
        section = SectionRef(section_id, round_.headings[section_id])
    return Target(round_, section, participant)


def forget(slug: str, participant_id: int | None = None) -> None:
    """Read the round (and the participant) afresh next time: after the short path stored
    nothing, whatever it kept may be what changed."""
    _rounds.forget(slug)
    if participant_id is not None:
        _participants.forget((slug, participant_id))


# Built once: a comment's statement is only executed, never constructed, per request.
_OPEN_ROUND = exists().where(
    Round.id == bindparam("round_id"),
    Round.opens_at <= bindparam("now"),
    Round.closes_at > bindparam("now"),
    func.length(bindparam("body", type_=Text())) <= Round.max_comment_length,
    or_(
        bindparam("section_id", type_=Integer()).is_(None),
        and_(
            Round.section_comments.is_(True),
            exists().where(
                Section.id == bindparam("section_id", type_=Integer()),
                Section.version_id == Round.draft_version_id,
            ),
        ),
    ),
)
_STILL_THEIRS = exists().where(
    Participant.id == bindparam("participant_id"),
    Participant.round_id == bindparam("round_id"),
    Participant.anonymised_at.is_(None),
)
_NEW_KEY = ~exists().where(Comment.submission_key == bindparam("submission_key"))


def _insert(typed: bool) -> Any:
    return guarded_insert(
        Comment.__table__,
        [
            ("round_id", "round_id", Integer()),
            ("section_id", "section_id", Integer()),
            ("participant_id", "participant_id", Integer()),
            ("body", "body", Text()),
            ("submission_key", "submission_key", String()),
            ("created_at", "now", UTCDateTime()),
            ("updated_at", "now", UTCDateTime()),
            ("hidden_reason", "empty", String()),
            ("decision_reason", "empty", Text()),
        ],
        _OPEN_ROUND,
        _STILL_THEIRS,
        _NEW_KEY,
        typed=typed,
    )


_INSERT = {False: _insert(typed=False), True: _insert(typed=True)}


def add_comment(
    session: Session, target: Target, *, body: str, submission_key: str, now: dt.datetime
) -> int | None:
    """Store the comment and commit; its id, or None when the full path must decide (then
    nothing was stored, the transaction is rolled back and what was kept is forgotten)."""
    body = clean_body(body)
    round_ = target.round
    if (
        not KEY_PATTERN.match(submission_key or "")
        or comment_length_error(round_, body) is not None  # type: ignore[arg-type]
        or not round_.opens_at <= now < round_.closes_at
    ):
        return None
    conn = session.connection()
    statement = _INSERT[conn.dialect.name == "postgresql"]
    values = {
        "round_id": round_.id,
        "section_id": target.section.id if target.section else None,
        "participant_id": target.participant.id,
        "body": body,
        "submission_key": submission_key,
        "now": now,
        "empty": "",
    }
    try:
        comment_id = conn.execute(statement, values).scalar()
    except IntegrityError:  # the same key stored by a request racing this one
        comment_id = None
    if comment_id is None:
        session.rollback()
        forget(round_.slug, target.participant.id)
        return None
    session.commit()
    return comment_id
