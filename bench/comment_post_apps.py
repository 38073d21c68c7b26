"""The baseline server of bench/comment_post.py: bare Flask, one SQLAlchemy insert per POST.

It uses the app's own engine set-up (participation.db.make_engine: WAL and the busy timeout on
SQLite, the psycopg driver on PostgreSQL), so the two servers differ only in what the app does.
"""

from __future__ import annotations

import datetime as dt
import os

from flask import Flask, request
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, insert

from participation.db import make_engine

METADATA = MetaData()
ROWS = Table(
    "bench_row",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


def bare() -> Flask:
    app = Flask(__name__)
    engine = make_engine(os.environ["BENCH_DATABASE_URL"])

    @app.post("/insert")
    def insert_row() -> tuple[str, int]:
        with engine.begin() as conn:
            conn.execute(
                insert(ROWS).values(
                    body=request.form.get("body", ""), created_at=dt.datetime.now(dt.UTC)
                )
            )
        return "ok", 201

    return app
