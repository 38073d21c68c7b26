"""Alembic driven from the app's DATABASE_URL, without an alembic.ini to keep in step."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from flask import Flask

from participation import ROOT


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    command.upgrade(alembic_config(app.config["DATABASE_URL"]), revision)


def downgrade(app: Flask, revision: str) -> None:
    command.downgrade(alembic_config(app.config["DATABASE_URL"]), revision)


def revision(app: Flask, message: str, rev_id: str | None = None) -> None:
    command.revision(
        alembic_config(app.config["DATABASE_URL"]),
        message=message,
        autogenerate=True,
        rev_id=rev_id,
    )
