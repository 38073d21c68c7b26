"""Planning an evening: its programme, the workshop questions asked in every breakout group, and
the theme ideas associations propose and vote on before the evening.

Programme times are Helsinki wall-clock times on the event's day. A theme names the proposing
association (or nobody), never a person. A theme vote belongs to a browser: the view hashes the
browser's random cookie key (`voter_hash`) and only the hash is stored. Proposals and theme votes
close when the event starts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from participation.errors import Conflict, Invalid, NotFound, WrongState
from participation.evenings.models import (
    GroupNote,
    ProgrammeItem,
    Theme,
    ThemeVote,
    WorkshopQuestion,
)
from participation.events.models import Event
from participation.register.models import Association

HELSINKI = ZoneInfo("Europe/Helsinki")
MAX_ITEM_TITLE = 300
MAX_SPEAKER = 200
MAX_QUESTION = 500
MAX_THEME_TITLE = 200
MAX_THEME_DESCRIPTION = 2000
MAX_HIDE_REASON = 500
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# "17.30", "17:30", "1730", "17" (Finnish writes a dot between hours and minutes).
_TIME = re.compile(r"^(\d{1,2})(?:[.:]?(\d{2}))?$")
# Kinds of event whose public page asks for theme ideas.
THEME_KINDS = ("association_evening", "partnership_forum", "workshop")

# The usual five questions of an association forum's workshop.
DEFAULT_QUESTIONS = (
    _l("What already works well between the associations and the municipality?"),
    _l("What should change, and why?"),
    _l("What could the associations do together?"),
    _l("What do the associations need from the municipality?"),
    _l("What should be done first, and who takes it on?"),
)


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(_("No such event."))
    return event


def _text(value: str | None) -> str:
    """One line of typed text: surrounding space off, inner runs of white space as one."""
    return " ".join((value or "").split())


# --- the programme --------------------------------------------------------------------------


def programme(session: Session, event_id: int) -> list[ProgrammeItem]:
    """The programme in its order (new items are placed by their time; staff may move them)."""
    return list(
        session.scalars(
            select(ProgrammeItem)
            .where(ProgrammeItem.event_id == event_id)
            .order_by(ProgrammeItem.position, ProgrammeItem.at, ProgrammeItem.id)
        )
    )


def parse_clock(value: str) -> dt.time | None:
    """ "17.30", "17:30", "1730" or "17" as a time of day; None when it is not one."""
    match = _TIME.match((value or "").strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def _item_values(at: str, title: str, speaker: str) -> tuple[dt.time, str, str]:
    errors: dict[str, list[str]] = {}
    clock = parse_clock(at)
    if not (at or "").strip():
        errors["at"] = [_("Give the time, for example 17.30.")]
    elif clock is None:
        errors["at"] = [_("Give the time as hours and minutes, for example 17.30.")]
    title, speaker = _text(title), _text(speaker)
    if not title:
        errors["title"] = [_("Say what happens at this time.")]
    elif len(title) > MAX_ITEM_TITLE:
        errors["title"] = [_("At most %(n)s characters.", n=MAX_ITEM_TITLE)]
    if len(speaker) > MAX_SPEAKER:
        errors["speaker"] = [_("At most %(n)s characters.", n=MAX_SPEAKER)]
    if errors or clock is None:
        raise Invalid(_("Check the programme item."), errors)
    return clock, title, speaker


def _place_by_time(items: list[ProgrammeItem], item: ProgrammeItem) -> None:
    """Put `item` after every other item at or before its time, and number them again."""
    others = [i for i in items if i.id != item.id]
    index = sum(1 for i in others if i.at <= item.at)
    others.insert(index, item)
    for position, each in enumerate(others):
        each.position = position


def add_programme_item(
    session: Session, event_id: int, *, at: str, title: str, speaker: str, now: dt.datetime
) -> ProgrammeItem:
    """Add a line to the programme, placed by its time. Raises NotFound, Invalid."""
    _event(session, event_id)
    clock, title, speaker = _item_values(at, title, speaker)
    item = ProgrammeItem(event_id=event_id, at=clock, title=title, speaker=speaker)
    session.add(item)
    session.flush()
    _place_by_time(programme(session, event_id), item)
    session.flush()
    return item


def get_programme_item(session: Session, event_id: int, item_id: int | None) -> ProgrammeItem:
    item = session.get(ProgrammeItem, item_id) if item_id else None
    if item is None or item.event_id != event_id:
        raise NotFound(_("That programme item is no longer there."))
    return item


def update_programme_item(
    session: Session,
    event_id: int,
    item_id: int | None,
    *,
    at: str,
    title: str,
    speaker: str,
    now: dt.datetime,
) -> ProgrammeItem:
    """Change a line; a new time moves it to its place by time. Raises NotFound, Invalid."""
    item = get_programme_item(session, event_id, item_id)
    clock, title, speaker = _item_values(at, title, speaker)
    moved = clock != item.at
    item.at, item.title, item.speaker = clock, title, speaker
    if moved:
        _place_by_time(programme(session, event_id), item)
    session.flush()
    return item


def delete_programme_item(
    session: Session, event_id: int, item_id: int | None, *, now: dt.datetime
) -> None:
    """Raises NotFound."""
    session.delete(get_programme_item(session, event_id, item_id))
    session.flush()
    for position, each in enumerate(programme(session, event_id)):
        each.position = position
    session.flush()


def _swap(rows: list, row_id: int, offset: int) -> bool:
    """Move the row with `row_id` one place up (-1) or down (+1); False at either end."""
    ids = [r.id for r in rows]
    index = ids.index(row_id)
    other = index + offset
    if other < 0 or other >= len(rows):
        return False
    rows[index], rows[other] = rows[other], rows[index]
    for position, each in enumerate(rows):
        each.position = position
    return True


def move_programme_item(
    session: Session, event_id: int, item_id: int | None, offset: int, *, now: dt.datetime
) -> bool:
    """Move a line up (-1) or down (+1); False when it is already first or last.
    Raises NotFound."""
    item = get_programme_item(session, event_id, item_id)
    moved = _swap(programme(session, event_id), item.id, -1 if offset < 0 else 1)
    session.flush()
    return moved


# --- workshop questions ---------------------------------------------------------------------


def questions(session: Session, event_id: int) -> list[WorkshopQuestion]:
    """The workshop questions in their order."""
    return list(
        session.scalars(
            select(WorkshopQuestion)
            .where(WorkshopQuestion.event_id == event_id)
            .order_by(WorkshopQuestion.position, WorkshopQuestion.id)
        )
    )


def _question_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid(_("Check the question."), {"text": [_("Write the question.")]})
    if len(text) > MAX_QUESTION:
        raise Invalid(
            _("Check the question."), {"text": [_("At most %(n)s characters.", n=MAX_QUESTION)]}
        )
    return text


def add_question(
    session: Session, event_id: int, *, text: str, now: dt.datetime
) -> WorkshopQuestion:
    """Add a question last. Raises NotFound, Invalid."""
    _event(session, event_id)
    text = _question_text(text)
    last = session.scalar(
        select(func.max(WorkshopQuestion.position)).where(WorkshopQuestion.event_id == event_id)
    )
    question = WorkshopQuestion(
        event_id=event_id, text=text, position=0 if last is None else last + 1
    )
    session.add(question)
    session.flush()
    return question


def use_default_questions(
    session: Session, event_id: int, *, now: dt.datetime
) -> list[WorkshopQuestion]:
    """The usual five questions (in the current language), for an event without questions.
    Raises NotFound, Conflict when the event has questions already."""
    _event(session, event_id)
    if questions(session, event_id):
        raise Conflict(_("The event has workshop questions already; nothing was added."))
    added = [
        WorkshopQuestion(event_id=event_id, position=position, text=str(text))
        for position, text in enumerate(DEFAULT_QUESTIONS)
    ]
    session.add_all(added)
    session.flush()
    return added


def get_question(session: Session, event_id: int, question_id: int | None) -> WorkshopQuestion:
    question = session.get(WorkshopQuestion, question_id) if question_id else None
    if question is None or question.event_id != event_id:
        raise NotFound(_("That question is no longer there."))
    return question


def update_question(
    session: Session, event_id: int, question_id: int | None, *, text: str, now: dt.datetime
) -> WorkshopQuestion:
    """Raises NotFound, Invalid."""
    question = get_question(session, event_id, question_id)
    question.text = _question_text(text)
    session.flush()
    return question


def count_question_notes(session: Session, question_id: int) -> int:
    """Notes written on the question with some text in them."""
    return int(
        session.scalar(
            select(func.count(GroupNote.id)).where(
                GroupNote.question_id == question_id, GroupNote.body != ""
            )
        )
        or 0
    )


def delete_question(
    session: Session, event_id: int, question_id: int | None, *, now: dt.datetime
) -> None:
    """Remove a question no group has written notes on (removing it would delete them).
    Raises NotFound, Conflict."""
    question = get_question(session, event_id, question_id)
    if count_question_notes(session, question.id):
        raise Conflict(
            _("The groups have written notes on this question, so it cannot be removed. "
              "You can still change its wording.")
        )  # fmt: skip
    # Empty rows (a device that opened the page and typed nothing) go with it.
    session.execute(delete(GroupNote).where(GroupNote.question_id == question.id))
    session.delete(question)
    session.flush()
    for position, each in enumerate(questions(session, event_id)):
        each.position = position
    session.flush()


def move_question(
    session: Session, event_id: int, question_id: int | None, offset: int, *, now: dt.datetime
) -> bool:
    """Move a question up (-1) or down (+1); False at either end. Raises NotFound."""
    question = get_question(session, event_id, question_id)
    moved = _swap(questions(session, event_id), question.id, -1 if offset < 0 else 1)
    session.flush()
    return moved


# --- themes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThemeRow:
    theme: Theme
    votes: int
    # The proposing association's name; "" when none (or added by staff without one).
    association_name: str = ""


def themes(session: Session, event_id: int, *, include_hidden: bool) -> list[ThemeRow]:
    """The event's themes with their vote counts, most votes first (then oldest first)."""
    # Counted for this event's themes only, not over every evening's votes.
    votes = (
        select(ThemeVote.theme_id, func.count(ThemeVote.id).label("n"))
        .where(ThemeVote.theme_id.in_(select(Theme.id).where(Theme.event_id == event_id)))
        .group_by(ThemeVote.theme_id)
        .subquery()
    )
    count = func.coalesce(votes.c.n, 0)
    query = (
        select(Theme, count, Association.name)
        .outerjoin(votes, votes.c.theme_id == Theme.id)
        .outerjoin(Association, Association.id == Theme.association_id)
        .where(Theme.event_id == event_id)
        .order_by(count.desc(), Theme.created_at, Theme.id)
    )
    if not include_hidden:
        query = query.where(Theme.hidden_at.is_(None))
    return [ThemeRow(theme, int(n), name or "") for theme, n, name in session.execute(query)]


def handled_themes(session: Session, event_id: int) -> list[Theme]:
    """The themes taken up at the evening (not hidden), most votes first."""
    return [
        row.theme for row in themes(session, event_id, include_hidden=False) if row.theme.handled
    ]


def count_handled_themes(session: Session, event_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(Theme.id)).where(
                Theme.event_id == event_id, Theme.handled.is_(True), Theme.hidden_at.is_(None)
            )
        )
        or 0
    )


def proposals_open(event: Event, now: dt.datetime) -> bool:
    """Theme ideas and their votes are taken on a published event until it starts."""
    return event.published_at is not None and event.cancelled_at is None and now < event.starts_at


def asks_for_themes(event: Event) -> bool:
    return event.kind in THEME_KINDS


def _check_open(event: Event, now: dt.datetime) -> None:
    if event.cancelled_at is not None:
        raise WrongState(_("The event has been cancelled."))
    if event.published_at is None:
        raise NotFound(_("No such event."))
    if now >= event.starts_at:
        raise WrongState(
            _("The evening has started, so theme ideas and votes are no longer taken.")
        )


def _theme_values(
    session: Session, title: str, description: str, association_id: int | str | None
) -> tuple[str, str, int | None]:
    errors: dict[str, list[str]] = {}
    title = _text(title)
    description = (description or "").strip()
    if not title:
        errors["title"] = [_("Give the theme a short title.")]
    elif len(title) > MAX_THEME_TITLE:
        errors["title"] = [_("At most %(n)s characters.", n=MAX_THEME_TITLE)]
    if len(description) > MAX_THEME_DESCRIPTION:
        errors["description"] = [_("At most %(n)s characters.", n=MAX_THEME_DESCRIPTION)]
    association = None
    if association_id not in (None, ""):
        try:
            association = session.get(Association, int(association_id))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            association = None
        if association is None or not association.active or association.merged_into_id:
            errors["association_id"] = [_("Choose an association from the list, or none.")]
    if errors:
        raise Invalid(_("Check the theme idea."), errors)
    return title, description, association.id if association else None


def _find_by_key(session: Session, key: str) -> Theme | None:
    return session.scalar(select(Theme).where(Theme.submission_key == key))


def propose_theme(
    session: Session,
    event_id: int,
    *,
    title: str,
    description: str,
    association_id: int | str | None,
    submission_key: str,
    now: dt.datetime,
) -> Theme:
    """A theme idea from the public page. The same form sent twice (its submission key) gives
    the first theme back. Raises NotFound, WrongState (cancelled or started), Invalid."""
    event = _event(session, event_id)
    _check_open(event, now)
    if not KEY_PATTERN.match(submission_key or ""):
        raise Invalid(_("The form was incomplete. Check it and send it again."))
    values = _theme_values(session, title, description, association_id)
    same = _find_by_key(session, submission_key)
    if same is not None:
        if same.event_id != event_id:
            raise Invalid(_("The form was incomplete. Check it and send it again."))
        return same
    theme = Theme(
        event_id=event_id,
        title=values[0],
        description=values[1],
        association_id=values[2],
        submission_key=submission_key,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(theme)
            session.flush()
    except IntegrityError:
        # A double click that raced past the look-up: the first one stored it.
        found = _find_by_key(session, submission_key)
        if found is None:
            raise
        return found
    return theme


def add_theme(
    session: Session,
    event_id: int,
    *,
    title: str,
    description: str,
    association_id: int | str | None,
    staff_user_id: int | None,
    now: dt.datetime,
) -> Theme:
    """A theme added by staff (also during or after the evening). Raises NotFound, Invalid."""
    _event(session, event_id)
    values = _theme_values(session, title, description, association_id)
    theme = Theme(
        event_id=event_id,
        title=values[0],
        description=values[1],
        association_id=values[2],
        submission_key=secrets.token_urlsafe(24),
        created_at=now,
        added_by_id=staff_user_id,
    )
    session.add(theme)
    session.flush()
    return theme


def get_theme(session: Session, event_id: int, theme_id: int | None) -> Theme:
    theme = session.get(Theme, theme_id) if theme_id else None
    if theme is None or theme.event_id != event_id:
        raise NotFound(_("That theme is no longer there."))
    return theme


def hide_theme(
    session: Session, event_id: int, theme_id: int | None, *, reason: str, now: dt.datetime
) -> Theme:
    """Take a theme off the public page, with the reason kept for staff. Its votes stay.
    Raises NotFound, Invalid."""
    theme = get_theme(session, event_id, theme_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(
            _("Check the reason."), {"reason": [_("Say why the theme is hidden (staff see it).")]}
        )
    if len(reason) > MAX_HIDE_REASON:
        raise Invalid(
            _("Check the reason."), {"reason": [_("At most %(n)s characters.", n=MAX_HIDE_REASON)]}
        )
    theme.hidden_at, theme.hidden_reason = now, reason
    session.flush()
    return theme


def show_theme(session: Session, event_id: int, theme_id: int | None, *, now: dt.datetime) -> Theme:
    """Show a hidden theme again. Raises NotFound."""
    theme = get_theme(session, event_id, theme_id)
    theme.hidden_at, theme.hidden_reason = None, ""
    session.flush()
    return theme


def set_theme_handled(
    session: Session, event_id: int, theme_id: int | None, handled: bool, *, now: dt.datetime
) -> Theme:
    """Mark a theme taken up at the evening (or not). Raises NotFound."""
    theme = get_theme(session, event_id, theme_id)
    theme.handled = handled
    session.flush()
    return theme


# --- theme votes ----------------------------------------------------------------------------


def voter_hash(secret: str, browser_key: str) -> str:
    """What is stored of a browser's random key: without the secret it leads nowhere."""
    return hmac.new(
        secret.encode(), f"theme-vote:{browser_key}".encode(), hashlib.sha256
    ).hexdigest()


def voted_theme_ids(session: Session, event_id: int, voter_key: str | None) -> set[int]:
    """The event's themes this browser (its hashed key) has voted for."""
    if not voter_key:
        return set()
    return set(
        session.scalars(
            select(ThemeVote.theme_id)
            .join(Theme, Theme.id == ThemeVote.theme_id)
            .where(Theme.event_id == event_id, ThemeVote.voter_key == voter_key)
        )
    )


def count_theme_votes(session: Session, theme_id: int) -> int:
    return int(
        session.scalar(select(func.count(ThemeVote.id)).where(ThemeVote.theme_id == theme_id)) or 0
    )


@dataclass(frozen=True)
class VoteResult:
    theme: Theme
    voted: bool  # whether this browser's vote is on the theme now
    votes: int


def set_theme_vote(
    session: Session,
    event_id: int,
    theme_id: int | None,
    *,
    voter_key: str,
    vote: bool,
    now: dt.datetime,
) -> VoteResult:
    """Put this browser's vote on a theme (`vote`) or take it off. Sending the same twice
    changes nothing (one vote per browser per theme, also under a double click).
    Raises NotFound (no such visible theme), WrongState (started or cancelled)."""
    event = _event(session, event_id)
    theme = get_theme(session, event_id, theme_id)
    if theme.hidden_at is not None:
        raise NotFound(_("That theme is no longer there."))
    _check_open(event, now)
    if not voter_key:
        raise Invalid(
            _("Your browser did not keep the vote's cookie. Allow cookies and try again.")
        )
    mine = ThemeVote.theme_id == theme.id, ThemeVote.voter_key == voter_key
    exists = session.scalar(select(ThemeVote.id).where(*mine)) is not None
    if vote and not exists:
        try:
            with session.begin_nested():
                session.add(
                    ThemeVote(
                        theme_id=theme.id,
                        voter_key=voter_key,
                        voted_on=now.astimezone(HELSINKI).date(),
                    )
                )
                session.flush()
        except IntegrityError:
            pass  # the same browser's other click counted it
    elif not vote and exists:
        session.execute(delete(ThemeVote).where(*mine))
        session.flush()
    return VoteResult(theme, vote, count_theme_votes(session, theme.id))
