"""The staff's registration services: the filtered list and its counts, the figures of an event,
the export, the sign-in sheet and the door's list; and the rules staff meet through them
(a walk-in beyond the capacity, a move refused when the group is full)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from participation.errors import Invalid
from participation.events import services, staff
from participation.events.models import CANCELLED, CONFIRMED, WAITLISTED, Event
from participation.formbuilder.models import FormDefinition
from participation.register import exporting
from participation.register.models import Association, Category
from tests.events.factories import make_event, make_registration


def _association(db: Any, name: str, category: Category | None = None) -> Association:
    association = Association(name=name, category_id=category.id if category else None)
    db.add(association)
    db.flush()
    return association


def _category(db: Any, key: str, name: str, position: int) -> Category:
    category = Category(key=key, name_fi=name, position=position)
    db.add(category)
    db.flush()
    return category


def _keys(db: Any, event: Event) -> dict[str, str]:
    """The default questions' keys by type: yes_no (coffee), short_text (diet), long_text."""
    form = db.get(FormDefinition, event.form_id)
    return {q["type"]: q["key"] for q in form.schema["questions"]}


@pytest.fixture
def evening(db: Any, now: dt.datetime) -> dict[str, Any]:
    """An evening with two groups, five registrations of every kind and answers."""
    event = make_event(db, now=now, capacity=10, groups=[("Tilat", 2), ("Avustukset", None)])
    spaces, grants = event.groups
    keys = _keys(db, event)
    village = _association(db, "Ämmälän kyläyhdistys ry")
    sports = _association(db, "Urheiluseura Kisa")
    people = {
        "aino": make_registration(
            db,
            event,
            name="Aino Aalto",
            email="aino@example.org",
            now=now,
            group=spaces,
            association=village,
            seats=1,
            answers={keys["yes_no"]: True, keys["short_text"]: "gluteeniton"},
        ),
        "bertil": make_registration(
            db,
            event,
            name="Bertil Berg",
            email="bertil@example.org",
            now=now,
            group=grants,
            association=sports,
            seats=2,
            attended=True,
            answers={keys["yes_no"]: True, keys["short_text"]: ""},
        ),
        "cecilia": make_registration(
            db,
            event,
            name="Cecilia Carlsson",
            email="cecilia@example.org",
            now=now,
            group=spaces,
            answers={keys["yes_no"]: False, keys["long_text"]: "pyörätuoli"},
        ),
        "david": make_registration(
            db,
            event,
            name="David Dahl",
            email="david@example.org",
            now=now,
            group=spaces,
            status=WAITLISTED,
            answers={keys["yes_no"]: True, keys["short_text"]: "vegaani"},
        ),
        "eeva": make_registration(
            db,
            event,
            name="Eeva Ek",
            email="eeva@example.org",
            now=now,
            group=grants,
            association=village,
            status=CANCELLED,
            answers={keys["short_text"]: "laktoositon"},
        ),
    }
    return {"event": event, "keys": keys, "village": village, "sports": sports, **people}


def _names(page: Any) -> list[str]:
    return [row.registration.name for row in page.items]


def _list(db: Any, event: Event, **args: str) -> Any:
    return staff.list_registrations(
        db, event, staff.parse_filter(args), page=int(args.get("page", 1)), per_page=25
    )


# --- the list ---------------------------------------------------------------------------------


def test_the_list_is_in_arrival_order_and_filters_combine(db: Any, evening: dict) -> None:
    event = evening["event"]
    spaces, grants = event.groups
    assert _names(_list(db, event)) == [
        "Aino Aalto",
        "Bertil Berg",
        "Cecilia Carlsson",
        "David Dahl",
        "Eeva Ek",
    ]
    assert _names(_list(db, event, status=CONFIRMED)) == [
        "Aino Aalto",
        "Bertil Berg",
        "Cecilia Carlsson",
    ]
    assert _names(_list(db, event, status=WAITLISTED)) == ["David Dahl"]
    assert _names(_list(db, event, status=CANCELLED)) == ["Eeva Ek"]
    assert _names(_list(db, event, group=str(spaces.id))) == [
        "Aino Aalto",
        "Cecilia Carlsson",
        "David Dahl",
    ]
    assert _names(_list(db, event, group=str(grants.id), status=CONFIRMED)) == ["Bertil Berg"]
    assert _names(_list(db, event, association=str(evening["village"].id))) == [
        "Aino Aalto",
        "Eeva Ek",
    ]
    assert _names(_list(db, event, association="none")) == ["Cecilia Carlsson", "David Dahl"]
    assert _names(_list(db, event, attended="yes")) == ["Bertil Berg"]
    assert "Bertil Berg" not in _names(_list(db, event, attended="no"))
    # Numbers are places in arrival order, whatever the filter.
    assert [row.number for row in _list(db, event, status=WAITLISTED).items] == [4]


def test_search_folds_case_and_finds_names_addresses_and_associations(
    db: Any, evening: dict
) -> None:
    event = evening["event"]
    assert _names(_list(db, event, q="ämmälä")) == ["Aino Aalto", "Eeva Ek"]
    assert _names(_list(db, event, q="ÄMMÄLÄN aino")) == ["Aino Aalto"]
    assert _names(_list(db, event, q="cecilia@example")) == ["Cecilia Carlsson"]
    assert _names(_list(db, event, q="kisa")) == ["Bertil Berg"]
    assert _names(_list(db, event, q="nobody")) == []


def test_unknown_filter_values_mean_all_and_pages_are_clamped(db: Any, evening: dict) -> None:
    flt = staff.parse_filter({"status": "bogus", "group": "1; drop", "attended": "maybe"})
    assert not flt.active
    page = staff.list_registrations(db, evening["event"], flt, page=9, per_page=2)
    assert (page.page, page.pages, page.total) == (3, 3, 5)
    assert _names(page) == ["Eeva Ek"]


# --- counts -----------------------------------------------------------------------------------


def test_counts_per_group_and_per_answer(db: Any, evening: dict) -> None:
    event = evening["event"]
    counts = staff.count_registrations(db, event, locale="fi")
    assert (counts.capacity, counts.taken, counts.registrations) == (10, 4, 3)
    assert (counts.waitlisted, counts.cancelled) == (1, 1)
    spaces, grants = counts.groups
    assert (spaces.group.name, spaces.taken, spaces.waitlisted, spaces.full) == (
        "Tilat",
        2,
        1,
        True,
    )
    assert (grants.taken, grants.waitlisted, grants.full) == (2, 0, False)

    by_type = {a.type: a for a in counts.answers}
    coffee = by_type["yes_no"]
    # Aino (1) and Bertil (a party of 2) said yes; the waitlisted and the cancelled do not count.
    assert [(o.count) for o in coffee.options] == [3, 1]
    diets = by_type["short_text"]
    assert [(t.name, t.association, t.text) for t in diets.texts] == [
        ("Aino Aalto", "Ämmälän kyläyhdistys ry", "gluteeniton")
    ]
    assert diets.sensitive
    needs = by_type["long_text"]
    assert [(t.name, t.text) for t in needs.texts] == [("Cecilia Carlsson", "pyörätuoli")]


def test_an_event_without_questions_has_no_answer_counts(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, capacity=None, with_form=False)
    make_registration(db, event, name="Ville Virta", email="ville@example.org", now=now)
    counts = staff.count_registrations(db, event, locale="fi")
    assert (counts.capacity, counts.taken, counts.answers, counts.groups) == (None, 1, [], [])


# --- figures ----------------------------------------------------------------------------------


def test_figures_of_a_past_event(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, capacity=20, state="past")
    neighbourhood = _category(db, "t-neigh", "Asukas- ja kyläyhdistykset", 1)
    culture = _category(db, "t-culture", "Kulttuuri", 2)
    village = _association(db, "Kylä ry", neighbourhood)
    choir = _association(db, "Kuoro ry", culture)
    band = _association(db, "Bändi ry", culture)
    loose = _association(db, "Irrallinen ry")
    absent = _association(db, "Poissa ry", culture)
    make_registration(
        db,
        event,
        name="A",
        email="a@example.org",
        now=now,
        association=village,
        attended=True,
        seats=3,
    )
    make_registration(
        db, event, name="B", email="b@example.org", now=now, association=choir, attended=True
    )
    make_registration(
        db, event, name="C", email="c@example.org", now=now, association=band, attended=True
    )
    make_registration(
        db, event, name="D", email="d@example.org", now=now, association=loose, attended=True
    )
    make_registration(db, event, name="E", email="e@example.org", now=now, association=absent)
    make_registration(db, event, name="F", email="f@example.org", now=now, seats=2)
    make_registration(db, event, name="G", email="g@example.org", now=now, status=WAITLISTED)
    make_registration(
        db, event, name="H", email="h@example.org", now=now, status=CANCELLED, association=absent
    )

    figures = staff.event_figures(db, event, now=now, locale="fi")
    assert figures.past
    assert (figures.registered, figures.attended, figures.no_shows) == (9, 6, 3)
    assert (figures.waitlisted, figures.cancelled, figures.associations_present) == (1, 1, 4)
    assert [(c.category, c.associations) for c in figures.by_category] == [
        ("Asukas- ja kyläyhdistykset", ["Kylä ry"]),
        ("Kulttuuri", ["Bändi ry", "Kuoro ry"]),
        ("", ["Irrallinen ry"]),
    ]


def test_no_shows_are_not_counted_before_the_event_is_over(
    db: Any, evening: dict, now: dt.datetime
) -> None:
    figures = staff.event_figures(db, evening["event"], now=now, locale="fi")
    assert figures.no_shows is None and not figures.past
    assert (figures.registered, figures.attended, figures.associations_present) == (4, 2, 1)


# --- export -----------------------------------------------------------------------------------


def test_export_holds_the_answers_and_is_formula_safe(
    db: Any, evening: dict, now: dt.datetime
) -> None:
    event = evening["event"]
    keys = evening["keys"]
    make_registration(
        db,
        event,
        name='=HYPERLINK("http://evil")',
        email="evil@example.org",
        now=now,
        answers={keys["short_text"]: "+SUM(A1)", keys["long_text"]: "@cmd"},
    )
    header, rows = staff.export_registrations(db, event, staff.parse_filter({}), locale="fi")
    assert len(rows) == 6
    assert len(header) == 10 + 3  # the fixed columns and the three questions
    aino = rows[0]
    assert aino[2:6] == ["Aino Aalto", "aino@example.org", "Ämmälän kyläyhdistys ry", "Tilat"]
    assert "gluteeniton" in aino

    text = exporting.to_csv(header, rows).decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text), delimiter=";"))
    evil = parsed[-1]
    assert evil[2] == '\'=HYPERLINK("http://evil")'
    assert "'+SUM(A1)" in evil and "'@cmd" in evil
    assert not any(cell.startswith(("=", "+", "@")) for row in parsed for cell in row)

    sheet = load_workbook(io.BytesIO(exporting.to_xlsx(header, rows, title="x"))).active
    values = [c.value for row in sheet.iter_rows() for c in row if c.value]
    assert '\'=HYPERLINK("http://evil")' in values
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)


def test_export_follows_the_filters(db: Any, evening: dict) -> None:
    flt = staff.parse_filter({"status": WAITLISTED})
    _header, rows = staff.export_registrations(db, evening["event"], flt, locale="fi")
    assert [row[2] for row in rows] == ["David Dahl"]


# --- the sign-in sheet ------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_signin_sheet_lists_the_confirmed_by_name(
    app: Any, db: Any, evening: dict, now: dt.datetime
) -> None:
    event = evening["event"]
    make_registration(
        db,
        event,
        name="<script>alert(1)</script> Öhman",
        email="o@example.org",
        now=now,
        group=event.groups[1],
    )
    sheets = staff.signin_sheets(db, event, None)
    assert [row.name for row in sheets[0].rows] == [
        "<script>alert(1)</script> Öhman",
        "Aino Aalto",
        "Bertil Berg",
        "Cecilia Carlsson",
    ]
    with app.test_request_context():
        rendered = staff.render_signin_sheet(db, event, None, locale="fi")
    text = _pdf_text(rendered.pdf)
    for name in ("Aino Aalto", "Bertil Berg", "Cecilia Carlsson", "<script>alert(1)</script>"):
        assert name in text
    assert "David Dahl" not in text  # waitlisted
    assert "Eeva Ek" not in text  # cancelled
    reader = PdfReader(io.BytesIO(rendered.pdf))
    assert "/StructTreeRoot" in reader.trailer["/Root"]  # tagged
    assert reader.metadata.title.startswith("Sign-in sheet") or event.title in reader.metadata.title


def test_signin_sheet_of_one_group(app: Any, db: Any, evening: dict) -> None:
    event = evening["event"]
    spaces = event.groups[0]
    with app.test_request_context():
        rendered = staff.render_signin_sheet(db, event, spaces.id, locale="fi")
    text = _pdf_text(rendered.pdf)
    assert "Tilat" in text and "Aino Aalto" in text and "Cecilia Carlsson" in text
    assert "Bertil Berg" not in text and "David Dahl" not in text


def test_signin_sheet_of_another_events_group_is_not_found(
    db: Any, evening: dict, now: dt.datetime
) -> None:
    other = make_event(db, now=now, groups=[("Muu", None)], title="Toinen ilta")
    from participation.errors import NotFound

    with pytest.raises(NotFound):
        staff.signin_sheets(db, evening["event"], other.groups[0].id)


# --- the door ---------------------------------------------------------------------------------


def test_door_list_by_name_with_the_waitlist_apart(db: Any, evening: dict) -> None:
    door = staff.door_list(db, evening["event"])
    assert [r.registration.name for r in door.confirmed] == [
        "Aino Aalto",
        "Bertil Berg",
        "Cecilia Carlsson",
    ]
    assert [r.registration.name for r in door.waitlisted] == ["David Dahl"]
    assert (door.counts.attended, door.counts.registered) == (2, 4)
    found = staff.door_list(db, evening["event"], "  berg ")
    assert [r.registration.name for r in found.confirmed] == ["Bertil Berg"]
    assert found.q == "berg" and found.waitlisted == []


def test_walk_in_beyond_capacity_is_confirmed_and_counted(db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, capacity=1)
    make_registration(db, event, name="Eka", email="eka@example.org", now=now)
    walk_in = services.add_walk_in(db, event.id, name="Ovelta Tullut", email="", now=now)
    assert walk_in.status == CONFIRMED and walk_in.attended_at is not None
    door = staff.door_list(db, event)
    assert (door.counts.attended, door.counts.registered) == (1, 2)
    assert "Ovelta Tullut" in [r.registration.name for r in door.confirmed]
    figures = staff.event_figures(db, event, now=now, locale="fi")
    assert (figures.walk_ins, figures.attended) == (1, 1)
    # The placeholder address of a walk-in without one is never exported.
    _h, rows = staff.export_registrations(db, event, staff.parse_filter({}), locale="fi")
    assert rows[-1][3] == ""


def test_move_is_refused_when_the_group_is_full(db: Any, evening: dict, now: dt.datetime) -> None:
    event = evening["event"]
    spaces, _grants = event.groups  # Tilat: 2 seats, both taken
    with pytest.raises(Invalid):
        services.move_registration(db, evening["bertil"].id, spaces.id, now=now)
    db.refresh(evening["bertil"])
    assert evening["bertil"].group_id == event.groups[1].id
