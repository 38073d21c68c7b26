"""The year's evening figures: recorded per event as counted by hand, listed per Helsinki year
with totals (a contact person sees their own events), exported as formula-safe CSV, recorded
again on request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from participation.evenings import figures as evening_figures
from participation.evenings.models import EveningFigures, Theme
from participation.events.models import WAITLISTED
from tests.digests.factories import make_association
from tests.evenings.factories import make_evening
from tests.evenings.test_summary import category, make_content
from tests.events import factories as ef


def _attendance(db: Any, now: dt.datetime) -> Any:
    """A past evening counted by hand: confirmed seats 1+3+1+1+1 = 7 (a walk-in included),
    attended seats 3+1+1 = 5 by three registrations from two associations (one of them twice,
    one with a category, one without) and a resident; waitlisted and cancelled not counted."""
    evening = make_content(db, now)  # two handled themes, five phones voted
    event = evening.event
    sport = category(db, "sport", "Liikunta")
    club = make_association(db, "Pallokerho ry", "pallo@example.org")
    club.category_id = sport.id
    village = make_association(db, "Kyläyhdistys ry", "kyla@example.org")
    r = ef.make_registration
    r(db, event, name="A", email="a@example.org", now=now, association=club, attended=True)
    r(db, event, name="B", email="b@example.org", now=now, seats=3, association=club, attended=True)
    r(db, event, name="C", email="c@example.org", now=now, association=village)  # did not come
    r(db, event, name="D", email="d@example.org", now=now, attended=True)  # a resident
    r(db, event, name="E", email="e@example.org", now=now, association=village, attended=False)
    r(db, event, name="W", email="w@example.org", now=now, status=WAITLISTED, association=village)
    r(db, event, name="X", email="x@example.org", now=now, status="cancelled", association=club)
    db.flush()
    return event, village


def test_figures_are_recorded_as_counted_by_hand(db: Any, now: dt.datetime) -> None:
    event, village = _attendance(db, now)
    row = evening_figures.record_figures(db, event.id, now)
    assert (row.registered, row.attended, row.associations_present) == (7, 5, 1)
    assert row.by_category == {"Liikunta": 1}
    assert (row.themes_handled, row.votes_cast) == (2, 5)
    assert row.year == evening_figures.helsinki_year(event.starts_at)
    # Recording again replaces the row: a village member came after all, a theme was handled.
    ef.make_registration(
        db, event, name="F", email="f@example.org", now=now, association=village, attended=True
    )
    db.add(Theme(event_id=event.id, title="Uusi", submission_key=f"fig-{event.id}", handled=True))
    db.flush()
    later = now + dt.timedelta(hours=1)
    again = evening_figures.record_figures(db, event.id, later)
    assert again.id == row.id
    assert (again.registered, again.attended, again.associations_present) == (8, 6, 2)
    assert again.by_category == {"Liikunta": 1, "": 1}
    assert again.themes_handled == 3
    assert (
        db.scalar(select(func.count(EveningFigures.id)).where(EveningFigures.event_id == event.id))
        == 1
    )
    assert evening_figures.categories_of(again) == [
        ("Liikunta", 1),
        (evening_figures.category_label(""), 1),
    ]


def test_the_year_lists_ended_events_with_totals_and_a_contact_person_their_own(
    db: Any, now: dt.datetime, make_user: Any
) -> None:
    owner = make_user("contact_person")
    mine = ef.make_event(db, now=now, state="past", title="Oma ilta", creator_id=owner.id)
    theirs = ef.make_event(db, now=now, state="past", title="Toisen ilta")
    upcoming = ef.make_event(db, now=now, state="open", title="Tuleva ilta", creator_id=owner.id)
    cancelled = ef.make_event(db, now=now, state="past", title="Peruttu", creator_id=owner.id)
    cancelled.cancelled_at = now
    for event, seats in ((mine, 2), (theirs, 4)):
        ef.make_registration(
            db, event, name="P", email="p@example.org", now=now, seats=seats, attended=True
        )
        evening_figures.record_figures(db, event.id, now)
    year = evening_figures.helsinki_year(mine.starts_at)
    everyone = evening_figures.year_figures(db, year, now=now)
    titles = [r.event.title for r in everyone.rows]
    assert "Oma ilta" in titles and "Toisen ilta" in titles
    assert "Tuleva ilta" not in titles and "Peruttu" not in titles
    own = evening_figures.year_figures(db, year, now=now, created_by_id=owner.id)
    assert [r.event.title for r in own.rows] == ["Oma ilta"]
    assert (own.recorded, own.registered, own.attended) == (1, 2, 2)
    assert year in own.years
    assert upcoming.id not in [r.event.id for r in own.rows]


def test_csv_export_is_formula_safe_with_a_totals_row(
    db: Any, client: Any, login_as: Any, now: dt.datetime
) -> None:
    event = make_evening(db, now=now, state="past", title='=HYPERLINK("http://x")')
    ef.make_registration(db, event, name="P", email="p@example.org", now=now, attended=True)
    evening_figures.record_figures(db, event.id, now)
    unrecorded = ef.make_event(db, now=now, state="past", title="Kirjaamaton")
    db.commit()
    login_as("coordinator")
    year = evening_figures.helsinki_year(event.starts_at)
    response = client.get(f"/staff/evenings/figures.csv?year={year}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    # Event, date, registered, attended, associations, themes, votes, recorded: no categories.
    assert lines[0].count(";") == 7
    row = next(line for line in lines if "HYPERLINK" in line)
    assert row.startswith("'=HYPERLINK") or row.startswith("\"'=HYPERLINK")
    assert ";1;1;0;" in row
    assert any(line.startswith("Kirjaamaton;") for line in lines)
    assert lines[-1].split(";")[1:4] == [str(year), "1", "1"]  # the totals
    page = client.get(f"/staff/evenings/figures?year={year}").get_data(as_text=True)
    assert "HYPERLINK" in page and "Kirjaamaton" in page
    assert f'id="event-{unrecorded.id}"' in page


def test_recording_again_from_the_list(
    db: Any, client: Any, login_as: Any, post: Any, now: dt.datetime, make_user: Any
) -> None:
    event = make_evening(db, now=now, state="past")
    ef.make_registration(db, event, name="P", email="p@example.org", now=now, attended=True)
    db.commit()
    login_as("coordinator")
    response = post(f"/staff/events/{event.id}/evening/figures")
    assert response.status_code == 302
    assert f"#event-{event.id}" in response.headers["Location"]
    row = evening_figures.find_figures(db, event.id)
    assert row is not None and row.attended == 1
    # Another contact person may not record (nor see) this evening's figures.
    login_as("contact_person")
    assert post(f"/staff/events/{event.id}/evening/figures").status_code == 403
    year = evening_figures.helsinki_year(event.starts_at)
    assert f'id="event-{event.id}"' not in client.get(
        f"/staff/evenings/figures?year={year}"
    ).get_data(as_text=True)
