"""Page numbers for lists: parsed from the query string, clamped, with the figures templates need."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def page_size() -> int:
    """Rows per page of a staff list (config PAGE_SIZE)."""
    from flask import current_app

    return current_app.config["PAGE_SIZE"]


def page_arg(args: Any) -> int:
    try:
        return max(1, int(args.get("page", 1)))
    except (TypeError, ValueError):
        return 1


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)
