"""The hot path of answering: a complete answer sent through a survey's public link.

A busy survey (a hall answering at the end of an evening, a link in a newsletter) gets its
answers in bursts, so the common answer costs as little as the rules allow:

- what answering needs of the survey (its settings and its form's schema as JSON text) is read
  in one query and kept per process by the slug; nothing is trusted from it: the insert checks
  it all again;
- the form class is built once per process for each schema text and language, so a changed
  question makes a new class;
- the posted answers are read and checked without binding a WTForms form
  (`forms.formdata`); the form is bound only to show messages;
- the answer is one guarded INSERT ... SELECT, which stores it only while the survey is open
  with a public link, its settings and questions are those the answer was checked against, and
  no answer has the same submission key (PostgreSQL: the answer row in the same statement;
  SQLite: a second INSERT). No SELECT comes first, and on SQLite the write lock is held for
  the inserts only.

Whenever nothing is stored (a refused answer, a closed or changed survey, a key sent before),
the view takes the full way, `services.submit_answer`, which tells which and has the rules for
invitations, saved progress (paged surveys) and paper answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Date, Integer, String, Text, bindparam, cast, exists, insert, select
from sqlalchemy.orm import Session

import forms as engine
from forms.formdata import FormData, answers_from_formdata
from participation.errors import NotFound
from participation.formbuilder.models import WEB, FormDefinition, FormResponse
from participation.formbuilder.rows import new_response_insert
from participation.kept import Kept
from participation.surveys.models import Survey, SurveyAnswer
from participation.surveys.services import KEY_PATTERN, day_start, helsinki_day

_ANSWER = SurveyAnswer.__table__
_RESPONSE = FormResponse.__table__
# The schema as the database keeps it (JSON text on both databases): the cache key.
_SCHEMA_TEXT = cast(FormDefinition.schema, Text)


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicFacts:
    """What answering through the public link needs of a survey, read as plain columns (an
    ORM object costs more than the rest of the read). Possibly stale: only a guide to which
    way to take, checked again by the insert."""

    id: int
    slug: str
    form_id: int
    public_link: bool
    anonymous: bool
    layout: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    schema_text: str  # the form's schema as JSON text: the key of its cached form class

    def state(self, now: dt.datetime) -> str:
        """As Survey.state: "upcoming", "open" or "closed"."""
        if now < self.opens_at:
            return "upcoming"
        return "open" if now < self.closes_at else "closed"


_FACTS = (
    select(
        Survey.id,
        Survey.slug,
        Survey.form_id,
        Survey.public_link,
        Survey.anonymous,
        Survey.layout,
        Survey.opens_at,
        Survey.closes_at,
        _SCHEMA_TEXT.label("schema"),
    )
    .join(FormDefinition, FormDefinition.id == Survey.form_id)
    .where(Survey.slug == bindparam("slug"))
)
_facts: Kept[str, PublicFacts] = Kept(256)


def remembered_facts(slug: str) -> PublicFacts | None:
    """The facts read last in this process, if any (they may be stale)."""
    return _facts.get(slug)


def read_facts(session: Session, slug: str) -> PublicFacts | None:
    """Read the survey's facts and remember them; None when there is no such survey or form
    (the full way then says which)."""
    row = session.connection().execute(_FACTS, {"slug": slug}).one_or_none()
    if row is None:
        _facts.forget(slug)
        return None
    return _facts.put(slug, PublicFacts(*row))


def forget_facts(slug: str) -> None:
    """Read them again next time (nothing was stored with them)."""
    _facts.forget(slug)


def schema_text(session: Session, form_id: int) -> str:
    """A form's schema as JSON text (for `form_class`). Raises NotFound."""
    text = session.scalar(select(_SCHEMA_TEXT).where(FormDefinition.id == form_id))
    if text is None:
        raise NotFound(_("No such form."))
    return text


def form_class(text: str, locale: str, base: type) -> Any:
    """The answering form class of a schema (JSON text) in a language, built once per process;
    it carries the normalised schema as `form_schema`."""
    return engine.cached_form_class(text, locale, base)


# --- storing ----------------------------------------------------------------------------------


# Built once: the statements are only executed, never constructed, per request. The guard is
# everything the answer was checked against, as it is now.
_TAKES_ANSWERS = exists().where(
    Survey.id == bindparam("survey_id"),
    Survey.slug == bindparam("slug"),
    Survey.form_id == bindparam("form_id"),
    Survey.public_link.is_(True),
    Survey.anonymous == bindparam("anonymous"),
    Survey.layout == bindparam("layout"),
    Survey.opens_at <= bindparam("now"),
    Survey.closes_at > bindparam("now"),
    FormDefinition.id == Survey.form_id,
    cast(FormDefinition.schema, Text) == bindparam("schema_text"),
)
# Whether the survey has an answer with this submission key: the live vote's guard too.
HAS_KEY = exists().where(
    SurveyAnswer.survey_id == bindparam("survey_id"),
    SurveyAnswer.submission_key == bindparam("key"),
)


def new_answer_insert_pg(*guards: Any) -> Any:
    """PostgreSQL: the response and its answer row (survey_id, key, answered_on) in one
    statement; RETURNING the answer's id, nothing when a guard failed. (SQLite has no INSERT
    in a WITH clause: there NEW_ANSWER follows the response insert's returned id.)"""
    response = new_response_insert(*guards, typed=True).cte("new_response")
    return (
        insert(_ANSWER)
        .from_select(
            ["survey_id", "response_id", "submission_key", "answered_on"],
            select(
                cast(bindparam("survey_id"), Integer),
                response.c.id,
                cast(bindparam("key"), String),
                cast(bindparam("answered_on"), Date),
            ).select_from(response),
        )
        .returning(_ANSWER.c.id)
    )


NEW_ANSWER = insert(_ANSWER)
_NEW_RESPONSE = new_response_insert(_TAKES_ANSWERS, ~HAS_KEY, typed=False)
_NEW_BOTH_PG = new_answer_insert_pg(_TAKES_ANSWERS, ~HAS_KEY)


def submit_public_answer(
    session: Session,
    facts: PublicFacts,
    schema: Mapping[str, Any],
    posted: FormData,
    *,
    now: dt.datetime,
    submission_key: str,
) -> bool:
    """Store a web answer sent through the survey's public link, without an invitation or saved
    progress. `schema` is the normalised schema of `facts.schema_text` (its form class's
    `form_schema`); `posted` the answering form as posted (a MultiDict of strings), checked here
    with the form engine's rules. An anonymous answer keeps only the day; none keeps a name,
    an address or an invitation.

    Returns False when nothing was stored: an answer refused, a bad submission key, the survey
    not open, without a public link or changed since `facts` were read, or the key sent before.
    services.submit_answer then tells which (and gives the messages). On PostgreSQL,
    IntegrityError when another request with the same key stored its answer meanwhile: roll
    back, and services.submit_answer finds it.
    """
    if (
        not KEY_PATTERN.match(submission_key or "")
        or not facts.public_link
        or facts.state(now) != "open"
    ):
        return False
    cleaned = answers_from_formdata(schema, posted)
    if cleaned is None:
        return False
    values = {
        "survey_id": facts.id,
        "slug": facts.slug,
        "form_id": facts.form_id,
        "anonymous": facts.anonymous,
        "layout": facts.layout,
        "schema_text": facts.schema_text,
        "now": now,
        "key": submission_key,
        "answers": cleaned,
        "schema_version": int(schema.get("version", 1)),
        "source": WEB,
        # Anonymous: midnight UTC of the Helsinki day, the only time it keeps.
        "submitted_at": day_start(now) if facts.anonymous else now,
        "answered_on": helsinki_day(now),
    }
    # Core statements on the session's connection and transaction: no ORM objects to flush.
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return conn.execute(_NEW_BOTH_PG, values).first() is not None
    response_id = conn.execute(_NEW_RESPONSE, values).scalar()
    if response_id is None:
        return False
    conn.execute(
        NEW_ANSWER,
        {
            "survey_id": facts.id,
            "response_id": response_id,
            "submission_key": submission_key,
            "answered_on": values["answered_on"],
        },
    )
    return True
