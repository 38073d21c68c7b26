"""Comment rounds: set-up by staff, the distribution list, and taking part without an account.

The clock decides everything (`now` is passed in): outside the open period nothing is stored and
the caller gets a WrongState whose message tells the person their text was not saved. A comment
carries the random key of the form it came from, so a double click or a resent POST stores one.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

import forms as engine
from participation import tokens
from participation.errors import Conflict, Invalid, NotFound, WrongState
from participation.formbuilder import services as formbuilder
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.i18n import datetime_filter
from participation.mail.services import queue_mail
from participation.privacy import services as privacy
from participation.register import distribution, people
from participation.register.distribution import InvitationResult
from participation.register.models import LANGUAGES, Association
from participation.register.values import EMAIL_MAX, NAME_MAX, normalise_email
from participation.rounds.models import (
    Comment,
    DraftVersion,
    Invitation,
    Participant,
    Round,
    Section,
)
from participation.rounds.privacy import MANAGE_PURPOSE

ROUND_CONSENT = "round"
# The manage link keeps working this long after the close, read-only, so people can look back.
MANAGE_AFTER_CLOSE = dt.timedelta(days=30)
TITLE_MAX = 300
INTRO_MAX = 5000
COMMENT_MIN_LIMIT, COMMENT_MAX_LIMIT = 100, 20_000
RETENTION_MIN, RETENTION_MAX = 1, 3650
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# The default general questions: what matters most, is something missing, other feedback.
DEFAULT_QUESTIONS = (
    (
        "Mikä luonnoksessa on mielestäsi tärkeintä?",
        "Vad är enligt dig viktigast i utkastet?",
        "What matters most to you in the draft?",
    ),
    (
        "Puuttuuko luonnoksesta jotain?",
        "Saknas något i utkastet?",
        "Is something missing from the draft?",
    ),
    ("Muuta palautetta", "Annan respons", "Other feedback"),
)

ROUND_CONSENT_TEXTS = (
    "Suostun siihen, että nimeni, sähköpostiosoitteeni, mahdollinen edustamani yhdistys sekä "
    "kommenttini ja vastaukseni tallennetaan kaupungin osallistumispalveluun kommentointikierroksen "
    "käsittelyä varten. Kommentit ja niihin annetut vastaukset kootaan kommenttikoosteeseen, joka "
    "lähetetään osallistujille. Nimeni näytetään julkisesti vain, jos annan siihen luvan. "
    "Henkilötiedot poistetaan kierroksen säilytysajan jälkeen; kommentit jäävät nimettöminä.",
    "Jag samtycker till att mitt namn, min e-postadress, den förening jag eventuellt representerar "
    "samt mina kommentarer och svar sparas i stadens deltagandetjänst för behandlingen av "
    "kommentarsrundan. Kommentarerna och svaren på dem sammanställs i en sammanfattning som skickas "
    "till deltagarna. Mitt namn visas offentligt endast om jag tillåter det. Personuppgifterna "
    "raderas efter rundans lagringstid; kommentarerna finns kvar anonymt.",
    "I agree that my name, e-mail address, the association I may represent, and my comments and "
    "answers are stored in the city's participation service for handling the comment round. The "
    "comments and the answers to them are compiled into a digest that is sent to the participants. "
    "My name is shown publicly only if I allow it. Personal data is removed after the round's "
    "retention period; the comments stay, anonymously.",
)


def _ts(value: dt.datetime) -> str:
    return datetime_filter(value, "short")


# --- rounds ---------------------------------------------------------------------------------


def ensure_round_consent_text(session: Session, now: dt.datetime) -> None:
    """Publish the default consent text for comment rounds if none exists yet."""
    if privacy.find_current_consent_text(session, ROUND_CONSENT) is None:
        privacy.publish_consent_text(session, ROUND_CONSENT, *ROUND_CONSENT_TEXTS, now)


def get_round(session: Session, round_id: int) -> Round:
    """Raises NotFound."""
    found = session.scalar(
        select(Round).where(Round.id == round_id).options(joinedload(Round.version))
    )
    if found is None:
        raise NotFound(_("No such comment round."))
    return found


def get_round_by_slug(session: Session, slug: str, *, whole: bool = True) -> Round:
    """The round with its draft version and (when `whole`) the sections' texts, for the page;
    a comment post needs only the round. Raises NotFound."""
    query = select(Round).where(Round.slug == slug)
    if whole:
        query = query.options(
            joinedload(Round.version).selectinload(DraftVersion.sections),
            joinedload(Round.version).joinedload(DraftVersion.draft),
        )
    found = session.scalar(query)
    if found is None:
        raise NotFound(_("No such comment round."))
    return found


def get_round_section(session: Session, round_: Round, section_id: int) -> Section:
    """A section of the version the round comments on. Raises NotFound."""
    section = session.get(Section, section_id)
    if section is None or section.version_id != round_.draft_version_id:
        raise NotFound(_("No such section."))
    return section


def _slug_for(title: str) -> str:
    """Readable and hard to guess: "yhdistysohjelma-2027-4f9a1c2e"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    return f"{base or 'kierros'}-{secrets.token_hex(4)}"


def _int_in(
    data: Mapping[str, Any], name: str, low: int, high: int, errors: dict[str, list[str]]
) -> int:
    value = data.get(name)
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        errors[name] = [_("Enter a whole number from %(low)s to %(high)s.", low=low, high=high)]
        return low
    if not low <= number <= high:
        errors[name] = [_("Enter a whole number from %(low)s to %(high)s.", low=low, high=high)]
    return number


def _clean_round(
    session: Session, data: Mapping[str, Any], current: Round | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    title = " ".join(str(data.get("title") or "").split())
    if not title:
        errors["title"] = [_("Give the round a title.")]
    elif len(title) > TITLE_MAX:
        errors["title"] = [_("Use at most %(n)s characters.", n=TITLE_MAX)]
    intro = str(data.get("intro") or "").strip().replace("\r\n", "\n")
    if len(intro) > INTRO_MAX:
        errors["intro"] = [_("Use at most %(n)s characters.", n=INTRO_MAX)]
    version = None
    try:
        version = session.get(DraftVersion, int(data.get("draft_version_id") or 0))
    except (TypeError, ValueError):
        version = None
    if version is None:
        errors["draft_version_id"] = [_("Choose the draft version to comment on.")]
    elif (
        current is not None
        and version.id != current.draft_version_id
        and _has_comments(session, current.id)
    ):
        errors["draft_version_id"] = [
            _("The round already has comments, so its draft version can no longer change.")
        ]
    opens, closes = data.get("opens_at"), data.get("closes_at")
    if not isinstance(opens, dt.datetime):
        errors["opens_at"] = [_("Enter the date and time the round opens.")]
    if not isinstance(closes, dt.datetime):
        errors["closes_at"] = [_("Enter the date and time the round closes.")]
    elif isinstance(opens, dt.datetime) and closes <= opens:
        errors["closes_at"] = [_("The round must close after it opens.")]
    consent_key = str(data.get("consent_key") or ROUND_CONSENT)
    if privacy.find_current_consent_text(session, consent_key) is None:
        errors["consent_key"] = [_("Choose a published consent text.")]
    values = {
        "title": title,
        "intro": intro,
        "draft_version_id": version.id if version else None,
        "opens_at": opens,
        "closes_at": closes,
        "section_comments": bool(data.get("section_comments")),
        "comments_public": bool(data.get("comments_public")),
        "association_required": bool(data.get("association_required")),
        "consent_key": consent_key,
        "retention_days": _int_in(data, "retention_days", RETENTION_MIN, RETENTION_MAX, errors),
        "max_comment_length": _int_in(
            data, "max_comment_length", COMMENT_MIN_LIMIT, COMMENT_MAX_LIMIT, errors
        ),
    }
    if errors:
        raise Invalid(_("Check the round's settings."), errors)
    return values


def _has_comments(session: Session, round_id: int) -> bool:
    return bool(session.scalar(select(func.count(Comment.id)).where(Comment.round_id == round_id)))


def _add_default_questions(
    session: Session, round_: Round, *, owner_id: int, now: dt.datetime
) -> FormDefinition:
    form = formbuilder.create_form(
        session,
        owner_id=owner_id,
        title=_("General questions: %(title)s", title=round_.title)[: formbuilder.MAX_TITLE],
        now=now,
    )
    for fi, sv, en in DEFAULT_QUESTIONS:
        formbuilder.add_question(
            session,
            form,
            {"question_type": "long_text", "label_fi": fi, "label_sv": sv, "label_en": en},
            now=now,
        )
    return form


def create_round(
    session: Session, data: Mapping[str, Any], *, staff_user_id: int, now: dt.datetime
) -> Round:
    """A round with its general questions (the default three, editable in the form builder).

    Raises Invalid with messages by field.
    """
    ensure_round_consent_text(session, now)
    values = _clean_round(session, data, None)
    round_ = Round(**values, slug=_slug_for(values["title"]), created_at=now)
    round_.created_by_id = staff_user_id
    session.add(round_)
    session.flush()
    round_.form_id = _add_default_questions(session, round_, owner_id=staff_user_id, now=now).id
    session.flush()
    return round_


def update_round(
    session: Session, round_id: int, data: Mapping[str, Any], *, now: dt.datetime
) -> Round:
    """Raises NotFound, or Invalid (also for a new draft version once comments exist)."""
    round_ = get_round(session, round_id)
    for key, value in _clean_round(session, data, round_).items():
        setattr(round_, key, value)
    session.flush()
    return round_


@dataclass(frozen=True)
class RoundRow:
    round: Round
    participants: int
    comments: int


def _count_by_round(session: Session, column: Any, ids: list[int], *where: Any) -> dict[int, int]:
    model = column.class_
    return dict(
        session.execute(
            select(model.round_id, func.count(column))
            .where(model.round_id.in_(ids), *where)
            .group_by(model.round_id)
        ).all()
    )


def list_rounds(session: Session, *, page: int, per_page: int) -> tuple[list[RoundRow], int]:
    """Rounds, the latest to close first, with participant and comment counts (four queries)."""
    total = session.scalar(select(func.count(Round.id))) or 0
    rounds = list(
        session.scalars(
            select(Round)
            .options(joinedload(Round.version).joinedload(DraftVersion.draft))
            .order_by(Round.closes_at.desc(), Round.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    ids = [r.id for r in rounds]
    participants = _count_by_round(session, Participant.id, ids)
    comments = _count_by_round(session, Comment.id, ids, Comment.withdrawn_at.is_(None))
    return [RoundRow(r, participants.get(r.id, 0), comments.get(r.id, 0)) for r in rounds], total


def list_open_rounds(session: Session, now: dt.datetime, *, limit: int = 5) -> list[Round]:
    """Rounds open right now, the soonest to close first: for the home page."""
    return list(
        session.scalars(
            select(Round)
            .where(Round.opens_at <= now, Round.closes_at > now)
            .order_by(Round.closes_at, Round.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class RoundOverview:
    participants: int
    answered: int
    comments: int
    visible: int
    hidden: int
    withdrawn: int
    by_section: dict[int | None, int]


def round_overview(session: Session, round_id: int) -> RoundOverview:
    """Figures for the staff page: who took part, comments by state and by section."""
    participants, answered = session.execute(
        select(func.count(Participant.id), func.count(Participant.response_id)).where(
            Participant.round_id == round_id
        )
    ).one()
    rows = session.execute(
        select(
            Comment.section_id,
            Comment.withdrawn_at.is_not(None),
            Comment.hidden_at.is_not(None),
            func.count(Comment.id),
        )
        .where(Comment.round_id == round_id)
        .group_by(
            Comment.section_id, Comment.withdrawn_at.is_not(None), Comment.hidden_at.is_not(None)
        )
    ).all()
    comments = visible = hidden = withdrawn = 0
    by_section: dict[int | None, int] = {}
    for section_id, is_withdrawn, is_hidden, n in rows:
        if is_withdrawn:
            withdrawn += n
            continue
        comments += n
        by_section[section_id] = by_section.get(section_id, 0) + n
        if is_hidden:
            hidden += n
        else:
            visible += n
    return RoundOverview(
        participants or 0, answered or 0, comments, visible, hidden, withdrawn, by_section
    )


# --- the distribution list ------------------------------------------------------------------


def list_invitations(session: Session, round_id: int) -> list[tuple[Invitation, Association]]:
    rows = session.execute(
        select(Invitation, Association)
        .join(Association, Association.id == Invitation.association_id)
        .where(Invitation.round_id == round_id)
        .order_by(func.lower(Association.name), Association.id)
    ).all()
    return [(i, a) for i, a in rows]


def save_distribution(
    session: Session, round_id: int, association_ids: list[int], *, now: dt.datetime
) -> tuple[int, int]:
    """Make the distribution list exactly these associations; returns (added, removed).

    Raises NotFound for the round, Invalid for an association not in the register,
    Conflict for a simultaneous change.
    """
    round_ = get_round(session, round_id)
    return distribution.replace_invitations(
        session, round_.invitations, association_ids, new=lambda i: Invitation(association_id=i)
    )


def send_invitations(
    session: Session, round_id: int, *, link: str, now: dt.datetime
) -> InvitationResult:
    """One invitation mail per association on the list not invited yet, to its own address.

    An association without an address is left uninvited and named in the result. A closed
    round invites no one. Raises NotFound or WrongState.
    """
    round_ = get_round(session, round_id)
    if round_.state(now) == "closed":
        raise WrongState(_("The round has closed; invitations are no longer sent."))
    sent, without = 0, []
    for invitation, association in list_invitations(session, round_id):
        if invitation.invited_at is not None:
            continue
        if not association.email:
            without.append(association.name)
            continue
        queue_mail(
            session,
            to=association.email,
            template="round_invitation",
            purpose="round_invitation",
            locale="fi",
            now=now,
            association=association.name,
            title=round_.title,
            link=link,
            opens_at=round_.opens_at,
            closes_at=round_.closes_at,
            is_open=round_.is_open(now),
        )
        invitation.invited_at = now
        sent += 1
    session.flush()
    return InvitationResult(sent, without)


# --- taking part ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """What a person types about themself; `association_id` "" means "for myself"."""

    name: str = ""
    email: str = ""
    association_id: str = ""
    name_public: bool = False
    consent: bool = False
    language: str = "fi"


@dataclass
class Outcome:
    """What a submission did. `stored` is false for a trapped bot (which is told "thank you")."""

    participant: Participant | None
    comment: Comment | None = None
    new_participant: bool = False
    duplicate: bool = False
    stored: bool = True


def check_open(round_: Round, now: dt.datetime) -> None:
    """Raises WrongState with a message that says the text was not saved."""
    state = round_.state(now)
    if state == "upcoming":
        raise WrongState(
            _(
                "Commenting opens on %(date)s. Your text was not saved: copy it from the box "
                "below if you want to keep it.",
                date=_ts(round_.opens_at),
            )
        )
    if state == "closed":
        raise WrongState(
            _(
                "The comment round closed on %(date)s. Your text was not saved: copy it from the "
                "box below if you want to keep it.",
                date=_ts(round_.closes_at),
            )
        )


def find_participant(
    session: Session, round_id: int, participant_id: int | None
) -> Participant | None:
    """The participant a browser remembers, if it is still one of this round's."""
    if not participant_id:
        return None
    participant = session.get(Participant, participant_id)
    if participant is None or participant.round_id != round_id or participant.anonymised_at:
        return None
    return participant


def check_identity(
    session: Session, round_: Round, identity: Identity
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cleaned identity and the messages by field (name, email, association_id, consent)."""
    errors: dict[str, list[str]] = {}
    name = " ".join(identity.name.split())
    if not name:
        errors["name"] = [_("Enter your name.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_("Use at most %(n)s characters.", n=NAME_MAX)]
    email = ""
    try:
        if len(identity.email) > EMAIL_MAX:
            raise ValueError(identity.email)
        email = normalise_email(identity.email)
    except ValueError:
        errors["email"] = [
            _(
                "Enter your e-mail address, e.g. name@example.fi. We send you a link to your comments."
            )
        ]
    association = None
    if identity.association_id:
        try:
            association = session.get(Association, int(identity.association_id))
        except (TypeError, ValueError):
            association = None
        if association is None or not association.active or association.merged_into_id:
            association = None
            errors["association_id"] = [_("Choose an association from the list.")]
    elif round_.association_required:
        errors["association_id"] = [_("Choose the association you speak for.")]
    if not identity.consent:
        errors["consent"] = [
            _("Agree to the handling of your data, or we cannot save what you send.")
        ]
    language = identity.language if identity.language in LANGUAGES else "fi"
    return {
        "name": name,
        "email": email,
        "association": association,
        "name_public": bool(identity.name_public),
        "language": language,
    }, errors


def _participant_for(
    session: Session, round_: Round, values: dict[str, Any], now: dt.datetime
) -> tuple[Participant, bool]:
    """The round's participant with this address, created (with a register person and the
    consent) if new. An existing participant's details are not changed by what was typed: the
    address is not proof of who typed it."""
    email = values["email"]
    found = session.scalar(
        select(Participant).where(Participant.round_id == round_.id, Participant.email == email)
    )
    if found is not None:
        return found, False
    person = people.find_or_create_person(
        session, email=email, name=values["name"], language=values["language"], now=now
    )
    consent = privacy.record_consent(session, person, round_.consent_key, values["language"], now)
    participant = Participant(
        round_id=round_.id,
        person_id=person.id,
        name=values["name"],
        email=email,
        language=values["language"],
        association_id=values["association"].id if values["association"] else None,
        name_public=values["name_public"],
        consent_id=consent.id,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(participant)
            session.flush()
    except IntegrityError:
        # The same address sent at the same moment from elsewhere: use that one.
        found = session.scalar(
            select(Participant).where(Participant.round_id == round_.id, Participant.email == email)
        )
        if found is None:
            raise
        return found, False
    return participant, True


def _confirm(
    session: Session,
    round_: Round,
    participant: Participant,
    *,
    manage_url: Callable[[str], str],
    now: dt.datetime,
    comment: Comment | None = None,
    section: Section | None = None,
) -> None:
    """The one confirmation mail per participant, with the link to their own comments."""
    token = tokens.issue_link(
        session,
        purpose=MANAGE_PURPOSE,
        subject_id=participant.id,
        lifetime=max(round_.closes_at + MANAGE_AFTER_CLOSE - now, dt.timedelta(hours=1)),
        now=now,
    )
    queue_mail(
        session,
        to=participant.email,
        template="round_confirmation",
        purpose="round_confirmation",
        locale=participant.language,
        now=now,
        name=participant.name,
        title=round_.title,
        link=manage_url(token),
        closes_at=round_.closes_at,
        comment=comment.body if comment else "",
        section=section.heading if section else "",
    )


def _existing_by_key(session: Session, round_: Round, key: str) -> Comment | None:
    found = session.scalar(select(Comment).where(Comment.submission_key == key))
    if found is not None and found.round_id != round_.id:
        raise Conflict(_("The form was sent to the wrong round. Reload the page."))
    return found


def clean_body(body: str) -> str:
    return (body or "").replace("\r\n", "\n").strip()


def comment_length_error(round_: Round, body: str) -> str | None:
    if not body:
        return _("Write your comment before sending it.")
    if len(body) > round_.max_comment_length:
        return _(
            "Your comment is %(count)s characters long; at most %(max)s fit. Shorten it and send "
            "it again.",
            count=len(body),
            max=round_.max_comment_length,
        )
    return None


def submit_comment(
    session: Session,
    round_id: int,
    *,
    section_id: int | None,
    body: str,
    submission_key: str,
    identity: Identity,
    participant_id: int | None,
    manage_url: Callable[[str], str],
    now: dt.datetime,
    honeypot: str = "",
) -> Outcome:
    """Store a comment on a section (or, with no section, on the whole draft).

    The same submission key again returns the comment already stored. A filled honeypot stores
    nothing and reports success. Raises NotFound (round, section), WrongState (not open) or
    Invalid with messages by field (body, name, email, association_id, consent).
    """
    round_ = get_round(session, round_id)
    if honeypot.strip():
        return Outcome(None, stored=False)
    section = None
    if section_id is not None:
        section = session.get(Section, section_id)
        if section is None or section.version_id != round_.draft_version_id:
            raise NotFound(_("No such section."))
        if not round_.section_comments:
            raise NotFound(_("This round takes no comments on single sections."))
    if not KEY_PATTERN.match(submission_key or ""):
        raise Invalid(_("The form was incomplete. Check your text and send it again."))
    existing = _existing_by_key(session, round_, submission_key)
    if existing is not None:
        return Outcome(existing.participant, existing, duplicate=True)
    check_open(round_, now)
    body = clean_body(body)
    errors: dict[str, list[str]] = {}
    if message := comment_length_error(round_, body):
        errors["body"] = [message]
    participant = find_participant(session, round_.id, participant_id)
    values: dict[str, Any] = {}
    if participant is None:
        values, identity_errors = check_identity(session, round_, identity)
        errors.update(identity_errors)
    if errors:
        raise Invalid(_("Check your comment."), errors)
    created = False
    if participant is None:
        participant, created = _participant_for(session, round_, values, now)
    comment = Comment(
        round_id=round_.id,
        section_id=section.id if section else None,
        participant_id=participant.id,
        body=body,
        submission_key=submission_key,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(comment)
            session.flush()
    except IntegrityError:
        again = _existing_by_key(session, round_, submission_key)
        if again is None:
            raise
        return Outcome(again.participant, again, duplicate=True)
    if created:
        _confirm(
            session, round_, participant, manage_url=manage_url, now=now, comment=comment,
            section=section,
        )  # fmt: skip
    return Outcome(participant, comment, new_participant=created)


def get_round_form(session: Session, round_: Round) -> FormDefinition | None:
    """The round's general questions, if it has any left."""
    if round_.form_id is None:
        return None
    form = formbuilder.find_form(session, round_.form_id)
    if form is None or not any(q["type"] != "info" for q in form.questions):
        return None
    return form


def submit_answers(
    session: Session,
    round_id: int,
    *,
    answers: dict[str, Any],
    identity: Identity,
    participant_id: int | None,
    manage_url: Callable[[str], str],
    locale: str,
    now: dt.datetime,
    honeypot: str = "",
) -> Outcome:
    """Store the answers to the general questions; answering again replaces them.

    Raises NotFound, WrongState (not open) or Invalid by field (question keys and identity).
    """
    round_ = get_round(session, round_id)
    form = get_round_form(session, round_)
    if form is None:
        raise NotFound(_("This round has no general questions."))
    if honeypot.strip():
        return Outcome(None, stored=False)
    check_open(round_, now)
    cleaned, errors = engine.validate_answers(form.schema, answers, locale=locale)
    participant = find_participant(session, round_.id, participant_id)
    values: dict[str, Any] = {}
    if participant is None:
        values, identity_errors = check_identity(session, round_, identity)
        errors.update(identity_errors)
    if not cleaned and not errors:
        raise Invalid(_("Answer at least one question before sending."))
    if errors:
        raise Invalid(_("Check your answers."), errors)
    created = False
    if participant is None:
        participant, created = _participant_for(session, round_, values, now)
    response = formbuilder.record_response(session, form, cleaned, locale=locale, now=now)
    previous = (
        session.get(FormResponse, participant.response_id) if participant.response_id else None
    )
    participant.response_id = response.id
    if previous is not None:
        session.delete(previous)
    session.flush()
    if created:
        _confirm(session, round_, participant, manage_url=manage_url, now=now)
    return Outcome(participant, None, new_participant=created)


# --- what the public page shows -------------------------------------------------------------


@dataclass(frozen=True)
class PublicComment:
    id: int
    section_id: int | None
    body: str
    created_at: dt.datetime
    author: str


def author_label(name: str, name_public: bool, association: str | None) -> str:
    """The name only with the person's permission; else the association, else "a resident"."""
    if name_public and name and name != "—":
        return f"{name} ({association})" if association else name
    return association or _("a resident")


_WHOLE_ROUND = object()  # public_comments: every section's, not one's


def public_comments(
    session: Session, round_: Round, section_id: Any = _WHOLE_ROUND
) -> dict[int | None, list[PublicComment]]:
    """Visible comments (not hidden, not withdrawn) by section, oldest first; nothing when the
    round's comments are for staff only. One query; `section_id` (None: the whole draft's)
    limits it to one place."""
    if not round_.comments_public:
        return {}
    query = (
        select(Comment, Participant.name, Participant.name_public, Association.name)
        .join(Participant, Participant.id == Comment.participant_id)
        .outerjoin(Association, Association.id == Participant.association_id)
        .where(
            Comment.round_id == round_.id,
            Comment.hidden_at.is_(None),
            Comment.withdrawn_at.is_(None),
        )
        .order_by(Comment.created_at, Comment.id)
    )
    if section_id is not _WHOLE_ROUND:
        query = query.where(
            Comment.section_id.is_(None) if section_id is None else Comment.section_id == section_id
        )
    rows = session.execute(query).all()
    grouped: dict[int | None, list[PublicComment]] = {}
    for comment, name, name_public, association in rows:
        grouped.setdefault(comment.section_id, []).append(
            PublicComment(
                comment.id,
                comment.section_id,
                comment.body,
                comment.created_at,
                author_label(name, name_public, association),
            )
        )
    return grouped


def public_section_comments(
    session: Session, round_: Round, section_id: int | None
) -> list[PublicComment]:
    return public_comments(session, round_, section_id).get(section_id, [])


# --- the participant's own link -------------------------------------------------------------


def get_participant_by_link(session: Session, token: str, now: dt.datetime) -> Participant:
    """The link's participant (the link is not spent: it serves until it expires).

    Raises LinkExpired, or LinkInvalid (tampered, or the participant's data was removed).
    """
    link = tokens.check_link(session, token, purpose=MANAGE_PURPOSE, now=now)
    participant = session.get(Participant, link.subject_id)
    if participant is None or participant.anonymised_at is not None:
        raise tokens.LinkInvalid()
    return participant


def list_own_comments(session: Session, participant_id: int) -> list[Comment]:
    return list(
        session.scalars(
            select(Comment)
            .where(Comment.participant_id == participant_id)
            .options(joinedload(Comment.section))
            .order_by(Comment.created_at, Comment.id)
        )
    )


def _own_comment(session: Session, participant: Participant, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id)
    if comment is None or comment.participant_id != participant.id:
        raise NotFound(_("No such comment."))
    return comment


def edit_own_comment(
    session: Session, token: str, comment_id: int, body: str, *, now: dt.datetime
) -> Comment:
    """Change one's own comment while the round is open. Raises LinkExpired, LinkInvalid,
    NotFound, WrongState (closed, withdrawn) or Invalid (empty, too long)."""
    participant = get_participant_by_link(session, token, now)
    comment = _own_comment(session, participant, comment_id)
    round_ = get_round(session, participant.round_id)
    check_open(round_, now)
    if comment.withdrawn_at is not None:
        raise WrongState(_("This comment was withdrawn and can no longer be changed."))
    body = clean_body(body)
    if message := comment_length_error(round_, body):
        raise Invalid(message, {"body": [message]})
    comment.body = body
    comment.updated_at = now
    session.flush()
    return comment


def withdraw_own_comment(
    session: Session, token: str, comment_id: int, *, now: dt.datetime
) -> Comment:
    """Withdraw one's own comment while the round is open; it then shows nowhere public.
    Raises LinkExpired, LinkInvalid, NotFound or WrongState (closed)."""
    participant = get_participant_by_link(session, token, now)
    comment = _own_comment(session, participant, comment_id)
    round_ = get_round(session, participant.round_id)
    if round_.state(now) != "open":
        raise WrongState(_("The comment round has closed; comments can no longer be withdrawn."))
    if comment.withdrawn_at is None:
        comment.withdrawn_at = now
        comment.updated_at = now
        session.flush()
    return comment


def load_sections(session: Session, version_id: int) -> list[Section]:
    return list(
        session.scalars(
            select(Section).where(Section.version_id == version_id).order_by(Section.position)
        )
    )


def list_rounds_for_version(session: Session, version_ids: list[int]) -> list[Round]:
    return list(
        session.scalars(
            select(Round)
            .where(Round.draft_version_id.in_(version_ids))
            .options(selectinload(Round.invitations))
            .order_by(Round.opens_at)
        )
    )
