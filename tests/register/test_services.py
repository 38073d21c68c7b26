"""The register's rules, called as the views, the CLI and the demo call them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from participation import tokens
from participation.errors import Invalid, NotFound, WrongState
from participation.mail.models import OutboxMessage
from participation.register import links, listing, merging, people, services, values
from participation.register.demo import load_demo
from participation.register.models import Association, AssociationChange, Category, Person

NOW = dt.datetime(2024, 5, 6, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _request(app: Any, db: Any) -> Any:
    """Messages are translated with the request's locale, as in the views."""
    with app.test_request_context("/"):
        yield


def _errors(exc: pytest.ExceptionInfo[Invalid]) -> dict[str, list[str]]:
    return exc.value.errors


# --- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("123456", "123.456"), ("123.456", "123.456"), (" 12.345 ", "12.345"), ("7", "7"), ("", "")],
)
def test_registry_numbers_are_normalised(raw: str, expected: str) -> None:
    assert values.normalise_registry_number(raw) == expected


@pytest.mark.parametrize("raw", ["12a.456", "123,456", "1234.56", "123.45.678", "-1", "1" * 12])
def test_malformed_registry_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        values.normalise_registry_number(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("www.example.fi", "https://www.example.fi"), ("http://a.example/x", "http://a.example/x")],
)
def test_websites_get_a_scheme(raw: str, expected: str) -> None:
    assert values.normalise_website(raw) == expected


@pytest.mark.parametrize(
    "raw", ["javascript:alert(1)", "ftp://example.fi", "https://localhost", "http://a b.fi"]
)
def test_websites_must_be_http_addresses(raw: str) -> None:
    with pytest.raises(ValueError):
        values.normalise_website(raw)


# --- categories -------------------------------------------------------------------------------


def test_default_categories_are_the_five_forum_groups_in_three_languages(db: Any) -> None:
    first = services.ensure_default_categories(db)
    again = services.ensure_default_categories(db)
    assert [c.key for c in first] == [
        "seniors",
        "social_health",
        "hobbies",
        "residents",
        "others",
    ]
    assert [c.id for c in again] == [c.id for c in first]
    assert all(c.name_fi and c.name_sv and c.name_en for c in first)
    assert first[0].name("sv") == "Pensionärs- och seniorföreningar"


def test_categories_can_be_added_renamed_reordered_and_taken_out_of_use(
    db: Any, categories: dict[str, Category]
) -> None:
    new = services.create_category(
        db, {"name_fi": "Kulttuuri", "name_sv": "", "name_en": "Culture"}
    )
    assert new.key == "kulttuuri"
    assert services.list_categories(db)[-1] is new

    services.move_category(db, new.id, "up")
    order = [c.key for c in services.list_categories(db)]
    assert order[-2:] == ["kulttuuri", "others"]

    services.rename_category(db, new.id, {"name_fi": "Kulttuuriyhdistykset", "name_en": "Culture"})
    assert new.name_fi == "Kulttuuriyhdistykset" and new.key == "kulttuuri"

    services.set_category_active(db, new.id, False)
    assert new not in services.list_categories(db, active_only=True)

    with pytest.raises(Invalid) as exc:
        services.create_category(db, {"name_fi": "muut YHDISTYKSET"})
    assert "name_fi" in _errors(exc)
    with pytest.raises(Invalid) as exc:
        services.create_category(db, {"name_fi": "  "})
    assert _errors(exc)["name_fi"] == ["Anna nimi suomeksi."]


def test_an_inactive_category_is_kept_by_its_associations_but_not_offered(
    db: Any, categories: dict[str, Category], make_association: Any
) -> None:
    association = make_association(category="hobbies")
    services.set_category_active(db, categories["hobbies"].id, False)
    data = {"name": association.name, "category": categories["hobbies"].id}
    services.update_association(db, association.id, data, now=NOW, staff_user_id=None)
    assert association.category is categories["hobbies"]
    with pytest.raises(Invalid) as exc:
        services.create_association(
            db, {"name": "Uusi ry", "category": categories["hobbies"].id}, now=NOW
        )
    assert _errors(exc)["category"] == ["Valitse luokka listalta."]


# --- creating and editing ---------------------------------------------------------------------


def test_bad_input_gets_a_message_per_field(db: Any, categories: dict[str, Category]) -> None:
    with pytest.raises(Invalid) as exc:
        services.create_association(
            db,
            {
                "name": "  ",
                "registry_number": "12x",
                "category": 99_999,
                "email": "not-an-address",
                "website": "javascript:alert(1)",
                "description": "x" * (values.DESCRIPTION_MAX + 1),
                "area": "a" * 500,
            },
            now=NOW,
        )
    errors = _errors(exc)
    assert errors["name"] == ["Anna yhdistyksen nimi."]
    assert errors["registry_number"] == ["Anna rekisterinumero numeroina, esimerkiksi 123.456."]
    assert errors["category"] == ["Valitse luokka listalta."]
    assert errors["email"] == ["Anna kelvollinen sähköpostiosoite."]
    assert errors["website"] == ["Anna verkko-osoite, esimerkiksi https://www.esimerkki.fi."]
    assert errors["description"] == ["Käytä enintään 1000 merkkiä."]
    assert errors["area"] == ["Käytä enintään 120 merkkiä."]
    assert db.scalar(select(func.count(Association.id))) == 0


def test_values_are_normalised_and_the_creation_recorded(
    db: Any, categories: dict[str, Category]
) -> None:
    a = services.create_association(
        db,
        {
            "name": " Mäkikylän Kyläseura ry ",
            "registry_number": "123456",
            "category": str(categories["residents"].id),
            "email": "Info@Makikyla.Example",
            "website": "www.makikyla.example",
            "active": True,
        },
        now=NOW,
        staff_user_id=None,
    )
    assert (a.name, a.registry_number, a.email, a.website) == (
        "Mäkikylän Kyläseura ry",
        "123.456",
        "info@makikyla.example",
        "https://www.makikyla.example",
    )
    [entry] = services.list_history(db, a.id, locale="fi")
    assert entry.created and entry.source == "staff"
    assert {i.field: i.new for i in entry.items}["category"] == categories["residents"].name_fi


def test_duplicates_by_registry_number_or_by_email_and_name_are_refused(
    db: Any, make_association: Any
) -> None:
    make_association(name="FC Esimerkkilä ry", registry_number="198.456", email="fc@example.fi")
    with pytest.raises(Invalid) as exc:
        services.create_association(db, {"name": "Toinen ry", "registry_number": "198456"}, now=NOW)
    assert _errors(exc)["registry_number"] == [
        "Yhdistyksellä FC Esimerkkilä ry on jo tämä rekisterinumero."
    ]
    with pytest.raises(Invalid) as exc:
        services.create_association(
            db, {"name": "fc esimerkkilä RY", "email": "FC@example.fi"}, now=NOW
        )
    assert _errors(exc)["name"] == [
        "Yhdistys FC Esimerkkilä ry on jo rekisterissä tällä sähköpostiosoitteella."
    ]
    # Same e-mail, another name: a person may run two associations.
    services.create_association(
        db, {"name": "FC Esimerkkilä Juniorit ry", "email": "fc@example.fi"}, now=NOW
    )


def test_an_edit_records_what_changed_when_and_by_whom(
    db: Any, make_association: Any, make_user: Any, categories: dict[str, Category]
) -> None:
    staff = make_user("coordinator", name="Kaisa Koordinaattori")
    a = make_association(name="Vanha nimi ry", area="Keskusta", category="others")
    later = NOW + dt.timedelta(days=1)
    data = services.clean_association_data(db, {"name": a.name}, current=a, fields=("name",))
    assert data == {"name": "Vanha nimi ry"}
    services.update_association(
        db,
        a.id,
        {
            "name": "Uusi nimi ry",
            "area": "Keskusta",
            "category": categories["hobbies"].id,
            "email": a.email,
            "active": False,
        },
        now=later,
        staff_user_id=staff.id,
    )
    newest = services.list_history(db, a.id, locale="en")[0]
    assert newest.changed_at == later and newest.actor == "Kaisa Koordinaattori"
    assert newest.source == "staff" and not newest.created
    changed = {i.field: (i.old, i.new) for i in newest.items}
    assert changed == {
        "name": ("Vanha nimi ry", "Uusi nimi ry"),
        "category": ("Other associations", "Hobbies such as sports and culture"),
        "active": ("Yes", "No"),
    }
    assert a.updated_at == later

    # Saving without changes adds nothing to the history.
    count = len(services.list_history(db, a.id, locale="en"))
    services.update_association(
        db,
        a.id,
        {"name": "Uusi nimi ry", "area": "Keskusta", "category": categories["hobbies"].id,
         "email": a.email, "active": False},
        now=later,
        staff_user_id=staff.id,
    )  # fmt: skip
    assert len(services.list_history(db, a.id, locale="en")) == count


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fi", {"category": ("Muut yhdistykset", "Eläkeläis- ja senioriyhdistykset"),
                "active": ("Kyllä", "Ei")}),
        ("sv", {"category": ("Övriga föreningar", "Pensionärs- och seniorföreningar"),
                "active": ("Ja", "Nej")}),
    ],
)  # fmt: skip
def test_a_history_is_shown_wholly_in_the_language_asked_for(
    db: Any, make_association: Any, categories: dict[str, Category], locale: str, expected: Any
) -> None:
    """The page is in Finnish here; a history asked for in another language must not mix the
    page's Yes/No with that language's category names."""
    a = make_association(category="others")
    data = {"name": a.name, "email": a.email, "category": categories["seniors"].id, "active": False}
    services.update_association(db, a.id, data, now=NOW, staff_user_id=None)
    newest = services.list_history(db, a.id, locale=locale)[0]
    assert {i.field: (i.old, i.new) for i in newest.items} == expected


def test_missing_association_is_not_found(db: Any) -> None:
    with pytest.raises(NotFound):
        services.get_association(db, 12345)


# --- searching --------------------------------------------------------------------------------


def _names(db: Any, **filters: Any) -> list[str]:
    flt = listing.parse_filter(filters)
    rows, _total = listing.search_associations(db, flt, page=1, per_page=100)
    return [a.name for a in rows]


def test_search_is_case_insensitive_over_name_email_number_and_area(
    db: Any, make_association: Any
) -> None:
    make_association(name="Ämmälän Kyläyhdistys ry", area="Ämmälä", email="kyla@ammala.example")
    make_association(name="FC Esimerkkilä ry", registry_number="198.456", email="fc@example.fi")
    make_association(name="Rantalan Soutajat ry", area="Rantala", email="soutajat@example.fi")

    assert _names(db, q="ÄMMÄLÄN") == ["Ämmälän Kyläyhdistys ry"]
    assert _names(db, q="ämmälä") == ["Ämmälän Kyläyhdistys ry"]
    assert _names(db, q="FC@EXAMPLE") == ["FC Esimerkkilä ry"]
    assert _names(db, q="198456") == ["FC Esimerkkilä ry"]
    assert _names(db, q="198.456") == ["FC Esimerkkilä ry"]
    assert _names(db, q="rantala") == ["Rantalan Soutajat ry"]
    assert _names(db, q="ry esimerkkilä") == ["FC Esimerkkilä ry"]
    assert _names(db, q="100%_") == []


def test_filters_by_category_area_and_status_and_sorts_by_name(
    db: Any, make_association: Any, categories: dict[str, Category]
) -> None:
    make_association(name="b Seniorit ry", category="seniors", area="Keskusta")
    make_association(name="A Seniorit ry", category="seniors", area="Rantala", active=False)
    make_association(name="C Urheilijat ry", category="hobbies", area="Keskusta")

    seniors = str(categories["seniors"].id)
    assert _names(db, category=seniors) == ["A Seniorit ry", "b Seniorit ry"]
    assert _names(db, category=seniors, sort="-name") == ["b Seniorit ry", "A Seniorit ry"]
    assert _names(db, area="keskusta") == ["b Seniorit ry", "C Urheilijat ry"]
    assert _names(db, status="inactive") == ["A Seniorit ry"]
    assert _names(db, status="active", category=seniors) == ["b Seniorit ry"]
    assert _names(db, status="nonsense", category="x") == [
        "A Seniorit ry",
        "b Seniorit ry",
        "C Urheilijat ry",
    ]
    assert listing.list_areas(db) == ["Keskusta", "Rantala"]


def test_pages_hold_per_page_rows_and_the_total(db: Any, make_association: Any) -> None:
    for n in range(7):
        make_association(name=f"Yhdistys {n:02d} ry")
    flt = listing.parse_filter({})
    rows, total = listing.search_associations(db, flt, page=3, per_page=3)
    assert total == 7 and [a.name for a in rows] == ["Yhdistys 06 ry"]


# --- merging ----------------------------------------------------------------------------------


def test_merge_keeps_chosen_values_moves_people_and_records_both_histories(
    db: Any, make_association: Any, make_person: Any, make_user: Any
) -> None:
    staff = make_user("coordinator", name="Kaisa")
    keep = make_association(
        name="FC Esimerkkilä ry", registry_number="198.456", email="fc@example.fi"
    )
    dup = make_association(
        name="FC Esimerkkilä",
        email="toimisto@fc.example",
        website="https://fc.example",
        area="Keskusta",
    )
    both = make_person(associations=(keep, dup), name="Matti Mallinen")
    only_dup = make_person(associations=(dup,), name="Teppo Testinen")

    merging.merge_associations(
        db,
        keep_id=keep.id,
        duplicate_id=dup.id,
        take_from_duplicate=["email", "website", "nonsense"],
        now=NOW,
        staff_user_id=staff.id,
    )
    db.commit()

    assert keep.email == "toimisto@fc.example" and keep.website == "https://fc.example"
    assert keep.name == "FC Esimerkkilä ry" and keep.area == ""
    assert sorted(p.name for p in keep.people) == ["Matti Mallinen", "Teppo Testinen"]
    assert dup.people == [] and dup.merged_into_id == keep.id and not dup.active
    assert keep in only_dup.associations and both.associations == [keep]

    kept_entry = services.list_history(db, keep.id, locale="en")[0]
    assert kept_entry.source == "merge" and kept_entry.actor == "Kaisa"
    changed = {i.field: (i.old, i.new) for i in kept_entry.items}
    assert changed["email"] == ("fc@example.fi", "toimisto@fc.example")
    assert changed["merged_from"] == ("", "FC Esimerkkilä")
    assert changed["person_added"] == ("", "Teppo Testinen")
    dup_entry = services.list_history(db, dup.id, locale="en")[0]
    assert {i.field: i.new for i in dup_entry.items} == {
        "active": "No",
        "merged_into": "FC Esimerkkilä ry",
    }
    # The merged row leaves the normal list, and is found under "merged".
    assert _names(db, q="esimerkkilä") == ["FC Esimerkkilä ry"]
    assert _names(db, status="merged") == ["FC Esimerkkilä"]


def test_a_comparison_is_shown_wholly_in_the_language_asked_for(
    db: Any, make_association: Any
) -> None:
    keep = make_association(name="Kylä ry", category="seniors")
    duplicate = make_association(name="Kylä", category="others", active=False)
    comparison = merging.compare_associations(db, keep.id, duplicate.id, locale="sv")
    shown = {f.field: (f.kept, f.duplicate) for f in comparison.differing}
    assert shown["category"] == ("Pensionärs- och seniorföreningar", "Övriga föreningar")
    assert shown["active"] == ("Ja", "Nej")


def test_merge_refuses_the_same_row_twice_and_already_merged_rows(
    db: Any, make_association: Any
) -> None:
    a, b, c = make_association(), make_association(), make_association()
    with pytest.raises(Invalid):
        merging.merge_associations(
            db, keep_id=a.id, duplicate_id=a.id, take_from_duplicate=[], now=NOW, staff_user_id=None
        )
    merging.merge_associations(
        db, keep_id=b.id, duplicate_id=c.id, take_from_duplicate=[], now=NOW, staff_user_id=None
    )
    with pytest.raises(WrongState):
        merging.merge_associations(
            db, keep_id=a.id, duplicate_id=c.id, take_from_duplicate=[], now=NOW, staff_user_id=None
        )
    with pytest.raises(WrongState):
        services.update_association(db, c.id, {"name": "x"}, now=NOW, staff_user_id=None)
    # A row merged earlier follows along when its target is merged in turn.
    merging.merge_associations(
        db, keep_id=a.id, duplicate_id=b.id, take_from_duplicate=[], now=NOW, staff_user_id=None
    )
    assert c.merged_into_id == a.id or db.get(Association, c.id).merged_into_id == a.id


def test_duplicate_candidates_share_number_email_or_name(db: Any, make_association: Any) -> None:
    a = make_association(name="FC Esimerkkilä ry", registry_number="198.456", email="fc@example.fi")
    same_email = make_association(name="FC Esimerkkilä", email="fc@example.fi")
    same_name = make_association(name="fc esimerkkilä ry", email="toinen@example.fi")
    make_association(name="Muu ry", email="muu@example.fi")
    found = merging.find_duplicate_candidates(db, a.id)
    assert {x.id for x in found} == {same_email.id, same_name.id}


# --- people -----------------------------------------------------------------------------------


def test_people_have_unique_normalised_addresses_and_their_links_are_recorded(
    db: Any, make_association: Any
) -> None:
    a, b = make_association(name="A ry"), make_association(name="B ry")
    person = people.create_person(
        db,
        {
            "name": "Liisa Esimerkki",
            "email": "Liisa@Example.FI",
            "language": "sv",
            "association_ids": [a.id],
        },
        now=NOW,
        staff_user_id=None,
    )
    assert person.email == "liisa@example.fi" and person.associations == [a]
    with pytest.raises(Invalid) as exc:
        people.create_person(
            db, {"name": "Toinen", "email": "LIISA@example.fi"}, now=NOW, staff_user_id=None
        )
    assert _errors(exc)["email"] == ["Toisella henkilöllä on jo tämä sähköpostiosoite."]
    with pytest.raises(Invalid) as exc:
        people.create_person(
            db,
            {"name": "", "email": "x", "language": "de", "association_ids": [999_999]},
            now=NOW,
            staff_user_id=None,
        )
    assert set(_errors(exc)) == {"name", "email", "language", "association_ids"}

    people.update_person(
        db,
        person.id,
        {
            "name": "Liisa Esimerkki",
            "email": "liisa@example.fi",
            "language": "fi",
            "association_ids": [b.id],
        },
        now=NOW,
        staff_user_id=None,
    )
    assert person.associations == [b]
    assert {i.field for i in services.list_history(db, a.id, locale="fi")[0].items} == {
        "person_removed"
    }
    assert {i.field for i in services.list_history(db, b.id, locale="fi")[0].items} == {
        "person_added"
    }

    rows, total = people.search_people(db, "LIISA", page=1, per_page=10)
    assert total == 1 and rows == [person]
    assert people.find_or_create_person(db, email="liisa@EXAMPLE.fi", name="x", now=NOW) is person
    other = people.find_or_create_person(db, email="uusi@example.fi", name="Uusi Ihminen", now=NOW)
    assert other.id != person.id and db.get(Person, other.id).name == "Uusi Ihminen"


# --- edit links -------------------------------------------------------------------------------


def _link_for(token: str) -> str:
    return f"http://localhost/associations/edit/{token}"


def test_a_link_is_mailed_only_to_a_registered_active_association(
    db: Any, make_association: Any
) -> None:
    make_association(name="Aktiivinen ry", email="yhteinen@example.fi")
    make_association(name="Toinen aktiivinen ry", email="yhteinen@example.fi")
    make_association(name="Lepäävä ry", email="lepaava@example.fi", active=False)
    kwargs = {"now": NOW, "lifetime": dt.timedelta(hours=72), "link_for": _link_for, "locale": "fi"}

    assert links.request_edit_link(db, "nobody@example.fi", **kwargs) == 0
    assert links.request_edit_link(db, "not an address", **kwargs) == 0
    assert links.request_edit_link(db, "lepaava@example.fi", **kwargs) == 0
    assert db.scalar(select(func.count(OutboxMessage.id))) == 0

    assert links.request_edit_link(db, " YHTEINEN@example.fi ", **kwargs) == 2
    [message] = db.scalars(select(OutboxMessage)).all()
    assert message.recipient == "yhteinen@example.fi"
    assert "Aktiivinen ry" in message.body_text and "Toinen aktiivinen ry" in message.body_text
    assert message.body_text.count("http://localhost/associations/edit/") == 2


def test_bad_input_through_the_link_leaves_it_unspent(db: Any, make_association: Any) -> None:
    a = make_association(name="Linkkiyhdistys ry")
    token = tokens.issue_link(
        db, purpose=links.EDIT_PURPOSE, subject_id=a.id, lifetime=dt.timedelta(hours=1), now=NOW
    )
    with pytest.raises(Invalid):
        links.save_by_edit_link(db, token, {"name": ""}, now=NOW, locale="fi")
    assert links.open_edit_link(db, token, now=NOW) is a
    links.save_by_edit_link(
        db,
        token,
        {"name": "Linkkiyhdistys ry", "area": "Rantala", "email": a.email},
        now=NOW,
        locale="fi",
    )
    with pytest.raises(tokens.LinkInvalid):
        links.open_edit_link(db, token, now=NOW)
    change = db.scalars(select(AssociationChange).order_by(AssociationChange.id.desc())).first()
    assert change.source == "edit_link" and change.changes["area"] == ["", "Rantala"]


def test_links_of_merged_associations_stop_working(db: Any, make_association: Any) -> None:
    keep, dup = make_association(), make_association()
    token = tokens.issue_link(
        db,
        purpose=links.EDIT_PURPOSE,
        subject_id=dup.id,
        lifetime=dt.timedelta(hours=1),
        now=NOW,
    )
    merging.merge_associations(
        db,
        keep_id=keep.id,
        duplicate_id=dup.id,
        take_from_duplicate=[],
        now=NOW,
        staff_user_id=None,
    )
    with pytest.raises(tokens.LinkInvalid):
        links.open_edit_link(db, token, now=NOW)


# --- demo -------------------------------------------------------------------------------------


def test_the_demo_loader_is_idempotent(app: Any, db: Any) -> None:
    added = load_demo(db, now=NOW)
    db.commit()
    assert added >= 25 + 15
    associations = db.scalar(select(func.count(Association.id)))
    people = db.scalar(select(func.count(Person.id)))
    changes = db.scalar(select(func.count(AssociationChange.id)))
    assert associations >= 25 and people >= 15

    assert load_demo(db, now=NOW + dt.timedelta(days=1)) == 0
    db.commit()
    assert db.scalar(select(func.count(Association.id))) == associations
    assert db.scalar(select(func.count(Person.id))) == people
    assert db.scalar(select(func.count(AssociationChange.id))) == changes

    used = db.scalars(
        select(Category.key).join(Association, Association.category_id == Category.id)
    )
    assert set(used) == {"seniors", "social_health", "hobbies", "residents", "others"}
    emails = db.scalars(select(Person.email)).all() + db.scalars(select(Association.email)).all()
    assert all(e == "" or e.endswith((".example", "@example.fi")) for e in emails)
    sources = set(db.scalars(select(AssociationChange.source)))
    assert {"import", "edit_link"} <= sources
