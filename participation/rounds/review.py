"""The staff's review of a round's comments: filters, decisions, hiding, progress, who has
answered against the distribution list, reminders, and the export.

Every function takes the session and plain values (and `now` where time matters); the views
commit. Hidden and withdrawn comments are shown to staff here, marked, but never exported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from participation.accounts.models import User
from participation.errors import Invalid, NotFound, WrongState
from participation.mail import services as mail
from participation.pagination import Page
from participation.register.models import Association
from participation.rounds.models import (
    DECISIONS,
    NOT_TAKEN,
    NOTED,
    PARTLY,
    TAKEN,
    Comment,
    Invitation,
    Participant,
    Round,
    Section,
)
from participation.rounds.policy import can_review

HELSINKI = ZoneInfo("Europe/Helsinki")
REASON_MAX = 2000
HIDDEN_REASON_MAX = 500  # the column's length
SEARCH_MAX = 200
REMIND_AGAIN_AFTER = dt.timedelta(hours=24)

DECISION_LABELS = {
    TAKEN: _l("Taken into account"),
    PARTLY: _l("Partly taken into account"),
    NOT_TAKEN: _l("Not taken into account"),
    NOTED: _l("Noted"),
}

# Filter values that are not ids or decisions.
WHOLE_DRAFT = "whole"
NO_ASSOCIATION = "none"
NO_DECISION = "none"
VISIBILITIES = ("visible", "hidden", "withdrawn")


# --- who may review -----------------------------------------------------------------------------


def get_round(session: Session, round_id: int) -> Round:
    """Raises NotFound."""
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise NotFound(_("No such comment round."))
    return round_


def get_round_for_review(session: Session, round_id: int, *, user: Any) -> Round:
    """The round if `user` may review it. Raises NotFound for a missing round and, so that ids
    reveal nothing, also for a round the user may not review."""
    round_ = session.get(Round, round_id)
    if round_ is None or not can_review(user, round_):
        raise NotFound(_("No such comment round."))
    return round_


# --- filters --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFilter:
    section: str = ""  # "", WHOLE_DRAFT or a section id
    association: str = ""  # "", NO_ASSOCIATION or an association id
    decision: str = ""  # "", NO_DECISION or one of DECISIONS
    visibility: str = ""  # "" or one of VISIBILITIES
    q: str = ""

    def as_args(self) -> dict[str, str]:
        """The non-default values as query arguments, for the pager, forms and export links."""
        args = {
            "section": self.section,
            "association": self.association,
            "decision": self.decision,
            "visibility": self.visibility,
            "q": self.q,
        }
        return {k: v for k, v in args.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def _id_or(value: str, special: str) -> str:
    if value == special:
        return value
    return value if value.isdigit() and len(value) < 12 else ""


def parse_filter(args: Mapping[str, Any]) -> ReviewFilter:
    """Filters from query arguments; anything unknown falls back to "all"."""
    decision = str(args.get("decision") or "")
    visibility = str(args.get("visibility") or "")
    return ReviewFilter(
        section=_id_or(str(args.get("section") or ""), WHOLE_DRAFT),
        association=_id_or(str(args.get("association") or ""), NO_ASSOCIATION),
        decision=decision if decision in (*DECISIONS, NO_DECISION) else "",
        visibility=visibility if visibility in VISIBILITIES else "",
        q=" ".join(str(args.get("q") or "").split())[:SEARCH_MAX],
    )


def _filtered(round_id: int, flt: ReviewFilter) -> Select[Any]:
    stmt = (
        select(Comment.id)
        .join(Participant, Participant.id == Comment.participant_id)
        .where(Comment.round_id == round_id)
    )
    if flt.section == WHOLE_DRAFT:
        stmt = stmt.where(Comment.section_id.is_(None))
    elif flt.section:
        stmt = stmt.where(Comment.section_id == int(flt.section))
    if flt.association == NO_ASSOCIATION:
        stmt = stmt.where(Participant.association_id.is_(None))
    elif flt.association:
        stmt = stmt.where(Participant.association_id == int(flt.association))
    if flt.decision == NO_DECISION:
        stmt = stmt.where(Comment.decision.is_(None))
    elif flt.decision:
        stmt = stmt.where(Comment.decision == flt.decision)
    if flt.visibility == "visible":
        stmt = stmt.where(Comment.hidden_at.is_(None), Comment.withdrawn_at.is_(None))
    elif flt.visibility == "hidden":
        stmt = stmt.where(Comment.hidden_at.is_not(None))
    elif flt.visibility == "withdrawn":
        stmt = stmt.where(Comment.withdrawn_at.is_not(None))
    # lower() folds only ASCII on SQLite; PostgreSQL folds ä and ö as well.
    for word in flt.q.lower().split():
        stmt = stmt.where(
            or_(
                func.lower(Comment.body).contains(word, autoescape=True),
                func.lower(Participant.name).contains(word, autoescape=True),
            )
        )
    return stmt


# --- the list -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewItem:
    """A comment with the plain values its block shows, so templates load nothing."""

    comment: Comment
    number: int  # the comment's number within the round, by arrival
    association: str
    decided_by: str
    hidden_by: str

    @property
    def decision_label(self) -> str:
        label = DECISION_LABELS.get(self.comment.decision or "")
        return str(label) if label else ""


def _items(round_id: int, ids: Select[Any] | list[int]) -> Select[Any]:
    numbered = (
        select(Comment.id, func.row_number().over(order_by=Comment.id).label("number"))
        .where(Comment.round_id == round_id)
        .subquery()
    )
    decider, hider = aliased(User), aliased(User)
    return (
        select(Comment, numbered.c.number, Association.name, decider.name, hider.name)
        .join(numbered, numbered.c.id == Comment.id)
        .join(Participant, Participant.id == Comment.participant_id)
        .outerjoin(Section, Section.id == Comment.section_id)
        .outerjoin(Association, Association.id == Participant.association_id)
        .outerjoin(decider, decider.id == Comment.decided_by_id)
        .outerjoin(hider, hider.id == Comment.hidden_by_id)
        .where(Comment.id.in_(ids))
        # The draft as a whole first, then section by section, each in arrival order.
        .order_by(func.coalesce(Section.position, -1), Comment.id)
        .options(selectinload(Comment.participant), selectinload(Comment.section))
    )


def _to_items(rows: Any) -> list[ReviewItem]:
    return [
        ReviewItem(comment, number, association or "", decided_by or "", hidden_by or "")
        for comment, number, association, decided_by, hidden_by in rows
    ]


def list_comments(
    session: Session, round_id: int, flt: ReviewFilter, *, page: int, per_page: int
) -> Page:
    """One page of the round's comments matching `flt`, hidden and withdrawn ones included.
    Four queries whatever the page size."""
    matching = _filtered(round_id, flt)
    total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    stmt = _items(round_id, matching)
    rows = session.execute(stmt.offset((page - 1) * per_page).limit(per_page))
    return Page(_to_items(rows), page, per_page, total)


def get_review_item(session: Session, round_id: int, comment_id: int) -> ReviewItem:
    """Raises NotFound when the comment is not one of the round's."""
    items = _to_items(session.execute(_items(round_id, [comment_id])))
    if not items:
        raise NotFound(_("No such comment."))
    return items[0]


@dataclass(frozen=True)
class Progress:
    answered: int
    total: int


def count_progress(session: Session, round_id: int) -> Progress:
    """Visible comments with a decision, and all visible comments."""
    total, answered = session.execute(
        select(func.count(Comment.id), func.count(Comment.decision)).where(
            Comment.round_id == round_id,
            Comment.hidden_at.is_(None),
            Comment.withdrawn_at.is_(None),
        )
    ).one()
    return Progress(answered=answered or 0, total=total or 0)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def list_filter_choices(session: Session, round_: Round) -> tuple[list[Choice], list[Choice]]:
    """The sections of the round's draft version, and the associations participants spoke for."""
    sections = [
        Choice(str(s.id), s.heading)
        for s in session.scalars(
            select(Section)
            .where(Section.version_id == round_.draft_version_id)
            .order_by(Section.position)
        )
    ]
    associations = [
        Choice(str(a_id), name)
        for a_id, name in session.execute(
            select(Association.id, Association.name)
            .where(
                Association.id.in_(
                    select(Participant.association_id).where(Participant.round_id == round_.id)
                )
            )
            .order_by(func.lower(Association.name), Association.id)
        )
    ]
    return sections, associations


# --- decisions and hiding -------------------------------------------------------------------------


def _get_comment(session: Session, round_id: int, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None or comment.round_id != round_id:
        raise NotFound(_("No such comment."))
    return comment


def decide_comment(
    session: Session,
    round_id: int,
    comment_id: int,
    *,
    decision: str,
    reason: str,
    user_id: int,
    now: dt.datetime,
) -> Comment:
    """Record (or change) the decision on a visible comment, and who made it when.

    Raises NotFound, WrongState (a hidden or withdrawn comment) and Invalid (no decision, or too
    long a reason)."""
    comment = _get_comment(session, round_id, comment_id)
    errors: dict[str, list[str]] = {}
    if decision not in DECISIONS:
        errors["decision"] = [_("Choose a decision.")]
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        errors["reason"] = [_("Use at most %(max)d characters.", max=REASON_MAX)]
    if errors:
        raise Invalid(_("Check the decision."), errors)
    if comment.withdrawn_at is not None:
        raise WrongState(_("The participant has withdrawn this comment."))
    if comment.hidden_at is not None:
        raise WrongState(_("A hidden comment gets no decision. Show it again first."))
    comment.decision = decision
    comment.decision_reason = reason
    comment.decided_at = now
    comment.decided_by_id = user_id
    session.flush()
    return comment


def hide_comment(
    session: Session,
    round_id: int,
    comment_id: int,
    *,
    reason: str,
    user_id: int,
    now: dt.datetime,
) -> Comment:
    """Hide a comment from the public page, the exports and the digest; the reason is kept for
    staff. Raises NotFound, Invalid (no reason, too long) and WrongState (already hidden)."""
    comment = _get_comment(session, round_id, comment_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Check the reason."), {"reason": [_("Give a reason for hiding.")]})
    if len(reason) > HIDDEN_REASON_MAX:
        raise Invalid(
            _("Check the reason."),
            {"reason": [_("Use at most %(max)d characters.", max=HIDDEN_REASON_MAX)]},
        )
    if comment.hidden_at is not None:
        raise WrongState(_("The comment is already hidden."))
    comment.hidden_at = now
    comment.hidden_reason = reason
    comment.hidden_by_id = user_id
    session.flush()
    return comment


def unhide_comment(session: Session, round_id: int, comment_id: int) -> Comment:
    """Show a hidden comment again (its decision, if any, is kept). Raises NotFound."""
    comment = _get_comment(session, round_id, comment_id)
    comment.hidden_at = None
    comment.hidden_reason = ""
    comment.hidden_by_id = None
    session.flush()
    return comment


# --- who has answered, reminders ------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationStatus:
    invitation: Invitation
    name: str
    email: str
    comments: int  # not withdrawn; hidden ones count, the association did answer
    answered_questions: bool

    @property
    def answered(self) -> bool:
        return self.comments > 0 or self.answered_questions

    def recently_reminded(self, now: dt.datetime) -> bool:
        reminded = self.invitation.reminded_at
        return reminded is not None and now - reminded < REMIND_AGAIN_AFTER


def list_invitation_status(session: Session, round_id: int) -> list[InvitationStatus]:
    """Each invited association with whether any participant speaking for it commented or
    answered the general questions. Two queries."""
    per_association = session.execute(
        select(
            Participant.association_id,
            func.count(Comment.id),
            func.max(case((Participant.response_id.is_not(None), 1), else_=0)),
        )
        .outerjoin(
            Comment,
            and_(
                Comment.participant_id == Participant.id,
                Comment.round_id == round_id,
                Comment.withdrawn_at.is_(None),
            ),
        )
        .where(Participant.round_id == round_id, Participant.association_id.is_not(None))
        .group_by(Participant.association_id)
    ).all()
    answers = {a_id: (count, bool(questions)) for a_id, count, questions in per_association}
    rows = session.execute(
        select(Invitation, Association.name, Association.email)
        .join(Association, Association.id == Invitation.association_id)
        .where(Invitation.round_id == round_id)
        .order_by(func.lower(Association.name), Association.id)
    ).all()
    return [
        InvitationStatus(
            invitation, name, email or "", *answers.get(invitation.association_id, (0, False))
        )
        for invitation, name, email in rows
    ]


@dataclass(frozen=True)
class ReminderPlan:
    """Who a reminder would go to now."""

    due: list[InvitationStatus]  # not answered, with an e-mail, not reminded in 24 hours
    recent: list[InvitationStatus]  # the same but reminded less than 24 hours ago
    without_email: list[InvitationStatus]


def plan_reminders(statuses: list[InvitationStatus], *, now: dt.datetime) -> ReminderPlan:
    waiting = [s for s in statuses if not s.answered]
    with_email = [s for s in waiting if s.email]
    return ReminderPlan(
        due=[s for s in with_email if not s.recently_reminded(now)],
        recent=[s for s in with_email if s.recently_reminded(now)],
        without_email=[s for s in waiting if not s.email],
    )


@dataclass(frozen=True)
class ReminderResult:
    sent: int
    skipped_recent: int
    without_email: int


def send_reminders(
    session: Session,
    round_id: int,
    *,
    round_url: str,
    include_recent: bool,
    locale: str,
    now: dt.datetime,
) -> ReminderResult:
    """Queue one reminder per invited association that has not answered and has an e-mail
    address, and record when it was reminded. Those reminded less than 24 hours ago are left
    out unless `include_recent` (the staff member confirmed). Raises NotFound, and WrongState
    when the round is not open."""
    round_ = get_round(session, round_id)
    if not round_.is_open(now):
        raise WrongState(_("Reminders can be sent only while the round is open."))
    plan = plan_reminders(list_invitation_status(session, round_id), now=now)
    targets = plan.due + (plan.recent if include_recent else [])
    for status in targets:
        mail.queue_mail(
            session,
            to=status.email,
            template="round_reminder",
            purpose="round_reminder",
            locale=locale,
            now=now,
            association_name=status.name,
            round_title=round_.title,
            closes_at=round_.closes_at,
            round_url=round_url,
        )
        status.invitation.reminded_at = now
    session.flush()
    return ReminderResult(
        sent=len(targets),
        skipped_recent=0 if include_recent else len(plan.recent),
        without_email=len(plan.without_email),
    )


# --- export ---------------------------------------------------------------------------------------


def export_comments(session: Session, round_id: int) -> tuple[list[str], list[list[str]]]:
    """The round's visible comments (never hidden or withdrawn ones) as a header and rows of
    plain text for to_csv / to_xlsx. A participant's name only when they allowed it shown."""
    header = [
        _("Number"),
        _("Section"),
        _("Comment"),
        _("Name"),
        _("Association"),
        _("Decision"),
        _("Reason"),
        _("Time"),
    ]
    visible = select(Comment.id).where(
        Comment.round_id == round_id, Comment.hidden_at.is_(None), Comment.withdrawn_at.is_(None)
    )
    rows = []
    for item in _to_items(session.execute(_items(round_id, visible))):
        c = item.comment
        rows.append(
            [
                str(item.number),
                c.section.heading if c.section else _("The draft as a whole"),
                c.body,
                c.participant.name if c.participant.name_public else "",
                item.association,
                str(DECISION_LABELS[c.decision]) if c.decision in DECISION_LABELS else "",
                c.decision_reason if c.decision else "",
                c.created_at.astimezone(HELSINKI).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return header, rows
