"""Benchmark: the staff results page of a 15-question survey (every question type) at 1,000 and
at 10,000 answers, on SQLite (a temporary file) and on PostgreSQL (a fresh database on
127.0.0.1).

The page is fetched through the app (a signed-in coordinator, the Flask test client: routing,
the session, the query, the tally, the charts and the template), once to warm up and then
RUNS times; the median is reported with the SQL statements one page took.

    python bench/survey_results.py               # both databases
    python bench/survey_results.py sqlite        # or only one
    # prints per database and size the seconds and queries per page;
    # last line growth=X (time at 10k / time at 1k, the worst database)

Target: growth <= 10 and the same number of queries at 1k and 10k.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNS = 5
SIZES = (1_000, 10_000)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "bench_survey_results"

QUESTIONS: list[dict[str, Any]] = [
    {"question_type": "single_choice", "label_fi": "Mistä kuulit?", "options_fi": "A\nB\nC\nD"},
    {"question_type": "multiple_choice", "label_fi": "Aiheet", "options_fi": "A\nB\nC\nD\nE"},
    {"question_type": "rating", "label_fi": "Hyödyllisyys", "scale_min": 1, "scale_max": 5},
    {
        "question_type": "ranking",
        "label_fi": "Tärkeimmät",
        "options_fi": "A\nB\nC\nD\nE\nF\nG",
        "top_n": 3,
    },
    {"question_type": "yes_no", "label_fi": "Tulisitko uudelleen?"},
    {"question_type": "number", "label_fi": "Montako kertaa?"},
    {"question_type": "date", "label_fi": "Milloin viimeksi?"},
    {"question_type": "short_text", "label_fi": "Yhdistys", "max_length": 200},
    {"question_type": "long_text", "label_fi": "Terveiset", "max_length": 5000},
    {"question_type": "email", "label_fi": "Sähköposti"},
    {"question_type": "consent", "label_fi": "Suostumus"},
    {
        "question_type": "single_choice",
        "label_fi": "Ikäryhmä",
        "options_fi": "alle 30\n30–60\nyli 60",
    },
    {"question_type": "rating", "label_fi": "Tilat", "scale_min": 0, "scale_max": 10},
    {"question_type": "yes_no", "label_fi": "Jäsen?"},
    {"question_type": "multiple_choice", "label_fi": "Kanavat", "options_fi": "X\nY\nZ"},
]


def _value(q: dict[str, Any], rnd: random.Random, i: int) -> Any:
    keys = [o["key"] for o in q.get("options") or []]
    t = q["type"]
    if rnd.random() < 0.1:
        return None  # skipped
    if t == "single_choice":
        return rnd.choice(keys)
    if t == "multiple_choice":
        return sorted(rnd.sample(keys, rnd.randint(1, len(keys))), key=keys.index)
    if t == "rating":
        return rnd.randint(q["scale_min"], q["scale_max"])
    if t == "ranking":
        return rnd.sample(keys, q["top_n"])
    if t == "yes_no":
        return rnd.random() < 0.6
    if t == "number":
        return rnd.randint(0, 20)
    if t == "date":
        return f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
    if t == "short_text":
        return f"Yhdistys {i % 300}"
    if t == "long_text":
        return "Kiitos hyvästä tilaisuudesta. " * rnd.randint(1, 6)
    if t == "email":
        return f"vastaaja{i}@example.org"
    return True  # consent


def run(database: str) -> dict[int, tuple[float, int]]:
    from sqlalchemy import event, text

    from participation import create_app, migrate
    from participation.accounts import services as accounts
    from participation.accounts.models import COORDINATOR, User
    from participation.db import make_engine
    from participation.extensions import db
    from participation.formbuilder.models import FormDefinition, FormResponse
    from participation.surveys.models import SurveyAnswer
    from tests.surveys.factories import make_survey

    tmp = Path(tempfile.mkdtemp(prefix="bench-survey-results-"))
    if database == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {PG_DB}"))
        admin.dispose()
        url = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp),
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "QUEUE_IMMEDIATE": True,
            "MAIL_URL": f"file://{tmp / 'outbox'}",
        }
    )
    migrate.upgrade(app)
    now = dt.datetime.now(dt.UTC)
    out: dict[int, tuple[float, int]] = {}
    statements: list[str] = []
    event.listen(
        app.extensions["db_engine"],
        "before_cursor_execute",
        lambda *args: statements.append(args[2]),
    )
    with app.app_context():
        session = db.session
        user = User(email="bench@example.org", name="Bench", role=COORDINATOR, password_hash="!")
        session.add(user)
        session.flush()
        token = accounts.start_session(session, user, now=now)
        session.commit()
        client = app.test_client()
        with client.session_transaction() as s:
            s["_user_id"] = token
            s["_fresh"] = True
        for size in SIZES:
            survey = make_survey(session, now=now, questions=QUESTIONS, title=f"Penkki {size}")
            form = session.get(FormDefinition, survey.form_id)
            questions = form.questions
            rnd = random.Random(size)
            day = now.date()
            for start in range(0, size, 1000):
                responses = []
                for i in range(start, min(size, start + 1000)):
                    answers = {}
                    for q in questions:
                        value = _value(q, rnd, i)
                        if value is not None:
                            answers[q["key"]] = value
                    responses.append(
                        FormResponse(
                            form_id=form.id,
                            answers=answers,
                            schema_version=form.version,
                            source="paper" if i % 7 == 0 else "web",
                            submitted_at=dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC),
                        )
                    )
                session.add_all(responses)
                session.flush()
                session.add_all(
                    SurveyAnswer(
                        survey_id=survey.id,
                        response_id=r.id,
                        submission_key=secrets.token_hex(16),
                        answered_on=day,
                    )
                    for r in responses
                )
                session.flush()
            session.commit()
            path = f"/staff/surveys/{survey.id}/results"
            assert client.get(path).status_code == 200  # warm up
            times = []
            for _ in range(RUNS):
                statements.clear()
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200
            queries = len(statements)
            out[size] = (statistics.median(times), queries)
            print(f"{database} {size} answers: {out[size][0]:.3f} s, {queries} queries per page")
    app.extensions["db_engine"].dispose()
    return out


def main() -> None:
    databases = sys.argv[1:] or ["sqlite", "postgresql"]
    growth = 0.0
    same_queries = True
    for database in databases:
        figures = run(database)
        small, large = figures[SIZES[0]], figures[SIZES[-1]]
        growth = max(growth, large[0] / small[0])
        same_queries = same_queries and small[1] == large[1]
    print(f"queries the same at {SIZES[0]} and {SIZES[-1]}: {'yes' if same_queries else 'NO'}")
    print(f"growth={growth:.2f}")


if __name__ == "__main__":
    main()
