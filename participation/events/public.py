"""What the public pages read about events: the list of published events, the calendar feed's
events, free seats for many events at once and the names people allowed to be listed.

Read-only; the clock is passed in."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from participation.events.models import CONFIRMED, Event, Registration
from participation.register.models import Association

# The subscription feed keeps recent events, so a calendar does not lose last month's evening.
FEED_PAST = dt.timedelta(days=60)


@dataclass(frozen=True)
class Listed:
    """One row of the public list: the event, its registration state now, and the seats still
    free (None: no limit)."""

    event: Event
    state: str
    free: int | None
    # Not over yet (a cancelled event too, until its end).
    coming: bool

    @property
    def full(self) -> bool:
        return self.free is not None and self.free <= 0


def list_public_events(
    session: Session, *, now: dt.datetime, page: int, per_page: int
) -> tuple[list[Listed], int]:
    """Published events: those not yet over first (soonest first), then past ones (newest
    first). Returns one page of rows and the total."""
    published = Event.published_at.is_not(None)
    total = session.scalar(select(func.count(Event.id)).where(published)) or 0
    coming = Event.ends_at > now
    events = list(
        session.scalars(
            select(Event)
            .where(published)
            .order_by(
                case((coming, 0), else_=1),
                case((coming, Event.starts_at), else_=None).asc(),
                Event.starts_at.desc(),
                Event.id.desc(),
            )
            .options(selectinload(Event.groups))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    free = free_seats(session, events)
    rows = [Listed(e, e.registration_state(now), free[e.id], e.ends_at > now) for e in events]
    return rows, total


def free_seats(session: Session, events: list[Event]) -> dict[int, int | None]:
    """Seats still free per event, counted in one query. When every breakout group has a
    capacity, the groups' free seats bound the event's too."""
    taken: dict[int, int] = defaultdict(int)
    by_group: dict[int, int] = defaultdict(int)
    if events:
        rows = session.execute(
            select(
                Registration.event_id,
                Registration.group_id,
                func.coalesce(func.sum(Registration.seats), 0),
            )
            .where(
                Registration.event_id.in_([e.id for e in events]),
                Registration.status == CONFIRMED,
            )
            .group_by(Registration.event_id, Registration.group_id)
        ).all()
        for event_id, group_id, seats in rows:
            taken[event_id] += int(seats)
            if group_id is not None:
                by_group[group_id] += int(seats)
    result: dict[int, int | None] = {}
    for event in events:
        free = None if event.capacity is None else max(event.capacity - taken[event.id], 0)
        if event.groups and all(g.capacity is not None for g in event.groups):
            in_groups = sum(max((g.capacity or 0) - by_group[g.id], 0) for g in event.groups)
            free = in_groups if free is None else min(free, in_groups)
        result[event.id] = free
    return result


def feed_events(session: Session, *, now: dt.datetime) -> list[Event]:
    """Published, not cancelled events that ended at most FEED_PAST ago, by start."""
    return list(
        session.scalars(
            select(Event)
            .where(
                Event.published_at.is_not(None),
                Event.cancelled_at.is_(None),
                Event.ends_at >= now - FEED_PAST,
            )
            .order_by(Event.starts_at, Event.id)
        )
    )


def public_participants(session: Session, event: Event) -> list[tuple[str, str]]:
    """(name, association name or "") of confirmed registrations whose person allowed their
    name to be listed, by name; nothing unless the event lists participants."""
    if not event.list_participants:
        return []
    rows = session.execute(
        select(Registration.name, Association.name)
        .outerjoin(Association, Association.id == Registration.association_id)
        .where(
            Registration.event_id == event.id,
            Registration.status == CONFIRMED,
            Registration.name_public.is_(True),
            Registration.anonymised_at.is_(None),
        )
        .order_by(func.lower(Registration.name), Registration.id)
    ).all()
    return [(name, association or "") for name, association in rows]
