"""Forms built by staff and the responses given to them.

A form is the form engine's versioned JSON schema plus a title; other capabilities (comment
rounds, registrations, surveys) refer to a form by id and store their answers as FormResponse rows.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.db import Base, utcnow

if TYPE_CHECKING:
    from participation.accounts.models import User

WEB = "web"
PAPER = "paper"  # typed in by staff from a paper form
SOURCES = (WEB, PAPER)


class FormDefinition(Base):
    __tablename__ = "form_definition"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # {"version": n, "questions": [...]} as forms.validate_schema returns it; replaced, never
    # mutated in place, so SQLAlchemy sees every change.
    schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    owner_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()

    @property
    def questions(self) -> list[dict[str, Any]]:
        return list(self.schema.get("questions", []))

    @property
    def version(self) -> int:
        return int(self.schema.get("version", 1))


class FormResponse(Base):
    """One person's answers, normalised by the engine, with the schema version they answered."""

    __tablename__ = "form_response"
    __table_args__ = (CheckConstraint("source IN ('web', 'paper')", name="source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(
        ForeignKey("form_definition.id", ondelete="CASCADE"), index=True
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    schema_version: Mapped[int]
    source: Mapped[str] = mapped_column(String(10), default=WEB)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
