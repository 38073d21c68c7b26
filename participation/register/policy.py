"""Who may do what in the register.

Both staff roles may look (lists, details, history); only coordinators change the register:
create, edit, merge, import, export (a list of contact addresses), categories, sending links.
Associations themselves change only their own row, through a mailed edit link.
"""

from __future__ import annotations

from typing import Any

from participation.accounts.models import COORDINATOR
from participation.accounts.policy import coordinator_required, staff_required

view_required = staff_required
manage_required = coordinator_required


def can_manage(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role == COORDINATOR
