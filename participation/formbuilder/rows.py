"""The statement that stores a form's answers (a `FormResponse` row) on the busy paths that
write with Core statements: survey answers, live votes and event registrations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Integer, String

from participation.db import UTCDateTime, guarded_insert
from participation.formbuilder.models import FormResponse


def new_response_insert(*guards: Any, typed: bool) -> Any:
    """The response row of a new answer, stored only while `guards` hold (none: always);
    `typed` for PostgreSQL (see db.guarded_insert). RETURNING its id. Parameters: form_id,
    answers, schema_version, source, submitted_at and the guards' own."""
    return guarded_insert(
        FormResponse.__table__,
        [
            ("form_id", "form_id", Integer()),
            ("answers", "answers", JSON()),
            ("schema_version", "schema_version", Integer()),
            ("source", "source", String()),
            ("submitted_at", "submitted_at", UTCDateTime()),
        ],
        *guards,
        typed=typed,
    )
