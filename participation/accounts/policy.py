"""Who may do what among staff. Routes declare a role; this module decides."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required

from participation.accounts.models import CONTACT_PERSON, COORDINATOR

F = TypeVar("F", bound=Callable[..., Any])

STAFF = (COORDINATOR, CONTACT_PERSON)


def role_required(*roles: str) -> Callable[[F], F]:
    """Anonymous users go to the login page; a signed-in user of another role gets 403."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        guarded = login_required(wrapped)
        guarded.required_roles = roles  # read by the permission tests, which cover every route
        return guarded  # type: ignore[return-value]

    return decorator


staff_required = role_required(*STAFF)
coordinator_required = role_required(COORDINATOR)
