"""Who may do what with events.

A coordinator sees and runs every event; a department's contact person creates events and sees
and runs only the ones they created (registrations, exports with diet and accessibility answers,
the door, groups, invitations, publishing and cancelling). Routes declare the staff role; every
/staff/events/<event_id>/… view then loads its event through `get_event_for`, which refuses the
rest. Participants need no account: they register on the event's public page and act through
their own mailed link.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from participation.accounts.models import COORDINATOR
from participation.errors import Forbidden
from participation.events import services
from participation.events.models import Event


def can_manage_event(user: Any, event: Event) -> bool:
    """Coordinators run every event; a contact person only the events they created."""
    return user.role == COORDINATOR or (
        event.created_by_id is not None and event.created_by_id == user.id
    )


def sees_all_events(user: Any) -> bool:
    return bool(user.role == COORDINATOR)


def get_event_for(session: Session, event_id: int, *, user: Any) -> Event:
    """The event with its groups if `user` may run it. Raises NotFound for a missing event and
    Forbidden for another contact person's event."""
    event = services.get_event(session, event_id)
    if not can_manage_event(user, event):
        raise Forbidden(_("Only the event's creator and the coordinators can see this event."))
    return event
