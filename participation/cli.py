"""`flask --app app …` commands: database, users, demo data, the worker."""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from participation import migrate
from participation.errors import DomainError
from participation.extensions import db

db_cli = AppGroup("db", help="Database migrations (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    migrate.upgrade(current_app, revision)
    click.echo(f"Database at {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    migrate.downgrade(current_app, revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--rev-id", default=None, help="Revision id, e.g. 0002 (default: random).")
def db_revision(message: str, rev_id: str | None) -> None:
    """Write a new migration from the difference between the models and the database."""
    migrate.revision(current_app, message, rev_id=rev_id)


@click.command("create-user")
@with_appcontext
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option("--role", type=click.Choice(["coordinator", "contact_person"]), default="coordinator")
@click.password_option()
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account."""
    from participation.accounts import services

    try:
        user = services.create_user(
            db.session, email=email, name=name, role=role, password=password
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}.")


@click.command("revoke-sessions")
@with_appcontext
@click.argument("email")
def revoke_sessions(email: str) -> None:
    """End every session of a staff member (e.g. a lost laptop)."""
    from participation.accounts import services

    user = services.find_user_by_email(db.session, email)
    if user is None:
        raise click.ClickException("No such staff member.")
    count = services.revoke_all_sessions(db.session, user.id, now=dt.datetime.now(dt.UTC))
    db.session.commit()
    click.echo(f"Ended {count} sessions.")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Load the invented demo municipality (safe to run again: nothing is duplicated)."""
    from participation.demo import load_demo

    report = load_demo(db.session, now=dt.datetime.now(dt.UTC))
    db.session.commit()
    click.echo(report)


@click.command("bootstrap")
@with_appcontext
def bootstrap() -> None:
    """Migrate to the newest schema and load the demo: what the Quick start runs."""
    from participation.demo import load_demo

    migrate.upgrade(current_app)
    report = load_demo(db.session, now=dt.datetime.now(dt.UTC))
    db.session.commit()
    click.echo(report)


@click.command("worker")
@with_appcontext
@click.option("--workers", default=2, show_default=True)
def worker(workers: int) -> None:
    """Run the task queue's consumer (mail delivery, PDF rendering)."""
    import logging

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    huey = current_app.extensions["huey"]
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    click.echo(f"Worker started ({workers} threads) on {current_app.config['QUEUE_URL']}.")
    consumer.run()


def register_cli(app: Flask) -> None:
    from participation.privacy.cli import retention

    app.cli.add_command(db_cli)
    app.cli.add_command(retention)
    for command in (create_user, revoke_sessions, demo, bootstrap, worker):
        app.cli.add_command(command)
