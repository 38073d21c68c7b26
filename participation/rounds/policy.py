"""Who may do what with comment rounds.

Both staff roles may look at drafts and rounds; only coordinators create and change them, keep
the distribution list and send invitations. Participants need no account: they act through the
round's public page and their own mailed link.
"""

from __future__ import annotations

from typing import Any

from participation.accounts.models import COORDINATOR
from participation.accounts.policy import coordinator_required, staff_required

view_required = staff_required
manage_required = coordinator_required


def can_manage(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role == COORDINATOR


def can_review(user: Any, round_: Any) -> bool:
    """Coordinators review every round's comments; a contact person only rounds they created."""
    return user.role == COORDINATOR or (
        round_.created_by_id is not None and round_.created_by_id == user.id
    )
