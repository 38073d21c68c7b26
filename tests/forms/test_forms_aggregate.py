"""aggregate(): figures checked against hand-computed values."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from forms import add_question, aggregate

ANSWERS: list[dict[str, Any]] = [
    {
        "q_name": "Matti",
        "q_area": "o_north",
        "q_topics": ["o_a", "o_b"],
        "q_rate": 5,
        "q_rank": ["o_park", "o_pool", "o_library"],
        "q_resident": True,
        "q_age": 30,
        "q_visit": "2025-03-01",
        "q_email": "matti@example.fi",
        "q_ok": True,
    },
    {
        "q_area": "o_south",
        "q_topics": ["o_a"],
        "q_rate": 3,
        "q_rank": ["o_pool", "o_park", "o_road"],
        "q_resident": False,
        "q_age": 40,
        "q_visit": "2025-03-01",
        "q_ok": True,
    },
    {
        "q_name": "Liisa",
        "q_area": "o_north",
        "q_topics": [],
        "q_rate": 4,
        "q_rank": ["o_library", "o_pool", "o_park"],
        "q_age": 20,
        "q_visit": "2025-01-15",
    },
    # An option deleted since: ignored, and it leaves its rank position empty.
    {"q_area": "o_deleted", "q_rank": ["o_park", "o_deleted", "o_pool"], "q_old": "x"},
    {},  # skipped every question
]


@pytest.fixture
def result(schema: dict[str, Any]) -> dict[str, Any]:
    return aggregate(schema, iter(ANSWERS))


def test_every_answerable_question_but_not_info(result, schema):
    assert list(result) == [q["key"] for q in schema["questions"] if q["type"] != "info"]
    assert "q_old" not in result


def test_single_choice(result):
    assert result["q_area"] == {
        "type": "single_choice",
        "answered": 3,
        "counts": [
            {"key": "o_north", "count": 2, "share": pytest.approx(2 / 3)},
            {"key": "o_south", "count": 1, "share": pytest.approx(1 / 3)},
            {"key": "o_east", "count": 0, "share": 0.0},
        ],
    }


def test_multiple_choice_shares_are_of_respondents_who_answered(result):
    topics = result["q_topics"]
    assert topics["answered"] == 2  # the empty list does not count
    assert topics["counts"][:3] == [
        {"key": "o_a", "count": 2, "share": 1.0},
        {"key": "o_b", "count": 1, "share": 0.5},
        {"key": "o_c", "count": 0, "share": 0.0},
    ]
    assert [c["key"] for c in topics["counts"]] == [f"o_{c}" for c in "abcdefg"]


def test_rating(result):
    rate = result["q_rate"]
    assert (rate["answered"], rate["count"], rate["mean"]) == (3, 3, 4.0)
    assert [(d["value"], d["count"]) for d in rate["distribution"]] == [
        (1, 0),
        (2, 0),
        (3, 1),
        (4, 1),
        (5, 1),
    ]
    assert rate["distribution"][4]["share"] == pytest.approx(1 / 3)


def test_ranking_borda_scores(result):
    # top_n 3: first place 3 points, second 2, third 1.
    # park 3+2+1+3 = 9, pool 2+3+2+1 = 8, library 1+3 = 4, road 1.
    assert result["q_rank"]["answered"] == 4
    assert result["q_rank"]["scores"] == [
        {"key": "o_park", "score": 9, "first_place": 2, "mean_position": 1.75, "ranked_by": 4},
        {"key": "o_pool", "score": 8, "first_place": 1, "mean_position": 2.0, "ranked_by": 4},
        {"key": "o_library", "score": 4, "first_place": 1, "mean_position": 2.0, "ranked_by": 2},
        {"key": "o_road", "score": 1, "first_place": 0, "mean_position": 3.0, "ranked_by": 1},
    ]


def test_ranking_ties_follow_option_order():
    schema = {
        "version": 1,
        "questions": [
            {
                "key": "q_r",
                "type": "ranking",
                "label": {"fi": "R"},
                "top_n": 2,
                "options": [
                    {"key": "o_zeta", "label": {"fi": "Z"}},
                    {"key": "o_alpha", "label": {"fi": "A"}},
                    {"key": "o_mid", "label": {"fi": "M"}},
                ],
            }
        ],
    }
    answers = [{"q_r": ["o_alpha", "o_zeta"]}, {"q_r": ["o_zeta", "o_alpha"]}]
    scores = aggregate(schema, answers)["q_r"]["scores"]
    assert [(s["key"], s["score"]) for s in scores] == [("o_zeta", 3), ("o_alpha", 3), ("o_mid", 0)]
    assert scores[2]["mean_position"] is None


def test_yes_no(result):
    assert result["q_resident"]["answered"] == 2
    assert result["q_resident"]["counts"] == [
        {"key": "yes", "count": 1, "share": 0.5},
        {"key": "no", "count": 1, "share": 0.5},
    ]


def test_number_odd_count(result):
    assert result["q_age"] == {
        "type": "number",
        "answered": 3,
        "count": 3,
        "mean": 30.0,
        "min": 20,
        "max": 40,
        "median": 30,
    }


def test_number_even_count_median_and_non_numbers_ignored(single):
    schema = single("number")
    values = [10, 1, 3, 2, True, "7", float("inf")]
    stats = aggregate(schema, ({"q_x": v} for v in values))["q_x"]
    assert (stats["count"], stats["mean"], stats["median"]) == (4, 4.0, 2.5)
    assert (stats["min"], stats["max"]) == (1, 10)


def test_dates_texts_email_consent(result):
    assert result["q_visit"]["counts"] == [
        {"date": "2025-01-15", "count": 1},
        {"date": "2025-03-01", "count": 2},
    ]
    assert result["q_name"] == {"type": "short_text", "answered": 2, "texts": ["Matti", "Liisa"]}
    assert result["q_story"] == {"type": "long_text", "answered": 0, "texts": []}
    assert result["q_email"] == {"type": "email", "answered": 1}  # never the addresses
    assert result["q_ok"] == {"type": "consent", "answered": 2, "count": 2}


def test_question_added_after_answers_existed(schema):
    newer = add_question(
        schema,
        {
            "key": "q_new",
            "type": "single_choice",
            "label": {"fi": "Uusi"},
            "options": [{"key": "o_x", "label": {"fi": "x"}}, {"key": "o_y", "label": {"fi": "y"}}],
        },
    )
    stats = aggregate(newer, [*ANSWERS, {"q_new": "o_y"}])
    assert stats["q_new"]["answered"] == 1
    assert stats["q_new"]["counts"][1] == {"key": "o_y", "count": 1, "share": 1.0}
    assert stats["q_area"]["answered"] == 3
    empty = aggregate(newer, ANSWERS)["q_new"]
    assert empty["answered"] == 0
    assert empty["counts"][0] == {"key": "o_x", "count": 0, "share": 0.0}


def test_ten_thousand_answers_from_a_generator_are_not_all_kept(schema):
    def rows() -> Iterator[dict[str, Any]]:
        for i in range(10_000):
            yield {
                "q_area": ("o_north", "o_south")[i % 2],
                "q_rate": i % 5 + 1,
                "q_age": i % 100,
                "q_rank": ["o_road", "o_pool", "o_park"],
                "q_email": f"person{i}@example.fi",
                "padding": "x" * 500,
            }

    tracemalloc.start()
    try:
        stats = aggregate(schema, rows())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the rows alone would take several megabytes
    assert stats["q_area"]["counts"][0]["count"] == 5_000
    assert stats["q_rate"]["mean"] == 3.0
    assert stats["q_age"]["median"] == 49.5
    assert stats["q_rank"]["scores"][0] == {
        "key": "o_road",
        "score": 30_000,
        "first_place": 10_000,
        "mean_position": 1.0,
        "ranked_by": 10_000,
    }
    assert stats["q_email"] == {"type": "email", "answered": 10_000}
