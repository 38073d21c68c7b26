"""Who may do what with events.

Both staff roles may look at events and their figures; only coordinators create and change
them, keep the groups and the distribution list, send invitations, publish and cancel.
Participants need no account: they register on the event's public page and act through their
own mailed link.
"""

from __future__ import annotations

from typing import Any

from participation.accounts.models import COORDINATOR
from participation.accounts.policy import coordinator_required, staff_required

view_required = staff_required
manage_required = coordinator_required


def can_manage(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role == COORDINATOR
