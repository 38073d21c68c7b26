"""Who may publish a digest and follow its mailing: a coordinator, or the staff member who
created the thing it is a digest of (a round's creator)."""

from __future__ import annotations

from typing import Any


def can_publish(user: Any, owner_id: int | None) -> bool:
    return bool(user.is_coordinator) or (owner_id is not None and owner_id == user.id)


def can_follow_mailing(user: Any, mailing: Any, owner_id: int | None) -> bool:
    return can_publish(user, owner_id) or mailing.created_by_id == user.id
