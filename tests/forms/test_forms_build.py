"""Forms built from a schema: per-type validation, messages, re-shown answers, answers out."""

from __future__ import annotations

from typing import Any

import pytest
from wtforms import Form

from forms import answers_from_form, build_form_class, iter_items
from forms.fields import RankingField

REQUIRED_FI = "Tämä kenttä on pakollinen."


def answers(form: Any, schema: dict[str, Any]) -> dict[str, Any]:
    return answers_from_form(form, schema)


# --- the form as a whole -------------------------------------------------------


def test_empty_optional_questions_are_valid_and_left_out(submit, schema):
    form = submit({})
    assert form.errors == {}
    assert answers(form, schema) == {"q_area": "o_north", "q_ok": True}


def test_missing_required_answers_get_messages(submit):
    form = submit({}, minimal=False, questions=None)
    assert form.errors == {
        "q_area": [REQUIRED_FI],
        "q_ok": ["Vastauksen lähettäminen edellyttää suostumustasi."],
    }


def test_fields_carry_question_type_label_help_and_required_flag(submit):
    form = submit({})
    assert form.q_topics.question["key"] == "q_topics"
    assert form.q_topics.question_type == "multiple_choice"
    assert form.q_topics.label.text == "Tärkeimmät aiheet"
    assert form.q_topics.description == "Valitse enintään kolme."
    assert form.q_area.flags.required
    assert not form.q_name.flags.required
    assert form.q_area.locale == "fi"


def test_iter_items_yields_every_question_in_order_with_none_for_info(submit, schema):
    items = list(iter_items(submit({})))
    assert [q["key"] for q, _ in items] == [q["key"] for q in schema["questions"]]
    assert [q["key"] for q, field in items if field is None] == ["q_note"]
    assert all(field.name == q["key"] for q, field in items if field is not None)
    assert "q_note" not in submit({})  # info has no input


def test_labels_and_messages_follow_the_locale(submit):
    sv = submit({"q_name": "x" * 11}, locale="sv", minimal=False)
    assert sv.q_name.label.text == "Namn"
    assert sv.q_story.label.text == "Kerro lisää"  # only Finnish given: falls back
    assert sv.errors["q_area"] == ["Detta fält är obligatoriskt."]
    assert sv.errors["q_name"] == ["Högst 10 tecken."]
    en = submit({"q_name": "x" * 11}, locale="en", minimal=False)
    assert en.q_name.label.text == "Name"
    assert en.errors["q_area"] == ["This field is required."]
    assert en.errors["q_name"] == ["At most 10 characters."]
    assert en.q_resident.choices[0].label == "Yes"


def test_unknown_locale_falls_back_to_finnish(submit):
    form = submit({}, locale="de", minimal=False)
    assert form.form_locale == "fi"
    assert form.errors["q_area"] == [REQUIRED_FI]


def test_flask_wtf_style_base_class(schema, post_data):
    """FlaskForm takes formdata as first argument and fills it from the request itself."""
    auto = object()
    request_form = post_data({"q_area": "o_east", "q_ok": "y", "q_age": "33"})

    class RequestForm(Form):
        class Meta:
            csrf = False

        def __init__(self, formdata: Any = auto, **kwargs: Any) -> None:
            super().__init__(request_form if formdata is auto else formdata, **kwargs)

    form_class = build_form_class(schema, base=RequestForm)
    assert issubclass(form_class, RequestForm)
    form = form_class()
    assert form.validate(), form.errors
    assert answers(form, schema) == {"q_area": "o_east", "q_age": 33, "q_ok": True}
    assert form_class.form_schema["questions"][0]["max_length"] == 10


def test_stored_answers_prefill_the_form_and_round_trip(schema):
    stored = {
        "q_name": "Matti",
        "q_area": "o_south",
        "q_topics": ["o_a", "o_c"],
        "q_rate": 4,
        "q_rank": ["o_pool", "o_park", "o_road"],
        "q_resident": False,
        "q_age": 41,
        "q_visit": "2025-06-01",
        "q_email": "matti@example.fi",
        "q_ok": True,
    }
    form = build_form_class(schema)(data=stored)
    assert form.validate(), form.errors
    assert answers(form, schema) == stored
    assert 'value="2025-06-01"' in form.q_visit()
    assert "checked" in str(list(form.q_resident)[1])  # "no"


def test_answers_from_form_leaves_out_invalid_answers(submit, schema):
    form = submit({"q_name": "Liisa", "q_age": "old"})
    assert form.errors == {"q_age": ["Anna luku."]}
    assert answers(form, schema) == {"q_name": "Liisa", "q_area": "o_north", "q_ok": True}


# --- texts ---------------------------------------------------------------------


def test_text_at_max_length_is_accepted_and_stripped(submit, schema):
    form = submit({"q_name": "  " + "x" * 10 + "  "})
    assert form.errors == {}
    assert answers(form, schema)["q_name"] == "x" * 10


def test_text_one_over_max_length_is_refused_and_kept(submit):
    form = submit({"q_name": "x" * 11})
    assert form.errors == {"q_name": ["Enintään 10 merkkiä."]}
    assert form.q_name.data == "x" * 11
    assert 'value="' + "x" * 11 + '"' in form.q_name()


def test_megabyte_text_gets_the_too_long_message(submit):
    form = submit({"q_story": "ä" * 1_000_000})
    assert form.errors == {"q_story": ["Enintään 5000 merkkiä."]}
    assert len(form.q_story.data) == 1_000_000


def test_crlf_counts_as_one_character_and_controls_are_dropped(submit, single):
    questions = single("long_text", max_length=5)
    form = submit({"q_x": "ab\r\nc\x00d"}, questions=questions)
    assert form.errors == {}
    assert answers(form, questions) == {"q_x": "ab\ncd"}


def test_required_text_with_only_spaces_is_missing(submit, single):
    questions = single("short_text", required=True)
    form = submit({"q_x": "   "}, questions=questions)
    assert form.errors == {"q_x": [REQUIRED_FI]}
    assert form.q_x.flags.required


# --- single choice -------------------------------------------------------------


def test_single_choice_stores_the_option_key(submit, schema):
    form = submit({"q_area": "o_east"})
    assert answers(form, schema)["q_area"] == "o_east"
    assert [c.label for c in form.q_area.iter_choices()] == ["north fi", "south fi", "east fi"]


def test_single_choice_unknown_key_is_refused(submit):
    form = submit({"q_area": "o_west"})
    assert form.errors == {"q_area": ["Valitse jokin annetuista vaihtoehdoista."]}


def test_required_radio_group_renders_required(submit):
    assert "required" in list(submit({}).q_area)[0]()


# --- multiple choice -----------------------------------------------------------


def test_four_picked_where_max_three_keeps_all_four(submit):
    picked = ["o_a", "o_b", "o_c", "o_d"]
    form = submit({"q_topics": picked})
    assert form.errors == {"q_topics": ["Valitse enintään 3."]}
    assert form.q_topics.data == picked
    assert str(form.q_topics()).count("checked") == 4


def test_multiple_choice_is_stored_in_schema_order(submit, schema):
    form = submit({"q_topics": ["o_g", "o_a", "o_c"]})
    assert form.errors == {}
    assert answers(form, schema)["q_topics"] == ["o_a", "o_c", "o_g"]


def test_min_equal_max_asks_for_exactly(submit, single):
    questions = single("multiple_choice", min_choices=3, max_choices=3, options=_opts(7))
    fi = submit({"q_x": ["o_1", "o_2"]}, questions=questions)
    assert fi.errors == {"q_x": ["Valitse tasan 3."]}
    en = submit({"q_x": ["o_1", "o_2", "o_3", "o_4"]}, questions=questions, locale="en")
    assert en.errors == {"q_x": ["Choose exactly 3."]}
    ok = submit({"q_x": ["o_1", "o_2", "o_3"]}, questions=questions)
    assert ok.errors == {}


def test_min_choices_alone(submit, single):
    questions = single("multiple_choice", min_choices=2, options=_opts(3))
    form = submit({"q_x": ["o_1"]}, questions=questions, locale="sv")
    assert form.errors == {"q_x": ["Välj minst 2."]}
    assert submit({}, questions=questions).errors == {}  # optional: empty is fine


def test_multiple_choice_unknown_key(submit):
    form = submit({"q_topics": ["o_a", "o_zzz"]})
    assert form.errors == {"q_topics": ["Valitse jokin annetuista vaihtoehdoista."]}
    assert form.q_topics.data == ["o_a", "o_zzz"]


def test_required_checkbox_group_does_not_mark_each_box_required(submit, single):
    questions = single("multiple_choice", required=True, options=_opts(3))
    form = submit({}, questions=questions)
    assert form.errors == {"q_x": [REQUIRED_FI]}
    assert form.q_x.flags.required
    assert "required" not in str(form.q_x())


# --- rating --------------------------------------------------------------------


@pytest.mark.parametrize(("posted", "stored"), [("1", 1), ("5", 5)])
def test_rating_scale_ends_are_valid(submit, schema, posted, stored):
    form = submit({"q_rate": posted})
    assert form.errors == {}
    assert answers(form, schema)["q_rate"] == stored


@pytest.mark.parametrize("posted", ["0", "6", "abc"])
def test_rating_outside_scale_is_refused_once(submit, posted):
    form = submit({"q_rate": posted})
    assert form.errors == {"q_rate": ["Valitse jokin annetuista vaihtoehdoista."]}


def test_rating_field_offers_the_scale_and_end_labels(submit, single):
    form = submit({}, questions=single("rating", scale_min=0, scale_max=10))
    assert [c.value for c in form.q_x.iter_choices()] == [str(v) for v in range(11)]
    default = submit({})
    assert (default.q_rate.min_label, default.q_rate.max_label) == ("Huono", "Erinomainen")


# --- ranking -------------------------------------------------------------------


def test_ranking_stores_keys_in_rank_order(submit, schema):
    form = submit({"q_rank": ["o_pool", "o_park", "o_road"]})
    assert form.errors == {}
    assert answers(form, schema)["q_rank"] == ["o_pool", "o_park", "o_road"]


def test_ranking_duplicates_are_refused(submit):
    form = submit({"q_rank": ["o_park", "o_park", "o_pool"]})
    assert form.errors == {"q_rank": ["Kunkin vaihtoehdon voi valita vain kerran."]}


def test_ranking_too_few_keeps_blank_positions(submit):
    form = submit({"q_rank": ["o_park", "", "o_pool"]})
    assert form.errors == {"q_rank": ["Järjestä 3 eri vaihtoehtoa."]}
    assert form.q_rank.data == ["o_park", "", "o_pool"]
    selects = list(form.q_rank)
    assert [s.id for s in selects] == ["q_rank-1", "q_rank-2", "q_rank-3"]
    assert [s.data for s in selects] == ["o_park", "", "o_pool"]
    assert all(s.name == "q_rank" for s in selects)
    assert '<option selected value="o_pool">' in str(selects[2]())
    assert '<option selected value="">Valitse</option>' in str(selects[1]())


def test_ranking_unknown_key_and_too_many_positions(submit):
    unknown = submit({"q_rank": ["o_park", "o_zoo", "o_pool"]})
    assert unknown.errors == {"q_rank": ["Valitse jokin annetuista vaihtoehdoista."]}
    too_many = submit({"q_rank": ["o_park", "o_pool", "o_road", "o_library"]})
    assert too_many.errors == {"q_rank": ["Valitse jokin annetuista vaihtoehdoista."]}


def test_ranking_all_blank_is_empty(submit, schema):
    form = submit({"q_rank": ["", "", ""]})
    assert form.errors == {}
    assert "q_rank" not in answers(form, schema)


def test_ranking_renders_top_n_positions_even_when_fewer_posted(submit):
    form = submit({"q_rank": ["o_road"]})
    assert isinstance(form.q_rank, RankingField)
    assert form.q_rank.positions() == ["o_road", "", ""]
    html = str(form.q_rank())
    assert html.startswith('<ol id="q_rank">')
    assert html.count("<select") == 3
    assert 'id="q_rank-3"' in html


def test_required_ranking(submit, single):
    questions = single("ranking", required=True, top_n=2, options=_opts(3))
    form = submit({"q_x": ["", ""]}, questions=questions, locale="en")
    assert form.errors == {"q_x": ["This field is required."]}
    assert all(s.flags.required for s in form.q_x)


# --- yes / no ------------------------------------------------------------------


@pytest.mark.parametrize(("posted", "stored"), [("yes", True), ("no", False)])
def test_yes_no_is_stored_as_bool(submit, schema, posted, stored):
    form = submit({"q_resident": posted})
    assert answers(form, schema)["q_resident"] is stored


def test_yes_no_other_value_is_refused(submit):
    form = submit({"q_resident": "maybe"})
    assert form.errors == {"q_resident": ["Valitse jokin annetuista vaihtoehdoista."]}
    assert [c.label for c in form.q_resident.iter_choices()] == ["Kyllä", "Ei"]


# --- numbers -------------------------------------------------------------------


@pytest.mark.parametrize(("posted", "stored"), [("0", 0), ("120", 120), (" 42 ", 42)])
def test_integer_bounds_are_inclusive(submit, schema, posted, stored):
    form = submit({"q_age": posted})
    assert form.errors == {}
    value = answers(form, schema)["q_age"]
    assert value == stored and isinstance(value, int)


@pytest.mark.parametrize(
    ("posted", "error"),
    [
        ("121", "Anna luku väliltä 0–120."),
        ("-1", "Anna luku väliltä 0–120."),
        ("2,5", "Anna kokonaisluku."),
        ("abc", "Anna luku."),
        ("1e3", "Anna luku."),
        ("9" * 16, "Anna luku."),
    ],
)
def test_integer_invalid_values(submit, posted, error):
    form = submit({"q_age": posted})
    assert form.errors == {"q_age": [error]}
    assert form.q_age._value() == posted  # shown back as typed


def test_unparsable_required_number_gets_one_message(submit, single):
    form = submit({"q_x": "kaksi"}, questions=single("number", required=True))
    assert form.errors == {"q_x": ["Anna luku."]}


def test_decimal_number_accepts_decimal_comma_and_single_bounds(submit, single):
    low = single("number", min_value=0.5)
    assert submit({"q_x": "0,5"}, questions=low).errors == {}
    assert answers(submit({"q_x": "1 000,25"}, questions=low), low) == {"q_x": 1000.25}
    assert submit({"q_x": "0,4"}, questions=low).errors == {
        "q_x": ["Luvun on oltava vähintään 0,5."]
    }
    high = single("number", max_value=10)
    assert submit({"q_x": "10.5"}, questions=high, locale="sv").errors == {
        "q_x": ["Talet får vara högst 10."]
    }
    assert isinstance(answers(submit({"q_x": "7"}, questions=high), high)["q_x"], float)


# --- dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("posted", "stored"),
    [("2025-01-01", "2025-01-01"), ("2025-12-31", "2025-12-31"), ("1.6.2025", "2025-06-01")],
)
def test_dates_in_range(submit, schema, posted, stored):
    form = submit({"q_visit": posted})
    assert form.errors == {}
    assert answers(form, schema)["q_visit"] == stored


def test_date_out_of_range_is_shown_back_as_iso(submit):
    form = submit({"q_visit": "31.12.2024"})
    assert form.errors == {"q_visit": ["Anna päivämäärä väliltä 1.1.2025–31.12.2025."]}
    assert 'value="2024-12-31"' in form.q_visit()
    assert 'min="2025-01-01"' in form.q_visit()


@pytest.mark.parametrize("posted", ["2025-02-30", "huomenna", "2025-6-1"])
def test_bad_dates(submit, posted):
    form = submit({"q_visit": posted})
    assert form.errors == {"q_visit": ["Anna päivämäärä muodossa pp.kk.vvvv."]}
    assert form.q_visit._value() == posted


def test_date_single_bounds_in_swedish(submit, single):
    questions = single("date", max_date="2025-05-31")
    form = submit({"q_x": "2025-06-01"}, questions=questions, locale="sv")
    assert form.errors == {"q_x": ["Datumet får vara senast 2025-05-31."]}


# --- email ---------------------------------------------------------------------


def test_email_is_normalised(submit, schema):
    form = submit({"q_email": " Maija.Meikalainen@ESIMERKKI.FI "})
    assert form.errors == {}
    assert answers(form, schema)["q_email"] == "Maija.Meikalainen@esimerkki.fi"


@pytest.mark.parametrize("posted", ["not-an-email", "a@", "x" * 1_000_000 + "@example.fi"])
def test_bad_email(submit, posted):
    form = submit({"q_email": posted})
    assert form.errors == {"q_email": ["Anna sähköpostiosoite muodossa nimi@esimerkki.fi."]}


# --- consent -------------------------------------------------------------------


def test_required_consent_must_be_ticked(submit, schema):
    form = submit({"q_ok": ""})
    assert form.errors == {"q_ok": ["Vastauksen lähettäminen edellyttää suostumustasi."]}
    assert "required" in form.q_ok()
    assert answers(submit({}), schema)["q_ok"] is True


def test_optional_consent_unticked_is_left_out(submit, single):
    questions = single("consent")
    form = submit({}, questions=questions)
    assert form.errors == {}
    assert answers(form, questions) == {}
    assert answers(submit({"q_x": "y"}, questions=questions), questions) == {"q_x": True}


def _opts(count: int) -> list[dict[str, Any]]:
    return [{"key": f"o_{i}", "label": {"fi": f"Vaihtoehto {i}"}} for i in range(1, count + 1)]
