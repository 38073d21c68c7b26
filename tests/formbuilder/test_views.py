"""Form builder pages: who sees which form, building a form through the pages (with and without
htmx), messages that keep what was typed, and the preview that stores nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from participation.formbuilder.models import FormDefinition, FormResponse
from tests.formbuilder.conftest import SEVEN, SPECS, keys, spec


@pytest.fixture
def english(client: Any) -> None:
    """UI texts as their English msgids, whatever the catalogues say."""
    client.get("/lang/en")


def page(client: Any, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def body(html: str) -> str:
    """The page below <head>, where no <script> element of ours belongs except our own files."""
    return re.sub(r'<script src="/static/[^"]+" defer></script>', "", html.split("</head>", 1)[1])


def form_post(qtype: str, **overrides: Any) -> dict[str, Any]:
    """What the builder's add form posts for a question of ``qtype``."""
    data = {k: v for k, v in SPECS[qtype].items() if v not in (None, False)}
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
    data = {k: ("y" if v is True else v) for k, v in data.items()}
    data.update(overrides)
    return data


# --- permissions -----------------------------------------------------------------------------


def test_contact_person_cannot_reach_a_coordinators_form(
    client: Any, post: Any, login_as: Any, make_user: Any, make_form: Any, db: Any
) -> None:
    coordinator = make_user("coordinator")
    form = make_form(owner=coordinator, title="Koordinaattorin lomake", questions=[SPECS["yes_no"]])
    key = keys(form)[0]
    login_as("contact_person")
    assert "Koordinaattorin lomake" not in page(client, "/staff/forms")
    for path in (
        f"/staff/forms/{form.id}",
        f"/staff/forms/{form.id}/preview",
        f"/staff/forms/{form.id}/details",
        f"/staff/forms/{form.id}/questions/{key}/edit",
    ):
        assert "Koordinaattorin lomake" not in page(client, path, 404)
    for path in (
        f"/staff/forms/{form.id}/questions/{key}/delete",
        f"/staff/forms/{form.id}/questions/{key}/move",
        f"/staff/forms/{form.id}/questions",
        f"/staff/forms/{form.id}/duplicate",
    ):
        assert post(path, {"direction": "up", **form_post("email")}).status_code == 404, path
    db.refresh(form)
    assert keys(form) == [key] and form.version == 2
    assert db.scalar(select(func.count(FormDefinition.id))) == 1


def test_coordinator_sees_and_edits_a_contact_persons_form(
    client: Any, login_as: Any, make_user: Any, make_form: Any
) -> None:
    form = make_form(owner=make_user("contact_person", name="Yrjö"), title="Yrjön kysely")
    login_as("coordinator")
    listing = page(client, "/staff/forms")
    assert "Yrjön kysely" in listing and "Yrjö" in listing
    assert "Yrjön kysely" in page(client, f"/staff/forms/{form.id}")


def test_list_is_paginated(
    client: Any, login_as: Any, make_form: Any, app: Any, english: None
) -> None:
    user = login_as("contact_person")
    per_page = app.config["PAGE_SIZE"]
    for n in range(per_page + 2):
        make_form(owner=user, title=f"Lomake nro {n:03d}")
    first = page(client, "/staff/forms")
    assert first.count("Lomake nro ") == per_page
    second = page(client, "/staff/forms?page=2")
    assert second.count("Lomake nro ") == 2 and "Lomake nro 000" in second


def test_nav_and_dashboard_link_to_forms(client: Any, login_as: Any) -> None:
    login_as("contact_person")
    assert page(client, "/staff").count('href="/staff/forms"') >= 2


# --- creating and editing details -------------------------------------------------------


def test_create_form_through_the_page(
    client: Any, post: Any, login_as: Any, db: Any, english: None
) -> None:
    user = login_as("contact_person")
    response = post("/staff/forms/new", {"title": "", "description": "Muistiin"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Give the form a title." in html
    assert "Muistiin</textarea>" in html  # what was typed stays
    response = post("/staff/forms/new", {"title": "Syyskysely", "description": ""})
    assert response.status_code == 302
    form = db.scalars(select(FormDefinition)).one()
    assert form.owner_id == user.id and response.headers["Location"].endswith(
        f"/staff/forms/{form.id}"
    )
    html = page(client, response.headers["Location"])
    assert "Syyskysely" in html and "The form was created." in html


def test_rename_and_duplicate(
    client: Any, post: Any, login_as: Any, make_form: Any, db: Any, english: None
) -> None:
    user = login_as("contact_person")
    form = make_form(owner=user, questions=[SPECS["rating"]])
    assert post(f"/staff/forms/{form.id}/details", {"title": "x" * 300}).status_code == 200
    response = post(f"/staff/forms/{form.id}/details", {"title": "Uusi nimi", "description": ""})
    assert response.status_code == 302
    db.refresh(form)
    assert form.title == "Uusi nimi"
    response = post(f"/staff/forms/{form.id}/duplicate")
    copy = db.scalars(select(FormDefinition).where(FormDefinition.id != form.id)).one()
    assert response.headers["Location"].endswith(f"/staff/forms/{copy.id}")
    assert copy.title == "Copy of Uusi nimi" and copy.version == 1 and keys(copy) == keys(form)


# --- building ------------------------------------------------------------------------------


@pytest.mark.parametrize("qtype", list(SPECS))
def test_add_each_question_type_through_the_page(
    client: Any, post: Any, login_as: Any, make_form: Any, db: Any, qtype: str, english: None
) -> None:
    form = make_form(owner=login_as("contact_person"))
    response = post(f"/staff/forms/{form.id}/questions", form_post(qtype))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.refresh(form)
    (question,) = form.questions
    assert question["type"] == qtype
    assert f"#question-{question['key']}" in response.headers["Location"]
    builder = page(client, f"/staff/forms/{form.id}")
    assert "The question was added." in builder
    assert SPECS[qtype]["label_fi"] in builder
    preview = page(client, f"/staff/forms/{form.id}/preview")
    assert SPECS[qtype]["label_fi"] in preview
    if qtype != "info":
        assert f'id="{question["key"]}' in preview


def test_add_form_offers_all_twelve_types(
    client: Any, login_as: Any, make_form: Any, english: None
) -> None:
    form = make_form(owner=login_as("contact_person"))
    html = page(client, f"/staff/forms/{form.id}")
    select_html = html.split('id="question_type"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'value="(\w+)"', select_html) == list(SPECS)
    assert "Multiple choice (pick several)" in select_html


def test_bad_input_is_shown_again_with_messages(
    client: Any, post: Any, login_as: Any, make_form: Any, db: Any, english: None
) -> None:
    form = make_form(owner=login_as("contact_person"))
    response = post(
        f"/staff/forms/{form.id}/questions",
        form_post("multiple_choice", label_fi="Valitse tärkeimmät", max_choices="9"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    message = "There are only 7 options, so at most 7 can be chosen."
    assert f'<p class="field-error" id="max_choices-error"><span>{message}</span>' in html
    assert f'href="#max_choices">Choose at most (optional): {message}' in html  # summary
    assert "\n".join(SEVEN) in html  # the typed options stay
    assert 'value="Valitse tärkeimmät"' in html and 'value="9"' in html
    assert '<option selected value="multiple_choice">' in html
    db.refresh(form)
    assert form.questions == []


def test_junk_in_another_types_settings_does_not_block(
    client: Any, post: Any, login_as: Any, make_form: Any, db: Any
) -> None:
    form = make_form(owner=login_as("contact_person"))
    response = post(
        f"/staff/forms/{form.id}/questions", form_post("yes_no", max_length="abc", top_n="-5")
    )
    assert response.status_code == 302
    db.refresh(form)
    assert [q["type"] for q in form.questions] == ["yes_no"]


def test_a_megabyte_label_gets_the_fields_message(
    client: Any, post: Any, login_as: Any, make_form: Any, english: None
) -> None:
    form = make_form(owner=login_as("contact_person"))
    response = post(
        f"/staff/forms/{form.id}/questions", form_post("short_text", label_fi="x" * 1_000_000)
    )
    assert response.status_code == 200
    assert "Use at most 1000 characters." in response.get_data(as_text=True)


def test_script_in_a_label_is_shown_escaped(
    client: Any, post: Any, login_as: Any, make_form: Any
) -> None:
    form = make_form(owner=login_as("contact_person"), title="<script>alert('t')</script>")
    hostile = "<script>alert(1)</script> & kysymys"
    post(
        f"/staff/forms/{form.id}/questions",
        form_post(
            "single_choice", label_fi=hostile, help_fi=hostile, options_fi=f"{hostile}\nToinen"
        ),
    )
    for path in (f"/staff/forms/{form.id}", f"/staff/forms/{form.id}/preview", "/staff/forms"):
        html = page(client, path)
        assert "<script>alert" not in body(html), path
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; kysymys" in page(
        client, f"/staff/forms/{form.id}/preview"
    )


def test_move_without_javascript_redirects_back(
    client: Any, post: Any, login_as: Any, make_form: Any, db: Any, english: None
) -> None:
    form = make_form(
        owner=login_as("contact_person"), questions=[SPECS["short_text"], SPECS["email"]]
    )
    first, second = keys(form)
    response = post(f"/staff/forms/{form.id}/questions/{second}/move", {"direction": "up"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/forms/{form.id}#questions")
    db.refresh(form)
    assert keys(form) == [second, first]
    html = page(client, f"/staff/forms/{form.id}")
    assert "The question was moved up." in html
    assert html.index(SPECS["email"]["label_fi"]) < html.index(SPECS["short_text"]["label_fi"])
    post(f"/staff/forms/{form.id}/questions/{second}/move", {"direction": "down"})
    db.refresh(form)
    assert keys(form) == [first, second]


def test_htmx_gets_only_the_question_list(
    client: Any, post: Any, login_as: Any, make_form: Any, db: Any, english: None
) -> None:
    form = make_form(
        owner=login_as("contact_person"), questions=[SPECS["short_text"], SPECS["email"]]
    )
    first, second = keys(form)
    builder = page(client, f"/staff/forms/{form.id}")
    assert 'hx-target="#question-list"' in builder and 'hx-swap="outerHTML"' in builder
    response = post(
        f"/staff/forms/{form.id}/questions/{first}/move",
        {"direction": "down"},
        headers={"HX-Request": "true"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and "<h1" not in html
    assert html.lstrip().startswith('<div id="question-list"')
    assert html.index(f'id="question-{second}"') < html.index(f'id="question-{first}"')
    assert 'hx-swap-oob="true"' in html and "The question was moved down." in html
    response = post(
        f"/staff/forms/{form.id}/questions/{first}/delete", headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert "<html" not in html and "The question was deleted." in html
    assert f'id="question-{first}"' not in html
    db.refresh(form)
    assert keys(form) == [second]
    # The message went into the partial, not into the session for the next page.
    assert "The question was deleted." not in page(client, f"/staff/forms/{form.id}")


def test_delete_without_javascript(
    client: Any, post: Any, login_as: Any, make_form: Any, db: Any, english: None
) -> None:
    form = make_form(owner=login_as("contact_person"), questions=[SPECS["short_text"]])
    response = post(f"/staff/forms/{form.id}/questions/{keys(form)[0]}/delete")
    assert response.status_code == 302
    assert "The question was deleted." in page(client, response.headers["Location"])
    db.refresh(form)
    assert form.questions == []


# --- editing, and the rules once answers exist ----------------------------------------


def test_edit_page_is_prefilled_and_saves(
    client: Any, post: Any, login_as: Any, make_form: Any, db: Any, english: None
) -> None:
    form = make_form(owner=login_as("contact_person"), questions=[SPECS["multiple_choice"]])
    key = keys(form)[0]
    option_keys = [o["key"] for o in form.questions[0]["options"]]
    path = f"/staff/forms/{form.id}/questions/{key}/edit"
    html = page(client, path)
    assert 'value="Valitse kolme tärkeintä"' in html and "\n".join(SEVEN) in html
    assert re.search(r'<input id="max_choices"[^>]* type="number" value="3">', html)
    reworded = ["Foorumit", *SEVEN[1:]]
    response = post(
        path,
        form_post("multiple_choice", label_fi="Uusi sanamuoto", options_fi="\n".join(reworded)),
    )
    assert response.status_code == 302
    db.refresh(form)
    question = form.questions[0]
    assert question["label"]["fi"] == "Uusi sanamuoto"
    assert [o["key"] for o in question["options"]] == option_keys
    assert question["options"][0]["label"]["fi"] == "Foorumit"


def test_with_answers_type_is_fixed_and_delete_explained(
    client: Any, post: Any, login_as: Any, make_form: Any, answer: Any, db: Any, english: None
) -> None:
    form = make_form(
        owner=login_as("contact_person"),
        questions=[
            spec("single_choice", "Alue", options_fi="Pohjoinen\nEtelä\nItä"),
            SPECS["info"],
        ],
    )
    answer(form)
    question_key, info_key = keys(form)
    builder = page(client, f"/staff/forms/{form.id}")
    assert "This form has 1 response." in builder
    assert "Cannot be deleted: the form already has answers to it." in builder
    assert f"/questions/{question_key}/delete" not in builder
    assert f"/questions/{info_key}/delete" in builder  # an info block has no answers

    response = post(f"/staff/forms/{form.id}/questions/{question_key}/delete")
    assert "cannot be deleted because the form already has answers" in page(
        client, response.headers["Location"]
    )
    db.refresh(form)
    assert keys(form) == [question_key, info_key]

    path = f"/staff/forms/{form.id}/questions/{question_key}/edit"
    html = page(client, path)
    assert 'name="question_type"' not in html
    assert "The form already has answers, so the type cannot be changed." in html
    data = form_post("single_choice", label_fi="Alue", options_fi="Pohjoinen\nItä")
    del data["question_type"]
    response = post(path, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The option “Etelä” already has answers, so it cannot be removed." in html
    assert "Pohjoinen\nItä</textarea>" in html  # typed text kept
    # Posting a type anyway changes nothing.
    response = post(
        path, {**data, "question_type": "short_text", "options_fi": "Pohjoinen\nEtelä\nItä"}
    )
    assert response.status_code == 302
    db.refresh(form)
    assert form.questions[0]["type"] == "single_choice"


def test_unknown_question_is_404(client: Any, login_as: Any, make_form: Any) -> None:
    form = make_form(owner=login_as("contact_person"))
    page(client, f"/staff/forms/{form.id}/questions/q_nothere/edit", 404)


# --- preview -------------------------------------------------------------------------------


@pytest.fixture
def survey(login_as: Any, make_form: Any) -> FormDefinition:
    return make_form(
        owner=login_as("contact_person"),
        title="Alkukysely",
        questions=[
            SPECS["info"],
            {**SPECS["multiple_choice"], "label_sv": "Välj de tre viktigaste", "required": True},
            SPECS["rating"],
            SPECS["ranking"],
            SPECS["number"],
            SPECS["consent"],
        ],
    )


def responses(db: Any) -> int:
    return db.scalar(select(func.count(FormResponse.id)))


def test_preview_renders_every_type_accessibly(
    client: Any, survey: FormDefinition, english: None
) -> None:
    info, multiple, rating, ranking, number, consent = survey.questions
    html = page(client, f"/staff/forms/{survey.id}/preview")
    assert "nothing is stored" in html
    assert '<p class="info-text">Kiitos vastauksistasi.</p>' in html
    # Groups are fieldsets with the question as legend and the limit linked to the group.
    assert re.search(r'<fieldset [^>]*aria-describedby="{}-limit"'.format(multiple["key"]), html)
    assert "<legend>Valitse kolme tärkeintä" in html
    assert html.count(f'name="{multiple["key"]}" type="checkbox"') == 7
    # Rating: end labels at the ends and inside the first and last radio's label.
    assert '<span class="rating-end rating-min" aria-hidden="true">Huono</span>' in html
    assert re.search(
        r'<label for="{}-0">1<span class="visually-hidden"> – Huono</span>'.format(rating["key"]),
        html,
    )
    # Ranking: a numbered list of three selects, each with its own label.
    ranking_html = html.split('<ol class="ranking">', 1)[1].split("</ol>", 1)[0]
    for n in (1, 2, 3):
        assert f'<label for="{ranking["key"]}-{n}">' in ranking_html
        assert f'<select id="{ranking["key"]}-{n}" name="{ranking["key"]}"' in ranking_html
    assert 'inputmode="numeric"' in html
    # Consent: the checkbox's label is its text.
    assert f'<label for="{consent["key"]}">Hyväksyn tietojeni käsittelyn.' in html
    assert "<script" not in body(html)


def test_preview_try_keeps_answers_and_shows_engine_messages(
    client: Any, post: Any, survey: FormDefinition, db: Any
) -> None:
    _info, multiple, _rating, ranking, _number, consent = survey.questions
    four = [o["key"] for o in multiple["options"][:4]]
    first = ranking["options"][0]["key"]
    response = post(
        f"/staff/forms/{survey.id}/preview",
        {multiple["key"]: four, ranking["key"]: [first, first, ranking["options"][1]["key"]]},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        f'<p class="field-error" id="{multiple["key"]}-error"><span>Valitse enintään 3.</span>'
        in html
    )
    assert (
        f'id="{ranking["key"]}-error"><span>Kunkin vaihtoehdon voi valita vain kerran.</span>'
        in html
    )
    assert f'id="{consent["key"]}-error"><span>Vastauksen lähettäminen edellyttää' in html
    # All four boxes stay ticked, the ranking keeps its picks.
    ticked = re.findall(
        r'<input aria-invalid="true" checked id="([^"]+)"[^>]* value="([^"]+)">', html
    )
    assert ticked == [(f"{multiple['key']}-{i}", key) for i, key in enumerate(four)]
    assert html.count(f'<option selected value="{first}">') == 2
    # The summary links to each question's first input.
    assert f'href="#{multiple["key"]}-0"' in html and f'href="#{ranking["key"]}-1"' in html
    assert f'href="#{consent["key"]}"' in html
    assert responses(db) == 0


def test_preview_try_with_valid_answers_stores_nothing(
    client: Any, post: Any, survey: FormDefinition, db: Any, english: None
) -> None:
    _info, multiple, rating, ranking, number, consent = survey.questions
    options = [o["key"] for o in ranking["options"]]
    response = post(
        f"/staff/forms/{survey.id}/preview",
        {
            multiple["key"]: [multiple["options"][0]["key"]],
            rating["key"]: "4",
            ranking["key"]: options[:3],
            number["key"]: "33",
            consent["key"]: "y",
        },
    )
    html = response.get_data(as_text=True)
    assert "The answers passed every check. Nothing was stored." in html
    assert "field-error" not in html
    assert responses(db) == 0


def test_preview_language_switch(
    client: Any, post: Any, survey: FormDefinition, english: None
) -> None:
    multiple = survey.questions[1]
    sv = page(client, f"/staff/forms/{survey.id}/preview?lang=sv")
    assert '<div class="preview-frame" lang="sv">' in sv
    assert "<legend>Välj de tre viktigaste" in sv
    assert "Kiitos vastauksistasi." in sv  # no Swedish text given: the Finnish one
    assert 'aria-current="page">På svenska' in sv
    response = post(f"/staff/forms/{survey.id}/preview?lang=sv", {multiple["key"]: []})
    assert "Detta fält är obligatoriskt." in response.get_data(as_text=True)
    assert "Tämä kenttä" not in page(client, f"/staff/forms/{survey.id}/preview?lang=xx")
