"""The evening's summary as a PDF (a digest of kind "evening") and its mailing: rendered once by
the worker from plain data (the event's facts, the recorded figures, the summary, every group's
notes per question, the live vote's chart with its table, the themes handled, the next steps),
then mailed through the outbox to every registrant (or only those who came) and every invited
association, one message per address.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from participation.digests import services as digests
from participation.digests.models import Digest
from participation.errors import WrongState
from participation.evenings import figures as evening_figures
from participation.evenings import summary as summaries
from participation.evenings.models import ATTENDED, EveningSummary
from participation.events.models import CONFIRMED, Event, EventInvitation, Registration
from participation.events.services import WALK_IN_DOMAIN, event_facts, get_event
from participation.mail.models import Mailing
from participation.register.models import Association
from participation.surveys import charts
from participation.web import absolute_url

EVENING = "evening"
TEMPLATE = "digests/evening.html"
PARTICIPANT_MAIL = "evening_summary_participant"
ASSOCIATION_MAIL = "evening_summary_association"
# WeasyPrint's SVG text takes no font from the page's CSS (as in surveys.digest).
SVG_TEXT = Markup("<text ")
SVG_TEXT_WITH_FONT = Markup(
    '<text font-family="Noto Sans, Liberation Sans, DejaVu Sans, sans-serif" '
)


def vote_chart(result: summaries.VoteResult, *, chart_id: str = "vote-chart") -> Markup:
    """The vote's bar chart (SVG) with its figures as a table."""
    return charts.bar_chart(
        result.rows,
        title=result.question,
        chart_id=chart_id,
        label_header=_("Option"),
        value_header=_("Votes"),
    )


# --- the PDF's content ------------------------------------------------------------------------


def build_evening_context(session: Session, event_id: int, *, language: str) -> dict[str, Any]:
    """Plain data for templates/digests/evening.html. Raises NotFound."""
    event = get_event(session, event_id)
    summary = summaries.find_summary(session, event.id)
    recorded = evening_figures.find_figures(session, event.id)
    result = summaries.vote_result(session, event.id, locale=language)
    chart = None
    if result is not None:
        # User text in the chart is escaped, so "<text " only ever opens an SVG text element.
        chart = vote_chart(result).replace(SVG_TEXT, SVG_TEXT_WITH_FONT)
    links = summaries.next_links(session, summary) if summary else summaries.NextLinks()
    return {
        "language": language,
        "municipality": current_app.config["MUNICIPALITY_NAME"],
        "event": event_facts(event),
        "groups_count": len(event.groups),
        "figures": None
        if recorded is None
        else {
            "registered": recorded.registered,
            "attended": recorded.attended,
            "associations_present": recorded.associations_present,
            "categories": evening_figures.categories_of(recorded),
            "themes_handled": recorded.themes_handled,
            "votes_cast": recorded.votes_cast,
        },
        "summary_html": summaries.render_markdown(summary.body, top=2) if summary else Markup(""),
        "next_steps_html": summaries.render_markdown(summary.next_steps, top=2)
        if summary
        else Markup(""),
        "links": links,
        "groups": summaries.group_notes(session, event),
        "vote": result,
        "vote_chart": chart,
        "themes": [
            {"title": t.title, "description": t.description}
            for t in summaries.handled_themes(session, event.id)
        ],
        "summary_url": absolute_url("evenings.public_summary", slug=event.slug),
    }


def _build(session: Session, subject_id: int, language: str) -> dict[str, Any]:
    return build_evening_context(session, subject_id, language=language)


def _owner(session: Session, event_id: int) -> int | None:
    event = session.get(Event, event_id)
    return event.created_by_id if event else None


digests.register_kind(EVENING, TEMPLATE, _build, _owner)


# --- recipients -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str
    template: str
    association: str = ""


def recipients(session: Session, event: Event, summary: EveningSummary) -> list[Recipient]:
    """Everyone the summary goes to, one per address (case-insensitive), registrants first:
    confirmed registrations (only those marked attended when the audience is "attended"),
    not anonymised, not a walk-in's placeholder address; then, when chosen, each invited
    association that has an address."""
    query = select(Registration.email, Registration.language).where(
        Registration.event_id == event.id,
        Registration.status == CONFIRMED,
        Registration.anonymised_at.is_(None),
        Registration.email != "",
        Registration.email.not_like(f"%@{WALK_IN_DOMAIN}"),
    )
    if summary.audience == ATTENDED:
        query = query.where(Registration.attended_at.is_not(None))
    found: list[Recipient] = []
    seen: set[str] = set()

    def add(recipient: Recipient) -> None:
        key = recipient.email.strip().casefold()
        if key and key not in seen:
            seen.add(key)
            found.append(recipient)

    for email, language in session.execute(query.order_by(Registration.id)):
        add(Recipient(email, language, PARTICIPANT_MAIL))
    if summary.include_invited:
        for name, email in session.execute(
            select(Association.name, Association.email)
            .join(EventInvitation, EventInvitation.association_id == Association.id)
            .where(EventInvitation.event_id == event.id, Association.email != "")
            .order_by(Association.name, Association.id)
        ):
            add(
                Recipient(
                    email,
                    current_app.config["BABEL_DEFAULT_LOCALE"],
                    ASSOCIATION_MAIL,
                    association=digests.one_line(name),
                )
            )
    return found


def check_can_publish(event: Event, summary: EveningSummary | None, now: dt.datetime) -> None:
    """Raises WrongState before the event's end, for a cancelled event, or with no summary."""
    if event.cancelled_at is not None:
        raise WrongState(_("The event was cancelled: it has no summary to send."))
    if now < event.ends_at:
        raise WrongState(_("The summary can be published after the evening has ended."))
    if summary is None or not summary.body.strip():
        raise WrongState(_("Write and save the summary before publishing it."))


# --- publishing -------------------------------------------------------------------------------


def publish_summary(
    session: Session, event_id: int, *, now: dt.datetime, staff_user_id: int | None
) -> Mailing:
    """Publish the evening's summary: the public page, the figures recorded now, and a Digest
    (pending: the worker renders it) with its Mailing and, in the same transaction, one outbox
    row per recipient waiting for the PDF. Publishing again makes a new digest and mailing.
    Raises NotFound, or WrongState (before the end, cancelled, no summary)."""
    event = get_event(session, event_id)
    summary = summaries.find_summary(session, event.id)
    check_can_publish(event, summary, now)
    assert summary is not None
    if summary.published_at is None:
        summary.published_at = now
    evening_figures.record_figures(session, event.id, now)
    language = current_app.config["BABEL_DEFAULT_LOCALE"]
    event_title = digests.one_line(event.title)
    with force_locale(language):
        title = _("Summary: %(title)s", title=event_title)
    publishing = digests.start_digest_mailing(
        session,
        kind=EVENING,
        subject_id=event.id,
        title=title,
        purpose="digest_evening",
        now=now,
        staff_user_id=staff_user_id,
    )
    links = summaries.next_links(session, summary)
    publishing.common = {
        "event_title": event_title,
        "event": event_facts(event),
        "municipality": current_app.config["MUNICIPALITY_NAME"],
        "download_url": absolute_url("digests.download_digest", digest_id=publishing.digest.id),
        "summary_url": absolute_url("evenings.public_summary", slug=event.slug),
        "links": links,
    }
    for recipient in recipients(session, event, summary):
        publishing.queue(
            recipient.email,
            recipient.template,
            recipient.language,
            association=recipient.association,
        )
    return publishing.done()


def latest_digest(session: Session, event_id: int) -> Digest | None:
    return digests.latest_digest(session, EVENING, event_id)


def public_digest(session: Session, event_id: int) -> Digest | None:
    """The newest published, ready PDF of the evening's summary (None while it is made)."""
    return digests.find_published_digest(session, EVENING, event_id)
