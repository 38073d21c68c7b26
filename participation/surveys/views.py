"""Survey pages: the staff set-up (list, new, edit, copy, invitations, paper answers) and the
public answering page /surveys/<slug> with its invitation link and thank-you page.

Answering works as plain POSTs without JavaScript. A complete one-page answer through the
public link takes the quick way (participation/surveys/answering.py: no form bound, one guarded
insert); anything else, and whatever the quick way does not store, takes the full way. A paged
survey (one question per page) keeps the answers given so far in a SurveyProgress row, reached
through a signed link token carried in a hidden field and in the /continue/ URL: back and
forward then need no hidden copy of every other answer, "save and continue later" is the same
link shown to the person, and every tab continuing one progress sends the same submission key
(one answer). The row and its link are deleted when the answer is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

import forms as engine
from participation.accounts.forms import ConfirmForm
from participation.db import read_only, utcnow
from participation.errors import Conflict, Invalid, NotFound, WrongState
from participation.extensions import db, limiter
from participation.i18n import current_locale
from participation.mail import tasks as mail_tasks
from participation.pagination import Page, page_arg, page_size
from participation.register.models import Person
from participation.surveys import answering, bp, qr, services, tasks
from participation.surveys.forms import (
    AnswerForm,
    CopyForm,
    InviteForm,
    PaperAnswerForm,
    ResultsRequestForm,
    SurveyForm,
    new_submission_key,
)
from participation.surveys.models import PAGED, Survey
from participation.surveys.policy import is_coordinator, managed_survey, view_required
from participation.tokens import LinkExpired, LinkInvalid
from participation.web import (
    absolute_url,
    csrf_checked,
    limits_itself,
    redisplay_on_csrf_error,
    render_link_problem,
    show_errors,
    within_rate_limit,
)

LINK_PROBLEM = "surveys/link_problem.html"


def _with_status(body: str, status: int) -> str | Response:
    """A page with its status as a Response, not a (body, status) tuple: the CSRF error
    handler returns what a view re-showing its form gives with 400, which a tuple would break."""
    return body if status == 200 else make_response(body, status)


def _csrf_failed(form: Any) -> bool:
    """The form's token was refused (forms have no token field when CSRF is switched off)."""
    return "csrf_token" in form and bool(form.csrf_token.errors)


# --- staff: list, new, edit, copy ---------------------------------------------------------------


def _admin(survey_id: int) -> Response:
    return redirect(url_for("surveys.show_survey_admin", survey_id=survey_id))


def _follows_choices(current: str = "") -> list[SelectChoice]:
    """Events and rounds a survey may follow: a contact person's own ones (their attendees get
    the survey in the thank-you mail), plus what the survey follows already."""
    from participation.events.models import Event
    from participation.rounds.models import Round

    mine = None if is_coordinator(current_user) else current_user.id
    events = select(Event.id, Event.title).order_by(Event.starts_at.desc()).limit(200)
    rounds = select(Round.id, Round.title).order_by(Round.id.desc()).limit(200)
    if mine is not None:
        kind, _sep, raw = current.partition(":")
        known = int(raw) if raw.isdigit() else 0
        events = events.where(
            (Event.created_by_id == mine) | (Event.id == (known if kind == "event" else 0))
        )
        rounds = rounds.where(
            (Round.created_by_id == mine) | (Round.id == (known if kind == "round" else 0))
        )
    choices = [SelectChoice("", _("Nothing – a standalone survey"))]
    for event_id, title in db.session.execute(events):
        choices.append(SelectChoice(f"event:{event_id}", _("Event: %(title)s", title=title)))
    for round_id, title in db.session.execute(rounds):
        choices.append(
            SelectChoice(f"round:{round_id}", _("Comment round: %(title)s", title=title))
        )
    return choices


def _follows_offered(form: SurveyForm) -> bool:
    """The chosen event or round is one of those offered; sets the field's message if not."""
    if (form.follows.data or "") in {c.value for c in form.follows.choices}:
        return True
    form.follows.errors = [_("Choose an event or a comment round from the list.")]
    return False


@bp.get("/staff/surveys")
@view_required
def list_surveys() -> str:
    page, now = page_arg(request.args), utcnow()
    # A contact person sees only the surveys they created.
    created_by_id = None if is_coordinator(current_user) else current_user.id
    rows, total = services.list_surveys(
        db.session, page=page, per_page=page_size(), created_by_id=created_by_id
    )
    return render_template(
        "surveys/staff_surveys.html",
        results=Page(rows, page, page_size(), total),
        now=now,
    )


@bp.route("/staff/surveys/new", methods=["GET", "POST"])
@view_required
@redisplay_on_csrf_error
def create_survey() -> str | Response:
    now = utcnow().replace(second=0, microsecond=0)
    form = SurveyForm(data={"opens_at": now, "closes_at": now + dt.timedelta(days=14)})
    form.follows.choices = _follows_choices()
    if form.validate_on_submit() and _follows_offered(form):
        try:
            survey = services.create_survey(
                db.session, form.values(), staff_user_id=current_user.id, now=utcnow()
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The survey was created. Add its questions in the form builder."), "success")
            return _admin(survey.id)
    return render_template("surveys/staff_survey_form.html", form=form, survey=None)


@bp.route("/staff/surveys/<int:survey_id>/edit", methods=["GET", "POST"])
@view_required
@redisplay_on_csrf_error
def edit_survey(survey_id: int) -> str | Response:
    survey = managed_survey(survey_id)
    settings = services.settings_of(survey)
    form = SurveyForm(data=settings)
    form.follows.choices = _follows_choices(settings["follows"])
    if form.validate_on_submit() and _follows_offered(form):
        try:
            services.update_survey(db.session, survey_id, form.values(), now=utcnow())
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The changes were saved."), "success")
            return _admin(survey_id)
    return render_template("surveys/staff_survey_form.html", form=form, survey=survey)


@bp.route("/staff/surveys/<int:survey_id>/copy", methods=["GET", "POST"])
@view_required
@redisplay_on_csrf_error
def copy_survey(survey_id: int) -> str | Response:
    source = managed_survey(survey_id)
    now = utcnow().replace(second=0, microsecond=0)
    form = CopyForm(
        data={
            "title": _("Copy of %(title)s", title=source.title)[: services.MAX_TITLE],
            "opens_at": now,
            "closes_at": now + (source.closes_at - source.opens_at),
        }
    )
    if form.validate_on_submit():
        try:
            copy = services.copy_survey(
                db.session,
                survey_id,
                title=form.title.data or "",
                opens_at=form.opens_at.data,
                closes_at=form.closes_at.data,
                staff_user_id=current_user.id,
                now=utcnow(),
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The copy was made with the same questions. Check its settings."), "success")
            return _admin(copy.id)
    return render_template("surveys/staff_copy.html", form=form, source=source)


@bp.get("/staff/surveys/<int:survey_id>")
@view_required
def show_survey_admin(survey_id: int) -> str:
    survey = managed_survey(survey_id)
    now = utcnow()
    definition = services.survey_form(db.session, survey)
    answered, invited = services.answered_counts(db.session, survey_id)
    return render_template(
        "surveys/staff_survey.html",
        survey=survey,
        state=survey.state(now),
        questions=[q for q in definition.questions if q["type"] != "info"],
        answers=services.count_answers(db.session, survey_id),
        answered=answered,
        invited=invited,
        public_url=absolute_url("surveys.show_survey", slug=survey.slug),
        results_url=_endpoint_url("surveys.show_results", survey_id=survey.id),
    )


def _public_survey(survey_id: int) -> Survey:
    """A survey with a public link (a QR code of anything else would lead nowhere). Raises
    NotFound."""
    survey = managed_survey(survey_id)
    if not survey.public_link:
        raise NotFound(_("This survey has no public link, so it has no QR code."))
    return survey


def _qr_svg(survey: Survey, *, inline: bool) -> str:
    return qr.qr_svg(
        absolute_url("surveys.show_survey", slug=survey.slug),
        title=_("QR code of the survey “%(title)s”", title=survey.title),
        inline=inline,
    )


@bp.get("/staff/surveys/<int:survey_id>/qr")
@view_required
def survey_qr(survey_id: int) -> str:
    """The public link and its QR code on one printable page (for a poster or a table)."""
    survey = _public_survey(survey_id)
    return render_template(
        "surveys/staff_qr.html",
        survey=survey,
        public_url=absolute_url("surveys.show_survey", slug=survey.slug),
        # Markup made by segno and ElementTree (the title escaped), no user HTML.
        qr_svg=Markup(_qr_svg(survey, inline=True)),  # noqa: S704
    )


@bp.get("/staff/surveys/<int:survey_id>/qr.svg")
@view_required
def survey_qr_svg(survey_id: int) -> Response:
    survey = _public_survey(survey_id)
    return Response(
        _qr_svg(survey, inline=False),
        mimetype="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="survey-{survey.id}-qr.svg"'},
    )


def _endpoint_url(endpoint: str, **values: Any) -> str | None:
    """A link to a page another module adds (results), when it is there."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


# --- staff: invitations and reminders ---------------------------------------------------------


def _people_choices() -> list[SelectChoice]:
    return [
        SelectChoice(pid, f"{name} <{email}>")
        for pid, name, email in db.session.execute(
            select(Person.id, Person.name, Person.email).order_by(Person.name).limit(1000)
        )
    ]


def _invitations_page(survey: Survey, form: InviteForm, status: int = 200) -> Any:
    invitations = services.list_invitations(db.session, survey.id)
    # The counts come from the list shown anyway, not from more queries.
    body = render_template(
        "surveys/staff_invitations.html",
        survey=survey,
        form=form,
        invitations=invitations,
        unsent=sum(1 for i in invitations if i.sent_at is None),
        reminders_due=sum(
            1 for i in invitations if i.sent_at and not i.reminded_at and not i.answered
        ),
        answered=sum(1 for i in invitations if i.answered),
        invited=len(invitations),
        state=survey.state(utcnow()),
        confirm=ConfirmForm(),
    )
    return _with_status(body, status)


@bp.get("/staff/surveys/<int:survey_id>/invitations")
@view_required
def invitations(survey_id: int) -> Any:
    survey = managed_survey(survey_id)
    form = InviteForm(formdata=None)
    form.people.choices = _people_choices()
    return _invitations_page(survey, form)


@bp.post("/staff/surveys/<int:survey_id>/invitations")
@view_required
@redisplay_on_csrf_error
def add_invitations(survey_id: int) -> Any:
    survey = managed_survey(survey_id)
    form = InviteForm()
    form.people.choices = _people_choices()
    if form.validate_on_submit():
        good, bad = services.parse_addresses(form.addresses.data or "")
        try:
            added = services.invite(
                db.session, survey_id, [*good, *bad, *(form.people.data or [])], now=utcnow()
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            return _invitations_page(survey, form, 422)
        db.session.commit()
        flash(
            ngettext(
                "%(num)s invitation was added. Send it when you are ready.",
                "%(num)s invitations were added. Send them when you are ready.",
                added,
            ),
            "success",
        )
        return redirect(url_for("surveys.invitations", survey_id=survey_id))
    return _invitations_page(survey, form, 400 if _csrf_failed(form) else 200)


@bp.post("/staff/surveys/<int:survey_id>/invitations/send")
@view_required
def send_invitations(survey_id: int) -> Response:
    managed_survey(survey_id)
    if ConfirmForm().validate_on_submit():
        try:
            sent = services.send_invitations(
                db.session, survey_id, now=utcnow(), link_url=tasks.invitation_url
            )
        except WrongState as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            mail_tasks.kick_outbox()
            flash(
                ngettext("%(num)s invitation was sent.", "%(num)s invitations were sent.", sent),
                "success",
            )
    return redirect(url_for("surveys.invitations", survey_id=survey_id))


@bp.post("/staff/surveys/<int:survey_id>/invitations/remind")
@view_required
def remind(survey_id: int) -> Response:
    managed_survey(survey_id)
    if ConfirmForm().validate_on_submit():
        # The worker sends them (one mail each, never twice), so a long list does not hold
        # up the page.
        tasks.send_survey_reminders(survey_id)
        flash(_("The reminders are on their way to those who have not answered."), "success")
    return redirect(url_for("surveys.invitations", survey_id=survey_id))


# --- staff: a paper answer ----------------------------------------------------------------------


def _paper_form(survey: Survey, *, bound: bool) -> Any:
    definition = services.survey_form(db.session, survey)
    form_class = engine.build_form_class(
        definition.schema, locale=current_locale(), base=PaperAnswerForm
    )
    if bound:
        return form_class()
    return form_class(formdata=None, data={"submission_key": new_submission_key()})


@bp.route("/staff/surveys/<int:survey_id>/answers/new", methods=["GET", "POST"])
@view_required
@redisplay_on_csrf_error
def enter_paper_answer(survey_id: int) -> Any:
    survey = managed_survey(survey_id)
    form = _paper_form(survey, bound=request.method == "POST")
    status = 200
    if form.validate_on_submit():
        try:
            services.submit_answer(
                db.session,
                survey_id,
                engine.answers_from_form(form, form.form_schema),
                now=utcnow(),
                submission_key=form.submission_key.data or "",
                source="paper",
                entered_by_id=current_user.id,
                locale=current_locale(),
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("The paper answer was saved. You can type in the next one."), "success")
            return redirect(url_for("surveys.enter_paper_answer", survey_id=survey_id))
    elif request.method == "POST":
        status = 400 if _csrf_failed(form) else 422
    if not services.KEY_PATTERN.match(form.submission_key.data or ""):
        form.submission_key.data = new_submission_key()
    body = render_template("surveys/staff_paper_answer.html", survey=survey, form=form)
    return _with_status(body, status)


# --- answering ----------------------------------------------------------------------------------


def _pages(schema: dict[str, Any], layout: str) -> list[list[dict[str, Any]]]:
    """The items of a form class's normalised `form_schema` split into pages: everything on one
    page, or one question per page with each information block on the page of the question
    after it."""
    items = schema["questions"]
    if layout != PAGED:
        return [items]
    pages: list[list[dict[str, Any]]] = []
    waiting: list[dict[str, Any]] = []
    for item in items:
        waiting.append(item)
        if item["type"] != "info":
            pages.append(waiting)
            waiting = []
    if waiting:
        if pages:
            pages[-1].extend(waiting)
        else:
            pages.append(waiting)
    return pages or [[]]


def _answer_class(schema_text: str) -> Any:
    """The survey's answering form class (built once per process, schema and language)."""
    return answering.form_class(schema_text, current_locale(), AnswerForm)


def _answer_form(survey: Survey, *, bound: bool, data: dict[str, Any] | None = None) -> Any:
    form_class = _answer_class(answering.schema_text(db.session, survey.form_id))
    if bound:
        return form_class()
    return form_class(formdata=None, data={"submission_key": new_submission_key(), **(data or {})})


def _render(
    survey: Survey,
    form: Any,
    *,
    page: int,
    now: dt.datetime,
    notice: str = "",
    status: int = 200,
) -> Any:
    pages = _pages(form.form_schema, survey.layout)
    page = min(max(page, 0), len(pages) - 1)
    form.page.data = str(page)
    state = survey.state(now)
    body = render_template(
        "surveys/survey.html",
        survey=survey,
        form=form,
        state=state,
        page=page,
        pages=len(pages),
        items=pages[page],
        # Which question of how many (info blocks do not count).
        question_number=sum(1 for p in pages[: page + 1] for q in p if q["type"] != "info"),
        question_total=sum(1 for p in pages for q in p if q["type"] != "info"),
        notice=notice,
        can_send=state == "open",
    )
    return _with_status(body, status)


@bp.get("/surveys/<slug>")
def show_survey(slug: str) -> Any:
    now = utcnow()
    survey = services.get_survey_by_slug(db.session, slug)
    if not survey.public_link:
        return render_template("surveys/invitation_only.html", survey=survey), 403
    return _render(survey, _answer_form(survey, bound=False), page=0, now=now)


@bp.get("/surveys/i/<token>")
def answer_by_invitation(token: str) -> Any:
    now = utcnow()
    try:
        link = services.tokens.check_link(db.session, token, purpose=services.INVITATION, now=now)
        invitation = db.session.get(services.SurveyInvitation, link.subject_id)
        if invitation is None:
            raise LinkInvalid()
        survey = services.get_survey(db.session, invitation.survey_id)
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem(LINK_PROBLEM, exc)
    if not services.can_answer_again(survey, invitation):
        return render_template("surveys/answered.html", survey=survey), 409
    # Coming back to change an answer (identified surveys whose second answer replaces the
    # first): the form shows what was sent before.
    earlier = services.previous_answers(db.session, survey, invitation)
    return _render(
        survey,
        _answer_form(survey, bound=False, data={**earlier, "invitation": token}),
        page=0,
        now=now,
    )


@bp.get("/surveys/<slug>/continue/<token>")
def continue_survey(slug: str, token: str) -> Any:
    now = utcnow()
    survey = services.get_survey_by_slug(db.session, slug)
    try:
        progress = services.load_progress(db.session, survey, token, now=now)
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem(LINK_PROBLEM, exc)
    data = {
        **progress.answers,
        "progress": token,
        "invitation": flask_session.get(_invitation_key(survey), ""),
    }
    return _render(
        survey, _answer_form(survey, bound=False, data=data), page=progress.page, now=now
    )


def _answer_limit() -> str:
    return current_app.config["SURVEY_ANSWER_RATE_LIMIT"]


def _too_many() -> str:
    return _(
        "Many messages have been sent from your connection in a short time. Wait a minute and "
        "send again: your text is kept below."
    )


def _invitation_key(survey: Survey) -> str:
    return f"survey_invitation:{survey.id}"


def _continue_url(survey: Survey, token: str, invitation: str) -> str:
    """The page to continue on. An invitation's token goes with it in the session cookie,
    never in the URL, where access logs would keep it."""
    if invitation:
        flask_session[_invitation_key(survey)] = invitation
    return url_for("surveys.continue_survey", slug=survey.slug, token=token)


def _keep(
    survey: Survey, form: Any, answers: dict[str, Any], *, page: int, now: dt.datetime
) -> str:
    """Save the answers so far (a new progress row on the first save); returns its token."""
    token = form.progress.data or ""
    if token:
        services.save_progress(db.session, survey, token, answers, page=page, now=now)
        return token
    return services.start_progress(db.session, survey.id, answers, page=page, now=now)


def _posted_page(form: Any, pages: list[list[dict[str, Any]]]) -> int:
    try:
        return min(max(int(form.page.data or 0), 0), len(pages) - 1)
    except ValueError:
        return 0


def _plain_send() -> bool:
    """The post sends a one-page answer through the public link: no other action, no saved
    progress, no invitation, not a bot, and its CSRF token accepted by CSRFProtect (the CSRF
    error handler runs the view again to re-show the form)."""
    posted = request.form
    return not (
        request.files  # Flask-WTF would read files or JSON too: the form decides then
        or request.is_json
        or posted.get("action", "send") != "send"
        or posted.get("progress")
        or posted.get("invitation")
        or (posted.get("homepage") or "").strip()
        or not csrf_checked()
    )


def _facts(slug: str) -> answering.PublicFacts | None:
    """The survey's facts as last read in this process, else read now in a plain transaction:
    on SQLite the write lock is taken by the write alone (the read transaction ends first); on
    PostgreSQL read and write share one transaction."""
    facts = answering.remembered_facts(slug)
    if facts is None:
        with read_only():
            facts = answering.read_facts(db.session, slug)
            if db.session.get_bind().dialect.name == "sqlite":
                db.session.commit()
    return facts


def _quick_answer(slug: str, *, now: dt.datetime) -> Response | None:
    """The common answer, stored without binding the form (see answering). None when nothing
    was stored: the full way decides, reading the survey afresh."""
    facts = _facts(slug)
    if facts is None:
        return None
    form_class = _answer_class(facts.schema_text)
    stored = False
    if len(_pages(form_class.form_schema, facts.layout)) == 1:
        try:
            stored = answering.submit_public_answer(
                db.session,
                facts,
                form_class.form_schema,
                request.form,
                now=now,
                submission_key=request.form.get("submission_key") or "",
            )
        except IntegrityError:  # the same key racing on PostgreSQL: the full way finds it
            stored = False
    if not stored:
        db.session.rollback()
        answering.forget_facts(slug)  # they may be stale: read afresh next time
        return None
    db.session.commit()
    return redirect(url_for("surveys.thank_you", slug=slug))


@bp.post("/surveys/<slug>")
@redisplay_on_csrf_error
@limits_itself
def answer_survey(slug: str) -> Any:
    now = utcnow()
    limited = not within_rate_limit(_answer_limit())
    if not limited and _plain_send():
        done = _quick_answer(slug, now=now)
        if done is not None:
            return done

    survey = services.get_survey_by_slug(db.session, slug)
    form = _answer_form(survey, bound=True)
    pages = _pages(form.form_schema, survey.layout)
    page = _posted_page(form, pages)
    if limited:
        return _render(survey, form, page=page, now=now, notice=_too_many(), status=429)
    form.validate()
    if _csrf_failed(form):
        return _render(survey, form, page=page, now=now, status=400)
    if (form.homepage.data or "").strip():
        return redirect(url_for("surveys.thank_you", slug=slug))  # a bot: nothing kept

    here = {q["key"] for q in pages[page] if q["type"] != "info"}
    for name, field in form._fields.items():
        if name not in here:
            field.errors = []  # questions of other pages are checked when the survey is sent
    page_failed = any(form[key].errors for key in here)
    given = {k: v for k, v in engine.answers_from_form(form, form.form_schema).items() if k in here}
    action = request.form.get("action", "send")
    token, invitation = form.progress.data or "", form.invitation.data or ""
    try:
        saved = services.load_progress(db.session, survey, token, now=now).answers if token else {}
    except (LinkExpired, LinkInvalid) as exc:
        same = services.find_by_key(db.session, survey.id, services.key_from_token(token))
        if same is not None:
            return redirect(url_for("surveys.thank_you", slug=slug))  # sent already, another tab
        return render_link_problem(LINK_PROBLEM, exc)
    if not token and invitation and len(pages) > 1:
        # The first page of a paged survey reopened to change an earlier answer: the other
        # pages start from what was sent before, as the link showed them.
        saved = _earlier_answers(survey, invitation, now=now)
    answers = {k: v for k, v in saved.items() if k not in here} | given

    if action in ("back", "next", "save"):
        if action == "next" and page_failed:
            return _render(survey, form, page=page, now=now, status=422)
        target = page - 1 if action == "back" else page + 1 if action == "next" else page
        token = _keep(survey, form, answers, page=target, now=now)
        db.session.commit()
        if action == "save":
            return render_template(
                "surveys/saved.html",
                survey=survey,
                link=current_app.config["BASE_URL"] + _continue_url(survey, token, invitation),
            )
        return redirect(_continue_url(survey, token, invitation))

    if page_failed:
        return _render(survey, form, page=page, now=now, status=422)
    key = services.key_from_token(token) if token else form.submission_key.data or ""
    try:
        services.submit_answer(
            db.session,
            survey.id,
            answers,
            now=now,
            submission_key=key,
            invitation_token=invitation or None,
            locale=current_locale(),
        )
    except Invalid as exc:
        db.session.rollback()
        return _show_invalid(survey, form, exc, answers, pages, page, now=now)
    except (WrongState, Conflict) as exc:
        db.session.rollback()
        return _render(survey, form, page=page, now=now, notice=exc.message, status=409)
    except (LinkExpired, LinkInvalid) as exc:
        db.session.rollback()
        return render_link_problem(LINK_PROBLEM, exc)
    if token:
        services.finish_progress(db.session, survey, token, now=now)
    db.session.commit()
    return redirect(url_for("surveys.thank_you", slug=slug))


def _earlier_answers(survey: Survey, token: str, *, now: dt.datetime) -> dict[str, Any]:
    """What was sent before through the invitation link, when it may be changed; {} for a bad
    link (sending then shows the link problem)."""
    try:
        invitation = services.invitation_by_token(db.session, survey, token, now=now)
    except (LinkExpired, LinkInvalid):
        return {}
    return services.previous_answers(db.session, survey, invitation)


def _show_invalid(
    survey: Survey,
    form: Any,
    error: Invalid,
    answers: dict[str, Any],
    pages: list[list[dict[str, Any]]],
    page: int,
    *,
    now: dt.datetime,
) -> Any:
    """The page of the first question the service refused, with its message and the answers."""
    wrong = next(
        (n for n, items in enumerate(pages) if any(q["key"] in error.errors for q in items)), None
    )
    if wrong is None or wrong == page:
        show_errors(form, error)
        return _render(survey, form, page=page, now=now, status=422)
    token = _keep(survey, form, answers, page=wrong, now=now)
    db.session.commit()
    # The same form class again: no second load of the form or check of its schema.
    other = type(form)(
        formdata=None,
        data={
            "submission_key": new_submission_key(),
            **answers,
            "progress": token,
            "invitation": form.invitation.data or "",
        },
    )
    show_errors(other, error)
    return _render(survey, other, page=wrong, now=now, status=422)


@bp.route("/surveys/<slug>/thanks", methods=["GET", "POST"])
@redisplay_on_csrf_error
@limiter.limit(_answer_limit, methods=["POST"])
def thank_you(slug: str) -> Any:
    survey = services.get_survey_by_slug(db.session, slug)
    form = ResultsRequestForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.request_results(
                db.session, survey.id, form.email.data or "", now=utcnow(), locale=current_locale()
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("Thank you. We will mail you the results when they are published."), "success")
            return redirect(url_for("surveys.thank_you", slug=slug))
    elif request.method == "POST":
        status = 400 if _csrf_failed(form) else 422
    body = render_template("surveys/thanks.html", survey=survey, form=form)
    return _with_status(body, status)
