"""Where each capability that stores something about a person plugs in its exporter (the
person's download), its eraser (erasure on request) and its own retention.

The capability's privacy module registers itself when its package is imported, so the privacy
capability imports none of them and no capability's import order matters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from participation.register.models import Person

Counts = dict[str, int]
Eraser = Callable[[Session, "Person", dt.datetime], Counts]
Exporter = Callable[[Session, "Person"], dict[str, Any]]
# (session, now, the retention period in days) -> counts for the erasure log
Retention = Callable[[Session, dt.datetime, int], Counts]

EXPORTERS: list[Exporter] = []
ERASERS: list[Eraser] = []
RETENTION: list[Retention] = []


def register(*, exporter: Exporter, eraser: Eraser, retention: Retention | None = None) -> None:
    """Add a capability's functions (once, however often its module is reloaded)."""
    for found, item in ((EXPORTERS, exporter), (ERASERS, eraser), (RETENTION, retention)):
        if item is not None and item not in found:
            found.append(item)  # type: ignore[arg-type]
