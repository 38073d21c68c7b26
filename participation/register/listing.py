"""The filtered, sorted and paged list of associations, and the lists that pickers offer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from participation.register.models import Association
from participation.register.values import AREA_MAX, fold

STATUSES = ("", "active", "inactive", "merged")
SORTS = ("name", "-name", "updated")


@dataclass(frozen=True)
class AssociationFilter:
    q: str = ""
    category_id: int | None = None
    area: str = ""
    status: str = ""
    sort: str = "name"

    def as_args(self) -> dict[str, str]:
        """The non-default values as query arguments, for pager and export links."""
        args = {
            "q": self.q,
            "category": str(self.category_id or ""),
            "area": self.area,
            "status": self.status,
            "sort": "" if self.sort == "name" else self.sort,
        }
        return {k: v for k, v in args.items() if v}

    def args_with(self, **changes: str) -> dict[str, str]:
        """as_args() with some values replaced, e.g. the sort order for a column link."""
        args = self.as_args() | changes
        return {k: v for k, v in args.items() if v and not (k == "sort" and v == "name")}

    @property
    def active(self) -> bool:
        return bool(self.q or self.category_id or self.area or self.status)


def parse_filter(args: Mapping[str, Any]) -> AssociationFilter:
    """Filters from query arguments; anything unknown falls back to the default."""
    try:
        category_id = int(args.get("category") or 0) or None
    except (TypeError, ValueError):
        category_id = None
    status = args.get("status") or ""
    sort = args.get("sort") or "name"
    return AssociationFilter(
        q=(args.get("q") or "").strip()[:200],
        category_id=category_id,
        area=(args.get("area") or "").strip()[:AREA_MAX],
        status=status if status in STATUSES else "",
        sort=sort if sort in SORTS else "name",
    )


def _text_match(columns: tuple[Any, ...], words: list[str]) -> list[Any]:
    return [or_(*(col.contains(word, autoescape=True) for col in columns)) for word in words]


def _association_query(flt: AssociationFilter) -> Select[tuple[Association]]:
    stmt = select(Association)
    if flt.status == "merged":
        stmt = stmt.where(Association.merged_into_id.is_not(None))
    else:
        stmt = stmt.where(Association.merged_into_id.is_(None))
        if flt.status == "active":
            stmt = stmt.where(Association.active.is_(True))
        elif flt.status == "inactive":
            stmt = stmt.where(Association.active.is_(False))
    if flt.q:
        # search_text is case-folded by Python; lower() covers rows written before it existed.
        columns = (
            Association.search_text,
            func.lower(Association.name),
            func.lower(Association.email),
        )
        stmt = stmt.where(*_text_match(columns, fold(flt.q).split()))
    if flt.category_id:
        stmt = stmt.where(Association.category_id == flt.category_id)
    if flt.area:
        stmt = stmt.where(func.lower(Association.area) == flt.area.lower())
    return stmt


def _ordered(stmt: Select[tuple[Association]], sort: str) -> Select[tuple[Association]]:
    if sort == "-name":
        return stmt.order_by(func.lower(Association.name).desc(), Association.id.desc())
    if sort == "updated":
        return stmt.order_by(Association.updated_at.desc(), Association.id.desc())
    return stmt.order_by(func.lower(Association.name), Association.id)


def search_associations(
    session: Session, flt: AssociationFilter, *, page: int, per_page: int
) -> tuple[list[Association], int]:
    """One page of the filtered list and the total; three queries whatever the page size."""
    stmt = _association_query(flt)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        _ordered(stmt, flt.sort)
        .options(joinedload(Association.category), selectinload(Association.people))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).unique()
    return list(rows), total


def list_areas(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(Association.area)
            .where(Association.area != "", Association.merged_into_id.is_(None))
            .distinct()
            .order_by(Association.area)
        )
    )


def list_association_choices(session: Session) -> list[Association]:
    """Every association not merged away, by name: for pickers (merge, a person's associations)."""
    return list(
        session.scalars(
            select(Association)
            .where(Association.merged_into_id.is_(None))
            .order_by(func.lower(Association.name), Association.id)
        )
    )
