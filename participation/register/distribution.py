"""Distribution lists: the associations of the register that a round or an event invites.

Rounds and events keep their own invitation rows (and send their own mails); choosing the
list, and what a send reports back, are the same for both and live here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from participation.errors import Conflict, Invalid
from participation.register.models import Association


class Invitation(Protocol):
    association_id: int


Row = TypeVar("Row", bound=Invitation)


def list_invitable_associations(session: Session) -> list[Association]:
    """Active associations of the register, by name."""
    return list(
        session.scalars(
            select(Association)
            .where(Association.active.is_(True), Association.merged_into_id.is_(None))
            .order_by(func.lower(Association.name), Association.id)
        )
    )


def replace_invitations(
    session: Session,
    invitations: list[Row],
    association_ids: Iterable[int],
    *,
    new: Callable[[int], Row],
    keep: Callable[[Row], bool] = lambda _invitation: False,
) -> tuple[int, int]:
    """Make `invitations` (a round's or an event's list) exactly these associations, except
    those `keep` holds on to; `new` makes the row for an added one. Returns (added, removed).

    Raises Invalid for an association not in the register, Conflict for a simultaneous change.
    """
    wanted = {int(i) for i in association_ids}
    known = set(
        session.scalars(
            select(Association.id).where(
                Association.id.in_(wanted), Association.merged_into_id.is_(None)
            )
        )
    )
    if known != wanted:
        message = _("Choose associations from the list.")
        raise Invalid(message, {"association_ids": [message]})
    current = {i.association_id: i for i in invitations}
    removed = 0
    for association_id, invitation in current.items():
        if association_id not in wanted and not keep(invitation):
            invitations.remove(invitation)
            removed += 1
    added = 0
    for association_id in sorted(wanted - current.keys()):
        invitations.append(new(association_id))
        added += 1
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            _("Someone changed the list at the same moment. Reload the page and check it.")
        ) from exc
    return added, removed


@dataclass(frozen=True)
class InvitationResult:
    sent: int
    without_email: list[str]

    def sent_text(self) -> str:
        return ngettext("%(num)s invitation was sent.", "%(num)s invitations were sent.", self.sent)

    def without_email_text(self) -> str:
        """Who was left uninvited for want of an address; "" when no one."""
        if not self.without_email:
            return ""
        return _(
            "Not invited, no e-mail address in the register: %(names)s",
            names=", ".join(self.without_email),
        )
