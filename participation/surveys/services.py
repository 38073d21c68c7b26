"""Surveys: set-up, answering (web and paper), invitations and reminders, saved progress.

Anonymous means anonymous. For an anonymous survey an answer keeps no name, e-mail, person,
invitation or time finer than the day (the FormResponse's `submitted_at` is midnight UTC of the
Helsinki day); the invitation only learns that it was answered; nothing about the respondent is
logged. A second answer through an invitation of an anonymous survey is always refused: nothing
tells which earlier answer was theirs, so it cannot be updated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import forms as engine
from participation import tokens
from participation.errors import Conflict, Invalid, NotFound, WrongState
from participation.formbuilder import services as formbuilder
from participation.formbuilder.models import PAPER, SOURCES, WEB, FormDefinition, FormResponse
from participation.mail.services import queue_mail
from participation.register.models import Person
from participation.surveys.models import (
    LAYOUTS,
    ONE_PAGE,
    REFUSE,
    SECOND_ANSWER,
    UPDATE,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyProgress,
    SurveyResultsRequest,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
INVITATION = "survey_invitation"
PROGRESS = "survey_progress"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_TITLE = 300
MAX_TEXT = 5000
MAX_INVITES = 2000
# Links work until a week after the survey closes (then the page says it has closed anyway).
LINK_GRACE = dt.timedelta(days=7)


# --- reading ----------------------------------------------------------------------------------


def get_survey(session: Session, survey_id: int) -> Survey:
    """Raises NotFound."""
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFound(_("No such survey."))
    return survey


def get_survey_by_slug(session: Session, slug: str) -> Survey:
    """Raises NotFound."""
    survey = session.scalar(select(Survey).where(Survey.slug == slug))
    if survey is None:
        raise NotFound(_("No such survey."))
    return survey


def survey_form(session: Session, survey: Survey) -> FormDefinition:
    """The survey's questions. Raises NotFound when its form was deleted."""
    return formbuilder.get_form(session, survey.form_id)


def helsinki_day(now: dt.datetime) -> dt.date:
    return now.astimezone(HELSINKI).date()


def day_start(now: dt.datetime) -> dt.datetime:
    """Midnight UTC of the Helsinki day: the only time an anonymous answer keeps."""
    return dt.datetime.combine(helsinki_day(now), dt.time(), tzinfo=dt.UTC)


@dataclass
class SurveyRow:
    survey: Survey
    answers: int
    invited: int


def list_surveys(
    session: Session, *, page: int, per_page: int, created_by_id: int | None = None
) -> tuple[list[SurveyRow], int]:
    """Newest first, with answer and invitation counts; three queries whatever the page size.
    With `created_by_id`, only the surveys that staff member created."""
    query = select(Survey)
    if created_by_id is not None:
        query = query.where(Survey.created_by_id == created_by_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    surveys = list(
        session.scalars(
            query.order_by(Survey.opens_at.desc(), Survey.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    ids = [s.id for s in surveys]
    answers = dict(
        session.execute(
            select(SurveyAnswer.survey_id, func.count(SurveyAnswer.id))
            .where(SurveyAnswer.survey_id.in_(ids))
            .group_by(SurveyAnswer.survey_id)
        ).all()
    )
    invited = dict(
        session.execute(
            select(SurveyInvitation.survey_id, func.count(SurveyInvitation.id))
            .where(SurveyInvitation.survey_id.in_(ids))
            .group_by(SurveyInvitation.survey_id)
        ).all()
    )
    rows = [SurveyRow(s, answers.get(s.id, 0), invited.get(s.id, 0)) for s in surveys]
    return rows, total


def count_answers(session: Session, survey_id: int) -> int:
    return (
        session.scalar(
            select(func.count(SurveyAnswer.id)).where(SurveyAnswer.survey_id == survey_id)
        )
        or 0
    )


# --- set-up -----------------------------------------------------------------------------------


def _check_settings(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """The settings cleaned, or Invalid with messages by field."""
    errors: dict[str, list[str]] = {}
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = [_("Give the survey a title.")]
    elif len(title) > MAX_TITLE:
        errors["title"] = [_("Use at most %(n)s characters.", n=MAX_TITLE)]
    texts = {}
    for name in ("welcome", "thank_you"):
        texts[name] = (data.get(name) or "").strip()
        if len(texts[name]) > MAX_TEXT:
            errors[name] = [_("Use at most %(n)s characters.", n=MAX_TEXT)]
    opens, closes = data.get("opens_at"), data.get("closes_at")
    if opens is None:
        errors["opens_at"] = [_("Enter when the survey opens.")]
    if closes is None:
        errors["closes_at"] = [_("Enter when the survey closes.")]
    elif opens is not None and closes <= opens:
        errors["closes_at"] = [_("The survey must close after it opens.")]
    second = data.get("second_answer") or UPDATE
    if second not in SECOND_ANSWER:
        errors["second_answer"] = [_("Choose what a second answer does.")]
    layout = data.get("layout") or ONE_PAGE
    if layout not in LAYOUTS:
        errors["layout"] = [_("Choose how the questions are shown.")]
    follows = data.get("follows") or ""
    event_id = round_id = None
    if follows:
        kind, _sep, raw = str(follows).partition(":")
        from participation.events.models import Event
        from participation.rounds.models import Round

        model = {"event": Event, "round": Round}.get(kind)
        if model is None or not raw.isdigit() or session.get(model, int(raw)) is None:
            errors["follows"] = [_("Choose an event or a comment round from the list.")]
        elif kind == "event":
            event_id = int(raw)
        else:
            round_id = int(raw)
    if errors:
        raise Invalid(_("Check the survey's settings."), errors)
    return {
        "title": title,
        "welcome": texts["welcome"],
        "thank_you": texts["thank_you"],
        "opens_at": opens,
        "closes_at": closes,
        "anonymous": bool(data.get("anonymous")),
        "public_link": bool(data.get("public_link")),
        "second_answer": second,
        "layout": layout,
        "event_id": event_id,
        "round_id": round_id,
    }


def _new_slug() -> str:
    # Unguessable until announced; 12 URL-safe characters.
    return secrets.token_urlsafe(9)


def create_survey(
    session: Session, data: dict[str, Any], *, staff_user_id: int, now: dt.datetime
) -> Survey:
    """A new survey with an empty form for its questions. `data`: title, welcome, thank_you,
    opens_at, closes_at (aware UTC), anonymous, public_link, second_answer, layout, follows
    ("event:<id>", "round:<id>" or ""). Raises Invalid with messages by field."""
    values = _check_settings(session, data)
    form = formbuilder.create_form(
        session,
        owner_id=staff_user_id,
        title=_("Survey: %(title)s", title=values["title"])[: formbuilder.MAX_TITLE],
        now=now,
    )
    survey = Survey(
        slug=_new_slug(),
        form_id=form.id,
        created_by_id=staff_user_id,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(survey)
    session.flush()
    return survey


def update_survey(
    session: Session, survey_id: int, data: dict[str, Any], *, now: dt.datetime
) -> Survey:
    """Change the settings (as create_survey). Raises NotFound, Invalid."""
    survey = get_survey(session, survey_id)
    values = _check_settings(session, data)
    if survey.anonymous != values["anonymous"] and count_answers(session, survey_id):
        msg = _(
            "The survey already has answers, so it cannot change between anonymous and identified."
        )
        raise Invalid(msg, {"anonymous": [msg]})
    for name, value in values.items():
        setattr(survey, name, value)
    survey.updated_at = now
    session.flush()
    return survey


def settings_of(survey: Survey) -> dict[str, Any]:
    """A survey's settings as the set-up form's data."""
    follows = (
        f"event:{survey.event_id}"
        if survey.event_id
        else f"round:{survey.round_id}"
        if survey.round_id
        else ""
    )
    return {
        "title": survey.title,
        "welcome": survey.welcome,
        "thank_you": survey.thank_you,
        "opens_at": survey.opens_at,
        "closes_at": survey.closes_at,
        "anonymous": survey.anonymous,
        "public_link": survey.public_link,
        "second_answer": survey.second_answer,
        "layout": survey.layout,
        "follows": follows,
    }


def copy_survey(
    session: Session,
    survey_id: int,
    *,
    title: str,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    staff_user_id: int,
    now: dt.datetime,
) -> Survey:
    """A copy with the same settings and questions (same keys), new times, no answers and no
    invitations; it follows no event or round. Raises NotFound, Invalid."""
    source = get_survey(session, survey_id)
    data = {
        **settings_of(source),
        "title": title,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "follows": "",
    }
    values = _check_settings(session, data)
    form = formbuilder.duplicate_form(
        session,
        survey_form(session, source),
        owner_id=staff_user_id,
        title=_("Survey: %(title)s", title=values["title"])[: formbuilder.MAX_TITLE],
        now=now,
    )
    copy = Survey(
        slug=_new_slug(),
        form_id=form.id,
        created_by_id=staff_user_id,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(copy)
    session.flush()
    return copy


# --- answering --------------------------------------------------------------------------------


def check_open(survey: Survey, now: dt.datetime) -> None:
    """Raises WrongState with the reason when answers are not taken now."""
    state = survey.state(now)
    if state == "upcoming":
        raise WrongState(
            _("The survey is not open yet. Your answers were not saved."),
        )
    if state == "closed":
        raise WrongState(_("The survey has closed. Your answers were not saved."))


def key_from_token(token: str) -> str:
    """The submission key of a paged answer: every tab continuing the same saved progress
    sends the same key, so they store one answer."""
    return hashlib.sha256(token.encode()).hexdigest()[:64]


def find_by_key(session: Session, survey_id: int, key: str) -> SurveyAnswer | None:
    return session.scalar(
        select(SurveyAnswer).where(
            SurveyAnswer.survey_id == survey_id, SurveyAnswer.submission_key == key
        )
    )


def invitation_by_token(
    session: Session, survey: Survey, token: str, *, now: dt.datetime
) -> SurveyInvitation:
    """The invitation behind a personal link. Raises tokens.LinkExpired / LinkInvalid
    (tampered, or of another survey)."""
    link = tokens.check_link(session, token, purpose=INVITATION, now=now)
    invitation = session.get(SurveyInvitation, link.subject_id)
    if invitation is None or invitation.survey_id != survey.id:
        raise tokens.LinkInvalid()
    return invitation


def can_answer_again(survey: Survey, invitation: SurveyInvitation) -> bool:
    """Whether this invitation may still send an answer (a first one, or an update)."""
    if not invitation.answered:
        return True
    return not survey.anonymous and survey.second_answer == UPDATE


def _answered_refusal() -> Conflict:
    return Conflict(_("An answer has already been given through this invitation. Thank you!"))


def submit_answer(
    session: Session,
    survey_id: int,
    answers: dict[str, Any],
    *,
    now: dt.datetime,
    submission_key: str,
    source: str = WEB,
    invitation_token: str | None = None,
    entered_by_id: int | None = None,
    category_id: int | None = None,
    wants_results_email: str | None = None,
    locale: str = "fi",
) -> SurveyAnswer:
    """Store one answer to the survey.

    `answers` are JSON values by question key, checked here with the form engine's rules. The
    same submission key sent twice gives the first answer back. Web answers need the survey to
    be open (paper answers typed in by staff do not) and, without a public link, an
    invitation. One answer per invitation: a second one updates the first in an identified
    survey whose `second_answer` is "update", and is refused otherwise.

    Raises Invalid (messages by question key), WrongState (not open), Forbidden-like Conflict
    (answered already), NotFound, tokens.LinkExpired / LinkInvalid (a bad invitation link).
    """
    survey = get_survey(session, survey_id)
    if source not in SOURCES:
        raise Invalid(_("Unknown source of answers."))
    if not KEY_PATTERN.match(submission_key or ""):
        raise Invalid(_("The form was incomplete. Check it and send it again."))
    if source == WEB:
        check_open(survey, now)
    form = survey_form(session, survey)
    cleaned, errors = engine.validate_answers(form.schema, answers, locale=locale)
    if errors:
        raise Invalid(_("Check the answers."), errors)
    email = None
    if wants_results_email:
        email = _clean_email(wants_results_email)
        if email is None:
            msg = _("Enter an e-mail address like name@example.org.")
            raise Invalid(msg, {"results_email": [msg]})

    same = find_by_key(session, survey_id, submission_key)
    if same is not None:
        return same

    invitation = None
    if invitation_token:
        invitation = invitation_by_token(session, survey, invitation_token, now=now)
    elif source == WEB and not survey.public_link:
        raise WrongState(_("This survey is answered through the personal link in the invitation."))

    if invitation is not None:
        # The conditional UPDATE is the lock: of two posts through one invitation only one
        # turns `answered` on; the other waits for it and then finds it set.
        taken = session.execute(
            update(SurveyInvitation)
            .where(SurveyInvitation.id == invitation.id, SurveyInvitation.answered.is_(False))
            .values(answered=True)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.refresh(invitation)
        if not taken:
            # The same form sent twice may have been committed while we waited.
            same = find_by_key(session, survey_id, submission_key)
            if same is not None:
                return same
            if survey.anonymous or survey.second_answer == REFUSE:
                raise _answered_refusal()
            previous = session.scalar(
                select(SurveyAnswer).where(
                    SurveyAnswer.survey_id == survey_id,
                    SurveyAnswer.invitation_id == invitation.id,
                )
            )
            if previous is not None:
                response = session.get(FormResponse, previous.response_id)
                assert response is not None
                response.answers = cleaned
                response.schema_version = form.version
                response.submitted_at = now
                previous.answered_on = helsinki_day(now)
                session.flush()
                return previous

    response = FormResponse(
        form_id=form.id,
        answers=cleaned,
        schema_version=form.version,
        source=source,
        submitted_at=day_start(now) if survey.anonymous else now,
    )
    answer = SurveyAnswer(
        survey_id=survey_id,
        submission_key=submission_key,
        answered_on=helsinki_day(now),
        category_id=category_id,
        entered_by_id=entered_by_id if source == PAPER else None,
    )
    if not survey.anonymous and invitation is not None:
        answer.invitation_id = invitation.id
        answer.email = invitation.email
        answer.name = invitation.name or None
        answer.person_id = session.scalar(
            select(Person.id).where(func.lower(Person.email) == invitation.email_key)
        )
    try:
        with session.begin_nested():
            session.add(response)
            session.flush()
            answer.response_id = response.id
            session.add(answer)
            session.flush()
    except IntegrityError:
        # Two posts of one form racing without SQLite's write lock: the first one stands.
        found = find_by_key(session, survey_id, submission_key)
        if found is None:
            raise
        return found
    if email is not None:
        request_results(session, survey_id, email, now=now, locale=locale)
    return answer


def _language(code: str) -> str:
    """A language mail can be written in; Finnish for anything else."""
    return code if code in ("fi", "sv", "en") else "fi"


def _clean_email(raw: str) -> str | None:
    raw = (raw or "").strip()
    if not raw or len(raw) > 254:
        return None
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def request_results(
    session: Session, survey_id: int, email: str, *, now: dt.datetime, locale: str = "fi"
) -> SurveyResultsRequest:
    """Keep an address that wants the results, apart from any answer (the same address twice
    is one request). Raises Invalid for a bad address, NotFound."""
    get_survey(session, survey_id)
    clean = _clean_email(email)
    if clean is None:
        msg = _("Enter an e-mail address like name@example.org.")
        raise Invalid(msg, {"email": [msg]})

    def find() -> SurveyResultsRequest | None:
        return session.scalar(
            select(SurveyResultsRequest).where(
                SurveyResultsRequest.survey_id == survey_id,
                SurveyResultsRequest.email_key == clean.lower(),
            )
        )

    existing = find()
    if existing is not None:
        return existing
    row = SurveyResultsRequest(
        survey_id=survey_id,
        email=clean,
        email_key=clean.lower(),
        language=_language(locale),
        requested_on=helsinki_day(now),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found
    return row


# --- saved progress ---------------------------------------------------------------------------


def _issue_link(
    session: Session, survey: Survey, *, purpose: str, subject_id: int, now: dt.datetime
) -> str:
    """A link token working until a week after the survey closes (a day at least)."""
    return tokens.issue_link(
        session,
        purpose=purpose,
        subject_id=subject_id,
        lifetime=max(survey.closes_at + LINK_GRACE - now, dt.timedelta(days=1)),
        now=now,
    )


def start_progress(
    session: Session,
    survey_id: int,
    answers: dict[str, Any],
    *,
    page: int,
    now: dt.datetime,
    invitation_id: int | None = None,
) -> str:
    """Keep answers given so far (unchecked; they are checked when the survey is sent) and
    return the token of the link that continues them."""
    survey = get_survey(session, survey_id)
    progress = SurveyProgress(
        survey_id=survey_id,
        answers=dict(answers),
        page=max(page, 0),
        # Only an identified survey may tie saved answers to an invitation.
        invitation_id=None if survey.anonymous else invitation_id,
        saved_on=helsinki_day(now),
    )
    session.add(progress)
    session.flush()
    return _issue_link(session, survey, purpose=PROGRESS, subject_id=progress.id, now=now)


def load_progress(
    session: Session, survey: Survey, token: str, *, now: dt.datetime
) -> SurveyProgress:
    """Raises tokens.LinkExpired / LinkInvalid (tampered, sent already, another survey)."""
    link = tokens.check_link(session, token, purpose=PROGRESS, now=now)
    progress = session.get(SurveyProgress, link.subject_id)
    if progress is None or progress.survey_id != survey.id:
        raise tokens.LinkInvalid()
    return progress


def save_progress(
    session: Session,
    survey: Survey,
    token: str,
    answers: dict[str, Any],
    *,
    page: int,
    now: dt.datetime,
) -> SurveyProgress:
    """Replace the saved answers and page. Raises like load_progress."""
    progress = load_progress(session, survey, token, now=now)
    progress.answers = dict(answers)
    progress.page = max(page, 0)
    progress.saved_on = helsinki_day(now)
    session.flush()
    return progress


def finish_progress(session: Session, survey: Survey, token: str, *, now: dt.datetime) -> None:
    """Forget the saved answers and their link once the answer is stored (nothing of the
    in-progress answer outlives it)."""
    try:
        link = tokens.check_link(session, token, purpose=PROGRESS, now=now)
    except (tokens.LinkExpired, tokens.LinkInvalid):
        return
    progress = session.get(SurveyProgress, link.subject_id)
    if progress is not None and progress.survey_id == survey.id:
        session.delete(progress)
    session.delete(link)
    session.flush()


# --- invitations ------------------------------------------------------------------------------


def parse_addresses(text: str) -> tuple[list[str], list[str]]:
    """(valid addresses, refused pieces) from pasted text: commas, semicolons, spaces or lines."""
    good, bad = [], []
    for piece in re.split(r"[\s,;]+", text or ""):
        piece = piece.strip().strip("<>")
        if not piece:
            continue
        clean = _clean_email(piece)
        (good if clean else bad).append(clean or piece)
    return good, bad


def invite(
    session: Session,
    survey_id: int,
    emails_or_people: Iterable[str | int],
    *,
    now: dt.datetime,
) -> int:
    """Add invitations for e-mail addresses (str) and register people (int ids); an address
    already invited is skipped. Returns how many were added. Raises Invalid (bad addresses,
    too many), NotFound."""
    survey = get_survey(session, survey_id)
    wanted: dict[str, tuple[str, str, str]] = {}
    bad: list[str] = []
    person_ids = [p for p in emails_or_people if isinstance(p, int)]
    people = (
        {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))}
        if person_ids
        else {}
    )
    for item in emails_or_people:
        if isinstance(item, int):
            person = people.get(item)
            if person is not None:
                wanted.setdefault(
                    person.email.lower(), (person.email, person.name, person.language)
                )
            continue
        clean = _clean_email(item)
        if clean is None:
            bad.append(item)
        else:
            wanted.setdefault(clean.lower(), (clean, "", "fi"))
    if bad:
        msg = _("These are not e-mail addresses: %(list)s", list=", ".join(bad[:10]))
        raise Invalid(msg, {"addresses": [msg]})
    if len(wanted) > MAX_INVITES:
        msg = _("Invite at most %(n)s addresses at a time.", n=MAX_INVITES)
        raise Invalid(msg, {"addresses": [msg]})
    existing = set(
        session.scalars(
            select(SurveyInvitation.email_key).where(SurveyInvitation.survey_id == survey.id)
        )
    )
    added = 0
    for key, (email, name, language) in wanted.items():
        if key in existing:
            continue
        session.add(
            SurveyInvitation(
                survey_id=survey.id,
                email=email,
                email_key=key,
                name=name,
                language=_language(language),
                invited_at=now,
            )
        )
        added += 1
    session.flush()
    return added


def list_invitations(session: Session, survey_id: int) -> list[SurveyInvitation]:
    return list(
        session.scalars(
            select(SurveyInvitation)
            .where(SurveyInvitation.survey_id == survey_id)
            .order_by(SurveyInvitation.email_key)
        )
    )


def answered_counts(session: Session, survey_id: int) -> tuple[int, int]:
    """(answered, invited) among the invitations."""
    invited, answered = session.execute(
        select(
            func.count(SurveyInvitation.id),
            func.count(SurveyInvitation.id).filter(SurveyInvitation.answered.is_(True)),
        ).where(SurveyInvitation.survey_id == survey_id)
    ).one()
    return answered or 0, invited or 0


def issue_invitation_link(
    session: Session, survey: Survey, invitation: SurveyInvitation, *, now: dt.datetime
) -> str:
    """A new personal link token for the invitation, working until a week after the survey
    closes (make the URL with tasks.invitation_url)."""
    return _issue_link(session, survey, purpose=INVITATION, subject_id=invitation.id, now=now)


def invitation_for(
    session: Session,
    survey: Survey,
    email: str,
    *,
    name: str = "",
    language: str = "fi",
    now: dt.datetime,
) -> SurveyInvitation:
    """The survey's invitation for this address, added when there is none yet (two workers
    adding the same address get the same row). Raises Invalid for a bad address."""
    clean = _clean_email(email)
    if clean is None:
        msg = _("Enter an e-mail address like name@example.org.")
        raise Invalid(msg, {"email": [msg]})

    def find() -> SurveyInvitation | None:
        return session.scalar(
            select(SurveyInvitation).where(
                SurveyInvitation.survey_id == survey.id,
                SurveyInvitation.email_key == clean.lower(),
            )
        )

    existing = find()
    if existing is not None:
        return existing
    invitation = SurveyInvitation(
        survey_id=survey.id,
        email=clean,
        email_key=clean.lower(),
        name=name[:200],
        language=_language(language),
        invited_at=now,
    )
    try:
        with session.begin_nested():
            session.add(invitation)
            session.flush()
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found
    return invitation


def event_surveys(session: Session, event_id: int, *, now: dt.datetime) -> list[Survey]:
    """The surveys attached to the event that are open now, oldest first."""
    return list(
        session.scalars(
            select(Survey)
            .where(Survey.event_id == event_id, Survey.opens_at <= now, Survey.closes_at > now)
            .order_by(Survey.id)
        )
    )


def round_surveys(session: Session, round_id: int, *, now: dt.datetime) -> list[Survey]:
    """The surveys following the comment round that anyone may answer now (a public link)."""
    return list(
        session.scalars(
            select(Survey)
            .where(
                Survey.round_id == round_id,
                Survey.public_link.is_(True),
                Survey.opens_at <= now,
                Survey.closes_at > now,
            )
            .order_by(Survey.id)
        )
    )


def attendee_link(
    session: Session,
    survey: Survey,
    *,
    email: str,
    name: str,
    language: str,
    now: dt.datetime,
    public_url: Callable[[str], str],
    invitation_url: Callable[[str], str],
) -> str | None:
    """The survey link for one attendee's thank-you mail: the public link when the survey has
    one, otherwise a personal link on the attendee's invitation (added, or reused when they
    were invited already, and marked sent). None when their invitation was answered already and
    may not answer again, or the address is unusable."""
    if survey.public_link:
        return public_url(survey.slug)
    try:
        invitation = invitation_for(session, survey, email, name=name, language=language, now=now)
    except Invalid:
        return None
    if not can_answer_again(survey, invitation):
        return None
    token = issue_invitation_link(session, survey, invitation, now=now)
    if invitation.sent_at is None:
        invitation.sent_at = now
    session.flush()
    return invitation_url(token)


def previous_answers(
    session: Session, survey: Survey, invitation: SurveyInvitation
) -> dict[str, Any]:
    """The answers given earlier through the invitation, to show when it may update them (an
    identified survey whose second answer replaces the first); {} otherwise."""
    if survey.anonymous or survey.second_answer != UPDATE or not invitation.answered:
        return {}
    answers = session.scalar(
        select(FormResponse.answers)
        .join(SurveyAnswer, SurveyAnswer.response_id == FormResponse.id)
        .where(SurveyAnswer.survey_id == survey.id, SurveyAnswer.invitation_id == invitation.id)
    )
    return dict(answers or {})


def _mail_invitation(
    session: Session,
    survey: Survey,
    invitation: SurveyInvitation,
    *,
    template: str,
    link_url: Callable[[str], str],
    now: dt.datetime,
) -> None:
    token = issue_invitation_link(session, survey, invitation, now=now)
    queue_mail(
        session,
        to=invitation.email,
        template=template,
        purpose=template,
        locale=invitation.language,
        now=now,
        title=survey.title,
        name=invitation.name,
        link=link_url(token),
        closes_at=survey.closes_at,
        anonymous=survey.anonymous,
    )


def send_invitations(
    session: Session, survey_id: int, *, now: dt.datetime, link_url: Callable[[str], str]
) -> int:
    """Mail each invitation not sent yet, once, with its personal link. Returns how many.
    Raises NotFound, WrongState (the survey has closed)."""
    survey = get_survey(session, survey_id)
    if survey.state(now) == "closed":
        raise WrongState(_("The survey has closed, so no invitations are sent."))
    pending = list(
        session.scalars(
            select(SurveyInvitation)
            .where(SurveyInvitation.survey_id == survey_id, SurveyInvitation.sent_at.is_(None))
            .with_for_update(skip_locked=True)
        )
    )
    for invitation in pending:
        _mail_invitation(
            session, survey, invitation, template="survey_invitation", link_url=link_url, now=now
        )
        invitation.sent_at = now
    session.flush()
    return len(pending)


def send_reminders(
    session: Session, survey_id: int, *, now: dt.datetime, link_url: Callable[[str], str]
) -> int:
    """One reminder to each invited person who has not answered, never twice. Returns how
    many. Raises NotFound; nothing is sent unless the survey is open."""
    survey = get_survey(session, survey_id)
    if not survey.is_open(now):
        return 0
    due = list(
        session.scalars(
            select(SurveyInvitation)
            .where(
                SurveyInvitation.survey_id == survey_id,
                SurveyInvitation.sent_at.is_not(None),
                SurveyInvitation.reminded_at.is_(None),
                SurveyInvitation.answered.is_(False),
            )
            .with_for_update(skip_locked=True)
        )
    )
    for invitation in due:
        _mail_invitation(
            session, survey, invitation, template="survey_reminder", link_url=link_url, now=now
        )
        invitation.reminded_at = now
    session.flush()
    return len(due)
