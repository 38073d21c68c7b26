"""Survey results against figures worked out by hand: every question type, ties in rankings,
skipped questions, a question added after answers existed, filters, the small-group rule and
a query count that does not grow with the number of answers."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from participation.formbuilder import services as formbuilder
from participation.formbuilder.models import FormDefinition
from participation.register.models import Category
from participation.surveys import results
from participation.surveys.models import Survey
from participation.surveys.results import ResultFilters, survey_results
from tests.surveys.factories import add_answer, make_survey


def _questions(db: Session, survey: Survey) -> list[dict[str, Any]]:
    form = db.get(FormDefinition, survey.form_id)
    assert form is not None
    return form.questions


def _options(question: dict[str, Any]) -> list[str]:
    return [o["key"] for o in question["options"]]


@pytest.fixture
def survey(db: Session, now: dt.datetime) -> tuple[Survey, dict[str, Any]]:
    """The default survey with five answers (the figures below are worked out from these)."""
    s = make_survey(db, now=now)
    single, multiple, rating, ranking, yes_no, short, long_ = _questions(db, s)
    a, b, _c = _options(single)
    m1, m2, m3, _m4 = _options(multiple)
    r1, r2, r3, r4 = _options(ranking)
    rows: list[dict[str, Any]] = [
        {
            single["key"]: a,
            multiple["key"]: [m1, m2],
            rating["key"]: 5,
            ranking["key"]: [r1, r2, r3],
            yes_no["key"]: True,
            short["key"]: "Ämmälän kylä",
            long_["key"]: "<script>alert(1)</script>",
        },
        {
            single["key"]: a,
            multiple["key"]: [m1],
            rating["key"]: 4,
            ranking["key"]: [r2, r1, r4],
            yes_no["key"]: False,
            short["key"]: "ammala",
            long_["key"]: '=HYPERLINK("http://example.org")',
        },
        # Hand-made rows may hold yes/no as "yes"/"no": counted all the same.
        {single["key"]: b, multiple["key"]: [m1, m3], rating["key"]: 2, yes_no["key"]: "yes"},
        {multiple["key"]: [m2], yes_no["key"]: True, short["key"]: "   "},
        {single["key"]: a, rating["key"]: 4},
    ]
    answers = [
        add_answer(db, s, row, now=now, source="paper" if i == 4 else "web")
        for i, row in enumerate(rows)
    ]
    keys = {
        "single": single,
        "multiple": multiple,
        "rating": rating,
        "ranking": ranking,
        "yes_no": yes_no,
        "short": short,
        "long": long_,
        "answers": answers,
        "r": (r1, r2, r3, r4),
    }
    return s, keys


def _by_key(res: results.SurveyResults) -> dict[str, results.QuestionResult]:
    return {q.key: q for q in res.questions}


def _bars(q: results.QuestionResult) -> list[tuple[str, int, float | None]]:
    return [(b.label, b.count, b.share) for b in q.bars]


def test_every_question_type_against_hand_counts(db: Session, survey: Any) -> None:
    s, k = survey
    res = survey_results(db, s, filters=ResultFilters(), public=False)
    assert (res.total, res.matching, res.suppressed) == (5, 5, False)
    q = _by_key(res)

    single = q[k["single"]["key"]]
    assert (single.eligible, single.answered, single.skipped) == (5, 4, 1)
    # The base of a share is the number who answered the question (4), not all 5.
    assert _bars(single) == [
        ("Uutiskirjeestä", 3, 0.75),
        ("Yhdistykseltä", 1, 0.25),
        ("Somesta", 0, 0.0),
    ]

    multiple = q[k["multiple"]["key"]]
    assert (multiple.answered, multiple.skipped) == (4, 1)
    # Shares per respondent: they add up to more than 100 %.
    assert _bars(multiple) == [
        ("Avustukset", 3, 0.75),
        ("Tilat", 2, 0.5),
        ("Vapaaehtoistyö", 1, 0.25),
        ("Viestintä", 0, 0.0),
    ]

    rating = q[k["rating"]["key"]]
    assert (rating.answered, rating.skipped) == (4, 1)
    assert rating.mean_value == pytest.approx(15 / 4)
    assert rating.mean == "3,75"  # Finnish, the default locale
    assert _bars(rating) == [
        ("1", 0, 0.0),
        ("2", 1, 0.25),
        ("3", 0, 0.0),
        ("4", 2, 0.5),
        ("5", 1, 0.25),
    ]

    yes_no = q[k["yes_no"]["key"]]
    assert (yes_no.answered, yes_no.skipped) == (4, 1)
    assert [(b.count, b.share) for b in yes_no.bars] == [(3, 0.75), (1, 0.25)]

    short = q[k["short"]["key"]]
    # A text of spaces is no answer.
    assert (short.answered, short.skipped) == (2, 3)
    assert [t.text for t in short.texts.items] == ["Ämmälän kylä", "ammala"]

    long_ = q[k["long"]["key"]]
    assert [t.text for t in long_.texts.items] == [
        "<script>alert(1)</script>",
        '=HYPERLINK("http://example.org")',
    ]


def test_ranking_scores_ties_and_first_places(db: Session, survey: Any) -> None:
    s, k = survey
    r1, r2, r3, r4 = k["r"]
    ranking = _by_key(survey_results(db, s, filters=ResultFilters(), public=False))[
        k["ranking"]["key"]
    ]
    # Top 3 of 4: 1st 3 points, 2nd 2, 3rd 1. Answer 1: R1 3, R2 2, R3 1; answer 2: R2 3, R1 2,
    # R4 1. So R1 = R2 = 5 (tied first), R3 = R4 = 1 (tied third); three skipped.
    assert (ranking.answered, ranking.skipped, ranking.top_n) == (2, 3, 3)
    rows = [(r.place, r.label, r.score, r.first_place, r.ranked_by) for r in ranking.ranks]
    assert rows == [
        (1, "Foorumit", 5, 1, 2),
        (1, "Uutiskirje", 5, 1, 2),
        (3, "Avustukset", 1, 0, 1),
        (3, "Tilat", 1, 0, 1),
    ]
    assert ranking.ranks[0].mean_position == "1,5"
    assert [(b.label, b.count, b.share) for b in ranking.bars][:2] == [
        ("Foorumit", 5, None),
        ("Uutiskirje", 5, None),
    ]


def test_question_added_after_answers_counts_only_those_who_could_answer(
    db: Session, now: dt.datetime
) -> None:
    s = make_survey(db, now=now, questions=[{"question_type": "rating", "label_fi": "Arvio"}])
    (rating,) = _questions(db, s)
    for value in (1, 2, 3):
        add_answer(db, s, {rating["key"]: value}, now=now)
    form = db.get(FormDefinition, s.form_id)
    number_key = formbuilder.add_question(
        db, form, {"question_type": "number", "label_fi": "Montako kertaa?"}, now=now
    )
    add_answer(db, s, {rating["key"]: 5, number_key: 10}, now=now)
    add_answer(db, s, {number_key: 20}, now=now)
    add_answer(db, s, {rating["key"]: 4}, now=now)

    q = _by_key(survey_results(db, s, filters=ResultFilters(), public=False))
    number = q[number_key]
    # Asked of the three later answers only: two answered, one did not; the three earlier
    # answers never saw it and are not counted as skipping it.
    assert (number.eligible, number.answered, number.skipped) == (3, 2, 1)
    assert (number.mean, number.minimum, number.maximum) == ("15", "10", "20")
    assert number.mean_value == 15
    rating_result = q[rating["key"]]
    assert (rating_result.eligible, rating_result.answered, rating_result.skipped) == (6, 5, 1)
    assert rating_result.mean_value == pytest.approx((1 + 2 + 3 + 5 + 4) / 5)


def test_text_search_is_case_insensitive_with_umlauts_and_pages(
    db: Session, survey: Any, now: dt.datetime
) -> None:
    s, k = survey
    key = k["short"]["key"]

    def found(query: str) -> list[str]:
        res = survey_results(db, s, filters=ResultFilters(), public=False, text_query=query)
        return [t.text for t in _by_key(res)[key].texts.items]

    assert found("ÄMMÄLÄ") == ["Ämmälän kylä"]
    # Decomposed ä (a + combining diaeresis) finds the composed one.
    assert found(unicodedata.normalize("NFD", "ämmälän")) == ["Ämmälän kylä"]
    assert found("AMMALA") == ["ammala"]
    assert found("kylä ämmälän") == ["Ämmälän kylä"]
    assert found("nothing") == []

    for n in range(results.TEXTS_PER_PAGE + 3):
        add_answer(db, s, {key: f"teksti {n:02d}"}, now=now)
    res = survey_results(db, s, filters=ResultFilters(), public=False, text_page=2)
    texts = _by_key(res)[key].texts
    assert (texts.page, texts.pages, texts.total, len(texts.items)) == (2, 2, 25, 5)
    # A page past the end shows the last one.
    res = survey_results(db, s, filters=ResultFilters(), public=False, text_page=99)
    assert _by_key(res)[key].texts.page == 2


def test_hidden_texts_left_out_when_public_and_marked_for_staff(
    db: Session, survey: Any, now: dt.datetime
) -> None:
    s, k = survey
    key = k["long"]["key"]
    first = k["answers"][0]
    results.hide_text(db, s, first.id, key, reason="Ei asiaa", staff_user_id=None, now=now)

    staff = _by_key(survey_results(db, s, filters=ResultFilters(), public=False))[key]
    assert [(t.text, t.hidden, t.reason) for t in staff.texts.items][0] == (
        "<script>alert(1)</script>",
        True,
        "Ei asiaa",
    )
    assert staff.hidden_count == 1
    public = _by_key(survey_results(db, s, filters=ResultFilters(), public=True))[key]
    assert [t.text for t in public.texts.items] == ['=HYPERLINK("http://example.org")']
    # Nothing on the public side points to an answer.
    assert all(t.answer_id == 0 for t in public.texts.items)
    # Still counted as an answer: hiding keeps it out of view, not out of the figures.
    assert public.answered == 2

    results.unhide_text(db, s, first.id, key)
    public = _by_key(survey_results(db, s, filters=ResultFilters(), public=True))[key]
    assert len(public.texts.items) == 2


def test_hide_needs_a_reason_and_a_text_question_of_this_survey(
    db: Session, survey: Any, now: dt.datetime
) -> None:
    s, k = survey
    answer = k["answers"][0]
    with pytest.raises(results.Invalid) as exc:
        results.hide_text(
            db, s, answer.id, k["long"]["key"], reason="  ", staff_user_id=None, now=now
        )
    assert "reason" in exc.value.errors
    with pytest.raises(results.NotFound):
        results.hide_text(
            db, s, answer.id, k["single"]["key"], reason="x", staff_user_id=None, now=now
        )
    other = make_survey(db, now=now, title="Toinen")
    with pytest.raises(results.NotFound):
        results.hide_text(
            db, other, answer.id, k["long"]["key"], reason="x", staff_user_id=None, now=now
        )


def _category(db: Session, key: str) -> Category:
    category = Category(key=key, name_fi=f"Luokka {key}", position=99)
    db.add(category)
    db.flush()
    return category


def test_filters_and_the_small_group_rule(db: Session, now: dt.datetime) -> None:
    s = make_survey(db, now=now)
    single, _m, rating, _r, yes_no, *_texts = _questions(db, s)
    a, b, _c = _options(single)
    sports, culture = _category(db, "t_sports"), _category(db, "t_culture")
    # Six web answers from sports clubs (single A, yes, rating 4), two paper answers from
    # culture (single B, no, rating 2), one web answer without a category (A, rating 5).
    for _ in range(6):
        add_answer(
            db,
            s,
            {single["key"]: a, yes_no["key"]: True, rating["key"]: 4},
            now=now,
            category_id=sports.id,
        )
    for _ in range(2):
        add_answer(
            db,
            s,
            {single["key"]: b, yes_no["key"]: False, rating["key"]: 2},
            now=now,
            source="paper",
            category_id=culture.id,
        )
    add_answer(db, s, {single["key"]: a, rating["key"]: 5}, now=now)

    def run(**flt: str) -> results.SurveyResults:
        return survey_results(db, s, filters=ResultFilters(**flt), public=False)

    everyone = run()
    assert (everyone.matching, everyone.suppressed) == (9, False)
    assert [b.count for b in everyone.by_source] == [7, 2]

    web = run(source="web")
    assert (web.matching, web.suppressed) == (7, False)
    assert _by_key(web)[rating["key"]].mean_value == pytest.approx((6 * 4 + 5) / 7)

    sports_only = run(category=str(sports.id))
    assert sports_only.matching == 6
    assert _bars(_by_key(sports_only)[single["key"]])[0] == ("Uutiskirjeestä", 6, 1.0)

    said_yes = run(answer=f"{yes_no['key']}:yes")
    assert (said_yes.matching, said_yes.suppressed) == (6, False)
    chose_a = run(answer=f"{single['key']}:{a}")
    assert chose_a.matching == 7
    assert _by_key(chose_a)[yes_no["key"]].skipped == 1

    # Fewer than five: no figures at all for the filtered view.
    for small in (
        run(source="paper"),
        run(category=str(culture.id)),
        run(category="none"),
        run(answer=f"{yes_no['key']}:no"),
        run(answer=f"{single['key']}:{b}", source="paper"),
        run(answer="q_nosuch:o_x"),
    ):
        assert small.suppressed
        assert small.questions == [] and small.by_source == []
        assert small.matching < results.MIN_GROUP

    # Without a filter a small survey is shown: the rule is about slicing, not about size.
    tiny = make_survey(db, now=now, title="Pieni")
    add_answer(db, tiny, {}, now=now)
    assert not survey_results(db, tiny, filters=ResultFilters(), public=True).suppressed


def test_parse_filters_drops_malformed_values() -> None:
    flt = results.parse_filters(
        {"source": "fax", "category": "1; DROP", "answer": "nonsense", "other": "x"}
    )
    assert flt == ResultFilters() and not flt.active
    flt = results.parse_filters({"source": "paper", "category": "none", "answer": "q_ab:o_cd"})
    assert flt.as_args() == {"source": "paper", "category": "none", "answer": "q_ab:o_cd"}
    assert flt.answer_parts == ("q_ab", "o_cd")


@pytest.fixture
def count_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.extensions["db_engine"]

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    yield statements
    event.remove(engine, "before_cursor_execute", listener)


def test_query_count_does_not_grow_with_answers(
    db: Session, now: dt.datetime, count_queries: list[str]
) -> None:
    def queries_for(n: int) -> int:
        s = make_survey(db, now=now, title=f"Kysely {n}")
        single, multiple, rating, ranking, yes_no, short, long_ = _questions(db, s)
        for i in range(n):
            answer = add_answer(
                db,
                s,
                {
                    single["key"]: _options(single)[i % 3],
                    multiple["key"]: _options(multiple)[: 1 + i % 4],
                    rating["key"]: 1 + i % 5,
                    ranking["key"]: _options(ranking)[:3],
                    yes_no["key"]: i % 2 == 0,
                    short["key"]: f"vastaus {i}",
                    long_["key"]: "pitkä " * (i % 7),
                },
                now=now,
                source="paper" if i % 5 == 0 else "web",
            )
        results.hide_text(db, s, answer.id, short["key"], reason="x", staff_user_id=None, now=now)
        db.expire_all()  # nothing served from the identity map
        count_queries.clear()
        survey_results(db, s, filters=ResultFilters(source="web"), public=False)
        survey_results(db, s, filters=ResultFilters(), public=True, text_query="vastaus")
        return len(count_queries)

    small, large = queries_for(10), queries_for(200)
    assert small == large
    assert large <= 12
