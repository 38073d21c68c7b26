"""Digests: publish one (a Digest, a Mailing and one outbox row per recipient, in one
transaction), render it once in the worker, serve it, and follow its mailing's progress.

A digest kind (a round's comment digest now; event summaries and survey results later) is a
template plus a function that builds its plain-data context: register one with `register_kind`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from participation.digests import pdf
from participation.digests.models import FAILED, PENDING, READY, RENDERING, Digest
from participation.digests.round_digest import (
    DECISION_LABELS,
    build_round_context,
    get_round,
    number_comments,
    visible_comments,
)
from participation.errors import Invalid, NotFound, WrongState
from participation.mail import services as mail
from participation.mail.models import Mailing
from participation.register.models import Association
from participation.rounds.models import Invitation, Participant, Section
from participation.web import absolute_url

log = logging.getLogger(__name__)

ROUND = "round"
# A render left "rendering" this long after the time limit was interrupted (a killed worker).
RENDER_GRACE = dt.timedelta(minutes=2)
# A digest still pending this long lost its queue message; the periodic task enqueues it again.
PENDING_GRACE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class DigestKind:
    template: str
    # (session, subject id, language) -> the template's plain-data context
    build_context: Callable[[Session, int, str], dict[str, Any]]
    # (session, subject id) -> the staff user who created the subject (may follow its mailings)
    owner_of: Callable[[Session, int], int | None] | None = None


KINDS: dict[str, DigestKind] = {}


def register_kind(
    kind: str,
    template: str,
    build_context: Callable[[Session, int, str], dict[str, Any]],
    owner_of: Callable[[Session, int], int | None] | None = None,
) -> None:
    KINDS[kind] = DigestKind(template, build_context, owner_of)


def _round_owner(session: Session, round_id: int) -> int | None:
    from participation.rounds.models import Round

    round_ = session.get(Round, round_id)
    return round_.created_by_id if round_ else None


register_kind(
    ROUND,
    "digests/round.html",
    lambda session, subject_id, language: build_round_context(
        session, subject_id, language=language
    ),
    _round_owner,
)


# --- finding ------------------------------------------------------------------------


def latest_digest(session: Session, kind: str, subject_id: int) -> Digest | None:
    """The newest digest of the subject (with its mailing loaded), or None."""
    return session.scalars(
        select(Digest)
        .where(Digest.kind == kind, Digest.subject_id == subject_id)
        .options(selectinload(Digest.mailing))
        .order_by(Digest.id.desc())
        .limit(1)
    ).first()


def find_published_digest(session: Session, kind: str, subject_id: int) -> Digest | None:
    """The newest digest of the subject that is published and ready, for public pages."""
    return session.scalars(
        select(Digest)
        .where(
            Digest.kind == kind,
            Digest.subject_id == subject_id,
            Digest.status == READY,
            Digest.published_at.is_not(None),
        )
        .order_by(Digest.id.desc())
        .limit(1)
    ).first()


def get_digest(session: Session, digest_id: int) -> Digest:
    """Raises NotFound."""
    digest = session.get(Digest, digest_id)
    if digest is None:
        raise NotFound()
    return digest


def get_downloadable_digest(session: Session, digest_id: int, *, staff: bool) -> Digest:
    """A ready digest: published ones for anyone, any ready one for staff. Raises NotFound."""
    digest = session.get(Digest, digest_id)
    if digest is None or digest.status != READY or digest.pdf is None:
        raise NotFound()
    if digest.published_at is None and not staff:
        raise NotFound()
    return digest


# --- publishing ---------------------------------------------------------------------


def one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass
class DigestMailing:
    """A published digest and its mailing, being filled with one message per address."""

    session: Session
    digest: Digest
    mailing: Mailing
    now: dt.datetime
    common: dict[str, Any]
    seen: set[str] = field(default_factory=set)
    queued: int = 0
    skipped: int = 0

    def queue(self, to: str, template: str, locale: str, **context: Any) -> bool:
        """One message to `to` with the PDF attached, unless the address was given already or
        cannot be mailed (a line break in it: skipped, the others still go)."""
        key = to.strip().casefold()
        if not key or key in self.seen:
            return False
        self.seen.add(key)
        languages = current_app.config["LANGUAGES"]
        try:
            mail.queue_mail(
                self.session,
                to=to,
                template=template,
                purpose="digest",
                locale=locale if locale in languages else self.digest.language,
                now=self.now,
                mailing_id=self.mailing.id,
                attachment_digest_id=self.digest.id,
                **self.common,
                **context,
            )
        except Invalid:
            log.warning("digest %s: skipped an unusable address", self.digest.id)
            self.skipped += 1
            return False
        self.queued += 1
        return True

    def done(self) -> Mailing:
        log.info(
            "digest %s published: %s messages queued, %s skipped",
            self.digest.id,
            self.queued,
            self.skipped,
        )
        return self.mailing


def start_digest_mailing(
    session: Session,
    *,
    kind: str,
    subject_id: int,
    title: str,
    purpose: str,
    now: dt.datetime,
    staff_user_id: int | None,
) -> DigestMailing:
    """A new published digest (pending: the worker renders it) and its mailing, in the
    default language; `common` is filled in by the caller for every message."""
    language = current_app.config["BABEL_DEFAULT_LOCALE"]
    digest = Digest(
        kind=kind,
        subject_id=subject_id,
        title=title[:300],
        language=language,
        status=PENDING,
        created_at=now,
        published_at=now,
    )
    session.add(digest)
    session.flush()
    mailing = Mailing(
        title=title[:300],
        purpose=purpose,
        digest_id=digest.id,
        created_at=now,
        created_by_id=staff_user_id,
    )
    session.add(mailing)
    session.flush()
    return DigestMailing(session, digest, mailing, now, common={})


def publish_round_digest(
    session: Session, round_id: int, *, now: dt.datetime, staff_user_id: int | None
) -> Mailing:
    """Publish the round's digest: a Digest (pending, rendered later by the worker), a Mailing,
    and in the same transaction one outbox row per recipient, each waiting for the PDF.

    Recipients are every participant (a personal cover listing their own visible comments and
    what became of them, in their language) and every invited association with an address (a
    cover); each address gets one message. Publishing again makes a new digest and mailing.
    Raises NotFound, or WrongState when the round has not closed yet.
    """
    round_ = get_round(session, round_id)
    if round_.state(now) != "closed":
        raise WrongState(_("The digest can be published after the round has closed."))
    language = current_app.config["BABEL_DEFAULT_LOCALE"]
    round_title = one_line(round_.title)
    with force_locale(language):
        title = _("Comment digest: %(title)s", title=round_title)
    publishing = start_digest_mailing(
        session,
        kind=ROUND,
        subject_id=round_.id,
        title=title,
        purpose="digest_round",
        now=now,
        staff_user_id=staff_user_id,
    )
    digest = publishing.digest

    headings = dict(
        session.execute(
            select(Section.id, Section.heading)
            .where(Section.version_id == round_.draft_version_id)
            .order_by(Section.position)
        ).all()
    )
    comments = visible_comments(session, round_.id)
    number_comments(comments, list(headings))
    by_participant: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_association: dict[int, int] = defaultdict(int)
    for comment in sorted(comments, key=lambda c: c["number"]):
        comment["section"] = headings.get(comment["section_id"])
        by_participant[comment["participant_id"]].append(comment)
    participants = session.execute(
        select(
            Participant.id,
            Participant.name,
            Participant.email,
            Participant.language,
            Participant.association_id,
        )
        .where(
            Participant.round_id == round_.id,
            Participant.anonymised_at.is_(None),
            Participant.email != "",
        )
        .order_by(Participant.id)
    ).all()
    for p in participants:
        if p.association_id is not None:
            by_association[p.association_id] += len(by_participant.get(p.id, []))

    publishing.common = {
        "round_title": round_title,
        "municipality": current_app.config["MUNICIPALITY_NAME"],
        "download_url": absolute_url("digests.download_digest", digest_id=digest.id),
        "round_url": (
            absolute_url("rounds.show_round", slug=round_.slug)
            if "rounds.show_round" in current_app.view_functions
            else None
        ),
        "decision_labels": DECISION_LABELS,
        "comment_count": len(comments),
        "commenter_count": len({c["participant_id"] for c in comments}),
    }
    queue = publishing.queue
    for p in participants:
        queue(
            p.email,
            "digest_round_participant",
            p.language,
            name=one_line(p.name),
            comments=by_participant.get(p.id, []),
        )
    associations = session.execute(
        select(Association.id, Association.name, Association.email)
        .join(Invitation, Invitation.association_id == Association.id)
        .where(Invitation.round_id == round_.id, Association.email != "")
        .order_by(Association.name)
    ).all()
    for a in associations:
        queue(
            a.email,
            "digest_round_association",
            language,
            association=one_line(a.name),
            association_comments=by_association.get(a.id, 0),
        )
    return publishing.done()


# --- rendering ----------------------------------------------------------------------


def render_html(session: Session, digest: Digest) -> str:
    """The digest's final HTML, in its language."""
    kind = KINDS[digest.kind]
    with force_locale(digest.language):
        context = kind.build_context(session, digest.subject_id, digest.language)
        return render_template(
            kind.template,
            title=digest.title,
            static_url=current_app.static_url_path,
            decision_labels=DECISION_LABELS,
            **context,
        )


def render_options() -> dict[str, Any]:
    """render_pdf's settings from the app's configuration."""
    app = current_app
    return {
        "base_url": app.config["BASE_URL"],
        "static_dir": app.static_folder,
        "static_url_path": app.static_url_path,
        "time_limit": float(app.config.get("PDF_TIME_LIMIT", pdf.TIME_LIMIT)),
        "memory_mb": int(app.config.get("PDF_MEMORY_MB", pdf.MEMORY_LIMIT_MB)),
    }


def render_digest(session: Session, digest_id: int, *, now: dt.datetime) -> Digest | None:
    """Render a pending digest once and store the PDF; None when there was nothing to do.

    The digest is claimed first (pending → rendering, committed), so however many times the
    task runs, one render happens. A failed render marks the digest failed with the reason and
    fails the messages waiting for it, which are then never mailed. Commits as it goes.
    """
    claimed = session.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.status == PENDING)
        .values(status=RENDERING, started_at=now)
    ).rowcount
    session.commit()
    if not claimed:
        return None
    digest = session.get(Digest, digest_id)
    assert digest is not None
    session.refresh(digest)
    try:
        html = render_html(session, digest)
        session.commit()  # end the read transaction: SQLite writers need not wait for the render
        rendered = pdf.render_pdf(
            html, title=digest.title, language=digest.language, **render_options()
        )
    except pdf.RenderFailed as exc:
        _fail(session, digest, exc.reason)
    except Exception as exc:  # a template or data error: reported like a failed render
        log.exception("digest %s could not be made", digest_id)
        _fail(session, digest, f"{type(exc).__name__}: {exc}")
    else:
        digest.pdf, digest.pages, digest.size = rendered.pdf, rendered.pages, len(rendered.pdf)
        digest.status, digest.error, digest.rendered_at = READY, "", now
    session.commit()
    session.refresh(digest)
    return digest


def _fail(session: Session, digest: Digest, reason: str) -> None:
    session.rollback()
    # Writes first, no read before them (see mail.services on SQLite's locking).
    session.execute(
        update(Digest).where(Digest.id == digest.id).values(status=FAILED, error=reason[:2000])
    )
    failed = mail.fail_waiting(session, digest.id, f"digest render failed: {reason}")
    log.warning("digest %s failed (%s messages not sent): %s", digest.id, failed, reason)


def digests_to_render(session: Session, *, now: dt.datetime, time_limit: float) -> list[int]:
    """Digests whose render was lost: pending with no task in sight, or left rendering by a
    killed worker (those go back to pending). The caller commits and enqueues them."""
    stuck_before = now - dt.timedelta(seconds=time_limit) - RENDER_GRACE
    session.execute(
        update(Digest)
        .where(Digest.status == RENDERING, Digest.started_at < stuck_before)
        .values(status=PENDING, started_at=None)
    )
    return list(
        session.scalars(
            select(Digest.id).where(
                Digest.status == PENDING, Digest.created_at < now - PENDING_GRACE
            )
        )
    )


# --- mailings -----------------------------------------------------------------------


def mailing_progress(session: Session, mailing_id: int) -> dict[str, Any]:
    """What the mailing page shows: counts by status, the digest's render state, failed rows.
    Raises NotFound."""
    mailing = mail.get_mailing(session, mailing_id)
    counts = mail.count_by_status(session, [mailing.id])[mailing.id]
    digest = session.get(Digest, mailing.digest_id) if mailing.digest_id else None
    rendering = digest is not None and digest.in_progress
    done = counts["sent"] + counts["failed"]
    return {
        "mailing": mailing,
        "digest": digest,
        "counts": counts,
        "done": done,
        "percent": round(100 * done / counts["total"]) if counts["total"] else 100,
        "active": rendering or counts["queued"] > 0 or counts["sending"] > 0,
        "failed": mail.list_failed(session, mailing.id),
    }


def subject_owner_id(session: Session, digest_id: int | None) -> int | None:
    """Who created the thing a digest is of (a round's, a survey's or an event's creator), for
    the permission check; None when unknown (then only coordinators may follow it)."""
    if digest_id is None:
        return None
    digest = session.get(Digest, digest_id)
    kind = KINDS.get(digest.kind) if digest is not None else None
    if digest is None or kind is None or kind.owner_of is None:
        return None
    return kind.owner_of(session, digest.subject_id)


def list_mailings(session: Session, *, limit: int = 10) -> list[dict[str, Any]]:
    """The newest mailings with their counts, for the outbox page."""
    mailings = mail.list_mailings(session, limit=limit)
    counts = mail.count_by_status(session, [m.id for m in mailings])
    return [{"mailing": m, "counts": counts[m.id]} for m in mailings]
