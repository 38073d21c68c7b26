"""Who may see and edit which forms: a coordinator every form, a contact person their own."""

from __future__ import annotations

from typing import Any


def can_see_all(user: Any) -> bool:
    return bool(user.is_coordinator)


def can_edit(user: Any, form: Any) -> bool:
    return can_see_all(user) or form.owner_id == user.id
