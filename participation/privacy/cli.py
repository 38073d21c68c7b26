"""`flask --app app retention`: the retention clean-up, for cron or by hand."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale

from participation.errors import DomainError
from participation.extensions import db
from participation.privacy import services


@click.command("retention")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
@click.option(
    "--days", type=click.IntRange(min=1), default=None, help="Override RETENTION_DAYS once."
)
def retention(dry_run: bool, days: int | None) -> None:
    """Erase people inactive for RETENTION_DAYS (unless they represent an active association)
    and delete outbox messages older than that."""
    days = days if days is not None else int(current_app.config["RETENTION_DAYS"])
    now = dt.datetime.now(dt.UTC)
    # No request here to choose a language from: messages in English on the terminal.
    with force_locale("en"):
        try:
            if dry_run:
                preview = services.preview_retention(db.session, days, now)
                click.echo(
                    f"Would erase {preview.people} people and delete {preview.messages} outbox "
                    f"messages (inactive since before {preview.cutoff:%Y-%m-%d})."
                )
                return
            counts = services.run_retention(db.session, days, now)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(
        f"Erased {counts.get('people', 0)} people and deleted "
        f"{counts.get('messages_deleted', 0)} outbox messages."
    )
