"""Facilitators' links and the groups' notes, and the coordinator's live overview.

A breakout group's facilitator opens the group's link (no account) on a phone or tablet and
writes notes per workshop question. Each device writes its own GroupNote row (keyed by a hash
of a random device key), so two facilitators of one group never overwrite each other; the
device counts its own revisions, so a late, older autosave never replaces a newer text.

The link's token is derived from the form's submission key with the app's secret: a double
click (or a reload of the answer page) finds the same link and shows the same URL, yet only the
token's hash is stored and the key alone does not give the token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from participation.errors import Invalid, NotFound, WrongState
from participation.evenings import planning, vote
from participation.evenings.models import FacilitatorLink, GroupNote, WorkshopQuestion
from participation.events.models import Event, EventGroup
from participation.tokens import LinkInvalid, token_hash

MAX_NOTE_LENGTH = 10_000
MAX_LABEL_LENGTH = 200
MAX_AUTHOR_NAME_LENGTH = 200
# A device key or a submission key as the pages make them (secrets.token_urlsafe).
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# "Last used" is written at most this often, so autosaves do not queue on the link's row.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class LinkRevoked(LinkInvalid):
    """The coordinator revoked the link: it is gone for good (410), not mistyped (404)."""

    status = 410


# --- links ----------------------------------------------------------------------------------


def link_token(submission_key: str) -> str:
    """The URL token of the link created with `submission_key` (43 URL-safe characters)."""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, b"evening-facilitator:" + submission_key.encode(), "sha256")
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def create_link(
    session: Session,
    event_id: int,
    group_id: int,
    *,
    label: str,
    submission_key: str,
    created_by_id: int | None,
    now: dt.datetime,
) -> tuple[FacilitatorLink, str]:
    """A new link for one breakout group and its token (shown once: only the hash is kept).
    The same `submission_key` again returns the link it made. Raises NotFound for a group of
    another event, Invalid for a missing or too long label, WrongState for a cancelled event."""
    group = session.get(EventGroup, group_id)
    if group is None or group.event_id != event_id:
        raise NotFound(_("No such breakout group."))
    event = session.get(Event, event_id)
    if event is not None and event.cancelled_at is not None:
        raise WrongState(_("The event was cancelled, so no new links can be made."))
    label = " ".join(label.split())
    if not label:
        raise Invalid(_("Check the name."), {"label": [_("Write the facilitator's name.")]})
    if len(label) > MAX_LABEL_LENGTH:
        message = _("At most %(max)s characters.", max=MAX_LABEL_LENGTH)
        raise Invalid(message, {"label": [message]})
    if not KEY_PATTERN.match(submission_key):
        raise Invalid(_("The form had expired. Reload the page and try again."))
    token = link_token(submission_key)
    hashed = token_hash(token)
    found = session.scalar(select(FacilitatorLink).where(FacilitatorLink.token_hash == hashed))
    if found is not None:
        if found.group_id != group_id:
            raise Invalid(_("The form had expired. Reload the page and try again."))
        return found, token
    link = FacilitatorLink(
        event_id=event_id,
        group_id=group_id,
        token_hash=hashed,
        label=label,
        created_at=now,
        created_by_id=created_by_id,
    )
    try:
        with session.begin_nested():
            session.add(link)
            session.flush()
    except IntegrityError:
        # The same double click in a parallel request: its link is this one.
        found = session.scalar(select(FacilitatorLink).where(FacilitatorLink.token_hash == hashed))
        if found is None:
            raise
        return found, token
    return link, token


def revoke_link(
    session: Session, event_id: int, link_id: int, *, now: dt.datetime
) -> FacilitatorLink:
    """Stop a link from opening the notes page (the notes written through it stay). Revoking
    twice is fine. Raises NotFound for a link of another event."""
    link = session.get(FacilitatorLink, link_id)
    if link is None or link.event_id != event_id:
        raise NotFound(_("No such link."))
    if link.revoked_at is None:
        link.revoked_at = now
        session.flush()
    return link


def get_link(session: Session, token: str) -> FacilitatorLink:
    """The link behind a URL token. Raises LinkInvalid for an unknown or tampered token and
    LinkRevoked for a revoked one."""
    if not token or len(token) > 100:
        raise LinkInvalid()
    link = session.scalar(
        select(FacilitatorLink).where(FacilitatorLink.token_hash == token_hash(token))
    )
    if link is None:
        raise LinkInvalid()
    if link.revoked_at is not None:
        raise LinkRevoked()
    return link


@dataclass
class GroupLinks:
    group: EventGroup
    links: list[FacilitatorLink]


def list_links(session: Session, event: Event) -> list[GroupLinks]:
    """Every breakout group of the event with its links, newest first."""
    links: dict[int, list[FacilitatorLink]] = defaultdict(list)
    for link in session.scalars(
        select(FacilitatorLink)
        .where(FacilitatorLink.event_id == event.id)
        .order_by(FacilitatorLink.created_at.desc(), FacilitatorLink.id.desc())
    ):
        links[link.group_id].append(link)
    return [GroupLinks(group=g, links=links.get(g.id, [])) for g in event.groups]


# --- notes ----------------------------------------------------------------------------------


def device_author_key(device_key: str) -> str:
    """What is stored of a device's key: a hash, so the table gives nobody the cookie."""
    return hashlib.sha256(b"evening-note:" + device_key.encode()).hexdigest()


def clean_body(body: str) -> str:
    return body.replace("\r\n", "\n").replace("\r", "\n")


def _too_long(body: str) -> str | None:
    if len(body) <= MAX_NOTE_LENGTH:
        return None
    return _(
        "The note is too long: at most %(max)s characters, now %(count)s. Shorten it or split "
        "it between questions; your text is kept here.",
        max=f"{MAX_NOTE_LENGTH:,}".replace(",", "\u00a0"),
        count=f"{len(body):,}".replace(",", "\u00a0"),
    )


def _check_open(event: Event, now: dt.datetime) -> None:
    if event.cancelled_at is not None:
        raise WrongState(_("The event was cancelled, so notes can no longer be saved."))
    if now >= event.ends_at:
        raise WrongState(
            _(
                "The evening has ended, so notes can no longer be saved. Your text is kept on "
                "this page: copy it and send it to the organiser if it is missing from the notes."
            )
        )


def _clean_name(author_name: str) -> str:
    name = " ".join(author_name.split())
    if len(name) > MAX_AUTHOR_NAME_LENGTH:
        message = _("At most %(max)s characters.", max=MAX_AUTHOR_NAME_LENGTH)
        raise Invalid(message, {"author_name": [message]})
    return name


def _question_of(session: Session, link: FacilitatorLink, question_id: int) -> WorkshopQuestion:
    question = session.get(WorkshopQuestion, question_id)
    if question is None or question.event_id != link.event_id:
        raise NotFound(_("No such question."))
    return question


def _touch(link: FacilitatorLink, now: dt.datetime) -> None:
    if link.last_used_at is None or now - link.last_used_at >= LAST_USED_RESOLUTION:
        link.last_used_at = now


@dataclass
class SavedNote:
    note: GroupNote
    # False when the stored revision was newer or the same: nothing was written.
    written: bool


def _upsert(
    session: Session,
    link: FacilitatorLink,
    question_id: int,
    *,
    author_key: str,
    author_name: str,
    body: str,
    revision: int,
    now: dt.datetime,
) -> SavedNote:
    where = (
        GroupNote.group_id == link.group_id,
        GroupNote.question_id == question_id,
        GroupNote.author_key == author_key,
    )
    note = session.scalar(select(GroupNote).where(*where))
    if note is None:
        note = GroupNote(
            event_id=link.event_id,
            group_id=link.group_id,
            question_id=question_id,
            link_id=link.id,
            author_key=author_key,
            author_name=author_name,
            body=body,
            revision=revision,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(note)
                session.flush()
            return SavedNote(note, True)
        except IntegrityError:
            # The same device's previous autosave won the insert a moment ago.
            note = session.scalars(select(GroupNote).where(*where)).one()
    # The revision is compared in the UPDATE itself, so two saves of one device racing each
    # other keep the newer text whichever commits last.
    result = session.execute(
        update(GroupNote)
        .where(GroupNote.id == note.id, GroupNote.revision < revision)
        .values(
            body=body, revision=revision, author_name=author_name, link_id=link.id, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(note)
    return SavedNote(note, result.rowcount == 1)


def save_note(
    session: Session,
    link: FacilitatorLink,
    question_id: int,
    *,
    author_key: str,
    author_name: str,
    body: str,
    revision: int,
    now: dt.datetime,
) -> SavedNote:
    """Store this device's note on one question of the link's group: a higher `revision` than
    stored replaces the text, a lower or equal one changes nothing (the stored note is returned
    with written=False). Raises LinkRevoked for a revoked link, NotFound for a question of
    another event, WrongState after the event's end (or when it was cancelled), Invalid
    ({"body": …} or {"author_name": …}) for a text over MAX_NOTE_LENGTH or a too long name."""
    if link.revoked_at is not None:
        raise LinkRevoked()
    event = session.get(Event, link.event_id)
    assert event is not None  # the link's foreign key
    _check_open(event, now)
    _question_of(session, link, question_id)
    body = clean_body(body)
    problem = _too_long(body)
    if problem:
        raise Invalid(problem, {"body": [problem]})
    name = _clean_name(author_name)
    saved = _upsert(
        session,
        link,
        question_id,
        author_key=author_key,
        author_name=name,
        body=body,
        revision=max(revision, 0),
        now=now,
    )
    if saved.written:
        _touch(link, now)
        session.flush()
    return saved


@dataclass
class NoteInput:
    question_id: int
    body: str
    revision: int


@dataclass
class SavedNotes:
    saved: dict[int, SavedNote] = field(default_factory=dict)
    # Questions whose sent text was not written because this device had saved a newer one
    # (an old page sent again); the page shows the sent text again to be checked.
    stale: list[int] = field(default_factory=list)


def save_notes(
    session: Session,
    link: FacilitatorLink,
    notes: list[NoteInput],
    *,
    author_key: str,
    author_name: str,
    now: dt.datetime,
) -> SavedNotes:
    """The page's "Save" without JavaScript: every question at once, checked before anything
    is written. Raises as save_note; Invalid's errors are keyed "note-<question id>" and
    "author_name"."""
    if link.revoked_at is not None:
        raise LinkRevoked()
    event = session.get(Event, link.event_id)
    assert event is not None
    _check_open(event, now)
    errors: dict[str, list[str]] = {}
    for item in notes:
        _question_of(session, link, item.question_id)
        problem = _too_long(clean_body(item.body))
        if problem:
            errors[f"note-{item.question_id}"] = [problem]
    try:
        name = _clean_name(author_name)
    except Invalid as exc:
        errors.update(exc.errors)
        name = ""
    if errors:
        raise Invalid(_("Check the notes."), errors)
    result = SavedNotes()
    for item in notes:
        body = clean_body(item.body)
        existing = session.scalar(
            select(GroupNote.id).where(
                GroupNote.group_id == link.group_id,
                GroupNote.question_id == item.question_id,
                GroupNote.author_key == author_key,
            )
        )
        if existing is None and not body.strip():
            continue  # nothing written on it: no empty row
        saved = _upsert(
            session,
            link,
            item.question_id,
            author_key=author_key,
            author_name=name,
            body=body,
            revision=max(item.revision, 0),
            now=now,
        )
        result.saved[item.question_id] = saved
        if not saved.written and saved.note.body != body:
            result.stale.append(item.question_id)
    if any(s.written for s in result.saved.values()):
        _touch(link, now)
    session.flush()
    return result


def device_notes(session: Session, link: FacilitatorLink, author_key: str) -> dict[int, GroupNote]:
    """This device's notes in the link's group, by question."""
    rows = session.scalars(
        select(GroupNote).where(
            GroupNote.group_id == link.group_id, GroupNote.author_key == author_key
        )
    )
    return {note.question_id: note for note in rows}


def others_notes(
    session: Session, link: FacilitatorLink, author_key: str
) -> dict[int, list[GroupNote]]:
    """The other devices' non-empty notes in the link's group, by question, oldest first."""
    found: dict[int, list[GroupNote]] = defaultdict(list)
    for note in session.scalars(
        select(GroupNote)
        .where(
            GroupNote.group_id == link.group_id,
            GroupNote.author_key != author_key,
            func.length(func.trim(GroupNote.body)) > 0,
        )
        .order_by(GroupNote.created_at, GroupNote.id)
    ):
        found[note.question_id].append(note)
    return found


def event_notes(session: Session, event_id: int) -> dict[int, dict[int, list[GroupNote]]]:
    """Every non-empty note of the event: {group id: {question id: [notes, oldest first]}}."""
    found: dict[int, dict[int, list[GroupNote]]] = defaultdict(lambda: defaultdict(list))
    for note in session.scalars(
        select(GroupNote)
        .where(GroupNote.event_id == event_id, func.length(func.trim(GroupNote.body)) > 0)
        .order_by(GroupNote.created_at, GroupNote.id)
    ):
        found[note.group_id][note.question_id].append(note)
    return {g: dict(q) for g, q in found.items()}


def notes_count(session: Session, event_id: int) -> int:
    """How many non-empty notes the event's groups have written."""
    return (
        session.scalar(
            select(func.count(GroupNote.id)).where(
                GroupNote.event_id == event_id, func.length(func.trim(GroupNote.body)) > 0
            )
        )
        or 0
    )


def is_open_for_notes(event: Event, now: dt.datetime) -> bool:
    return event.cancelled_at is None and now < event.ends_at


# --- the live overview ----------------------------------------------------------------------


@dataclass
class GroupOverview:
    group: EventGroup
    # One entry per workshop question, in order: (question, its notes oldest first).
    answers: list[tuple[WorkshopQuestion, list[GroupNote]]]
    notes: int
    latest: dt.datetime | None
    links_active: int
    links_in_use: int


@dataclass
class Overview:
    questions: list[WorkshopQuestion]
    groups: list[GroupOverview]
    notes: int
    links_in_use: int
    vote_count: int
    open_for_notes: bool


def live_overview(session: Session, event: Event, *, now: dt.datetime) -> Overview:
    """All groups × questions with their notes, the links in use and the live vote's count."""
    asked = planning.questions(session, event.id)
    notes = event_notes(session, event.id)
    latest = dict(
        session.execute(
            select(GroupNote.group_id, func.max(GroupNote.updated_at))
            .where(GroupNote.event_id == event.id, func.length(func.trim(GroupNote.body)) > 0)
            .group_by(GroupNote.group_id)
        ).all()
    )
    links = list(
        session.scalars(select(FacilitatorLink).where(FacilitatorLink.event_id == event.id))
    )
    groups = []
    for group in event.groups:
        by_question = notes.get(group.id, {})
        mine = [link for link in links if link.group_id == group.id and link.revoked_at is None]
        groups.append(
            GroupOverview(
                group=group,
                answers=[(q, by_question.get(q.id, [])) for q in asked],
                notes=sum(len(n) for n in by_question.values()),
                latest=_aware(latest.get(group.id)),
                links_active=len(mine),
                links_in_use=sum(1 for link in mine if link.last_used_at is not None),
            )
        )
    return Overview(
        questions=asked,
        groups=groups,
        notes=sum(g.notes for g in groups),
        links_in_use=sum(g.links_in_use for g in groups),
        vote_count=vote.vote_count(session, event.id),
        open_for_notes=is_open_for_notes(event, now),
    )


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # func.max() bypasses the column type, so SQLite gives a naive (UTC) value or a string.
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def links_in_use_text(count: int) -> str:
    return ngettext(
        "%(num)s facilitator's link in use", "%(num)s facilitators' links in use", count
    )
