"""Benchmark: a burst of survey answers through the whole app against a bare Flask insert.

For each database (SQLite in a temporary directory, then a fresh PostgreSQL database on
127.0.0.1) one open, anonymous, one-page survey with a public link is made with the 15 questions
of bench/survey_results.py (every question type), and two servers are run with gunicorn and 2
sync workers, loaded in alternating turns (the load generator, the servers and the turns are
those of bench/comment_post.py, its warm-up included):

- "ours": the app itself; every virtual client first GETs the survey page for its session cookie
  and CSRF token, then sends complete answers again and again, each with a new submission key:
  CSRF check, rate limiter, the form engine checking all 15 answers, the anonymous insert (the
  day only) and the redirect to the thank-you page;
- "bare": the comment benchmark's one-route Flask app that inserts one row.

Only a redirect to the thank-you page counts as a stored answer: a page that comes back with
the form (an error, an expired token) does not, whatever its status. Afterwards the answers in
the database must be exactly the thanked ones (each carries its own marker), each equal to what
the form engine makes of the answers sent.

    pip install -e '.[bench]'
    python bench/survey_submit.py                # both databases
    python bench/survey_submit.py sqlite         # or only one
    # prints submissions/s and p95 per database; last line ratio=ours/bare (the lowest)

Target: ratio >= 0.5.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import comment_post as bench  # noqa: E402  (the load generator and the servers)
from survey_results import QUESTIONS  # noqa: E402  (15 questions, every type)

DURATION = float(os.environ.get("BENCH_DURATION", 20))
PG_DB = "bench_survey_submit"
MARKER_PREFIX = "Penkki "


def answer_values(schema_questions: list[dict[str, Any]]) -> dict[str, Any]:
    """One complete answer in the engine's JSON shapes (the short text gets a marker later)."""
    values: dict[str, Any] = {}
    for n, q in enumerate(schema_questions):
        keys = [o["key"] for o in q.get("options") or []]
        t = q["type"]
        if t == "single_choice":
            values[q["key"]] = keys[n % len(keys)]
        elif t == "multiple_choice":
            values[q["key"]] = keys[::2]
        elif t == "rating":
            values[q["key"]] = q["scale_max"] - 1
        elif t == "ranking":
            values[q["key"]] = [keys[2], keys[0], keys[4]][: q["top_n"]]
        elif t == "yes_no":
            values[q["key"]] = n % 2 == 0
        elif t == "number":
            values[q["key"]] = 7
        elif t == "date":
            values[q["key"]] = "2026-05-14"
        elif t == "short_text":
            values[q["key"]] = MARKER_PREFIX  # + a marker per submission
        elif t == "long_text":
            values[q["key"]] = "Kiitos hyvästä illasta.\nLisää tällaisia tilaisuuksia, " * 4
        elif t == "email":
            values[q["key"]] = "vastaaja@example.org"
        elif t == "consent":
            values[q["key"]] = True
    return values


def form_fields(values: dict[str, Any], types: dict[str, str]) -> list[tuple[str, str]]:
    """The same answer as the browser posts the one-page form."""
    fields: list[tuple[str, str]] = []
    for key, value in values.items():
        if types[key] == "yes_no":
            fields.append((key, "yes" if value else "no"))
        elif types[key] == "consent":
            if value:
                fields.append((key, "y"))
        elif isinstance(value, list):
            fields.extend((key, v) for v in value)
        else:
            fields.append((key, str(value)))
    return fields


class SurveyClient(bench.Client):
    """A person's browser: the survey page once, then complete answers one after another.

    Only the redirect to the thank-you page counts as a stored answer: a 200 re-shows the form
    with its errors, nothing stored."""

    def __init__(self, slug: str, values: dict[str, Any], types: dict[str, str]) -> None:
        self.path = f"/surveys/{slug}"
        self.thanks = f"/surveys/{slug}/thanks"
        self.short_key = next(k for k, t in types.items() if t == "short_text")
        self.fields = [(k, v) for k, v in form_fields(values, types) if k != self.short_key]
        self.thanked: set[str] = set()  # markers of the answers the app said thanks for

    async def prepare(self, port: int, number: int) -> dict[str, object]:
        jar, token = await bench.open_page(port, self.path)
        # A fresh prefix per phase (warm-up, then measured), so no marker repeats.
        prefix = secrets.token_hex(3)
        return {"jar": jar, "token": token, "n": f"{prefix}-{number}", "i": 0}

    def next_request(self, state: dict) -> tuple[str, str, bytes, dict[str, str]]:
        state["i"] += 1
        state["marker"] = f"{MARKER_PREFIX}{state['n']}-{state['i']}"
        fields = [
            ("csrf_token", state["token"]),
            ("submission_key", secrets.token_urlsafe(24)),
            ("progress", ""),
            ("invitation", ""),
            ("page", "0"),
            ("homepage", ""),
            *self.fields,
            (self.short_key, state["marker"]),
            ("action", "send"),
        ]
        headers = {"Cookie": bench.cookie_header(state)}
        return "POST", self.path, urlencode(fields).encode(), headers

    def after(self, state: dict, status: int, headers: dict[str, list[str]]) -> bool:
        bench.cookie_of(headers, state["jar"])
        location = (headers.get("location") or [""])[0]
        if status in (302, 303) and location.split("?")[0].endswith(self.thanks):
            self.thanked.add(state["marker"])
            return True
        return False


def run_one(database: str) -> float:
    from sqlalchemy import select

    import forms as engine
    from participation.extensions import db
    from participation.formbuilder.models import FormDefinition, FormResponse
    from participation.surveys.models import ONE_PAGE, SurveyAnswer
    from tests.surveys.factories import make_survey

    def setup(now: dt.datetime) -> bench.Ours:
        survey = make_survey(
            db.session,
            now=now,
            questions=QUESTIONS,
            title="Penkkikysely",
            layout=ONE_PAGE,
            anonymous=True,
            public_link=True,
        )
        form = db.session.get(FormDefinition, survey.form_id)
        assert form is not None
        if len(form.questions) != 15:
            raise SystemExit(f"the survey has {len(form.questions)} questions, not 15")
        values = answer_values(form.questions)
        types = {q["key"]: q["type"] for q in form.questions}
        # What the form engine keeps of such an answer (the marker aside).
        expected, errors = engine.validate_answers(form.schema, values)
        if errors or len(expected) != 15:
            raise SystemExit(f"the benchmark's answer is not a complete valid one: {errors}")
        client = SurveyClient(survey.slug, values, types)
        want = {k: v for k, v in expected.items() if k != client.short_key}
        survey_id = survey.id

        def count() -> int:
            rows = db.session.execute(
                select(FormResponse.answers, FormResponse.source, SurveyAnswer.email)
                .join(SurveyAnswer, SurveyAnswer.response_id == FormResponse.id)
                .where(SurveyAnswer.survey_id == survey_id)
            ).all()
            markers = [answers.get(client.short_key) for answers, _source, _email in rows]
            if sorted(markers) != sorted(client.thanked):
                raise SystemExit(f"{database}: the stored answers are not the thanked ones")
            for answers, source, email in rows:
                same = {k: v for k, v in answers.items() if k != client.short_key}
                if same != want or source != "web" or email is not None:
                    raise SystemExit(f"{database}: a stored answer differs: {answers}")
            return len(rows)

        return bench.Ours(client, count, unit="submissions/s")

    return bench.run_database(
        database,
        pg_db=PG_DB,
        duration=DURATION,
        setup=setup,
        # The answer limit has no environment variable.
        instance_config='SURVEY_ANSWER_RATE_LIMIT = "1000000 per minute"\n',
        bare_unit="inserts/s",
    )


def main() -> None:
    databases = sys.argv[1:] or ["sqlite", "postgresql"]
    print(
        f"{DURATION:.0f} s per server (after {bench.WARMUP:.0f} s warm-up), "
        f"{bench.CONNECTIONS} connections, gunicorn {bench.WORKERS} workers, 15 questions"
    )
    ratios = [run_one(database) for database in databases]
    print(f"ratio={min(ratios):.3f}")


if __name__ == "__main__":
    main()
