"""Summaries of stored answers for reports.

One pass over the answers, holding only counters (and free texts, which are
reported verbatim), so a generator over thousands of rows stays cheap.
Values that do not fit the current schema (deleted options, out-of-scale
ratings, unknown keys) are skipped: the report describes the form as it is now.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from forms.schema import validate_schema


def _share(count: int, answered: int) -> float:
    return count / answered if answered else 0.0


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Tally:
    """Accumulates one question; ``add`` returns whether the value counted as an answer."""

    def __init__(self, question: Mapping[str, Any]) -> None:
        self.question = question
        self.answered = 0

    def add(self, value: Any) -> None:
        if self._add(value):
            self.answered += 1

    def _add(self, value: Any) -> bool:
        raise NotImplementedError

    def result(self) -> dict[str, Any]:
        return {"type": self.question["type"], "answered": self.answered, **self._result()}

    def _result(self) -> dict[str, Any]:
        return {}


class _ChoiceTally(_Tally):
    """single_choice, multiple_choice and yes_no (options "yes" and "no")."""

    def __init__(self, question: Mapping[str, Any]) -> None:
        super().__init__(question)
        if question["type"] == "yes_no":
            self.keys = ["yes", "no"]
        else:
            self.keys = [o["key"] for o in question["options"]]
        self.counts: Counter[str] = Counter()

    def _add(self, value: Any) -> bool:
        qtype = self.question["type"]
        if qtype == "yes_no":
            if not isinstance(value, bool):
                return False
            chosen = {"yes" if value else "no"}
        elif qtype == "single_choice":
            chosen = {value} if isinstance(value, str) else set()
        else:
            chosen = {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()
        chosen = {key for key in chosen if key in self.keys}
        self.counts.update(chosen)
        return bool(chosen)

    def _result(self) -> dict[str, Any]:
        return {
            "counts": [
                {"key": k, "count": self.counts[k], "share": _share(self.counts[k], self.answered)}
                for k in self.keys
            ]
        }


class _RatingTally(_Tally):
    def __init__(self, question: Mapping[str, Any]) -> None:
        super().__init__(question)
        self.counts: Counter[int] = Counter()

    def _add(self, value: Any) -> bool:
        low, high = self.question["scale_min"], self.question["scale_max"]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            return False
        self.counts[value] += 1
        return True

    def _result(self) -> dict[str, Any]:
        total = sum(value * count for value, count in self.counts.items())
        steps = range(self.question["scale_min"], self.question["scale_max"] + 1)
        return {
            "count": self.answered,
            "mean": total / self.answered if self.answered else None,
            "distribution": [
                {
                    "value": v,
                    "count": self.counts[v],
                    "share": _share(self.counts[v], self.answered),
                }
                for v in steps
            ],
        }


class _RankingTally(_Tally):
    """Borda count: position p of top_n earns top_n - p + 1 points."""

    def __init__(self, question: Mapping[str, Any]) -> None:
        super().__init__(question)
        self.keys = [o["key"] for o in question["options"]]
        self.score: Counter[str] = Counter()
        self.first_place: Counter[str] = Counter()
        self.position_sum: Counter[str] = Counter()
        self.ranked_by: Counter[str] = Counter()

    def _add(self, value: Any) -> bool:
        if not isinstance(value, list):
            return False
        top_n = self.question["top_n"]
        seen: set[str] = set()
        # Positions are the stored ones: a deleted option leaves a gap rather
        # than promoting the options ranked below it.
        for position, key in enumerate(value[:top_n], start=1):
            if not isinstance(key, str) or key not in self.keys or key in seen:
                continue
            seen.add(key)
            self.score[key] += top_n - position + 1
            self.position_sum[key] += position
            self.ranked_by[key] += 1
            if position == 1:
                self.first_place[key] += 1
        return bool(seen)

    def _result(self) -> dict[str, Any]:
        order = {key: index for index, key in enumerate(self.keys)}
        ranked = sorted(self.keys, key=lambda k: (-self.score[k], order[k]))
        return {
            "scores": [
                {
                    "key": k,
                    "score": self.score[k],
                    "first_place": self.first_place[k],
                    "mean_position": (
                        self.position_sum[k] / self.ranked_by[k] if self.ranked_by[k] else None
                    ),
                    "ranked_by": self.ranked_by[k],
                }
                for k in ranked
            ]
        }


class _NumberTally(_Tally):
    """Keeps a Counter of values: enough for the median, and small when values repeat."""

    def __init__(self, question: Mapping[str, Any]) -> None:
        super().__init__(question)
        self.values: Counter[int | float] = Counter()

    def _add(self, value: Any) -> bool:
        if not _is_number(value):
            return False
        self.values[value] += 1
        return True

    def _median(self) -> int | float | None:
        if not self.answered:
            return None
        wanted = {(self.answered - 1) // 2, self.answered // 2}
        found: list[int | float] = []
        seen = 0
        for value, count in sorted(self.values.items()):
            found.extend(value for index in wanted if seen <= index < seen + count)
            seen += count
        low, high = min(found), max(found)
        return low if low == high else (low + high) / 2

    def _result(self) -> dict[str, Any]:
        total = sum(value * count for value, count in self.values.items())
        return {
            "count": self.answered,
            "mean": total / self.answered if self.answered else None,
            "min": min(self.values) if self.values else None,
            "max": max(self.values) if self.values else None,
            "median": self._median(),
        }


class _DateTally(_Tally):
    def __init__(self, question: Mapping[str, Any]) -> None:
        super().__init__(question)
        self.counts: Counter[str] = Counter()

    def _add(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            day = date.fromisoformat(value).isoformat()
        except ValueError:
            return False
        self.counts[day] += 1
        return True

    def _result(self) -> dict[str, Any]:
        return {"counts": [{"date": d, "count": c} for d, c in sorted(self.counts.items())]}


class _TextTally(_Tally):
    def __init__(self, question: Mapping[str, Any]) -> None:
        super().__init__(question)
        self.texts: list[str] = []

    def _add(self, value: Any) -> bool:
        if not isinstance(value, str) or not value.strip():
            return False
        self.texts.append(value)
        return True

    def _result(self) -> dict[str, Any]:
        return {"texts": self.texts}


class _EmailTally(_Tally):
    """Counts only: addresses are personal data and never belong in a report."""

    def _add(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value.strip())


class _ConsentTally(_Tally):
    def _add(self, value: Any) -> bool:
        return value is True

    def _result(self) -> dict[str, Any]:
        # Consent is only ever stored as given, so every answer is a consent.
        return {"count": self.answered}


_TALLIES: dict[str, type[_Tally]] = {
    "short_text": _TextTally,
    "long_text": _TextTally,
    "single_choice": _ChoiceTally,
    "multiple_choice": _ChoiceTally,
    "yes_no": _ChoiceTally,
    "rating": _RatingTally,
    "ranking": _RankingTally,
    "number": _NumberTally,
    "date": _DateTally,
    "email": _EmailTally,
    "consent": _ConsentTally,
}


def aggregate(schema: Mapping[str, Any], answers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """{question key: summary} for every answerable question, in schema order."""
    tallies = {
        q["key"]: _TALLIES[q["type"]](q)
        for q in validate_schema(schema)["questions"]
        if q["type"] != "info"
    }
    for answer in answers:
        if not isinstance(answer, Mapping):
            continue
        for key, value in answer.items():
            tally = tallies.get(key)
            if tally is not None:
                tally.add(value)
    return {key: tally.result() for key, tally in tallies.items()}
