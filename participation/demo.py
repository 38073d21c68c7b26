"""The invented demo municipality "Esimerkkilä". Loading is idempotent: rows are found by a
natural key before they are created, so a second run adds nothing."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from flask import current_app
from sqlalchemy.orm import Session

from participation.accounts import services as accounts

DEMO_COORDINATOR = "koordinaattori@esimerkkila.example"
DEMO_CONTACT = "yhteyshenkilo@esimerkkila.example"


def _demo_password() -> str:
    """Generated once per installation and kept in instance/, never a password in the code."""
    path = Path(current_app.instance_path) / "demo-password.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(9))
        path.chmod(0o600)
    return path.read_text().strip()


def load_demo(session: Session, *, now: dt.datetime) -> str:
    password = _demo_password()
    created = 0
    for email, name, role in (
        (DEMO_COORDINATOR, "Kaisa Koordinaattori", "coordinator"),
        (DEMO_CONTACT, "Yrjö Yhteyshenkilö", "contact_person"),
    ):
        if accounts.find_user_by_email(session, email) is None:
            accounts.create_user(session, email=email, name=name, role=role, password=password)
            created += 1
    for loader in _extra_loaders():
        created += loader(session, now=now)
    return (
        f"Demo municipality ready ({created} new rows).\n"
        f"Staff login at {current_app.config['BASE_URL']}/login\n"
        f"  coordinator:    {DEMO_COORDINATOR}\n"
        f"  contact person: {DEMO_CONTACT}\n"
        f"  password:       {password}"
    )


def _extra_loaders() -> list:
    """Each capability's demo content, in dependency order; each returns how many rows it added."""
    from participation.evenings.demo import load_demo as evenings_demo
    from participation.events.demo import load_demo as events_demo
    from participation.formbuilder.demo import load_demo as formbuilder_demo
    from participation.privacy.demo import load_demo as privacy_demo
    from participation.register.demo import load_demo as register_demo
    from participation.rounds.demo import load_demo as rounds_demo
    from participation.surveys.demo import load_demo as surveys_demo

    return [
        register_demo,
        privacy_demo,
        formbuilder_demo,
        rounds_demo,
        events_demo,
        surveys_demo,
        evenings_demo,
    ]
