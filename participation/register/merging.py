"""Merging duplicate associations: finding candidates, comparing two side by side, and folding
one into the other with both histories recording it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from participation.errors import Invalid, WrongState
from participation.register.models import Association
from participation.register.services import (
    FIELDS,
    _apply,
    _display,
    _field_value,
    get_association,
)

MERGE_FIELDS = FIELDS


def find_duplicate_candidates(session: Session, association_id: int) -> list[Association]:
    """Other unmerged associations sharing the registry number, the e-mail or the name."""
    a = get_association(session, association_id)
    conditions = [func.lower(Association.name) == a.name.lower()]
    if a.registry_number:
        conditions.append(Association.registry_number == a.registry_number)
    if a.email:
        conditions.append(Association.email == a.email)
    return list(
        session.scalars(
            select(Association)
            .where(
                Association.id != a.id,
                Association.merged_into_id.is_(None),
                or_(*conditions),
            )
            .order_by(func.lower(Association.name), Association.id)
        )
    )


@dataclass(frozen=True)
class ComparedField:
    field: str
    kept: str
    duplicate: str

    @property
    def differs(self) -> bool:
        return self.kept != self.duplicate


@dataclass(frozen=True)
class Comparison:
    keep: Association
    duplicate: Association
    fields: list[ComparedField]

    @property
    def differing(self) -> list[ComparedField]:
        return [f for f in self.fields if f.differs]


def compare_associations(
    session: Session, keep_id: int, duplicate_id: int, *, locale: str
) -> Comparison:
    """Both associations' values side by side, as display text, for choosing what to keep.

    Raises Invalid for the same association twice, NotFound, WrongState if either is merged.
    """
    if keep_id == duplicate_id:
        raise Invalid(_("Choose two different associations."))
    keep = get_association(session, keep_id)
    duplicate = get_association(session, duplicate_id)
    for a in (keep, duplicate):
        if a.merged_into_id is not None:
            raise WrongState(_("%(name)s has already been merged.", name=a.name))
    categories = {c.key: c for c in [keep.category, duplicate.category] if c is not None}
    fields = [
        ComparedField(
            name,
            _display(name, _field_value(keep, name), categories, locale),
            _display(name, _field_value(duplicate, name), categories, locale),
        )
        for name in MERGE_FIELDS
    ]
    return Comparison(keep, duplicate, fields)


def merge_associations(
    session: Session,
    *,
    keep_id: int,
    duplicate_id: int,
    take_from_duplicate: Iterable[str],
    now: dt.datetime,
    staff_user_id: int | None,
) -> Association:
    """Merge `duplicate` into `keep`: the chosen fields' values come from the duplicate, its
    people move over, and it is marked merged and inactive; both histories record the merge.

    Raises Invalid for the same association twice, NotFound, WrongState if either is merged.
    """
    if keep_id == duplicate_id:
        raise Invalid(_("Choose two different associations."))
    keep = get_association(session, keep_id)
    duplicate = get_association(session, duplicate_id)
    for a in (keep, duplicate):
        if a.merged_into_id is not None:
            raise WrongState(_("%(name)s has already been merged.", name=a.name))
    taken = {name: getattr(duplicate, name) for name in take_from_duplicate if name in MERGE_FIELDS}
    moved = [p for p in duplicate.people if p not in keep.people]
    extra: dict[str, list[Any]] = {"merged_from": [None, duplicate.name]}
    if moved:
        extra["person_added"] = [None, ", ".join(p.name for p in moved)]
    _apply(session, keep, taken, source="merge", now=now, staff_user_id=staff_user_id, extra=extra)
    keep.people.extend(moved)
    duplicate.people.clear()
    _apply(
        session,
        duplicate,
        {"active": False},
        source="merge",
        now=now,
        staff_user_id=staff_user_id,
        extra={"merged_into": [None, keep.name]},
    )
    duplicate.merged_into_id = keep.id
    # Anything merged into the duplicate earlier now points at the kept association.
    session.execute(
        update(Association)
        .where(Association.merged_into_id == duplicate.id)
        .values(merged_into_id=keep.id)
    )
    session.flush()
    return keep
