"""Who may do what with surveys.

Both staff roles may look at surveys and type in paper answers; only coordinators create,
change and copy them and send invitations and reminders. Respondents need no account: they
answer on the public page or through their personal invitation link.
"""

from __future__ import annotations

from typing import Any

from participation.accounts.models import COORDINATOR
from participation.accounts.policy import coordinator_required, staff_required

view_required = staff_required
paper_required = staff_required
manage_required = coordinator_required


def can_manage(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role == COORDINATOR
