"""The registration endpoint keeps each event's facts in the process and reads nothing before the
event's lock; whatever changed since (the event, a group, the questions, the consent text) is
seen under the lock and decided on afresh, as if nothing had been kept."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select

from participation.events import services, setup
from participation.events.models import CONFIRMED, WAITLISTED, Registration
from participation.formbuilder import services as formbuilder
from participation.privacy import services as privacy
from participation.privacy.models import Consent
from tests.conftest import csrf_token
from tests.events.factories import make_event, make_registration


def _data(event: Any, email: str, **extra: str) -> dict[str, str]:
    return {
        "reg-name": "Pysyvä Pirkko",
        "reg-email": email,
        "reg-association_id": "",
        "reg-seats": "1",
        "reg-consent": "y",
        "reg-homepage": "",
        "reg-submission_key": secrets.token_urlsafe(24),
        **({"reg-group_id": str(event.groups[0].id)} if event.groups else {}),
        **{f"reg-{k}": v for k, v in extra.items()},
    }


def _register(post: Any, event: Any, email: str, **extra: str) -> Any:
    return post(f"/events/{event.slug}/register", _data(event, email, **extra))


def _status(db: Any, email: str) -> str | None:
    return db.scalar(select(Registration.status).where(Registration.email == email))


def _later(now: dt.datetime, seconds: int = 1) -> dt.datetime:
    return now + dt.timedelta(seconds=seconds)


def test_a_second_registration_reads_nothing_before_the_lock(
    post: Any, client: Any, db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now, capacity=10, with_form=False)
    db.commit()
    assert _register(post, event, "eka@example.fi").status_code == 302
    assert _register(post, event, "toinen@example.fi").status_code == 302
    data = {**_data(event, "toka@example.fi"), "csrf_token": csrf_token(client)}
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    engine = db.get_bind().engine
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        assert client.post(f"/events/{event.slug}/register", data=data).status_code == 302
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    # On PostgreSQL the lock is a part of the statement that also stores the person.
    lock = next(i for i, s in enumerate(statements) if "UPDATE EVENT SET LOCK_VERSION" in s)
    assert not [s for s in statements[:lock] if s.startswith("SELECT")], statements[:lock]
    assert _status(db, "toka@example.fi") == CONFIRMED


def test_a_lowered_capacity_is_honoured_by_the_next_registration(
    post: Any, db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now, capacity=2)
    db.commit()
    _register(post, event, "eka@example.fi")
    event.capacity = 1
    event.updated_at = _later(now)
    db.commit()
    _register(post, event, "toka@example.fi")
    assert _status(db, "eka@example.fi") == CONFIRMED
    assert _status(db, "toka@example.fi") == WAITLISTED


def test_a_changed_time_is_honoured_by_the_next_registration(
    post: Any, db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now, capacity=10)
    db.commit()
    _register(post, event, "eka@example.fi")
    closes_at = event.registration_closes_at
    event.registration_closes_at = now - dt.timedelta(minutes=1)
    event.updated_at = _later(now)
    db.commit()
    response = _register(post, event, "toka@example.fi")
    assert response.status_code == 409
    assert _status(db, "toka@example.fi") is None
    # Opened again (the deadline as it was): taken again.
    event.registration_closes_at = closes_at
    event.updated_at = _later(now, 2)
    db.commit()
    assert _register(post, event, "kolmas@example.fi").status_code == 302
    assert _status(db, "kolmas@example.fi") == CONFIRMED


def test_a_group_made_smaller_is_honoured_by_the_next_registration(
    post: Any, db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now, groups=[("Pieni", 5)])
    db.commit()
    _register(post, event, "eka@example.fi")
    group = event.groups[0]
    setup.update_group(
        db, event.id, group.id, {"name": group.name, "capacity": "1"}, now=_later(now)
    )
    db.commit()
    _register(post, event, "toka@example.fi")
    assert _status(db, "eka@example.fi") == CONFIRMED
    assert _status(db, "toka@example.fi") == WAITLISTED


def test_a_question_added_is_asked_of_the_next_registration(
    post: Any, db: Any, now: dt.datetime, client: Any
) -> None:
    event = make_event(db, now=now, capacity=10)
    db.commit()
    assert _register(post, event, "eka@example.fi").status_code == 302
    form = services.event_form(db, event)
    key = formbuilder.add_question(
        db,
        form,
        {"question_type": "short_text", "label_fi": "Kotikaupunki", "required": "y"},
        now=_later(now),
    )
    db.commit()
    client.get("/lang/en")
    response = _register(post, event, "toka@example.fi")
    assert response.status_code == 200 and f'id="reg-{key}"' in response.get_data(as_text=True)
    assert _status(db, "toka@example.fi") is None
    assert _register(post, event, "toka@example.fi", **{key: "Helsinki"}).status_code == 302
    assert _status(db, "toka@example.fi") == CONFIRMED


def test_a_new_consent_text_is_the_one_agreed_to_next(post: Any, db: Any, now: dt.datetime) -> None:
    event = make_event(db, now=now, capacity=10)
    db.commit()
    _register(post, event, "eka@example.fi")
    text = privacy.publish_consent_text(
        db, event.consent_key, "Uusi teksti.", "Ny text.", "New text.", _later(now)
    )
    db.commit()
    _register(post, event, "toka@example.fi")
    consent_text_id = db.scalar(
        select(Consent.consent_text_id)
        .join(Registration, Registration.consent_id == Consent.id)
        .where(Registration.email == "toka@example.fi")
    )
    assert consent_text_id == text.id


def test_an_unpublished_event_takes_no_more_registrations(
    post: Any, db: Any, now: dt.datetime
) -> None:
    event = make_event(db, now=now, capacity=10)
    db.commit()
    _register(post, event, "eka@example.fi")
    setup.unpublish_event(db, event.id, now=_later(now))
    db.commit()
    assert _register(post, event, "toka@example.fi").status_code == 404
    assert _status(db, "toka@example.fi") is None


def test_the_seats_counted_with_the_lock_are_the_events_own(
    post: Any, db: Any, now: dt.datetime
) -> None:
    """On SQLite the lock's statement also counts the seats: those of this event, however its
    and its registrations' ids fall."""
    make_event(db, now=now, capacity=5, title="Toinen")
    event = make_event(db, now=now, capacity=3)
    for n in range(3):
        make_registration(db, event, name=f"Varattu {n}", email=f"varattu{n}@example.fi", now=now)
    db.commit()
    _register(post, event, "eka@example.fi")
    _register(post, event, "toka@example.fi")
    assert _status(db, "eka@example.fi") == WAITLISTED
    assert _status(db, "toka@example.fi") == WAITLISTED


def test_the_registration_statement_stays_within_what_psycopg_caches() -> None:
    """psycopg parses a statement again on every execution when it is longer than 4,096
    characters or has more than 50 parameters (it cost a fifth of a registration on
    PostgreSQL): a column added to the statement must not push it over."""
    from psycopg import _queries
    from sqlalchemy.dialects import postgresql

    from participation.events import rows

    compiled = rows._DECIDED_REGISTRATION.compile(dialect=postgresql.psycopg.dialect())
    assert len(str(compiled)) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(compiled.params) <= _queries.MAX_CACHED_STATEMENT_PARAMS
