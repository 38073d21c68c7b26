"""Edit links: an association asks for (or staff send) a one-time link to its registered
address, and through it edits its own information."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from participation import tokens
from participation.errors import WrongState
from participation.mail import services as mail
from participation.register.models import Association
from participation.register.services import (
    FIELDS,
    _apply,
    clean_association_data,
    get_association,
)
from participation.register.values import normalise_email

EDIT_PURPOSE = "association_edit"
LINK_FIELDS = FIELDS[:-1]  # through the edit link the association cannot deactivate itself


def _edit_link_mail(
    session: Session,
    associations: list[Association],
    *,
    to: str,
    now: dt.datetime,
    lifetime: dt.timedelta,
    link_for: Callable[[str], str],
    locale: str,
) -> None:
    links = [
        (
            a.name,
            link_for(
                tokens.issue_link(
                    session, purpose=EDIT_PURPOSE, subject_id=a.id, lifetime=lifetime, now=now
                )
            ),
        )
        for a in associations
    ]
    mail.queue_mail(
        session,
        to=to,
        template="register_edit_link",
        purpose="register_edit_link",
        locale=locale,
        now=now,
        links=links,
        hours=int(lifetime.total_seconds() // 3600),
    )


def request_edit_link(
    session: Session,
    email: str,
    *,
    now: dt.datetime,
    lifetime: dt.timedelta,
    link_for: Callable[[str], str],
    locale: str,
) -> int:
    """Mail an edit link for every active association registered with `email`, in one message
    to that registered address. Returns the number of links sent, which the caller must not
    show: an unknown address gets the same page, and about the same work is done for it (the
    mail is rendered and thrown away) so the response time does not tell either.
    """
    try:
        address = normalise_email(email)
    except ValueError:
        address = ""
    associations = (
        list(
            session.scalars(
                select(Association)
                .where(
                    Association.email == address,
                    Association.active.is_(True),
                    Association.merged_into_id.is_(None),
                )
                .order_by(Association.name)
            )
        )
        if address
        else []
    )
    if associations:
        _edit_link_mail(
            session,
            associations,
            to=address,
            now=now,
            lifetime=lifetime,
            link_for=link_for,
            locale=locale,
        )
        return len(associations)
    with force_locale(locale):
        render_template(
            "mail/register_edit_link.txt",
            links=[("", link_for(tokens.token_hash(tokens.new_token())))],
            hours=int(lifetime.total_seconds() // 3600),
        )
    return 0


def send_edit_link(
    session: Session,
    association_id: int,
    *,
    now: dt.datetime,
    lifetime: dt.timedelta,
    link_for: Callable[[str], str],
    locale: str,
) -> Association:
    """Staff send the link to the association's registered address.

    Raises NotFound, or WrongState when the association is merged, inactive or has no e-mail.
    """
    association = get_association(session, association_id)
    if association.merged_into_id is not None or not association.active:
        raise WrongState(_("Edit links are sent only to active associations."))
    if not association.email:
        raise WrongState(_("The association has no e-mail address to send the link to."))
    _edit_link_mail(
        session,
        [association],
        to=association.email,
        now=now,
        lifetime=lifetime,
        link_for=link_for,
        locale=locale,
    )
    return association


def open_edit_link(session: Session, token: str, *, now: dt.datetime) -> Association:
    """The association the link edits, without spending it (GET shows the form).

    Raises tokens.LinkExpired, or tokens.LinkInvalid when tampered, used, or the association is
    gone, merged or inactive.
    """
    link = tokens.check_link(session, token, purpose=EDIT_PURPOSE, now=now)
    association = session.get(Association, link.subject_id)
    if association is None or association.merged_into_id is not None or not association.active:
        raise tokens.LinkInvalid()
    return association


def save_by_edit_link(
    session: Session,
    token: str,
    data: Mapping[str, Any],
    *,
    now: dt.datetime,
    locale: str,
) -> Association:
    """Save the association's own edit and spend the link, in the caller's transaction.

    Bad input raises Invalid and leaves the link unspent, so the person can correct and send
    again. A changed e-mail address is told to the old address too. Raises LinkExpired or
    LinkInvalid as open_edit_link (also when a parallel post spent the link first).
    """
    association = open_edit_link(session, token, now=now)
    values = clean_association_data(session, data, current=association, fields=LINK_FIELDS)
    tokens.use_link(session, token, purpose=EDIT_PURPOSE, now=now)
    old_email = association.email
    changes = _apply(session, association, values, source="edit_link", now=now, staff_user_id=None)
    if "email" in changes and old_email:
        mail.queue_mail(
            session,
            to=old_email,
            template="register_email_changed",
            purpose="register_email_changed",
            locale=locale,
            now=now,
            association=association.name,
            new_email=association.email,
        )
    session.flush()
    return association
