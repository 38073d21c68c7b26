"""The .ics files: they parse with the icalendar library and carry Helsinki's local hour on both
sides of a daylight-saving change; updates and cancellations reach calendars; hostile text stays
text."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from participation.events.ics import calendar_feed, event_ics
from participation.events.models import Event
from tests.events import factories as f

HELSINKI = ZoneInfo("Europe/Helsinki")
BASE = "https://osallistu.esimerkkila.example"


def _event_at(db: Any, now: dt.datetime, start_utc: dt.datetime, hours: float = 2) -> Event:
    event = f.make_event(db, now=now, with_form=False)
    event.starts_at = start_utc
    event.ends_at = start_utc + dt.timedelta(hours=hours)
    db.flush()
    return event


def _only_vevent(text: str) -> Any:
    calendar = Calendar.from_ical(text)
    (vevent,) = calendar.walk("VEVENT")
    return vevent


@pytest.mark.parametrize(
    ("start_utc", "local_start", "local_end", "offset"),
    [
        # January: EET, UTC+2.
        (dt.datetime(2027, 1, 14, 15, 30, tzinfo=dt.UTC), (17, 30), (19, 30), 2),
        # July: EEST, UTC+3.
        (dt.datetime(2027, 7, 8, 14, 30, tzinfo=dt.UTC), (17, 30), (19, 30), 3),
        # The night of 28 March 2027: clocks go from 03.00 to 04.00. Starts at 02.30 (EET) and
        # ends two real hours later at 05.30 (EEST).
        (dt.datetime(2027, 3, 28, 0, 30, tzinfo=dt.UTC), (2, 30), (5, 30), 2),
        # The night of 31 October 2027: clocks go back from 04.00 to 03.00.
        (dt.datetime(2027, 10, 31, 0, 30, tzinfo=dt.UTC), (3, 30), (4, 30), 3),
    ],
)
def test_times_are_helsinki_local_with_the_right_offset(
    db: Any,
    now: dt.datetime,
    start_utc: dt.datetime,
    local_start: tuple[int, int],
    local_end: tuple[int, int],
    offset: int,
) -> None:
    event = _event_at(db, now, start_utc)
    text = event_ics(event, base_url=BASE)
    calendar = Calendar.from_ical(text)
    vevent = _only_vevent(text)

    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Helsinki"]
    start, end = vevent["DTSTART"], vevent["DTEND"]
    assert start.params["TZID"] == end.params["TZID"] == "Europe/Helsinki"
    assert (start.dt.hour, start.dt.minute) == local_start
    assert (end.dt.hour, end.dt.minute) == local_end
    assert start.dt.utcoffset() == dt.timedelta(hours=offset)
    # The same instants as stored, so the length is two real hours across the change too.
    assert start.dt.astimezone(dt.UTC) == event.starts_at
    assert end.dt.astimezone(dt.UTC) == event.ends_at
    assert end.dt.astimezone(dt.UTC) - start.dt.astimezone(dt.UTC) == dt.timedelta(hours=2)
    # The text names the zone: calendars without their own copy of it use the VTIMEZONE.
    local = start_utc.astimezone(HELSINKI)
    assert f"DTSTART;TZID=Europe/Helsinki:{local:%Y%m%dT%H%M%S}" in text


def test_sequence_follows_the_event_and_cancelled_events_say_so(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, with_form=False)
    first = _only_vevent(event_ics(event, base_url=BASE))
    assert int(first["SEQUENCE"]) == 0
    assert str(first["STATUS"]) == "CONFIRMED"
    assert str(first["UID"]) == f"event-{event.id}@osallistu.esimerkkila.example"

    event.sequence = 3
    event.cancelled_at = now
    db.flush()
    changed = _only_vevent(event_ics(event, base_url=BASE))
    assert int(changed["SEQUENCE"]) == 3
    assert str(changed["STATUS"]) == "CANCELLED"
    # The same UID, so calendars update the entry rather than add a second.
    assert changed["UID"] == first["UID"]


def test_the_event_page_and_place_are_in_the_file(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, with_form=False)
    vevent = _only_vevent(event_ics(event, base_url=BASE))
    assert str(vevent["URL"]) == f"{BASE}/events/{event.slug}"
    assert str(vevent["LOCATION"]) == event.place
    assert event.accessibility in str(vevent["DESCRIPTION"])


def test_an_online_event_gives_its_link_as_the_location(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, with_form=False)
    event.place, event.online_url = "", "https://meet.esimerkkila.example/ilta"
    vevent = _only_vevent(event_ics(event, base_url=BASE))
    assert str(vevent["LOCATION"]) == "https://meet.esimerkkila.example/ilta"


HOSTILE_TITLE = "Ilta; kahvit, teet <script>alert(1)</script>\nDTSTART:19700101T000000Z"
HOSTILE_PLACE = "Sali 1, 2. krs; sisään\\piha\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:Huijaus"


def test_hostile_text_is_escaped_and_comes_back_unchanged(db: Any, now: dt.datetime) -> None:
    event = f.make_event(db, now=now, with_form=False)
    event.title, event.place = HOSTILE_TITLE, HOSTILE_PLACE
    event.description = "Rivi 1\nRivi 2; lisää, vielä"
    db.flush()

    text = event_ics(event, base_url=BASE)

    vevent = _only_vevent(text)  # one event only: nothing was injected
    assert str(vevent["SUMMARY"]) == HOSTILE_TITLE
    assert str(vevent["LOCATION"]) == HOSTILE_PLACE
    assert str(vevent["DESCRIPTION"]).startswith("Rivi 1\nRivi 2; lisää, vielä")
    body = text.split("BEGIN:VEVENT", 1)[1]
    assert len([line for line in body.splitlines() if line.startswith("DTSTART")]) == 1
    lines = text.split("\r\n")
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 1
    assert not any(line.startswith("SUMMARY:Huijaus") for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:Ilta\\; kahvit\\, teet <script>alert(1)</script>\\nDTSTART:" in unfolded
    assert "LOCATION:Sali 1\\, 2. krs\\; sisään\\\\piha\\nEND:VEVENT\\nBEGIN:VEVENT" in unfolded
    # Every line ends with CRLF and none is longer than 75 octets (RFC 5545, 3.1).
    assert lines[-1] == ""
    assert all(len(line.encode()) <= 75 for line in lines)


def test_the_feed_holds_every_event_once(db: Any, now: dt.datetime) -> None:
    winter = _event_at(db, now, dt.datetime(2027, 1, 14, 15, 30, tzinfo=dt.UTC))
    summer = _event_at(db, now, dt.datetime(2027, 7, 8, 14, 30, tzinfo=dt.UTC))
    summer.title = "Kesäilta"

    text = calendar_feed([winter, summer], base_url=BASE, name="Esimerkkilän tapahtumat")

    calendar = Calendar.from_ical(text)
    assert str(calendar["X-WR-CALNAME"]) == "Esimerkkilän tapahtumat"
    assert str(calendar["METHOD"]) == "PUBLISH"
    vevents = calendar.walk("VEVENT")
    assert [str(v["SUMMARY"]) for v in vevents] == [winter.title, "Kesäilta"]
    assert len({str(v["UID"]) for v in vevents}) == 2
    assert [v["DTSTART"].dt.hour for v in vevents] == [17, 17]
    assert len(calendar.walk("VTIMEZONE")) == 1


def test_an_empty_feed_is_still_a_calendar(db: Any) -> None:
    calendar = Calendar.from_ical(calendar_feed([], base_url=BASE, name="Tapahtumat"))
    assert calendar.walk("VEVENT") == []
    assert str(calendar["VERSION"]) == "2.0"
