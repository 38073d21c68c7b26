"""Form builder rules: details, questions through the engine, answers and who sees what."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from participation.errors import Conflict, Invalid, NotFound
from participation.formbuilder import demo, services
from participation.formbuilder.models import FormDefinition, FormResponse
from tests.formbuilder.conftest import SEVEN, SPECS, keys, spec

# --- details, listing, ownership ---------------------------------------------------------------


def test_create_form_starts_empty_at_version_1(db: Any, make_user: Any, now: dt.datetime) -> None:
    owner = make_user("contact_person")
    form = services.create_form(
        db, owner_id=owner.id, title="  Alkukysely ", description="Muistiin", now=now
    )
    assert form.title == "Alkukysely"
    assert form.schema == {"version": 1, "questions": []}
    assert form.owner_id == owner.id and form.created_at == now


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_create_form_refuses_missing_or_long_title(
    db: Any, make_user: Any, now: dt.datetime, title: str
) -> None:
    with pytest.raises(Invalid) as caught:
        services.create_form(db, owner_id=make_user().id, title=title, now=now)
    assert caught.value.errors["title"]


def test_update_form_renames(db: Any, make_form: Any, now: dt.datetime) -> None:
    form = make_form(title="Vanha")
    later = now + dt.timedelta(hours=1)
    services.update_form(db, form, title="Uusi", description="Kuvaus", now=later)
    assert (form.title, form.description, form.updated_at) == ("Uusi", "Kuvaus", later)


def test_contact_person_lists_own_forms_coordinator_all(
    db: Any, make_user: Any, make_form: Any, answer: Any
) -> None:
    coordinator, contact, other = (
        make_user("coordinator"),
        make_user("contact_person"),
        make_user("contact_person"),
    )
    mine = make_form(owner=contact, title="Oma")
    make_form(owner=other, title="Toisen")
    make_form(owner=coordinator, title="Koordinaattorin")
    answer(mine)
    answer(mine)

    rows, total = services.list_forms(db, contact, page=1, per_page=10)
    assert total == 1 and [(f.title, n) for f, n in rows] == [("Oma", 2)]
    rows, total = services.list_forms(db, coordinator, page=1, per_page=2)
    assert total == 3 and len(rows) == 2
    rows, _total = services.list_forms(db, coordinator, page=2, per_page=2)
    assert len(rows) == 1


def test_get_form_hides_other_peoples_forms(db: Any, make_user: Any, make_form: Any) -> None:
    owner, stranger = make_user("contact_person"), make_user("contact_person")
    form = make_form(owner=owner)
    assert services.get_form(db, form.id, user=owner) is form
    assert services.get_form(db, form.id, user=make_user("coordinator")) is form
    with pytest.raises(NotFound):
        services.get_form(db, form.id, user=stranger)
    with pytest.raises(NotFound):
        services.get_form(db, form.id + 1000)


def test_duplicate_form_copies_questions_at_version_1_without_responses(
    db: Any, make_user: Any, make_form: Any, answer: Any, now: dt.datetime
) -> None:
    form = make_form(questions=[SPECS["multiple_choice"], SPECS["rating"]])
    answer(form)
    assert form.version == 3
    copier = make_user("contact_person")
    copy = services.duplicate_form(db, form, owner_id=copier.id, title="Kopio", now=now)
    assert copy.id != form.id and copy.title == "Kopio" and copy.owner_id == copier.id
    assert copy.version == 1 and keys(copy) == keys(form)
    assert copy.questions == form.questions
    assert services.count_responses(db, copy.id) == 0 and not services.has_answers(db, copy.id)
    # The copy is independent: editing it leaves the original alone.
    services.delete_question(db, copy, keys(copy)[0], now=now)
    assert len(form.questions) == 2


# --- questions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("qtype", list(SPECS))
def test_add_each_question_type(db: Any, make_form: Any, now: dt.datetime, qtype: str) -> None:
    form = make_form()
    key = services.add_question(db, form, SPECS[qtype], now=now)
    assert form.version == 2
    question = services.get_question(form, key)
    assert question["type"] == qtype and key.startswith("q_")
    assert question["label"] == {"fi": SPECS[qtype]["label_fi"]}


def test_added_settings_reach_the_engine(db: Any, make_form: Any, now: dt.datetime) -> None:
    form = make_form(questions=[SPECS["multiple_choice"], SPECS["ranking"], SPECS["date"]])
    multiple, ranking, date = form.questions
    assert multiple["max_choices"] == 3 and multiple["min_choices"] is None
    assert [o["label"]["fi"] for o in multiple["options"]] == SEVEN
    assert all(o["key"].startswith("o_") for o in multiple["options"])
    assert ranking["top_n"] == 3
    assert (date["min_date"], date["max_date"]) == ("2025-01-01", "2025-12-31")


def test_translations_of_labels_help_and_options(db: Any, make_form: Any, now: dt.datetime) -> None:
    form = make_form()
    key = services.add_question(
        db,
        form,
        spec(
            "single_choice",
            "Alue",
            label_sv="Område",
            label_en="Area",
            help_en="Where you live",
            options_fi="Pohjoinen\nEtelä",
            options_sv="Norr\nSöder",
        ),
        now=now,
    )
    question = services.get_question(form, key)
    assert question["label"] == {"fi": "Alue", "sv": "Område", "en": "Area"}
    assert question["help"] == {"en": "Where you live"}
    assert [o["label"] for o in question["options"]] == [
        {"fi": "Pohjoinen", "sv": "Norr"},
        {"fi": "Etelä", "sv": "Söder"},
    ]


@pytest.mark.parametrize(
    ("question", "field"),
    [
        (spec("multiple_choice", options_fi="\n".join(SEVEN), max_choices=9), "max_choices"),
        (
            spec("multiple_choice", options_fi="a\nb\nc", min_choices=3, max_choices=2),
            "min_choices",
        ),
        (spec("single_choice", options_fi="Vain yksi"), "options_fi"),
        (spec("single_choice", options_fi="Sama\nSama"), "options_fi"),
        (spec("single_choice", options_fi="a\nb", options_sv="a"), "options_sv"),
        (spec("ranking", options_fi="a\nb", top_n=3), "top_n"),
        (spec("rating", scale_min=5, scale_max=5), "scale_max"),
        (spec("rating", scale_min=0, scale_max=30), "scale_max"),
        (spec("number", min_value=10, max_value=1), "max_value"),
        (spec("date", min_date=dt.date(2025, 2, 1), max_date=dt.date(2025, 1, 1)), "max_date"),
        (spec("short_text", label_fi="  "), "label_fi"),
        (spec("no_such_type"), "question_type"),
    ],
)
def test_bad_settings_get_a_message_on_their_field(
    db: Any, make_form: Any, now: dt.datetime, question: dict[str, Any], field: str
) -> None:
    form = make_form()
    with pytest.raises(Invalid) as caught:
        services.add_question(db, form, question, now=now)
    assert list(caught.value.errors) == [field]
    assert all(isinstance(m, str) and m for m in caught.value.errors[field])
    assert form.version == 1  # nothing saved


def test_move_question_up_and_down_clamped(db: Any, make_form: Any, now: dt.datetime) -> None:
    form = make_form(questions=[SPECS["short_text"], SPECS["yes_no"], SPECS["email"]])
    first, second, third = keys(form)
    services.move_question(db, form, third, -1, now=now)
    assert keys(form) == [first, third, second]
    services.move_question(db, form, first, -1, now=now)  # already first
    assert keys(form) == [first, third, second]
    services.move_question(db, form, first, 1, now=now)
    assert keys(form) == [third, first, second]
    with pytest.raises(NotFound):
        services.move_question(db, form, "q_missing", 1, now=now)


def test_delete_question(db: Any, make_form: Any, now: dt.datetime) -> None:
    form = make_form(questions=[SPECS["short_text"], SPECS["yes_no"]])
    services.delete_question(db, form, keys(form)[0], now=now)
    assert [q["type"] for q in form.questions] == ["yes_no"]
    with pytest.raises(NotFound):
        services.delete_question(db, form, "q_missing", now=now)


def test_rewording_options_keeps_their_keys(db: Any, make_form: Any, now: dt.datetime) -> None:
    form = make_form(questions=[spec("single_choice", options_fi="Yksi\nKaksi\nKolme")])
    key = keys(form)[0]
    before = [o["key"] for o in form.questions[0]["options"]]
    # Reworded in place, one line added: old keys by position, a new key for the new line.
    services.update_question(
        db, form, key, spec("single_choice", options_fi="Yksi!\nKaksi\nKolme\nNeljä"), now=now
    )
    options = form.questions[0]["options"]
    assert [o["key"] for o in options[:3]] == before
    assert options[3]["key"] not in before and options[0]["label"]["fi"] == "Yksi!"
    # Reordered lines keep their keys by text.
    services.update_question(
        db, form, key, spec("single_choice", options_fi="Kolme\nYksi!\nKaksi\nNeljä"), now=now
    )
    assert [o["key"] for o in form.questions[0]["options"]][:3] == [before[2], before[0], before[1]]


def test_update_question_changes_type_and_clears_other_settings(
    db: Any, make_form: Any, now: dt.datetime
) -> None:
    form = make_form(questions=[SPECS["multiple_choice"]])
    key = keys(form)[0]
    services.update_question(db, form, key, spec("short_text", "Teksti"), now=now)
    question = form.questions[0]
    assert question["type"] == "short_text" and "options" not in question
    assert question["max_length"] == 500


def test_spec_round_trip_prefills_the_edit_form(db: Any, make_form: Any) -> None:
    form = make_form(questions=[SPECS["rating"], SPECS["ranking"], SPECS["date"]])
    rating, ranking, date = (services.spec_from_question(q) for q in form.questions)
    assert rating["min_label_fi"] == "Huono" and rating["scale_max"] == 5
    assert ranking["options_fi"].splitlines() == SEVEN and ranking["top_n"] == 3
    assert date["min_date"] == dt.date(2025, 1, 1)


# --- once answers exist ----------------------------------------------------------------------


@pytest.fixture
def answered(make_form: Any, answer: Any) -> FormDefinition:
    form = make_form(
        questions=[
            spec("single_choice", "Alue", options_fi="Pohjoinen\nEtelä\nItä"),
            SPECS["info"],
        ]
    )
    answer(form, {keys(form)[0]: form.questions[0]["options"][0]["key"]})
    return form


def test_deleting_an_answered_question_is_refused(
    db: Any, answered: FormDefinition, now: dt.datetime
) -> None:
    with pytest.raises(Conflict) as caught:
        services.delete_question(db, answered, keys(answered)[0], now=now)
    assert caught.value.message == (
        "Kysymystä ”Alue” ei voi poistaa, koska lomakkeeseen on jo vastattu."
        " Voit silti muotoilla sen uudelleen."
    )
    assert len(answered.questions) == 2


def test_info_block_can_go_even_with_answers(
    db: Any, answered: FormDefinition, now: dt.datetime
) -> None:
    services.delete_question(db, answered, keys(answered)[1], now=now)
    assert [q["type"] for q in answered.questions] == ["single_choice"]


def test_retyping_an_answered_question_is_refused(
    db: Any, answered: FormDefinition, now: dt.datetime
) -> None:
    with pytest.raises(Invalid) as caught:
        services.update_question(db, answered, keys(answered)[0], spec("short_text"), now=now)
    assert caught.value.errors["question_type"] == [
        "Lomakkeeseen on jo vastattu, joten tämän kysymyksen tyyppiä ei voi muuttaa."
    ]
    assert answered.questions[0]["type"] == "single_choice"


def test_removing_an_answered_option_is_refused_rewording_allowed(
    db: Any, answered: FormDefinition, now: dt.datetime
) -> None:
    key = keys(answered)[0]
    with pytest.raises(Invalid) as caught:
        services.update_question(
            db, answered, key, spec("single_choice", "Alue", options_fi="Pohjoinen\nItä"), now=now
        )
    assert "Etelä" in caught.value.errors["options_fi"][0]
    # Rewording (type omitted, as the locked edit form posts it) and adding lines are fine.
    services.update_question(
        db,
        answered,
        key,
        {"label_fi": "Asuinalue", "options_fi": "Pohjoinen\nEtelä-Esimerkkilä\nItä\nLänsi"},
        now=now,
    )
    question = answered.questions[0]
    assert question["label"]["fi"] == "Asuinalue"
    assert [o["label"]["fi"] for o in question["options"]][1:] == [
        "Etelä-Esimerkkilä",
        "Itä",
        "Länsi",
    ]
    # Adding a new question is allowed too.
    services.add_question(db, answered, SPECS["yes_no"], now=now)
    assert len(answered.questions) == 3


# --- responses -----------------------------------------------------------------------------------


def test_record_response_stores_normalised_answers(
    db: Any, make_form: Any, now: dt.datetime
) -> None:
    form = make_form(questions=[SPECS["multiple_choice"], SPECS["number"]])
    multiple, number = form.questions
    chosen = [o["key"] for o in multiple["options"][:2]]
    response = services.record_response(
        db, form, {multiple["key"]: chosen[::-1], number["key"]: "42"}, source="paper", now=now
    )
    assert response.answers == {multiple["key"]: chosen, number["key"]: 42}
    assert response.schema_version == form.version and response.source == "paper"
    assert services.count_responses(db, form.id) == 1 and services.has_answers(db, form.id)


def test_record_response_refuses_four_of_at_most_three(
    db: Any, make_form: Any, now: dt.datetime
) -> None:
    form = make_form(questions=[SPECS["multiple_choice"]])
    question = form.questions[0]
    four = [o["key"] for o in question["options"][:4]]
    with pytest.raises(Invalid) as caught:
        services.record_response(db, form, {question["key"]: four}, now=now)
    assert caught.value.errors == {question["key"]: ["Valitse enintään 3."]}
    with pytest.raises(Invalid):
        services.record_response(db, form, {}, source="fax", now=now)
    assert db.scalar(select(func.count(FormResponse.id))) == 0


# --- demo ------------------------------------------------------------------------------------------


def test_demo_form_is_loaded_once_for_the_demo_coordinator(
    db: Any, make_user: Any, now: dt.datetime
) -> None:
    from participation.demo import DEMO_COORDINATOR

    assert demo.load_demo(db, now=now) == 0  # no demo coordinator yet
    make_user("coordinator", email=DEMO_COORDINATOR)
    assert demo.load_demo(db, now=now) == 1
    assert demo.load_demo(db, now=now) == 0
    form = db.scalars(select(FormDefinition).where(FormDefinition.title == demo.TITLE)).one()
    types = [q["type"] for q in form.questions]
    assert {"multiple_choice", "rating", "ranking", "long_text"} <= set(types)
    multiple = next(q for q in form.questions if q["type"] == "multiple_choice")
    assert multiple["max_choices"] == 3 and len(multiple["options"]) == 7
    assert next(q for q in form.questions if q["type"] == "ranking")["top_n"] == 3
