"""iCalendar files: one event (attached to confirmations, downloadable from its page) and the
subscription feed of published events. Made with the icalendar library, in Helsinki time with
the VTIMEZONE included, so calendars show the right hour on both sides of a DST change."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from flask import current_app
from icalendar import Calendar, Timezone
from icalendar import Event as VEvent

from participation.events.models import Event

HELSINKI = ZoneInfo("Europe/Helsinki")
PRODID = "-//Osallistu//Events//FI"


def _calendar(events: list[Event], name: str = "") -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", "Europe/Helsinki")
    years = [year for e in events for year in (e.starts_at.year, e.ends_at.year)]
    calendar.add_component(_helsinki(min(years, default=2026), max(years, default=2026)))
    return calendar


@functools.cache
def _helsinki(first_year: int, last_year: int) -> Timezone:
    """The VTIMEZONE block for the years around the events (a year either side), built once
    per range: one covering every DST change since 1970 is two thousand lines long."""
    return Timezone.from_tzid(
        "Europe/Helsinki",
        first_date=dt.date(first_year - 1, 1, 1),
        last_date=dt.date(last_year + 2, 1, 1),
    )


def _uid(event: Event, base_url: str) -> str:
    host = urlparse(base_url).hostname or "localhost"
    return f"event-{event.id}@{host}"


def _vevent(event: Event, *, base_url: str, url: str) -> VEvent:
    vevent = VEvent()
    vevent.add("uid", _uid(event, base_url))
    vevent.add("dtstamp", event.updated_at.astimezone(dt.UTC))
    vevent.add("dtstart", event.starts_at.astimezone(HELSINKI))
    vevent.add("dtend", event.ends_at.astimezone(HELSINKI))
    vevent.add("summary", event.title)
    vevent.add("sequence", event.sequence)
    description = event.description.strip()
    if event.accessibility.strip():
        description = f"{description}\n\n{event.accessibility.strip()}".strip()
    if description:
        vevent.add("description", description)
    location = event.place.strip() or event.online_url.strip()
    if location:
        vevent.add("location", location)
    if url:
        vevent.add("url", url)
    vevent.add("status", "CANCELLED" if event.cancelled_at else "CONFIRMED")
    return vevent


def _event_url(event: Event, base_url: str) -> str:
    adapter = current_app.url_map.bind("localhost")
    return base_url + adapter.build("events.show_event", {"slug": event.slug})


def event_ics(event: Event, *, base_url: str) -> str:
    """One event as an .ics file's text (the same for everyone registered, so made once per
    version of the event and kept)."""
    return _event_ics(_facts(event), base_url, _event_url(event, base_url))


def _facts(event: Event) -> tuple[Any, ...]:
    return tuple(getattr(event, name) for name in _FACTS)


_FACTS = (
    "id", "title", "description", "accessibility", "place", "online_url", "starts_at",
    "ends_at", "updated_at", "sequence", "cancelled_at",
)  # fmt: skip


@functools.lru_cache(maxsize=256)
def _event_ics(facts: tuple[Any, ...], base_url: str, url: str) -> str:
    event = Event(**dict(zip(_FACTS, facts, strict=True)))
    calendar = _calendar([event])
    calendar.add_component(_vevent(event, base_url=base_url, url=url))
    return calendar.to_ical().decode()


def calendar_feed(events: Iterable[Event], *, base_url: str, name: str) -> str:
    """The subscription feed: every given event, one VEVENT each."""
    events = list(events)
    calendar = _calendar(events, name)
    for event in events:
        calendar.add_component(_vevent(event, base_url=base_url, url=_event_url(event, base_url)))
    return calendar.to_ical().decode()
