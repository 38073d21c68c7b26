"""The evening's live vote ("pick the three most important") and its big screen.

A vote is an anonymous survey with a public link, open from its creation until the event ends,
whose form holds one multiple-choice question; every phone's vote is one SurveyAnswer of it.
A phone is a random value in a cookie: the answer's submission key is an HMAC of that value
and the vote's id, so the unique (survey, submission key) pair gives a phone exactly one
answer, and nothing stored leads back to the cookie. A second vote from the same phone
replaces the first (UPDATE) or is refused (REFUSE), as chosen when the vote was made.

Casting a vote is the hot path (a whole room votes within seconds while the big screen
polls): the vote's fixed facts (ids, option keys, limits) are cached per process, statements
are built once, and a phone's first vote is one INSERT ... SELECT that stores the response
only while the vote is open and the phone has no answer (PostgreSQL: the answer row in the
same statement; SQLite: a second INSERT). Only when nothing was stored does a SELECT ask why
(closed, or a second vote: one UPDATE or a refusal).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

import forms as engine
from participation.errors import Conflict, Invalid, NotFound, WrongState
from participation.evenings import planning
from participation.evenings.models import REFUSE, SECOND_VOTE, LiveVote
from participation.events.models import Event
from participation.formbuilder import services as formbuilder
from participation.formbuilder.models import WEB, FormDefinition, FormResponse
from participation.formbuilder.rows import new_response_insert
from participation.kept import Kept
from participation.surveys import answering
from participation.surveys import services as surveys
from participation.surveys.models import ONE_PAGE, Survey, SurveyAnswer

# No look-alikes (0/o, 1/l/i): the code is read off a projector and typed on a phone.
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 6
CODE_PATTERN = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
# The phone's cookie value as the vote page sets it (secrets.token_urlsafe(24)).
PHONE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_QUESTION = 300
MAX_OPTIONS = 30  # what still reads on a projector
MAX_OPTION_LENGTH = 200
DEFAULT_MAX_CHOICES = 3

NOT_OPENED, OPEN, CLOSED = "not_opened", "open", "closed"
_ANSWER = SurveyAnswer.__table__
_RESPONSE = FormResponse.__table__


# --- reading ----------------------------------------------------------------------------------


def event_vote(session: Session, event_id: int) -> LiveVote | None:
    """The event's live vote, if one was made."""
    return session.scalar(select(LiveVote).where(LiveVote.event_id == event_id))


def vote_count(session: Session, event_id: int) -> int:
    """How many phones voted in the event's live vote (0 without a vote)."""
    return (
        session.scalar(
            select(func.count(SurveyAnswer.id))
            .join(LiveVote, LiveVote.survey_id == SurveyAnswer.survey_id)
            .where(LiveVote.event_id == event_id)
        )
        or 0
    )


def get_vote_by_code(session: Session, code: str) -> LiveVote:
    """Raises NotFound (also for anything that is not a code at all)."""
    vote = None
    if CODE_PATTERN.match(code or ""):
        vote = session.scalar(select(LiveVote).where(LiveVote.code == code))
    if vote is None:
        raise NotFound(_("No such vote. Check the address on the screen."))
    return vote


def question_of(session: Session, vote: LiveVote) -> dict[str, Any]:
    """The vote's multiple-choice question as the form engine keeps it."""
    survey = surveys.get_survey(session, vote.survey_id)
    form = surveys.survey_form(session, survey)
    question = formbuilder.find_question(form, vote.question_key)
    if question is None:
        raise NotFound(_("No such vote. Check the address on the screen."))
    return question


def label(value: dict[str, str] | str, locale: str = "fi") -> str:
    return engine.text(value, locale)


def state_of(vote: LiveVote, event: Event, now: dt.datetime) -> str:
    """NOT_OPENED, OPEN or CLOSED: staff open and close by hand; the event's end shuts it."""
    return _state(vote.opened_at, vote.closed_at, event.ends_at, now)


def _state(
    opened_at: dt.datetime | None,
    closed_at: dt.datetime | None,
    ends_at: dt.datetime,
    now: dt.datetime,
) -> str:
    if now >= ends_at or (closed_at is not None and closed_at <= now):
        return CLOSED if opened_at is not None or now >= ends_at else NOT_OPENED
    if opened_at is None or opened_at > now:
        return NOT_OPENED
    return OPEN


def _refusal(state: str) -> WrongState:
    if state == NOT_OPENED:
        return WrongState(_("The vote has not been opened yet. Your choices were not saved."))
    return WrongState(_("The vote has closed. Your choices were not saved."))


def theme_titles(session: Session, event_id: int) -> list[str]:
    """The visible theme ideas of the event, most voted first: the vote's default options."""
    return [row.theme.title for row in planning.themes(session, event_id, include_hidden=False)]


# --- set-up -----------------------------------------------------------------------------------


def new_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _n in range(CODE_LENGTH))
        if session.scalar(select(LiveVote.id).where(LiveVote.code == code)) is None:
            return code


def _check(
    question: str, options: list[str], max_choices: int | None, second_vote: str
) -> tuple[str, list[str], int]:
    errors: dict[str, list[str]] = {}
    question = (question or "").strip()
    if not question:
        errors["question"] = [_("Write the question shown to the room.")]
    elif len(question) > MAX_QUESTION:
        errors["question"] = [_("Use at most %(n)s characters.", n=MAX_QUESTION)]
    options = [o.strip() for o in options if o and o.strip()]
    if len(options) < 2:
        errors["options"] = [_("Give at least two options, one per line.")]
    elif len(options) > MAX_OPTIONS:
        errors["options"] = [_("A live vote can have at most %(n)s options.", n=MAX_OPTIONS)]
    elif any(len(o) > MAX_OPTION_LENGTH for o in options):
        errors["options"] = [
            _("Each option can have at most %(n)s characters.", n=MAX_OPTION_LENGTH)
        ]
    elif len(set(options)) != len(options):
        twice = next(o for o in options if options.count(o) > 1)
        errors["options"] = [
            _("Each option must be different: “%(option)s” is given twice.", option=twice)
        ]
    if max_choices is None or max_choices < 1:
        errors["max_choices"] = [_("Enter how many options each phone may choose (1 or more).")]
    elif len(options) >= 2 and max_choices > len(options):
        errors["max_choices"] = [
            _("There are only %(n)s options, so at most %(n)s can be chosen.", n=len(options))
        ]
    if second_vote not in SECOND_VOTE:
        errors["second_vote"] = [_("Choose what a second vote from the same phone does.")]
    if errors:
        raise Invalid(_("Check the vote."), errors)
    assert max_choices is not None
    return question, options, max_choices


def create_vote(
    session: Session,
    event: Event,
    *,
    question: str,
    options: list[str],
    max_choices: int | None,
    second_vote: str,
    staff_user_id: int,
    now: dt.datetime,
) -> LiveVote:
    """The event's live vote: an anonymous survey with a public link, open now until the event
    ends, holding one multiple-choice question (choose 1 to `max_choices`). Not opened yet.

    Raises Invalid (messages by field: question, options, max_choices, second_vote), Conflict
    (the event has a vote already), WrongState (the event has ended)."""
    question, options, max_choices = _check(question, options, max_choices, second_vote)
    if event_vote(session, event.id) is not None:
        raise Conflict(_("The event already has a live vote."))
    if now >= event.ends_at:
        raise WrongState(_("The event has ended, so a live vote can no longer be made."))
    survey = surveys.create_survey(
        session,
        {
            "title": question,
            "opens_at": now,
            "closes_at": event.ends_at,
            "anonymous": True,
            "public_link": True,
            # Only used by the survey pages; the vote itself follows `second_vote`.
            "second_answer": second_vote,
            "layout": ONE_PAGE,
            "follows": f"event:{event.id}",
        },
        staff_user_id=staff_user_id,
        now=now,
    )
    form = surveys.survey_form(session, survey)
    key = formbuilder.add_question(
        session,
        form,
        {
            "question_type": "multiple_choice",
            "label_fi": question,
            "options_fi": "\n".join(options),
            "min_choices": 1,
            "max_choices": max_choices,
            "required": True,
        },
        now=now,
    )
    vote = LiveVote(
        event_id=event.id,
        survey_id=survey.id,
        question_key=key,
        code=new_code(session),
        second_vote=second_vote,
        created_at=now,
    )
    session.add(vote)
    session.flush()
    return vote


def open_vote(session: Session, vote: LiveVote, event: Event, *, now: dt.datetime) -> None:
    """Open (or reopen) the vote now. Raises WrongState after the event's end."""
    if now >= event.ends_at:
        raise WrongState(_("The event has ended, so the vote cannot be opened again."))
    vote.opened_at = now
    vote.closed_at = None
    session.flush()


def close_vote(session: Session, vote: LiveVote, *, now: dt.datetime) -> None:
    if vote.closed_at is None or vote.closed_at > now:
        vote.closed_at = now
    session.flush()


# --- voting -----------------------------------------------------------------------------------


def new_phone() -> str:
    return secrets.token_urlsafe(24)


def phone_key(secret: str, phone: str, vote_id: int) -> str:
    """The phone's submission key for this vote (64 hex characters): the same phone always
    gets the same key, and the key does not reveal the cookie."""
    message = f"{phone}:{vote_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Fixed:
    """What never changes once a vote is made (its options are fixed at creation)."""

    vote_id: int
    survey_id: int
    form_id: int
    event_id: int
    question_key: str
    keys: tuple[str, ...]
    max_choices: int
    version: int


_fixed: Kept[str, _Fixed] = Kept(1000)


def _fixed_of(session: Session, code: str) -> _Fixed:
    found = _fixed.get(code)
    if found is not None:
        return found
    if not CODE_PATTERN.match(code or ""):
        raise NotFound(_("No such vote. Check the address on the screen."))
    row = session.execute(
        select(
            LiveVote.id,
            LiveVote.survey_id,
            LiveVote.event_id,
            LiveVote.question_key,
            Survey.form_id,
            FormDefinition.schema,
        )
        .join(Survey, Survey.id == LiveVote.survey_id)
        .join(FormDefinition, FormDefinition.id == Survey.form_id)
        .where(LiveVote.code == code)
    ).one_or_none()
    if row is None:
        raise NotFound(_("No such vote. Check the address on the screen."))
    question = next(q for q in row.schema["questions"] if q["key"] == row.question_key)
    fixed = _Fixed(
        vote_id=row.id,
        survey_id=row.survey_id,
        form_id=row.form_id,
        event_id=row.event_id,
        question_key=row.question_key,
        keys=tuple(o["key"] for o in question["options"]),
        max_choices=question["max_choices"] or len(question["options"]),
        version=int(row.schema.get("version", 1)),
    )
    return _fixed.put(code, fixed)


def check_choices(choices: list[str], keys: tuple[str, ...], max_choices: int) -> list[str]:
    """The chosen option keys in the options' order; Invalid with the field's message."""
    chosen = set(choices)
    if not chosen:
        msg = _("Choose at least one option.")
    elif not chosen <= set(keys):
        msg = _("Choose from the options shown.")
    elif len(chosen) > max_choices:
        msg = _("Choose at most %(n)s options.", n=max_choices)
    else:
        return [k for k in keys if k in chosen]
    raise Invalid(msg, {"choices": [msg]})


@dataclass(frozen=True)
class Cast:
    vote_id: int
    updated: bool  # the phone had voted before and its choices were replaced


# Built once: a vote's statements are only executed, never constructed, per request.
_STATE = (
    select(
        LiveVote.second_vote,
        LiveVote.opened_at,
        LiveVote.closed_at,
        Event.ends_at,
        SurveyAnswer.response_id,
    )
    .join(Event, Event.id == LiveVote.event_id)
    .outerjoin(
        SurveyAnswer,
        and_(
            SurveyAnswer.survey_id == LiveVote.survey_id,
            SurveyAnswer.submission_key == bindparam("key"),
        ),
    )
    .where(LiveVote.id == bindparam("vote_id"))
)
# A phone's first vote, the common case: the form response is inserted only while the vote
# is open and the phone has no answer yet, so no SELECT comes first. On PostgreSQL the answer
# row goes in the same statement (SQLite has no INSERT in a WITH clause).
_IS_OPEN = exists().where(
    LiveVote.id == bindparam("vote_id"),
    Event.id == LiveVote.event_id,
    LiveVote.opened_at <= bindparam("now"),
    or_(LiveVote.closed_at.is_(None), LiveVote.closed_at > bindparam("now")),
    Event.ends_at > bindparam("now"),
)
_FIRST_RESPONSE = new_response_insert(_IS_OPEN, ~answering.HAS_KEY, typed=False)
_FIRST_VOTE_PG = answering.new_answer_insert_pg(_IS_OPEN, ~answering.HAS_KEY)
_CHANGE = (
    update(_RESPONSE)
    .where(_RESPONSE.c.id == bindparam("response_id"))
    .values(answers=bindparam("answers"))
)


def cast_vote(
    session: Session,
    code: str,
    choices: list[str],
    *,
    phone: str,
    secret: str,
    now: dt.datetime,
) -> Cast:
    """Store the phone's choices (option keys) as its one answer to the vote.

    Raises NotFound, Invalid ({"choices": [message]}: none, unknown or too many), WrongState
    (not opened yet, closed, the event over), Conflict (voted already and the vote refuses a
    second one). IntegrityError when the same phone's other request stored its first answer
    meanwhile (PostgreSQL): roll back and call again, which then follows the second-vote rule.
    """
    if not PHONE_PATTERN.match(phone or ""):
        msg = _("Your phone did not keep the vote's cookie. Reload the page and vote again.")
        raise Invalid(msg, {"choices": [msg]})
    fixed = _fixed_of(session, code)
    cleaned = check_choices(choices, fixed.keys, fixed.max_choices)
    key = phone_key(secret, phone, fixed.vote_id)
    # Core statements on the session's connection and transaction: no ORM objects to track.
    conn = session.connection()
    values = {
        "vote_id": fixed.vote_id,
        "now": now,
        "survey_id": fixed.survey_id,
        "key": key,
        "form_id": fixed.form_id,
        "answers": {fixed.question_key: cleaned},
        "schema_version": fixed.version,
        "source": WEB,
        # Anonymous: the Helsinki day only, as every anonymous survey answer.
        "submitted_at": surveys.day_start(now),
        "answered_on": surveys.helsinki_day(now),
    }
    # The unique (survey, submission key) pair is what makes it one answer per phone.
    if conn.dialect.name == "postgresql":
        if conn.execute(_FIRST_VOTE_PG, values).first() is not None:
            return Cast(fixed.vote_id, updated=False)
    else:
        response_id = conn.execute(_FIRST_RESPONSE, values).scalar()
        if response_id is not None:
            conn.execute(
                answering.NEW_ANSWER,
                {
                    "survey_id": fixed.survey_id,
                    "response_id": response_id,
                    "submission_key": key,
                    "answered_on": values["answered_on"],
                },
            )
            return Cast(fixed.vote_id, updated=False)
    # Nothing stored: the vote is not open, or the phone voted before. Which?
    row = conn.execute(_STATE, {"key": key, "vote_id": fixed.vote_id}).one_or_none()
    if row is None:  # deleted with its event since it was cached
        _fixed.forget(code)
        raise NotFound(_("No such vote. Check the address on the screen."))
    state = _state(row.opened_at, row.closed_at, row.ends_at, now)
    if state != OPEN:
        raise _refusal(state)
    if row.response_id is None:  # cannot be: it was open and unanswered a moment ago
        raise WrongState(_("The vote could not be saved. Send it again."))
    if row.second_vote == REFUSE:
        raise Conflict(_("This phone has already voted. Thank you!"))
    conn.execute(_CHANGE, {"response_id": row.response_id, "answers": values["answers"]})
    return Cast(fixed.vote_id, updated=True)


def phone_choices(session: Session, vote: LiveVote, *, phone: str, secret: str) -> list[str]:
    """The option keys this phone chose earlier ([] when it has not voted)."""
    if not PHONE_PATTERN.match(phone or ""):
        return []
    answers = session.scalar(
        select(FormResponse.answers)
        .join(SurveyAnswer, SurveyAnswer.response_id == FormResponse.id)
        .where(
            SurveyAnswer.survey_id == vote.survey_id,
            SurveyAnswer.submission_key == phone_key(secret, phone, vote.id),
        )
    )
    return list((answers or {}).get(vote.question_key) or [])


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TallyRow:
    label: str
    count: int
    share: float  # of the phones that voted, 0..1 (choices add up to more than 1)


@dataclass(frozen=True)
class Tally:
    question: str
    total: int  # phones that voted
    rows: list[TallyRow]  # in the options' order
    max_choices: int

    @property
    def choices(self) -> int:
        return sum(r.count for r in self.rows)


def tally(session: Session, vote_id: int, *, locale: str = "fi") -> Tally:
    """The vote's figures: phones that voted and, per option in order, the phones that chose
    it. Two queries whatever the number of votes. Raises NotFound."""
    row = session.execute(
        select(LiveVote.survey_id, LiveVote.question_key, FormDefinition.schema)
        .join(Survey, Survey.id == LiveVote.survey_id)
        .join(FormDefinition, FormDefinition.id == Survey.form_id)
        .where(LiveVote.id == vote_id)
    ).one_or_none()
    if row is None:
        raise NotFound(_("No such vote. Check the address on the screen."))
    question = next(q for q in row.schema["questions"] if q["key"] == row.question_key)
    counts = dict.fromkeys((o["key"] for o in question["options"]), 0)
    total = 0
    for answers in session.scalars(
        select(FormResponse.answers)
        .join(SurveyAnswer, SurveyAnswer.response_id == FormResponse.id)
        .where(SurveyAnswer.survey_id == row.survey_id)
    ):
        total += 1
        for key in set((answers or {}).get(row.question_key) or []):
            if key in counts:
                counts[key] += 1
    rows = [
        TallyRow(
            label=label(o["label"], locale),
            count=counts[o["key"]],
            share=counts[o["key"]] / total if total else 0.0,
        )
        for o in question["options"]
    ]
    max_choices = question["max_choices"] or len(rows)
    return Tally(label(question["label"], locale), total, rows, max_choices)
