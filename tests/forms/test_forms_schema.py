"""Schema validation, localised text, keys, editing operations and check_change."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from forms import (
    QUESTION_TYPES,
    SchemaError,
    add_question,
    check_change,
    delete_question,
    empty_schema,
    move_question,
    new_key,
    text,
    update_question,
    validate_schema,
)


def opts(*names: str) -> list[dict[str, Any]]:
    return [{"key": f"o_{n}", "label": {"fi": n}} for n in names]


def one(**question: Any) -> dict[str, Any]:
    return {"version": 1, "questions": [{"key": "q_x", "label": {"fi": "K"}, **question}]}


def keys(schema: dict[str, Any]) -> list[str]:
    return [q["key"] for q in schema["questions"]]


# --- text and keys ---------------------------------------------------------------


def test_text_prefers_locale_then_fi_en_sv_then_any():
    label = {"fi": "Suomi", "sv": "Svenska", "en": "English"}
    assert text(label, "sv") == "Svenska"
    assert text(label, "de") == "Suomi"
    assert text({"sv": "Svenska", "en": "English"}, "fi") == "English"
    assert text({"sv": "Svenska"}, "fi") == "Svenska"
    assert text({"se": "Sámegiella", "fi": ""}, "fi") == "Sámegiella"
    assert text("plain", "sv") == "plain"
    assert text(None, "fi") == ""


def test_new_key_format_and_randomness():
    generated = {new_key() for _ in range(200)}
    assert len(generated) == 200
    assert all(re.fullmatch(r"q_[a-z2-7]{8}", k) for k in generated)
    assert re.fullmatch(r"o_[a-z2-7]{8}", new_key("o"))


def test_empty_schema_and_types():
    assert empty_schema() == {"version": 1, "questions": []}
    assert validate_schema(empty_schema()) == empty_schema()
    assert len(QUESTION_TYPES) == 12 and "ranking" in QUESTION_TYPES


# --- validation --------------------------------------------------------------------


def test_defaults_are_filled_without_touching_the_input(schema):
    before = copy.deepcopy(schema)
    normalised = validate_schema(schema)
    assert schema == before
    by_key = {q["key"]: q for q in normalised["questions"]}
    assert by_key["q_story"]["max_length"] == 5000
    assert by_key["q_story"]["required"] is False
    assert by_key["q_story"]["help"] == {}
    assert by_key["q_rate"]["scale_min"] == 1 and by_key["q_rate"]["scale_max"] == 5
    assert by_key["q_topics"]["min_choices"] is None
    assert by_key["q_resident"]["required"] is False
    assert validate_schema(one(type="short_text"))["questions"][0]["max_length"] == 500
    assert (
        validate_schema(one(type="ranking", options=opts("a", "b", "c")))["questions"][0]["top_n"]
        == 3
    )
    assert validate_schema(one(type="number"))["questions"][0]["integer"] is False


def test_info_is_never_required():
    assert validate_schema(one(type="info", required=True))["questions"][0]["required"] is False


@pytest.mark.parametrize(
    ("question", "fault"),
    [
        ({"type": "essay"}, "unknown question type 'essay'"),
        ({"type": "short_text", "label": {}}, "needs a non-empty text"),
        ({"type": "short_text", "label": {"fi": "  "}}, "needs a non-empty text"),
        ({"type": "short_text", "max_lenght": 5}, "unknown settings"),
        ({"type": "short_text", "max_length": 0}, "max_length must be a positive"),
        ({"type": "short_text", "required": "yes"}, "required must be true or false"),
        ({"type": "single_choice", "options": opts("a")}, "at least 2 options"),
        ({"type": "single_choice"}, "options must be a list"),
        ({"type": "single_choice", "options": opts("a", "a")}, "duplicate option key 'o_a'"),
        (
            {"type": "single_choice", "options": [{"key": "o_a", "label": {}}, *opts("b")]},
            "option 1 label: needs a non-empty text",
        ),
        (
            {
                "type": "multiple_choice",
                "options": opts("a", "b", "c"),
                "min_choices": 3,
                "max_choices": 2,
            },
            "min_choices 3 is greater than max_choices 2",
        ),
        (
            {"type": "multiple_choice", "options": opts("a", "b", "c"), "max_choices": 4},
            "max_choices 4 exceeds the 3 options",
        ),
        ({"type": "ranking", "options": opts("a", "b"), "top_n": 0}, "top_n must be between"),
        ({"type": "ranking", "options": opts("a", "b"), "top_n": 3}, "top_n must be between"),
        ({"type": "rating", "scale_min": 5, "scale_max": 5}, "must be less than scale_max"),
        ({"type": "rating", "scale_min": 0, "scale_max": 50}, "at most 21 steps"),
        ({"type": "number", "min_value": 10, "max_value": 1}, "greater than max_value"),
        ({"type": "number", "min_value": "1"}, "min_value must be a finite number"),
        ({"type": "date", "min_date": "1.1.2025"}, "min_date must be an ISO date"),
        ({"type": "date", "max_date": "2025-02-30"}, "max_date must be an ISO date"),
        (
            {"type": "date", "min_date": "2025-12-31", "max_date": "2025-01-01"},
            "is after max_date",
        ),
    ],
)
def test_invalid_questions(question, fault):
    with pytest.raises(SchemaError) as raised:
        validate_schema(one(**question))
    assert any(fault in m for m in raised.value.messages), raised.value.messages


def test_bad_and_duplicate_question_keys():
    schema = {
        "version": 1,
        "questions": [
            {"key": "q_same", "type": "yes_no", "label": {"fi": "A"}},
            {"key": "q_same", "type": "yes_no", "label": {"fi": "B"}},
            {"key": "Data", "type": "yes_no", "label": {"fi": "C"}},
        ],
    }
    with pytest.raises(SchemaError) as raised:
        validate_schema(schema)
    assert any("duplicate key 'q_same'" in m for m in raised.value.messages)
    assert any("key must look like" in m for m in raised.value.messages)


def test_every_fault_is_reported_at_once():
    schema = {
        "version": 1,
        "questions": [
            {"key": "q_a", "type": "essay", "label": {"fi": "A"}},
            {"key": "q_b", "type": "short_text", "label": {}},
        ],
    }
    with pytest.raises(SchemaError) as raised:
        validate_schema(schema)
    assert len(raised.value.messages) == 2
    assert isinstance(raised.value, ValueError)


# --- editing -------------------------------------------------------------------------


def test_add_question_assigns_keys_and_bumps_version(schema):
    question = {"type": "single_choice", "label": {"fi": "Uusi"}, "options": opts("a", "b")}
    question["options"].append({"label": {"fi": "c"}})
    new = add_question(schema, question)
    added = new["questions"][-1]
    assert new["version"] == schema["version"] + 1
    assert re.fullmatch(r"q_[a-z2-7]{8}", added["key"])
    assert [o["key"] for o in added["options"]][:2] == ["o_a", "o_b"]
    assert re.fullmatch(r"o_[a-z2-7]{8}", added["options"][2]["key"])
    assert "key" not in question  # input untouched
    assert len(schema["questions"]) == 12


def test_add_question_at_index_and_duplicate_key_refused():
    schema = add_question(empty_schema(), {"key": "q_b", "type": "yes_no", "label": {"fi": "B"}})
    schema = add_question(schema, {"key": "q_a", "type": "yes_no", "label": {"fi": "A"}}, index=0)
    assert keys(schema) == ["q_a", "q_b"]
    assert schema["version"] == 3
    with pytest.raises(SchemaError, match="duplicate key 'q_a'"):
        add_question(schema, {"key": "q_a", "type": "email", "label": {"fi": "X"}})


def test_update_question_rewords_and_keeps_key(schema):
    new = update_question(
        schema, "q_area", {"label": {"fi": "Asuinalue"}, "required": False}, has_answers=True
    )
    area = new["questions"][2]
    assert area["key"] == "q_area" and area["label"] == {"fi": "Asuinalue"}
    assert area["required"] is False
    assert new["version"] == 2
    with pytest.raises(SchemaError, match="key cannot be changed"):
        update_question(schema, "q_area", {"key": "q_other"})
    with pytest.raises(SchemaError, match="no question with key"):
        update_question(schema, "q_missing", {"label": {"fi": "X"}})


def test_update_question_none_resets_to_default(schema):
    new = update_question(schema, "q_topics", {"max_choices": None})
    assert new["questions"][3]["max_choices"] is None


def test_retype_without_answers_drops_settings_the_new_type_lacks(schema):
    new = update_question(schema, "q_area", {"type": "short_text"})
    assert new["questions"][2]["type"] == "short_text"
    assert "options" not in new["questions"][2]
    kept = update_question(schema, "q_area", {"type": "multiple_choice"})
    assert [o["key"] for o in kept["questions"][2]["options"]] == ["o_north", "o_south", "o_east"]


def test_adding_an_option_with_answers_is_allowed(schema):
    options = [*schema["questions"][2]["options"], {"label": {"fi": "west"}}]
    new = update_question(schema, "q_area", {"options": options}, has_answers=True)
    assert len(new["questions"][2]["options"]) == 4
    assert new["questions"][2]["options"][3]["key"].startswith("o_")


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: delete_question(s, "q_area", has_answers=True),
        lambda s: update_question(s, "q_area", {"type": "multiple_choice"}, has_answers=True),
        lambda s: update_question(
            s, "q_area", {"options": s["questions"][2]["options"][:2]}, has_answers=True
        ),
    ],
    ids=["delete", "retype", "remove-option"],
)
def test_edits_that_lose_answers_are_refused(schema, edit):
    with pytest.raises(SchemaError, match="already has answers"):
        edit(schema)


def test_the_same_edits_are_fine_before_answers(schema):
    assert "q_area" not in keys(delete_question(schema, "q_area"))
    options = schema["questions"][2]["options"][:2]
    assert (
        len(update_question(schema, "q_area", {"options": options})["questions"][2]["options"]) == 2
    )


def test_deleting_an_info_block_with_answers_is_allowed(schema):
    assert "q_note" not in keys(delete_question(schema, "q_note", has_answers=True))


def test_move_question_up_down_and_clamped(schema):
    original = keys(schema)
    up = move_question(schema, "q_area", -1, has_answers=True)
    assert keys(up)[1:3] == ["q_area", "q_story"]
    assert up["version"] == 2
    down = move_question(up, "q_area", +1)
    assert keys(down) == original and down["version"] == 3
    top = move_question(schema, "q_name", -1)
    assert keys(top) == original
    bottom = move_question(schema, "q_name", +100)
    assert keys(bottom)[-1] == "q_name"
    # Keys and content travel with the question.
    moved = {q["key"]: q for q in bottom["questions"]}
    assert moved == {q["key"]: q for q in validate_schema(schema)["questions"]}


def test_check_change_allows_reorder_and_reword_of_options(schema):
    new = copy.deepcopy(schema)
    area = new["questions"][2]
    area["options"].reverse()
    area["options"][0]["label"] = {"fi": "itä"}
    area["help"] = {"fi": "Valitse yksi"}
    check_change(schema, new, has_answers=True)  # does not raise
    new["questions"][2]["options"].pop()
    with pytest.raises(SchemaError, match="option 'north fi' of question 'Alue'"):
        check_change(schema, new, has_answers=True)
    check_change(schema, new, has_answers=False)
