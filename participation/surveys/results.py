"""A survey's results: per question the counts, shares, distributions, rank scores and free
texts, filtered by source, association category or an answer to another question; hiding a
free text from the public results; publishing the results.

`survey_results` returns plain data (no ORM objects), so the staff page, the public page and
the results PDF render the same figures. Its query count does not depend on the number of
answers: the survey's answers come in one query and are tallied in Python with the form
engine's `aggregate`.

Small groups: when a filter is on and fewer than MIN_GROUP answers match, no figures are
shown for that view, so nobody is recognisable from a narrow slice of the answers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.aggregate import aggregate
from forms.schema import text as localised
from participation.errors import Invalid, NotFound
from participation.formbuilder.models import SOURCES, FormDefinition, FormResponse
from participation.pagination import Page
from participation.register.models import Category
from participation.surveys.models import HiddenText, Survey, SurveyAnswer

# Fewer answers than this in a filtered view are not shown (anonymity of small groups).
MIN_GROUP = 5
TEXTS_PER_PAGE = 20
SEARCH_MAX = 100
REASON_MAX = 500
NO_CATEGORY = "none"
# Question types an answer filter can use: those with a fixed set of answers.
FILTER_TYPES = ("single_choice", "multiple_choice", "yes_no")
CHOICE_TYPES = ("single_choice", "multiple_choice", "yes_no")
TEXT_TYPES = ("short_text", "long_text")


def fold(value: str | None) -> str:
    """For case-insensitive search: NFC first, so a decomposed "ä" (a + combining diaeresis,
    as some keyboards and pastes give) matches a composed one; then casefold (Ä → ä)."""
    return " ".join(unicodedata.normalize("NFC", value or "").casefold().split())


# --- filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFilters:
    source: str = ""  # "", "web" or "paper"
    category: str = ""  # "", NO_CATEGORY or a category id
    answer: str = ""  # "", or "<question key>:<option key>" ("yes"/"no" for yes/no questions)

    def as_args(self) -> dict[str, str]:
        """The non-default values as query arguments, for links and forms."""
        args = {"source": self.source, "category": self.category, "answer": self.answer}
        return {k: v for k, v in args.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.as_args())

    @property
    def answer_parts(self) -> tuple[str, str]:
        key, _sep, option = self.answer.partition(":")
        return key, option


def parse_filters(args: Mapping[str, Any]) -> ResultFilters:
    """Filters from query arguments; anything malformed falls back to "all". An answer filter
    naming an unknown question simply matches nobody, which the small-group rule then covers."""
    source = str(args.get("source") or "")
    category = str(args.get("category") or "")
    if category != NO_CATEGORY and not (category.isdigit() and len(category) < 12):
        category = ""
    answer = str(args.get("answer") or "")[:140]
    key, sep, option = answer.partition(":")
    if not (sep and key.startswith("q_") and option):
        answer = ""
    return ResultFilters(
        source=source if source in SOURCES else "", category=category, answer=answer
    )


# --- the result data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One row of a chart: `share` is 0..1 of the question's base, None when not a share."""

    label: str
    count: int
    share: float | None


@dataclass(frozen=True)
class RankRow:
    place: int  # ties share a place: 1, 1, 3
    label: str
    score: int
    first_place: int
    ranked_by: int
    mean_position: str  # formatted, "" when nobody ranked it


@dataclass(frozen=True)
class TextItem:
    answer_id: int
    question_key: str
    text: str
    hidden: bool
    reason: str


@dataclass(frozen=True)
class QuestionResult:
    number: int
    key: str
    label: str
    type: str
    # Answers that could answer it (see _first_versions), those that did, and the rest.
    eligible: int
    answered: int
    bars: list[Bar] = field(default_factory=list)
    ranks: list[RankRow] = field(default_factory=list)
    top_n: int | None = None
    mean: str = ""  # formatted for the locale
    mean_value: float | None = None
    minimum: str = ""
    maximum: str = ""
    scale: str = ""  # "1–5" for ratings
    texts: Page | None = None
    texts_found: int = 0  # matching the search (before paging)
    hidden_count: int = 0

    @property
    def skipped(self) -> int:
        return self.eligible - self.answered


@dataclass(frozen=True)
class FilterChoice:
    value: str
    label: str


@dataclass(frozen=True)
class AnswerFilterGroup:
    label: str
    choices: list[FilterChoice]


@dataclass(frozen=True)
class SurveyResults:
    survey_id: int
    title: str
    anonymous: bool
    public: bool
    filters: ResultFilters
    total: int  # all answers to the survey
    matching: int  # answers passing the filters
    # True when a filter is on and fewer than MIN_GROUP answers match: show no figures.
    suppressed: bool
    min_group: int
    questions: list[QuestionResult]
    text_query: str
    text_page: int
    by_source: list[Bar]
    # For the filter form.
    categories: list[FilterChoice]
    answer_filters: list[AnswerFilterGroup]


@dataclass(frozen=True)
class _Row:
    answer_id: int
    answered_on: dt.date
    category_id: int | None
    source: str
    answers: dict[str, Any]
    schema_version: int


def survey_form(session: Session, survey: Survey) -> FormDefinition:
    form = session.get(FormDefinition, survey.form_id)
    if form is None:  # the foreign key makes this a bug, not a user error
        raise NotFound(_("No such survey."))
    return form


def load_rows(session: Session, survey: Survey, form: FormDefinition) -> list[_Row]:
    """Every answer of the survey, oldest first, in one query."""
    yes_no = frozenset(q["key"] for q in form.questions if q["type"] == "yes_no")
    rows = session.execute(
        select(
            SurveyAnswer.id,
            SurveyAnswer.answered_on,
            SurveyAnswer.category_id,
            FormResponse.source,
            FormResponse.answers,
            FormResponse.schema_version,
        )
        .join(FormResponse, FormResponse.id == SurveyAnswer.response_id)
        .where(SurveyAnswer.survey_id == survey.id)
        .order_by(SurveyAnswer.id)
    ).all()
    return [_Row(r[0], r[1], r[2], r[3], _normalised(r[4], yes_no), r[5] or 1) for r in rows]


def _normalised(answers: Any, yes_no: frozenset[str]) -> dict[str, Any]:
    """The engine stores yes/no as true/false; accept "yes"/"no" too (imported or hand-made
    rows) so such an answer is counted rather than silently dropped."""
    if not isinstance(answers, Mapping):
        return {}
    out = dict(answers)
    for key in yes_no & out.keys():
        if out[key] in ("yes", "no"):
            out[key] = out[key] == "yes"
    return out


def _is_answered(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(isinstance(v, str) and v for v in value)
    return True


def _first_versions(questions: list[dict[str, Any]], rows: list[_Row]) -> dict[str, int]:
    """For each question, the lowest schema version among all answers that answered it.

    A schema keeps no history of when a question was added, but an answer records the schema
    version it was given against, and versions only grow. An answer given before a question
    existed cannot have answered it, so only answers at or after the first version anyone
    answered it under count as "could have answered" (the base of "did not answer"). If
    answers at that version all skipped it, they are counted out too: the count of skips is
    then a little low, never too high. A question nobody answered counts every answer."""
    first: dict[str, int] = {}
    if not rows:
        return first
    # A question answered at the lowest version there is cannot go lower: stop looking for it
    # (usually after a few rows, so this pass costs little on a big survey).
    lowest = min(row.schema_version for row in rows)
    pending = {q["key"] for q in questions}
    for row in rows:
        for key in list(pending):
            if _is_answered(row.answers.get(key)) and (
                key not in first or row.schema_version < first[key]
            ):
                first[key] = row.schema_version
                if first[key] == lowest:
                    pending.discard(key)
        if not pending:
            break
    return first


def _matches(row: _Row, flt: ResultFilters, questions: dict[str, dict[str, Any]]) -> bool:
    if flt.source and row.source != flt.source:
        return False
    if flt.category == NO_CATEGORY and row.category_id is not None:
        return False
    if flt.category.isdigit() and row.category_id != int(flt.category):
        return False
    if flt.answer:
        key, option = flt.answer_parts
        question = questions.get(key)
        if question is None or question["type"] not in FILTER_TYPES:
            return False
        value = row.answers.get(key)
        if question["type"] == "yes_no":
            return isinstance(value, bool) and value == (option == "yes")
        if question["type"] == "single_choice":
            return value == option
        return isinstance(value, list) and option in value
    return True


def _option_label(question: Mapping[str, Any], key: str, locale: str) -> str:
    if question["type"] == "yes_no":
        return _("Yes") if key == "yes" else _("No")
    for option in question.get("options") or []:
        if option["key"] == key:
            return localised(option["label"], locale)
    return key


def _number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, int) or float(value).is_integer():
        return format_decimal(int(value), format="#,##0")
    return format_decimal(value, format="#,##0." + "0" * digits)


def _places(scores: list[int]) -> list[int]:
    """Standard competition ranking: equal scores share a place, the next place skips."""
    places: list[int] = []
    for index, score in enumerate(scores):
        if index and score == scores[index - 1]:
            places.append(places[-1])
        else:
            places.append(index + 1)
    return places


def _text_items(
    question: Mapping[str, Any],
    rows: list[_Row],
    hidden: dict[tuple[int, str], str],
    *,
    public: bool,
    query: str,
    page: int,
) -> tuple[Page, int, int]:
    key = question["key"]
    items: list[TextItem] = []
    hidden_count = 0
    wanted = fold(query).split()
    for row in rows:
        value = row.answers.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        reason = hidden.get((row.answer_id, key))
        if reason is not None:
            hidden_count += 1
            if public:
                continue
        if wanted and not all(word in fold(value) for word in wanted):
            continue
        items.append(TextItem(row.answer_id, key, value.strip(), reason is not None, reason or ""))
    if public:
        # In answer order, texts would hint at who wrote when; alphabetical order hints nothing.
        items.sort(key=lambda item: fold(item.text))
        items = [TextItem(0, key, i.text, False, "") for i in items]
    pages = max(1, -(-len(items) // TEXTS_PER_PAGE))
    page = min(max(page, 1), pages)
    start = (page - 1) * TEXTS_PER_PAGE
    return (
        Page(items[start : start + TEXTS_PER_PAGE], page, TEXTS_PER_PAGE, len(items)),
        len(items),
        hidden_count,
    )


def _question_result(
    number: int,
    question: dict[str, Any],
    tally: dict[str, Any],
    rows: list[_Row],
    first_version: int | None,
    hidden: dict[tuple[int, str], str],
    *,
    locale: str,
    public: bool,
    text_query: str,
    text_page: int,
) -> QuestionResult:
    key, qtype = question["key"], question["type"]
    eligible = (
        len(rows)
        if first_version is None
        else sum(1 for r in rows if r.schema_version >= first_version)
    )
    base: dict[str, Any] = {
        "number": number,
        "key": key,
        "label": localised(question["label"], locale),
        "type": qtype,
        "eligible": eligible,
        "answered": tally["answered"],
    }
    if qtype in CHOICE_TYPES:
        # Shares of those who answered the question; for a multiple choice, of respondents
        # (so they may add up to more than 100 %).
        bars = [
            Bar(_option_label(question, c["key"], locale), c["count"], c["share"])
            for c in tally["counts"]
        ]
        return QuestionResult(**base, bars=bars)
    if qtype == "rating":
        bars = [Bar(str(d["value"]), d["count"], d["share"]) for d in tally["distribution"]]
        return QuestionResult(
            **base,
            bars=bars,
            mean=_number(tally["mean"], 2),
            mean_value=tally["mean"],
            scale=f"{question['scale_min']}–{question['scale_max']}",
        )
    if qtype == "ranking":
        # Borda count (the engine's): with top_n places, 1st gets top_n points, 2nd top_n - 1,
        # … the last ranked place 1 point; unranked options get nothing.
        scores = tally["scores"]
        places = _places([s["score"] for s in scores])
        ranks = [
            RankRow(
                place,
                _option_label(question, s["key"], locale),
                s["score"],
                s["first_place"],
                s["ranked_by"],
                _number(s["mean_position"], 1),
            )
            for place, s in zip(places, scores, strict=True)
        ]
        bars = [Bar(r.label, r.score, None) for r in ranks]
        return QuestionResult(**base, bars=bars, ranks=ranks, top_n=question["top_n"])
    if qtype == "number":
        return QuestionResult(
            **base,
            mean=_number(tally["mean"], 2),
            mean_value=tally["mean"],
            minimum=_number(tally["min"], 2),
            maximum=_number(tally["max"], 2),
        )
    if qtype == "date":
        bars = [
            Bar(dt.date.fromisoformat(c["date"]).strftime("%-d.%-m.%Y"), c["count"], None)
            for c in tally["counts"]
        ]
        return QuestionResult(**base, bars=bars)
    if qtype in TEXT_TYPES:
        texts, found, hidden_count = _text_items(
            question, rows, hidden, public=public, query=text_query, page=text_page
        )
        return QuestionResult(**base, texts=texts, texts_found=found, hidden_count=hidden_count)
    # e-mail and consent: how many answered, nothing more (addresses are personal data).
    return QuestionResult(**base)


def list_categories(session: Session, *, locale: str) -> list[FilterChoice]:
    rows = session.scalars(select(Category).order_by(Category.position, Category.id))
    return [FilterChoice(str(c.id), c.name(locale)) for c in rows]


def _answer_filters(questions: list[dict[str, Any]], locale: str) -> list[AnswerFilterGroup]:
    groups = []
    for q in questions:
        if q["type"] not in FILTER_TYPES:
            continue
        keys = ["yes", "no"] if q["type"] == "yes_no" else [o["key"] for o in q["options"]]
        groups.append(
            AnswerFilterGroup(
                localised(q["label"], locale),
                [FilterChoice(f"{q['key']}:{k}", _option_label(q, k, locale)) for k in keys],
            )
        )
    return groups


def _hidden_texts(session: Session, survey: Survey) -> dict[tuple[int, str], str]:
    rows = session.execute(
        select(HiddenText.answer_id, HiddenText.question_key, HiddenText.reason)
        .join(SurveyAnswer, SurveyAnswer.id == HiddenText.answer_id)
        .where(SurveyAnswer.survey_id == survey.id)
    ).all()
    return {(a, k): reason for a, k, reason in rows}


def survey_results(
    session: Session,
    survey: Survey,
    *,
    filters: ResultFilters,
    public: bool,
    text_page: int = 1,
    text_query: str = "",
    locale: str = "fi",
) -> SurveyResults:
    """The survey's results under `filters`. With `public`, hidden texts are left out and
    texts carry no answer ids. Four queries (form, answers, hidden texts, categories) whatever
    the number of answers."""
    with _no_gc_pauses():
        return _survey_results(
            session,
            survey,
            filters=filters,
            public=public,
            text_page=text_page,
            text_query=text_query,
            locale=locale,
        )


@contextlib.contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Loading and tallying makes many small objects that all live to the end; the cyclic
    collector would walk them again and again as they pile up (time growing faster than the
    answers). Nothing made here forms cycles, so it waits until the results are made."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _survey_results(
    session: Session,
    survey: Survey,
    *,
    filters: ResultFilters,
    public: bool,
    text_page: int,
    text_query: str,
    locale: str,
) -> SurveyResults:
    form = survey_form(session, survey)
    questions = [q for q in form.questions if q["type"] != "info"]
    by_key = {q["key"]: q for q in questions}
    rows = load_rows(session, survey, form)
    hidden = _hidden_texts(session, survey)
    first = _first_versions(questions, rows)
    matching = [r for r in rows if _matches(r, filters, by_key)]
    suppressed = filters.active and len(matching) < MIN_GROUP
    text_query = " ".join(text_query.split())[:SEARCH_MAX]
    results: list[QuestionResult] = []
    by_source: list[Bar] = []
    if not suppressed:
        tallies = aggregate(form.schema, (r.answers for r in matching))
        for number, question in enumerate(questions, start=1):
            results.append(
                _question_result(
                    number,
                    question,
                    tallies[question["key"]],
                    matching,
                    first.get(question["key"]),
                    hidden,
                    locale=locale,
                    public=public,
                    text_query=text_query,
                    text_page=text_page,
                )
            )
        labels = {"web": _("Online"), "paper": _("On paper")}
        by_source = [
            Bar(
                labels[s],
                n := sum(1 for r in matching if r.source == s),
                n / len(matching) if matching else 0.0,
            )
            for s in SOURCES
        ]
    return SurveyResults(
        survey_id=survey.id,
        title=survey.title,
        anonymous=survey.anonymous,
        public=public,
        filters=filters,
        total=len(rows),
        matching=len(matching),
        suppressed=suppressed,
        min_group=MIN_GROUP,
        questions=results,
        text_query=text_query,
        text_page=text_page,
        by_source=by_source,
        categories=[] if public else list_categories(session, locale=locale),
        answer_filters=[] if public else _answer_filters(questions, locale),
    )


# --- hiding texts and publishing ------------------------------------------------------------


def _answer_of(session: Session, survey: Survey, answer_id: int, question_key: str) -> SurveyAnswer:
    answer = session.get(SurveyAnswer, answer_id)
    if answer is None or answer.survey_id != survey.id:
        raise NotFound(_("No such answer."))
    form = survey_form(session, survey)
    if not any(q["key"] == question_key and q["type"] in TEXT_TYPES for q in form.questions):
        raise NotFound(_("No such question."))
    return answer


def hide_text(
    session: Session,
    survey: Survey,
    answer_id: int,
    question_key: str,
    *,
    reason: str,
    staff_user_id: int | None,
    now: dt.datetime,
) -> HiddenText:
    """Hide one free-text answer from the public results, with the reason staff will see.
    Hiding it again replaces the reason. Raises NotFound for an answer or question not of this
    survey, Invalid (field "reason") for a missing or too long reason."""
    answer = _answer_of(session, survey, answer_id, question_key)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid(
            _("Say why the text is hidden."), {"reason": [_("Say why the text is hidden.")]}
        )
    if len(reason) > REASON_MAX:
        message = _("Use at most %(n)s characters.", n=REASON_MAX)
        raise Invalid(message, {"reason": [message]})
    row = session.scalar(
        select(HiddenText).where(
            HiddenText.answer_id == answer.id, HiddenText.question_key == question_key
        )
    )
    if row is None:
        row = HiddenText(answer_id=answer.id, question_key=question_key)
        session.add(row)
    row.reason, row.hidden_at, row.hidden_by_id = reason, now, staff_user_id
    session.flush()
    return row


def unhide_text(session: Session, survey: Survey, answer_id: int, question_key: str) -> None:
    """Show a hidden text in the public results again (nothing happens if it was not hidden).
    Raises NotFound for an answer or question not of this survey."""
    answer = _answer_of(session, survey, answer_id, question_key)
    row = session.scalar(
        select(HiddenText).where(
            HiddenText.answer_id == answer.id, HiddenText.question_key == question_key
        )
    )
    if row is not None:
        session.delete(row)
        session.flush()


def text_item(session: Session, survey: Survey, answer_id: int, question_key: str) -> TextItem:
    """One free text as the staff page shows it (for the htmx swap after hiding).
    Raises NotFound like hide_text, also when the answer left this question empty."""
    answer = _answer_of(session, survey, answer_id, question_key)
    response = session.get(FormResponse, answer.response_id)
    value = (response.answers or {}).get(question_key) if response else None
    if not isinstance(value, str) or not value.strip():
        raise NotFound(_("No such answer."))
    row = session.scalar(
        select(HiddenText).where(
            HiddenText.answer_id == answer.id, HiddenText.question_key == question_key
        )
    )
    return TextItem(
        answer.id, question_key, value.strip(), row is not None, row.reason if row else ""
    )


def publish_results(session: Session, survey: Survey, *, now: dt.datetime) -> None:
    """Show the results on the public results page (hidden texts never there)."""
    survey.results_published_at = now
    survey.updated_at = now
    session.flush()


def unpublish_results(session: Session, survey: Survey, *, now: dt.datetime) -> None:
    survey.results_published_at = None
    survey.updated_at = now
    session.flush()
