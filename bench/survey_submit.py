"""Benchmark: a burst of survey answers through the whole app against a bare Flask insert.

For each database (SQLite in a temporary directory, then a fresh PostgreSQL database on
127.0.0.1) one open, anonymous, one-page survey with a public link is made with the 15 questions
of bench/survey_results.py (every question type), and two servers are run one after the other
with gunicorn and 2 sync workers (the load generator and the servers are those of
bench/comment_post.py, its warm-up included):

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

import asyncio
import datetime as dt
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import comment_post as bench  # noqa: E402  (the load generator and the servers)
from survey_results import QUESTIONS  # noqa: E402  (15 questions, every type)

ROOT = bench.ROOT
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


class SurveyClient:
    """A person's browser: the survey page once, then complete answers one after another."""

    def __init__(self, slug: str, values: dict[str, Any], types: dict[str, str]) -> None:
        self.slug = slug
        self.path = f"/surveys/{slug}"
        self.thanks = f"/surveys/{slug}/thanks"
        self.short_key = next(k for k, t in types.items() if t == "short_text")
        self.fields = [(k, v) for k, v in form_fields(values, types) if k != self.short_key]
        self.thanked: set[str] = set()  # markers of the answers the app said thanks for

    async def prepare(self, port: int, number: int) -> dict[str, object]:
        jar: dict[str, str] = {}
        status, headers, content = await bench.request(port, "GET", self.path)
        assert status == 200, status
        bench.cookie_of(headers, jar)
        token = re.search(rb'<meta name="csrf-token" content="([^"]+)"', content)
        assert token, "no CSRF token on the survey page"
        # A fresh prefix per phase (warm-up, then measured), so no marker repeats.
        prefix = secrets.token_hex(3)
        return {"jar": jar, "token": token.group(1).decode(), "n": f"{prefix}-{number}", "i": 0}

    def next_request(self, state: dict) -> tuple[str, str, bytes, dict[str, str]]:
        state["i"] += 1
        fields = [
            ("csrf_token", state["token"]),
            ("submission_key", secrets.token_urlsafe(24)),
            ("progress", ""),
            ("invitation", ""),
            ("page", "0"),
            ("homepage", ""),
            *self.fields,
            (self.short_key, f"{MARKER_PREFIX}{state['n']}-{state['i']}"),
            ("action", "send"),
        ]
        cookies = "; ".join(f"{k}={v}" for k, v in state["jar"].items())
        return "POST", self.path, urlencode(fields).encode(), {"Cookie": cookies}

    def after(self, state: dict, headers: dict[str, list[str]]) -> None:
        bench.cookie_of(headers, state["jar"])

    @contextmanager
    def thanks_counted(self) -> Iterator[None]:
        """comment_post's load counts a 200 or 201 as a success; here only the redirect to
        the thank-you page is one (a 200 re-shows the form with its errors, nothing stored).
        So the answer POSTs are told apart while this client's load runs."""
        plain = bench.request

        async def classified(
            port: int,
            method: str,
            path: str,
            *,
            body: bytes = b"",
            headers: dict[str, str] | None = None,
        ) -> tuple[int, dict[str, list[str]], bytes]:
            status, got, content = await plain(port, method, path, body=body, headers=headers)
            if method != "POST" or path != self.path:
                return status, got, content
            location = (got.get("location") or [""])[0]
            if status in (302, 303) and location.split("?")[0].endswith(self.thanks):
                self.thanked.add(parse_qs(body.decode())[self.short_key][0])
                return 201, got, content
            # The form came back (or an error page): not stored. 2xx would count as success.
            return (422 if status < 400 else status), got, content

        bench.request = classified
        try:
            yield
        finally:
            bench.request = plain


def run_one(database: str) -> float:
    from sqlalchemy import select, text

    import forms as engine
    from participation import create_app, migrate
    from participation.db import make_engine
    from participation.extensions import db
    from participation.formbuilder.models import FormDefinition, FormResponse
    from participation.surveys.models import ONE_PAGE, SurveyAnswer
    from tests.surveys.factories import make_survey

    tmp = Path(tempfile.mkdtemp(prefix="bench-survey-submit-"))
    if database == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        admin = make_engine(bench.PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {PG_DB}"))
        url = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
    # The answer limit has no environment variable; instance/config.py overrides any setting.
    (tmp / "config.py").write_text('SURVEY_ANSWER_RATE_LIMIT = "1000000 per minute"\n')
    env = {
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(tmp),
        "SECRET_KEY": "bench-" + secrets.token_hex(8),
        "MAIL_URL": f"file://{tmp / 'outbox'}",
        "QUEUE_URL": f"sqlite:///{tmp / 'queue.db'}",
        "BENCH_DATABASE_URL": url,
    }
    os.environ.update({k: v for k, v in env.items() if k != "BENCH_DATABASE_URL"})
    app = create_app({"INSTANCE_PATH": str(tmp)})
    migrate.upgrade(app)
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        survey = make_survey(
            db.session,
            now=now,
            questions=QUESTIONS,
            title="Penkkikysely",
            layout=ONE_PAGE,
            anonymous=True,
            public_link=True,
        )
        survey_id, slug = survey.id, survey.slug
        form = db.session.get(FormDefinition, survey.form_id)
        assert form is not None
        schema, questions = form.schema, form.questions
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE bench_row (id INTEGER PRIMARY KEY"
                    + (
                        " AUTOINCREMENT"
                        if database == "sqlite"
                        else " GENERATED ALWAYS AS IDENTITY"
                    )
                    + ", body TEXT NOT NULL, created_at TIMESTAMP NOT NULL)"
                )
            )
    if len(questions) != 15:
        raise SystemExit(f"the survey has {len(questions)} questions, not 15")
    values = answer_values(questions)
    types = {q["key"]: q["type"] for q in questions}
    # What the form engine keeps of such an answer (the marker aside).
    expected, errors = engine.validate_answers(schema, values)
    if errors or len(expected) != 15:
        raise SystemExit(f"the benchmark's answer is not a complete valid one: {errors}")
    short_key = next(k for k, t in types.items() if t == "short_text")

    lines, throughput = [], {}
    for name, spec in (("bare", "comment_post_apps:bare()"), ("ours", "app:app")):
        client: Any = bench.BareClient() if name == "bare" else SurveyClient(slug, values, types)
        process, port = bench.serve(spec, env)
        try:
            if name == "ours":
                with client.thanks_counted():
                    result, seconds = asyncio.run(bench.load(port, client, DURATION))
            else:
                result, seconds = asyncio.run(bench.load(port, client, DURATION))
        finally:
            bench.stop(process)
        with app.app_context():
            if name == "ours":
                rows = db.session.execute(
                    select(FormResponse.answers, FormResponse.source, SurveyAnswer.email)
                    .join(SurveyAnswer, SurveyAnswer.response_id == FormResponse.id)
                    .where(SurveyAnswer.survey_id == survey_id)
                ).all()
                stored = len(rows)
                markers = [answers.get(short_key) for answers, _source, _email in rows]
                if sorted(markers) != sorted(client.thanked):
                    raise SystemExit(f"{database}: the stored answers are not the thanked ones")
                for answers, source, email in rows:
                    same = {k: v for k, v in answers.items() if k != short_key}
                    want = {k: v for k, v in expected.items() if k != short_key}
                    if same != want or source != "web" or email is not None:
                        raise SystemExit(f"{database}: a stored answer differs: {answers}")
            else:
                stored = db.session.scalar(text("SELECT count(*) FROM bench_row"))
            db.session.remove()
        if stored != result.stored:
            raise SystemExit(f"{name}: {result.stored} answered ok but {stored} rows stored")
        if result.failed:
            print(f"{database} {name}: statuses {result.statuses}", file=sys.stderr)
        throughput[name] = result.ok / seconds
        summary = result.summary(seconds).replace(
            "req/s", "submissions/s" if name == "ours" else "inserts/s"
        )
        lines.append(f"{database} {name}: {summary}")
    ratio = throughput["ours"] / throughput["bare"]
    for line in lines:
        print(line)
    print(f"{database}: ratio={ratio:.3f}")
    app.extensions["db_engine"].dispose()
    if database == "postgresql":
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
    shutil.rmtree(tmp, ignore_errors=True)
    return ratio


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
