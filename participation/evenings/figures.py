"""The year's figures of the evenings, recorded per event (when its summary is published, and
again on request): registered, attended, associations present and by category, themes handled,
votes cast. Recorded rows stay when registrations are later anonymised."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from participation.evenings.models import EveningFigures
from participation.events.models import Event
from participation.events.services import get_event

HELSINKI = ZoneInfo("Europe/Helsinki")


def helsinki_year(moment: dt.datetime) -> int:
    return moment.astimezone(HELSINKI).year


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The Helsinki year as UTC instants [start, end)."""
    start = dt.datetime(year, 1, 1, tzinfo=HELSINKI).astimezone(dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=HELSINKI).astimezone(dt.UTC)
    return start, end


def record_figures(session: Session, event_id: int, now: dt.datetime) -> EveningFigures:
    """Count the evening's figures now and store them (one row per event, replaced each time).
    Raises NotFound."""
    from participation.evenings import planning, vote
    from participation.events.staff import event_figures

    event = get_event(session, event_id)
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    # The organiser's figures page counts the same way (seats; walk-ins are confirmed).
    counted = event_figures(session, event, now=now, locale=locale)
    row = session.scalar(select(EveningFigures).where(EveningFigures.event_id == event.id))
    if row is None:
        row = EveningFigures(event_id=event.id)
        session.add(row)
    row.year = helsinki_year(event.starts_at)
    row.registered = counted.registered
    row.attended = counted.attended
    row.associations_present = counted.associations_present
    row.by_category = {c.category: len(c.associations) for c in counted.by_category}
    row.themes_handled = len(planning.handled_themes(session, event.id))
    row.votes_cast = int(vote.vote_count(session, event.id))
    row.recorded_at = now
    session.flush()
    return row


def find_figures(session: Session, event_id: int) -> EveningFigures | None:
    return session.scalar(select(EveningFigures).where(EveningFigures.event_id == event_id))


@dataclass(frozen=True)
class FiguresRow:
    event: Event
    figures: EveningFigures | None


@dataclass(frozen=True)
class YearFigures:
    year: int
    years: list[int]
    rows: list[FiguresRow]
    # Totals over the rows with recorded figures.
    recorded: int
    registered: int
    attended: int
    associations_present: int
    themes_handled: int
    votes_cast: int
    categories: list[tuple[str, int]]


def _visible(query: Any, created_by_id: int | None) -> Any:
    return query if created_by_id is None else query.where(Event.created_by_id == created_by_id)


def available_years(
    session: Session, *, now: dt.datetime, created_by_id: int | None = None
) -> list[int]:
    """The years that have events (this year always), newest first."""
    first, last = session.execute(
        _visible(select(func.min(Event.starts_at), func.max(Event.starts_at)), created_by_id)
    ).one()
    this_year = helsinki_year(now)
    if first is None:
        return [this_year]
    oldest = helsinki_year(_aware(first))
    newest = max(this_year, helsinki_year(_aware(last)))
    return list(range(newest, oldest - 1, -1))


def _aware(moment: dt.datetime) -> dt.datetime:
    # SQLite returns naive UTC from aggregates.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def year_figures(
    session: Session, year: int, *, now: dt.datetime, created_by_id: int | None = None
) -> YearFigures:
    """One row per event of the Helsinki year that has ended or has figures (cancelled ones
    left out), in time order, with totals over the recorded ones. `created_by_id` limits the
    list to one contact person's events."""
    start, end = _year_bounds(year)
    events = list(
        session.scalars(
            _visible(
                select(Event)
                .where(
                    Event.starts_at >= start,
                    Event.starts_at < end,
                    Event.cancelled_at.is_(None),
                )
                .order_by(Event.starts_at, Event.id),
                created_by_id,
            )
        )
    )
    recorded = {
        f.event_id: f
        for f in session.scalars(
            select(EveningFigures).where(EveningFigures.event_id.in_([e.id for e in events]))
        )
    }
    rows = [
        FiguresRow(e, recorded.get(e.id)) for e in events if e.ends_at <= now or e.id in recorded
    ]
    done = [r.figures for r in rows if r.figures is not None]
    categories: Counter[str] = Counter()
    for f in done:
        categories.update({name: int(count) for name, count in (f.by_category or {}).items()})
    return YearFigures(
        year=year,
        years=available_years(session, now=now, created_by_id=created_by_id),
        rows=rows,
        recorded=len(done),
        registered=sum(f.registered for f in done),
        attended=sum(f.attended for f in done),
        associations_present=sum(f.associations_present for f in done),
        themes_handled=sum(f.themes_handled for f in done),
        votes_cast=sum(f.votes_cast for f in done),
        categories=ordered_categories(categories),
    )


def ordered_categories(counts: Counter[str]) -> list[tuple[str, int]]:
    """By name; associations without a category ("") last."""
    return sorted(counts.items(), key=lambda item: (item[0] == "", item[0].casefold()))


def categories_of(figures: EveningFigures) -> list[tuple[str, int]]:
    """One evening's associations present by category, labelled and ordered."""
    counts = Counter({name: int(n) for name, n in (figures.by_category or {}).items()})
    return [(category_label(name), n) for name, n in ordered_categories(counts)]


def category_label(name: str) -> str:
    return name or _("No category")


def figures_table(found: YearFigures) -> tuple[list[str], list[list[Any]]]:
    """The year's figures as a header and rows for CSV: one row per event, then the totals;
    a column per category of associations present."""
    categories = [name for name, _count in found.categories]
    header = [
        _("Event"),
        _("Date"),
        _("Registered"),
        _("Attended"),
        _("Associations present"),
        *(
            _("Associations present: %(category)s", category=category_label(name))
            for name in categories
        ),
        _("Themes handled"),
        _("Votes cast"),
        _("Recorded"),
    ]
    rows: list[list[Any]] = []
    for row in found.rows:
        day = row.event.starts_at.astimezone(HELSINKI).date().isoformat()
        f = row.figures
        if f is None:
            rows.append([row.event.title, day, *([""] * (len(header) - 3)), ""])
            continue
        by_category = f.by_category or {}
        rows.append(
            [
                row.event.title,
                day,
                f.registered,
                f.attended,
                f.associations_present,
                *(int(by_category.get(name, 0)) for name in categories),
                f.themes_handled,
                f.votes_cast,
                _aware(f.recorded_at).astimezone(HELSINKI).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    totals = dict(found.categories)
    rows.append(
        [
            _("Total"),
            str(found.year),
            found.registered,
            found.attended,
            found.associations_present,
            *(totals[name] for name in categories),
            found.themes_handled,
            found.votes_cast,
            "",
        ]
    )
    return header, rows
