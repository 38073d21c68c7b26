"""Who may do what with surveys.

Both staff roles create surveys. A coordinator sees and runs every survey; a contact person
only the surveys they created (can_manage_survey): their settings, copies, invitations and
reminders, paper answers, QR code, results, exports and publishing. Respondents need no account:
they answer on the public page or through their personal invitation link.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from participation.accounts.models import COORDINATOR
from participation.accounts.policy import staff_required
from participation.errors import Forbidden
from participation.extensions import db
from participation.surveys import services
from participation.surveys.models import Survey

# Every staff survey route declares this role; the survey itself is checked by managed_survey().
view_required = staff_required


def is_coordinator(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role == COORDINATOR


def can_manage_survey(user: Any, survey: Survey) -> bool:
    """Coordinators run every survey; a contact person only the surveys they created."""
    return is_coordinator(user) or (
        bool(getattr(user, "is_authenticated", False))
        and survey.created_by_id is not None
        and survey.created_by_id == user.id
    )


def managed_survey(survey_id: int) -> Survey:
    """The survey for a view of /staff/surveys/<survey_id>/…, if the signed-in staff member may
    run it. Raises NotFound, Forbidden."""
    survey = services.get_survey(db.session, survey_id)
    if not can_manage_survey(current_user, survey):
        raise Forbidden()
    return survey
