"""The evening's summary (yhdistysillan kooste): prefilled from the groups' notes, the live
vote and the handled themes, edited by the coordinator as Markdown with next steps, shown on a
public page once published. Publishing (the PDF and its mailing) is in evenings.digest.

The notes, the vote and the themes are read through the services of the planning, notes and
vote modules; they are imported inside the functions that use them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from participation.errors import Invalid, NotFound
from participation.evenings.models import ALL_REGISTERED, AUDIENCES, EveningSummary
from participation.events.models import Event
from participation.rounds.drafts import BODY_TAGS, clean_html
from participation.rounds.models import Round
from participation.surveys.models import Survey

MAX_BODY = 100_000
MAX_NEXT_STEPS = 20_000
# How many events, surveys and rounds the editor's selects offer.
CHOICE_LIMIT = 50

# Raw HTML off: what the coordinator (or a note pasted in) types shows as text.
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
# The drafts' allow-list plus h2: in the PDF the summary's top headings are h2 under a part's h1.
SUMMARY_TAGS = BODY_TAGS | {"h2"}


# --- Markdown --------------------------------------------------------------------------------


def render_markdown(text: str, *, top: int = 3) -> Markup:
    """The Markdown as sanitised HTML with its headings moved down so that "#" becomes `top`
    (h3 under a page's h2 sections, h2 under a PDF part's h1); nothing deeper than h6."""
    tokens = _markdown.parse(text or "")
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + top - 1, 6)
            token.tag = f"h{level}"
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return Markup(sanitise(html))  # noqa: S704


def sanitise(html: str) -> str:
    """As the drafts' sanitiser: no scripts, styles, images or handlers; http(s) and mailto
    links only, marked nofollow."""
    return clean_html(html, SUMMARY_TAGS)


# --- reading -----------------------------------------------------------------------------------


def find_summary(session: Session, event_id: int) -> EveningSummary | None:
    return session.scalar(select(EveningSummary).where(EveningSummary.event_id == event_id))


def find_published_summary(session: Session, event_id: int) -> EveningSummary | None:
    summary = find_summary(session, event_id)
    return summary if summary is not None and summary.published_at is not None else None


def get_public_summary(session: Session, slug: str) -> tuple[Event, EveningSummary]:
    """A published event's published summary. Raises NotFound."""
    from participation.events.services import get_event_by_slug

    event = get_event_by_slug(session, slug)
    summary = find_published_summary(session, event.id)
    if summary is None:
        raise NotFound(_("The evening's summary has not been published."))
    return event, summary


@dataclass(frozen=True)
class VoteResult:
    question: str
    total: int
    rows: list[tuple[str, int, float | None]]


def vote_result(session: Session, event_id: int, *, locale: str = "fi") -> VoteResult | None:
    """The live vote's figures, option labels in `locale` (None when there was no vote)."""
    from participation.evenings import vote

    live = vote.event_vote(session, event_id)
    if live is None:
        return None
    found = vote.tally(session, live.id, locale=locale)
    return VoteResult(
        question=found.question,
        total=found.total,
        rows=[(str(row.label), int(row.count), row.share) for row in found.rows],
    )


def handled_themes(session: Session, event_id: int) -> list[Any]:
    from participation.evenings import planning

    return list(planning.handled_themes(session, event_id))


@dataclass(frozen=True)
class GroupNotes:
    """One breakout group's notes: (question text, [note bodies]) in the questions' order."""

    name: str
    questions: list[tuple[str, list[str]]]


def group_notes(session: Session, event: Event) -> list[GroupNotes]:
    """Every group's non-empty notes per workshop question, groups and questions in order.
    Notes carry no author's name here: the summary and its PDF are public."""
    from participation.evenings import notes, planning

    questions = planning.questions(session, event.id)
    found = notes.event_notes(session, event.id)
    groups = []
    for group in event.groups:
        by_question = found.get(group.id, {})
        groups.append(
            GroupNotes(
                name=group.name,
                questions=[
                    (q.text, [n.body for n in by_question.get(q.id, []) if n.body.strip()])
                    for q in questions
                ],
            )
        )
    return groups


# --- prefilling --------------------------------------------------------------------------------


def _list_item(text: str) -> str:
    """A Markdown list item holding `text` whole (later lines indented into the item)."""
    lines = [line.rstrip() for line in text.strip().splitlines()] or [""]
    return "\n".join(["- " + lines[0], *("  " + line if line else "" for line in lines[1:])])


def prefill(session: Session, event: Event) -> str:
    """A first draft of the summary body in Markdown: each group's notes per question, the live
    vote's result and the themes handled."""
    parts: list[str] = []
    for group in group_notes(session, event):
        parts.append("# " + _("Group: %(name)s", name=" ".join(group.name.split())))
        for question, bodies in group.questions:
            parts.append("## " + " ".join(question.split()))
            parts.append("\n".join(_list_item(b) for b in bodies) if bodies else _("No notes."))
    result = vote_result(session, event.id)
    if result is not None:
        parts.append(
            "# " + _("Live vote: %(question)s", question=" ".join(result.question.split()))
        )
        parts.append(ngettext("%(num)s phone voted.", "%(num)s phones voted.", result.total))
        ranked = sorted(result.rows, key=lambda row: -row[1])
        parts.append(
            "\n".join(
                f"{index}. {' '.join(label.split())}: {count}"
                for index, (label, count, _share) in enumerate(ranked, start=1)
            )
        )
    themes = handled_themes(session, event.id)
    if themes:
        parts.append("# " + _("Themes handled"))
        parts.append("\n".join(_list_item(theme.title) for theme in themes))
    return "\n\n".join(parts) + "\n"


# --- saving ------------------------------------------------------------------------------------


@dataclass
class SummaryInput:
    body: str = ""
    next_steps: str = ""
    next_event_id: int | None = None
    follow_up_survey_id: int | None = None
    follow_up_round_id: int | None = None
    audience: str = ALL_REGISTERED
    include_invited: bool = True
    errors: dict[str, list[str]] = field(default_factory=dict)


def _id_or_none(value: Any) -> int | None:
    if value in (None, "", "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not a choice: the check below gives the message


def later_events(session: Session, event: Event) -> list[Event]:
    """Published, not cancelled events that start after this one ends: the next evening."""
    return list(
        session.scalars(
            select(Event)
            .where(
                Event.id != event.id,
                Event.published_at.is_not(None),
                Event.cancelled_at.is_(None),
                Event.starts_at >= event.ends_at,
            )
            .order_by(Event.starts_at)
            .limit(CHOICE_LIMIT)
        )
    )


def follow_up_surveys(session: Session, event: Event) -> list[Survey]:
    """Surveys with a public link that are still open when the evening starts."""
    return list(
        session.scalars(
            select(Survey)
            .where(Survey.public_link.is_(True), Survey.closes_at > event.starts_at)
            .order_by(Survey.opens_at.desc())
            .limit(CHOICE_LIMIT)
        )
    )


def follow_up_rounds(session: Session, event: Event) -> list[Round]:
    """Comment rounds still open when the evening starts."""
    return list(
        session.scalars(
            select(Round)
            .where(Round.closes_at > event.starts_at)
            .order_by(Round.opens_at.desc())
            .limit(CHOICE_LIMIT)
        )
    )


def check_summary_input(session: Session, event: Event, raw: dict[str, Any]) -> SummaryInput:
    """The typed values, cleaned; `errors` holds a message per field that is not right."""
    data = SummaryInput(
        body=(raw.get("body") or "").replace("\r\n", "\n"),
        next_steps=(raw.get("next_steps") or "").replace("\r\n", "\n"),
        next_event_id=_id_or_none(raw.get("next_event_id")),
        follow_up_survey_id=_id_or_none(raw.get("follow_up_survey_id")),
        follow_up_round_id=_id_or_none(raw.get("follow_up_round_id")),
        audience=raw.get("audience") or ALL_REGISTERED,
        include_invited=bool(raw.get("include_invited")),
    )
    errors = data.errors
    if len(data.body) > MAX_BODY:
        errors["body"] = [
            _("The summary is too long: at most %(max)s characters.", max=f"{MAX_BODY:,}")
        ]
    if len(data.next_steps) > MAX_NEXT_STEPS:
        errors["next_steps"] = [
            _("The next steps are too long: at most %(max)s characters.", max=f"{MAX_NEXT_STEPS:,}")
        ]
    if data.next_event_id is not None:
        next_event = session.get(Event, data.next_event_id)
        if (
            next_event is None
            or next_event.id == event.id
            or next_event.published_at is None
            or next_event.cancelled_at is not None
            or next_event.starts_at < event.ends_at
        ):
            errors["next_event_id"] = [_("Choose a published event after this one.")]
    if data.follow_up_survey_id is not None:
        survey = session.get(Survey, data.follow_up_survey_id)
        if survey is None or not survey.public_link:
            errors["follow_up_survey_id"] = [_("Choose a survey with a public link.")]
    if data.follow_up_round_id is not None and session.get(Round, data.follow_up_round_id) is None:
        errors["follow_up_round_id"] = [_("Choose a comment round from the list.")]
    if data.audience not in AUDIENCES:
        errors["audience"] = [_("Choose who gets the summary.")]
    return data


def save_summary(
    session: Session,
    event: Event,
    raw: dict[str, Any],
    *,
    now: dt.datetime,
    staff_user_id: int | None,
) -> EveningSummary:
    """Store the summary (created on the first save). A published summary may still be
    corrected: the public page shows the new text; the PDF changes when published again.
    Raises Invalid with a message per field."""
    data = check_summary_input(session, event, raw)
    if data.errors:
        raise Invalid(_("Check the summary."), data.errors)
    summary = find_summary(session, event.id)
    if summary is None:
        summary = EveningSummary(event_id=event.id, created_at=now)
        session.add(summary)
    summary.body = data.body
    summary.next_steps = data.next_steps
    summary.next_event_id = data.next_event_id
    summary.follow_up_survey_id = data.follow_up_survey_id
    summary.follow_up_round_id = data.follow_up_round_id
    summary.audience = data.audience
    summary.include_invited = data.include_invited
    summary.updated_at = now
    summary.updated_by_id = staff_user_id
    session.flush()
    return summary


# --- links of the next steps ------------------------------------------------------------------


@dataclass(frozen=True)
class NextLinks:
    """The next steps' links, as plain values (for the page, the PDF and the mail)."""

    next_event_title: str | None = None
    next_event_starts_at: dt.datetime | None = None
    next_event_url: str | None = None
    survey_title: str | None = None
    survey_url: str | None = None
    round_title: str | None = None
    round_url: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.next_event_url or self.survey_url or self.round_url)


def next_links(session: Session, summary: EveningSummary) -> NextLinks:
    """Absolute links (they go into the PDF and mails) to the next evening's registration, the
    follow-up survey and comment round; a chosen one that is gone or hidden is left out."""
    from participation.web import absolute_url

    values: dict[str, Any] = {}
    if summary.next_event_id is not None:
        event = session.get(Event, summary.next_event_id)
        if event is not None and event.published_at is not None and event.cancelled_at is None:
            values.update(
                next_event_title=event.title,
                next_event_starts_at=event.starts_at,
                next_event_url=absolute_url("events.show_event", slug=event.slug),
            )
    if summary.follow_up_survey_id is not None:
        survey = session.get(Survey, summary.follow_up_survey_id)
        if survey is not None and survey.public_link:
            values.update(
                survey_title=survey.title,
                survey_url=absolute_url("surveys.show_survey", slug=survey.slug),
            )
    if summary.follow_up_round_id is not None:
        round_ = session.get(Round, summary.follow_up_round_id)
        if round_ is not None:
            values.update(
                round_title=round_.title,
                round_url=absolute_url("rounds.show_round", slug=round_.slug),
            )
    return NextLinks(**values)
