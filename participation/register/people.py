"""People in the register: the contact persons of associations, and anyone another capability
needs as a person (a commenter, a registrant). Linking a person to an association or unlinking
them is recorded in the association's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from participation.errors import Invalid, NotFound
from participation.register.listing import _text_match
from participation.register.models import LANGUAGES, Association, Person
from participation.register.services import _apply
from participation.register.values import EMAIL_MAX, NAME_MAX, _too_long, fold, normalise_email


def _person_search_text(p: Person) -> str:
    return fold(f"{p.name} {p.email}")


def search_people(
    session: Session, q: str, *, page: int, per_page: int
) -> tuple[list[Person], int]:
    stmt = select(Person)
    if q.strip():
        columns = (Person.search_text, func.lower(Person.name), func.lower(Person.email))
        stmt = stmt.where(*_text_match(columns, fold(q).split()))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(selectinload(Person.associations))
        .order_by(func.lower(Person.name), Person.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total


def get_person(session: Session, person_id: int) -> Person:
    """Raises NotFound."""
    person = session.scalar(
        select(Person).where(Person.id == person_id).options(selectinload(Person.associations))
    )
    if person is None:
        raise NotFound(_("No such person."))
    return person


def find_person_by_email(session: Session, email: str) -> Person | None:
    try:
        address = normalise_email(email)
    except ValueError:
        return None
    return session.scalar(select(Person).where(Person.email == address))


def _clean_person(
    session: Session, data: Mapping[str, Any], *, current: Person | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("Enter the person's name.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_too_long(NAME_MAX)]
    email = str(data.get("email") or "").strip()
    try:
        if len(email) > EMAIL_MAX:
            raise ValueError(email)
        email = normalise_email(email)
    except ValueError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    else:
        twin = session.scalar(select(Person).where(Person.email == email))
        if twin is not None and twin is not current:
            errors["email"] = [_("Another person already has this e-mail address.")]
    language = data.get("language") or "fi"
    if language not in LANGUAGES:
        errors["language"] = [_("Choose a language from the list.")]
    ids = {int(i) for i in data.get("association_ids") or () if str(i).isdigit()}
    associations = (
        list(
            session.scalars(
                select(Association).where(
                    Association.id.in_(ids), Association.merged_into_id.is_(None)
                )
            )
        )
        if ids
        else []
    )
    if len(associations) != len(ids):
        errors["association_ids"] = [_("Choose associations from the list.")]
    if errors:
        raise Invalid(_("Check the person's information."), errors)
    return {"name": name, "email": email, "language": language, "associations": associations}


def _set_people_links(
    session: Session,
    person: Person,
    associations: list[Association],
    *,
    now: dt.datetime,
    staff_user_id: int | None,
    source: str = "staff",
) -> None:
    """Set the person's associations, recording the addition or removal on each association."""
    old, new = set(person.associations), set(associations)
    for a in new - old:
        _apply(session, a, {}, source=source, now=now, staff_user_id=staff_user_id,
               extra={"person_added": [None, person.name]})  # fmt: skip
    for a in old - new:
        _apply(session, a, {}, source=source, now=now, staff_user_id=staff_user_id,
               extra={"person_removed": [person.name, None]})  # fmt: skip
    person.associations = sorted(new, key=lambda a: fold(a.name))


def create_person(
    session: Session, data: Mapping[str, Any], *, now: dt.datetime, staff_user_id: int | None
) -> Person:
    """Raises Invalid (missing name, bad or taken e-mail, unknown language or association)."""
    values = _clean_person(session, data, current=None)
    person = Person(
        name=values["name"],
        email=values["email"],
        language=values["language"],
        created_at=now,
        updated_at=now,
    )
    person.search_text = _person_search_text(person)
    session.add(person)
    session.flush()
    _set_people_links(session, person, values["associations"], now=now, staff_user_id=staff_user_id)
    session.flush()
    return person


def update_person(
    session: Session,
    person_id: int,
    data: Mapping[str, Any],
    *,
    now: dt.datetime,
    staff_user_id: int | None,
) -> Person:
    """Raises NotFound or Invalid (as create_person)."""
    person = get_person(session, person_id)
    values = _clean_person(session, data, current=person)
    person.name, person.email, person.language = values["name"], values["email"], values["language"]
    person.search_text = _person_search_text(person)
    person.updated_at = now
    _set_people_links(session, person, values["associations"], now=now, staff_user_id=staff_user_id)
    session.flush()
    return person


def find_or_create_person(
    session: Session, *, email: str, name: str, language: str = "fi", now: dt.datetime
) -> Person:
    """For other capabilities (a commenter, a registrant): the person with this e-mail, created
    if new. Raises Invalid for a bad e-mail or name."""
    person = find_person_by_email(session, email)
    if person is not None:
        return person
    values = _clean_person(
        session, {"name": name, "email": email, "language": language}, current=None
    )
    person = Person(
        name=values["name"],
        email=values["email"],
        language=values["language"],
        created_at=now,
        updated_at=now,
    )
    person.search_text = _person_search_text(person)
    session.add(person)
    session.flush()
    return person


# Built once: `person_id_for` only executes them.
NEW_PERSON_COLUMNS = ("name", "email", "language", "created_at", "updated_at", "search_text")
NEW_PERSON = {
    dialect: dialect_insert(Person.__table__)
    .on_conflict_do_nothing(index_elements=["email"])
    .returning(Person.__table__.c.id)
    for dialect, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_PERSON_ID = select(Person.id).where(Person.email == bindparam("email"))


def new_person_row(*, email: str, name: str, language: str, now: dt.datetime) -> dict[str, Any]:
    """The values of NEW_PERSON (INSERT … ON CONFLICT (email) DO NOTHING RETURNING id), by
    NEW_PERSON_COLUMNS."""
    values = (name, email, language, now, now, fold(f"{name} {email}"))
    return dict(zip(NEW_PERSON_COLUMNS, values, strict=True))


def find_person_id(session: Session, email: str) -> int | None:
    """The id of the person with this (normalised) address."""
    return session.connection().execute(_PERSON_ID, {"email": email}).scalar()


def person_id_for(
    session: Session, *, email: str, name: str, language: str, now: dt.datetime
) -> tuple[int, bool]:
    """`find_or_create_person` for a hot path that has checked the values already (`email`
    normalised by `normalise_email`, `name` stripped and at most NAME_MAX, `language` one of
    LANGUAGES): one INSERT … ON CONFLICT DO NOTHING when the address is new, a SELECT more
    when not. Returns (the person's id, whether it was created now)."""
    conn = session.connection()
    row = new_person_row(email=email, name=name, language=language, now=now)
    new = conn.execute(NEW_PERSON[conn.dialect.name], row).scalar()
    if new is not None:
        return new, True
    found = find_person_id(session, email)
    assert found is not None  # it conflicted, so it is there
    return found, False
