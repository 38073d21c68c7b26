"""Staff pages of the register: what a coordinator and a contact person see and can do."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from participation.register.models import Association, Category, Person


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


# --- permissions ------------------------------------------------------------------------------


def test_a_contact_person_may_look_but_not_change(
    client: Any, post: Any, login_as: Any, make_association: Any
) -> None:
    a = make_association(name="Katseltava ry")
    login_as("contact_person")

    listing = client.get("/staff/associations")
    assert listing.status_code == 200 and "Katseltava ry" in _text(listing)
    assert "/staff/associations/new" not in _text(listing)
    assert "export.csv" not in _text(listing)
    detail = client.get(f"/staff/associations/{a.id}")
    assert detail.status_code == 200 and f"/staff/associations/{a.id}/edit" not in _text(detail)
    assert client.get("/staff/people").status_code == 200

    for path in (
        "/staff/associations/new",
        f"/staff/associations/{a.id}/edit",
        "/staff/associations/merge",
        "/staff/associations/import",
        "/staff/associations/export.csv",
        "/staff/categories",
        "/staff/people/new",
    ):
        assert client.get(path).status_code == 403, path
    refused = post(f"/staff/associations/{a.id}/edit", {"name": "Kaapattu ry"})
    assert refused.status_code == 403
    assert client.get(f"/staff/associations/{a.id}").status_code == 200
    assert "Kaapattu" not in _text(client.get(f"/staff/associations/{a.id}"))


def test_anonymous_visitors_are_sent_to_sign_in(client: Any) -> None:
    response = client.get("/staff/associations")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the list ---------------------------------------------------------------------------------


def test_the_list_searches_filters_and_pages(
    app: Any, client: Any, login_as: Any, make_association: Any, categories: dict[str, Category]
) -> None:
    login_as("contact_person")
    make_association(name="Ämmälän Kyläyhdistys ry", category="residents", area="Ämmälä")
    make_association(name="Esimerkkilän Eläkkeensaajat ry", category="seniors", area="Keskusta")
    make_association(name="Lepäävä Kerho ry", category="seniors", area="Keskusta", active=False)

    html = _text(client.get("/staff/associations?q=ÄMMÄLÄN"))
    assert "Ämmälän Kyläyhdistys ry" in html and "Eläkkeensaajat" not in html
    assert "Löytyi 1 yhdistys" in html

    seniors = categories["seniors"].id
    html = _text(client.get(f"/staff/associations?category={seniors}&status=inactive"))
    assert "Lepäävä Kerho ry" in html and "Eläkkeensaajat" not in html
    html = _text(client.get("/staff/associations?area=Keskusta&status=active"))
    assert "Eläkkeensaajat" in html and "Lepäävä" not in html and "Ämmälän" not in html

    html = _text(client.get("/staff/associations?sort=-name"))
    assert html.index("Ämmälän") < html.index("Lepäävä") < html.index("Esimerkkilän Eläkkeensaajat")

    for n in range(app.config["PAGE_SIZE"] + 2):
        make_association(name=f"Sivutettava {n:02d} ry")
    first = _text(client.get("/staff/associations?q=sivutettava"))
    assert "Sivutettava 00 ry" in first and "Sivutettava 26 ry" not in first
    assert 'rel="next"' in first and "q=sivutettava" in first
    second = _text(client.get("/staff/associations?q=sivutettava&page=2"))
    assert "Sivutettava 26 ry" in second and "Sivutettava 00 ry" not in second
    assert "Näytetään 26–27 / 27" in second


def test_an_htmx_search_gets_only_the_results(
    client: Any, login_as: Any, make_association: Any
) -> None:
    login_as("coordinator")
    make_association(name="Hakuyhdistys ry")
    response = client.get("/staff/associations?q=haku", headers={"HX-Request": "true"})
    html = _text(response)
    assert "Hakuyhdistys ry" in html
    assert "<html" not in html and "<form" not in html
    assert "export.csv?q=haku" in html  # export links follow the filters


# --- create and edit --------------------------------------------------------------------------


def test_bad_input_is_shown_again_with_messages_and_escaped(
    client: Any, post: Any, login_as: Any, categories: dict[str, Category], db: Any
) -> None:
    login_as("coordinator")
    response = post(
        "/staff/associations/new",
        {
            "name": "<script>alert('x')</script>",
            "registry_number": "12-34",
            "category": str(categories["hobbies"].id),
            "email": "ei-osoite",
            "website": "javascript:alert(1)",
            "description": "<b>Toimintaa</b>",
        },
    )
    html = _text(response)
    assert response.status_code == 200
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Toimintaa&lt;/b&gt;" in html
    assert "Anna rekisterinumero numeroina, esimerkiksi 123.456." in html
    assert "Anna kelvollinen sähköpostiosoite." in html
    assert "Anna verkko-osoite, esimerkiksi https://www.esimerkki.fi." in html
    assert 'value="12-34"' in html and 'value="ei-osoite"' in html
    assert "error-summary" in html
    assert db.scalar(select(Association).where(Association.name.contains("script"))) is None


def test_a_megabyte_of_text_gets_the_fields_message(client: Any, post: Any, login_as: Any) -> None:
    login_as("coordinator")
    response = post("/staff/associations/new", {"name": "Pitkä ry", "description": "x" * 1_000_000})
    assert response.status_code == 200
    assert "Käytä enintään 1000 merkkiä." in _text(response)


def test_create_then_edit_shows_the_change_history(
    client: Any, post: Any, login_as: Any, categories: dict[str, Category], db: Any
) -> None:
    login_as("coordinator", name="Kaisa Koordinaattori")
    created = post(
        "/staff/associations/new",
        {
            "name": "<script>x</script> Uusi ry",
            "registry_number": "123456",
            "category": str(categories["hobbies"].id),
            "area": "Keskusta",
            "email": "UUSI@example.fi",
            "active": "y",
        },
    )
    assert created.status_code == 302
    association = db.scalar(select(Association).where(Association.name.endswith("Uusi ry")))
    assert association.registry_number == "123.456" and association.email == "uusi@example.fi"

    edited = post(
        f"/staff/associations/{association.id}/edit",
        {
            "name": "Uusi ry",
            "registry_number": "123.456",
            "category": str(categories["others"].id),
            "area": "Rantala",
            "email": "uusi@example.fi",
        },
    )
    assert edited.status_code == 302
    html = _text(client.get(f"/staff/associations/{association.id}"))
    assert "Kaisa Koordinaattori" in html
    assert "<h2>Muutoshistoria</h2>" in html
    history = html[html.index("<h2>Muutoshistoria</h2>") :]
    assert "Keskusta" in history and "Rantala" in history
    assert "&lt;script&gt;x&lt;/script&gt; Uusi ry" in history and "<script>x" not in html
    assert categories["others"].name_fi in history
    assert not association.active  # the unticked box deactivated it
    assert "Lisätty rekisteriin." in history


def test_editing_keeps_the_form_prefilled(
    client: Any, login_as: Any, make_association: Any
) -> None:
    login_as("coordinator")
    a = make_association(name="Esitäytetty ry", area="Mäkikylä", website="https://esi.example")
    html = _text(client.get(f"/staff/associations/{a.id}/edit"))
    assert 'value="Esitäytetty ry"' in html and 'value="Mäkikylä"' in html
    assert 'value="https://esi.example"' in html


# --- merge ------------------------------------------------------------------------------------


def test_merge_shows_both_side_by_side_and_keeps_the_chosen_values(
    client: Any, post: Any, login_as: Any, make_association: Any, make_person: Any, db: Any
) -> None:
    login_as("coordinator")
    keep = make_association(name="FC Esimerkkilä ry", email="fc@example.fi", area="Keskusta")
    dup = make_association(
        name="FC Esimerkkilä", email="fc@example.fi", area="Rantala", website="https://fc.example"
    )
    make_person(associations=(dup,), name="Teppo Testinen")

    pick = _text(client.get(f"/staff/associations/merge?keep={keep.id}"))
    assert f"duplicate={dup.id}" in pick  # suggested as a possible duplicate

    url = f"/staff/associations/merge?keep={keep.id}&duplicate={dup.id}"
    compare = _text(client.get(url))
    assert "Keskusta" in compare and "Rantala" in compare and "https://fc.example" in compare
    assert 'name="take_area"' in compare and 'name="take_email"' not in compare  # same e-mail

    response = post(
        url, {"take_area": "duplicate", "take_website": "duplicate", "take_name": "keep"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/associations/{keep.id}")
    db.refresh(keep)
    db.refresh(dup)
    assert (keep.name, keep.area, keep.website) == (
        "FC Esimerkkilä ry",
        "Rantala",
        "https://fc.example",
    )
    assert dup.merged_into_id == keep.id and not dup.active
    kept_page = _text(client.get(f"/staff/associations/{keep.id}"))
    assert "Teppo Testinen" in kept_page and "Kaksoiskappaleiden yhdistäminen" in kept_page
    dup_page = _text(client.get(f"/staff/associations/{dup.id}"))
    assert "Tämä yhdistys yhdistettiin toiseen yhdistykseen" in dup_page
    assert f"/staff/associations/{dup.id}/edit" not in dup_page
    again = _text(client.get(url))
    assert "Yhdistys FC Esimerkkilä on jo yhdistetty toiseen yhdistykseen." in again


def test_merging_an_association_with_itself_is_refused_with_a_message(
    client: Any, login_as: Any, make_association: Any
) -> None:
    login_as("coordinator")
    a = make_association()
    html = _text(client.get(f"/staff/associations/merge?keep={a.id}&duplicate={a.id}"))
    assert "Valitse kaksi eri yhdistystä." in html


# --- people -----------------------------------------------------------------------------------


def test_people_are_listed_searched_created_and_edited(
    client: Any, post: Any, login_as: Any, make_association: Any, db: Any
) -> None:
    login_as("coordinator")
    a, b = make_association(name="Alfa ry"), make_association(name="Beta ry")
    form = _text(client.get(f"/staff/people/new?association={a.id}"))
    assert re.search(rf'value="{a.id}"[^>]*checked|checked[^>]*value="{a.id}"', form)

    bad = post(
        "/staff/people/new", {"name": "<script>p</script>", "email": "huono", "language": "fi"}
    )
    assert bad.status_code == 200
    assert "&lt;script&gt;p&lt;/script&gt;" in _text(bad)
    assert "Anna kelvollinen sähköpostiosoite." in _text(bad)

    created = post(
        "/staff/people/new",
        {
            "name": "Liisa Esimerkki",
            "email": "Liisa@Example.fi",
            "language": "sv",
            "association_ids": [str(a.id)],
        },
    )
    assert created.status_code == 302
    person = db.scalar(select(Person).where(Person.email == "liisa@example.fi"))
    assert person.associations == [a] and person.language == "sv"

    taken = post(
        "/staff/people/new", {"name": "Toinen", "email": "LIISA@example.fi", "language": "fi"}
    )
    assert "Toisella henkilöllä on jo tämä sähköpostiosoite." in _text(taken)

    edited = post(
        f"/staff/people/{person.id}/edit",
        {
            "name": "Liisa Esimerkki",
            "email": "liisa@example.fi",
            "language": "fi",
            "association_ids": [str(b.id)],
        },
    )
    assert edited.status_code == 302
    db.refresh(person)
    assert person.associations == [b]
    assert "Liisa Esimerkki" in _text(client.get(f"/staff/associations/{b.id}"))
    assert "Henkilö poistettu" in _text(client.get(f"/staff/associations/{a.id}"))

    found = _text(client.get("/staff/people?q=ESIMERKKI"))
    assert "Liisa Esimerkki" in found and "Beta ry" in found
    assert "Haulla ei löytynyt henkilöitä." in _text(client.get("/staff/people?q=zzz"))


# --- categories -------------------------------------------------------------------------------


def test_categories_page_adds_renames_reorders_and_deactivates(
    client: Any, post: Any, login_as: Any, db: Any
) -> None:
    login_as("coordinator")
    html = _text(client.get("/staff/categories"))
    for name in (
        "Eläkeläis- ja senioriyhdistykset",
        "Asukas-, kylä- ja vanhempainyhdistykset",
        "Muut yhdistykset",
    ):
        assert name in html

    assert "Anna nimi suomeksi." in _text(post("/staff/categories", {"name_fi": ""}))
    assert (
        post("/staff/categories", {"name_fi": "Kulttuuri <i>", "name_en": "Culture"}).status_code
        == 302
    )
    new = db.scalar(select(Category).where(Category.name_fi == "Kulttuuri <i>"))
    assert "Kulttuuri &lt;i&gt;" in _text(client.get("/staff/categories"))

    assert post(f"/staff/categories/{new.id}/move", {"direction": "up"}).status_code == 302
    keys = [c.key for c in db.scalars(select(Category).order_by(Category.position))]
    assert keys[-2:] == [new.key, "others"]

    assert (
        post(f"/staff/categories/{new.id}/edit", {"name_fi": "Kulttuuriyhdistykset"}).status_code
        == 302
    )
    assert post(f"/staff/categories/{new.id}/active").status_code == 302
    db.refresh(new)
    assert new.name_fi == "Kulttuuriyhdistykset" and not new.active
    form = _text(client.get("/staff/associations/new"))
    assert "Kulttuuriyhdistykset" not in form and "Muut yhdistykset" in form


def test_list_pages_take_the_same_number_of_queries_whatever_their_size(
    app: Any, client: Any, login_as: Any, make_association: Any, make_person: Any
) -> None:
    from sqlalchemy import event

    login_as("coordinator")

    def queries(path: str) -> int:
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        engine = app.extensions["db_engine"]
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    first = make_association(name="Yksi ry")
    make_person(associations=(first,))
    small = (queries("/staff/associations"), queries("/staff/people"))
    for n in range(20):
        a = make_association(name=f"Lisä {n} ry", area=f"Alue {n}")
        make_person(associations=(a, first))
    assert small[0] >= 4 and small[1] >= 3
    assert (queries("/staff/associations"), queries("/staff/people")) == small
