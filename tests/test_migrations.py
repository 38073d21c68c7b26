"""Migrations from empty to head on the test database, and the models agreeing with them."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from participation import migrate
from participation.db import make_engine
from participation.models import metadata
from tests.conftest import database_url, make_test_app, reset_database


def test_empty_to_head_and_models_agree(tmp_path: Path) -> None:
    url = database_url(tmp_path, "migrations")
    reset_database(url)
    app: Flask = make_test_app(tmp_path, url)
    migrate.upgrade(app)
    app.extensions["db_engine"].dispose()
    engine = make_engine(url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    engine.dispose()
    assert set(metadata.tables) <= tables
    assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    url = database_url(tmp_path, "migrations_down")
    reset_database(url)
    app = make_test_app(tmp_path, url)
    migrate.upgrade(app)
    migrate.downgrade(app, "base")
    app.extensions["db_engine"].dispose()
    engine = make_engine(url)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(app)
    app.extensions["db_engine"].dispose()
