"""The Quick start's demo municipality loads, and loading it again duplicates nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from participation.extensions import db
from participation.models import metadata
from tests.conftest import database_url, make_test_app, reset_database


def _counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in metadata.sorted_tables
    }


def test_bootstrap_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    url = database_url(tmp_path, "demo")
    reset_database(url)
    app = make_test_app(tmp_path, url)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["bootstrap"])
    assert first.exit_code == 0, first.output
    assert "koordinaattori@esimerkkila.example" in first.output
    with app.app_context():
        after_first = _counts()
        db.session.remove()
    assert after_first["association"] >= 20 and after_first["person"] >= 10
    assert after_first["staff_user"] == 2 and after_first["form_definition"] >= 1
    second = runner.invoke(args=["bootstrap"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert _counts() == after_first
        db.session.remove()
    app.extensions["db_engine"].dispose()
