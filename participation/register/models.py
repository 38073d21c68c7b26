"""The association register: associations, the people who represent them, categories, history."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.db import Base, utcnow

if TYPE_CHECKING:
    from participation.accounts.models import User

LANGUAGES = ("fi", "sv", "en")

representation = Table(
    "representation",
    Base.metadata,
    Column("person_id", ForeignKey("person.id", ondelete="CASCADE"), primary_key=True),
    Column("association_id", ForeignKey("association.id", ondelete="CASCADE"), primary_key=True),
)


class Category(Base):
    """An editable grouping; the defaults are the five groups of a partnership forum."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Names per language; `key` is stable for imports and the demo.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name_fi: Mapped[str] = mapped_column(String(120))
    name_sv: Mapped[str] = mapped_column(String(120), default="")
    name_en: Mapped[str] = mapped_column(String(120), default="")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def name(self, locale: str) -> str:
        return getattr(self, f"name_{locale}", "") or self.name_fi


class Association(Base):
    __tablename__ = "association"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    registry_number: Mapped[str] = mapped_column(String(20), default="")
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("category.id", ondelete="SET NULL"), index=True
    )
    area: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    website: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set when this row was merged into another; merged rows are kept for their history only.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("association.id"), default=None)
    # Case-folded name, registry number, area and e-mail, kept by the services: SQLite's lower()
    # folds ASCII only, and names like "Ämmälän kyläyhdistys" must be found as "ämmälä".
    search_text: Mapped[str] = mapped_column(Text, default="")

    category: Mapped[Category | None] = relationship()
    people: Mapped[list[Person]] = relationship(
        secondary=representation, back_populates="associations", order_by="Person.name"
    )
    merged_into: Mapped[Association | None] = relationship(remote_side="Association.id")


class Person(Base):
    """Someone who represents an association or takes part as a resident."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    language: Mapped[str] = mapped_column(String(2), default="fi")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Case-folded name and e-mail, kept by the services (see Association.search_text).
    search_text: Mapped[str] = mapped_column(Text, default="")

    associations: Mapped[list[Association]] = relationship(
        secondary=representation, back_populates="people", order_by="Association.name"
    )


class AssociationChange(Base):
    """What changed in an association, when, and through whom (staff or the association's link)."""

    __tablename__ = "association_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(
        ForeignKey("association.id", ondelete="CASCADE"), index=True
    )
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # "staff", "edit_link", "import", "merge"
    source: Mapped[str] = mapped_column(String(20))
    staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), default=None
    )
    # {"field": [old, new], ...}
    changes: Mapped[dict] = mapped_column(JSON, default=dict)

    staff_user: Mapped[User | None] = relationship("User")


__all__ = [
    "LANGUAGES",
    "Association",
    "AssociationChange",
    "Category",
    "Person",
    "representation",
]
