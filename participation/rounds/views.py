"""Routes of comment rounds: drafts and rounds for staff under /staff, the participant's page
/rounds/<slug>, and each participant's own link /comments/<token>."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.exceptions import TooManyRequests
from wtforms.fields.choices import SelectChoice

import forms as engine
from participation.accounts.forms import ConfirmForm
from participation.db import read_only, utcnow
from participation.digests import services as digests
from participation.errors import Invalid, NotFound, WrongState
from participation.extensions import db
from participation.i18n import current_locale
from participation.kept import Kept
from participation.mail import tasks as mail_tasks
from participation.pagination import Page, page_arg, page_size
from participation.privacy import services as privacy
from participation.register.distribution import list_invitable_associations
from participation.register.forms import DistributionForm
from participation.rounds import bp, drafts, quick, services
from participation.rounds.forms import (
    CommentForm,
    DraftForm,
    EditCommentForm,
    IdentityForm,
    RoundForm,
    SectionForm,
    new_submission_key,
)
from participation.rounds.models import Round, Section
from participation.rounds.policy import can_manage, can_review, manage_required, view_required
from participation.tokens import LinkExpired, LinkInvalid
from participation.web import (
    absolute_url,
    check_rate_limit,
    is_htmx,
    limits_itself,
    redisplay_on_csrf_error,
    render_error,
    render_link_problem,
    show_errors,
)

SESSION_KEY = "round_participants"


@bp.app_template_filter("draft_html")
def draft_html(fragment: str) -> Markup:
    """A section body: sanitised when stored, and again here, so no path can show raw HTML."""
    return Markup(drafts.sanitise(fragment or ""))  # noqa: S704


# --- drafts (staff) --------------------------------------------------------------------------


@bp.get("/staff/drafts")
@view_required
def list_drafts() -> str:
    page = page_arg(request.args)
    rows, total = drafts.list_drafts(db.session, page=page, per_page=page_size())
    return render_template(
        "rounds/drafts.html",
        results=Page(rows, page, page_size(), total),
        can_manage=can_manage(current_user),
    )


def _read_upload(form: DraftForm) -> drafts.ParsedDraft:
    upload = form.file.data
    data = upload.read(drafts.MAX_UPLOAD_BYTES + 1) if upload and upload.filename else None
    return drafts.read_source(
        text=form.text.data or "", filename=(upload.filename if upload else "") or "", data=data
    )


@bp.route("/staff/drafts/new", methods=["GET", "POST"])
@manage_required
def create_draft() -> str | Response:
    form = DraftForm()
    if form.validate_on_submit():
        try:
            draft = drafts.create_draft(
                db.session,
                title=form.title.data or "",
                parsed=_read_upload(form),
                note=form.note.data or "",
                staff_user_id=current_user.id,
                now=utcnow(),
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The draft was saved as version 1."), "success")
            return redirect(url_for("rounds.show_draft", draft_id=draft.id))
    return render_template("rounds/draft_form.html", form=form, draft=None)


@bp.get("/staff/drafts/<int:draft_id>")
@view_required
def show_draft(draft_id: int) -> str:
    draft = drafts.get_draft(db.session, draft_id)
    number = request.args.get("version", type=int)
    version = next((v for v in draft.versions if v.number == number), draft.versions[-1])
    return render_template(
        "rounds/draft.html",
        draft=draft,
        version=version,
        latest=version is draft.versions[-1],
        rounds_by_version=drafts.count_rounds_by_version(db.session, draft_id),
        can_manage=can_manage(current_user),
    )


@bp.route("/staff/drafts/<int:draft_id>/versions/new", methods=["GET", "POST"])
@manage_required
def create_draft_version(draft_id: int) -> str | Response:
    draft = drafts.get_draft(db.session, draft_id)
    form = DraftForm()
    del form.title
    if form.validate_on_submit():
        try:
            version = drafts.add_version(
                db.session,
                draft_id,
                parsed=_read_upload(form),
                note=form.note.data or "",
                now=utcnow(),
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Version %(n)s was saved.", n=version.number), "success")
            return redirect(url_for("rounds.show_draft", draft_id=draft_id))
    return render_template("rounds/draft_form.html", form=form, draft=draft)


@bp.route("/staff/drafts/<int:draft_id>/sections/<int:section_id>/edit", methods=["GET", "POST"])
@manage_required
def edit_section(draft_id: int, section_id: int) -> str | Response:
    draft = drafts.get_draft(db.session, draft_id)
    section = next((s for s in draft.versions[-1].sections if s.id == section_id), None)
    if section is None:
        flash(_("Only the newest version can be edited."), "error")
        return redirect(url_for("rounds.show_draft", draft_id=draft_id))
    form = SectionForm(
        data={"heading": section.heading, "body": drafts.html_to_markdown(section.body_html)}
    )
    if form.validate_on_submit():
        try:
            version = drafts.edit_section(
                db.session,
                draft_id,
                section_id,
                heading=form.heading.data or "",
                markdown=form.body.data or "",
                note=form.note.data or "",
                now=utcnow(),
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Saved as version %(n)s.", n=version.number), "success")
            return redirect(url_for("rounds.show_draft", draft_id=draft_id))
    return render_template("rounds/section_form.html", form=form, draft=draft, section=section)


# --- rounds (staff) --------------------------------------------------------------------------


@bp.get("/staff/rounds")
@view_required
def list_rounds() -> str:
    page = page_arg(request.args)
    rows, total = services.list_rounds(db.session, page=page, per_page=page_size())
    return render_template(
        "rounds/rounds.html",
        results=Page(rows, page, page_size(), total),
        now=utcnow(),
        can_manage=can_manage(current_user),
    )


def _round_choices(form: RoundForm) -> bool:
    """Fill the pickers; false when there is no draft to comment on yet."""
    versions = drafts.list_version_choices(db.session)
    form.draft_version_id.choices = [SelectChoice("", _("Choose a version"))] + [
        SelectChoice(
            str(v.id),
            _(
                "%(title)s – version %(n)s (%(date)s)",
                title=d.title,
                n=v.number,
                date=v.created_at.strftime("%d.%m.%Y"),
            ),
        )
        for v, d in versions
    ]
    keys = sorted({t.key for t, _count in privacy.list_consent_texts(db.session)})
    form.consent_key.choices = [SelectChoice(k, k) for k in keys]
    return bool(versions)


@bp.route("/staff/rounds/new", methods=["GET", "POST"])
@manage_required
def create_round() -> str | Response:
    now = utcnow()
    services.ensure_round_consent_text(db.session, now)
    start = (now + dt.timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    form = RoundForm(
        data={
            "draft_version_id": request.args.get("version", ""),
            "opens_at": start,
            "closes_at": start + dt.timedelta(days=28),
            "consent_key": services.ROUND_CONSENT,
        }
    )
    has_drafts = _round_choices(form)
    if form.validate_on_submit():
        try:
            round_ = services.create_round(
                db.session, form.values(), staff_user_id=current_user.id, now=now
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The round was created with three general questions."), "success")
            return redirect(url_for("rounds.show_round_admin", round_id=round_.id))
    db.session.commit()  # the default consent text, if it was just published
    return render_template("rounds/round_form.html", form=form, round=None, has_drafts=has_drafts)


@bp.route("/staff/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@manage_required
def edit_round(round_id: int) -> str | Response:
    round_ = services.get_round(db.session, round_id)
    form = RoundForm(
        data={
            "title": round_.title,
            "intro": round_.intro,
            "draft_version_id": str(round_.draft_version_id),
            "opens_at": round_.opens_at,
            "closes_at": round_.closes_at,
            "section_comments": round_.section_comments,
            "comments_public": round_.comments_public,
            "association_required": round_.association_required,
            "consent_key": round_.consent_key,
            "retention_days": round_.retention_days,
            "max_comment_length": round_.max_comment_length,
        }
    )
    _round_choices(form)
    if form.validate_on_submit():
        try:
            services.update_round(db.session, round_id, form.values(), now=utcnow())
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The changes were saved."), "success")
            return redirect(url_for("rounds.show_round_admin", round_id=round_id))
    return render_template("rounds/round_form.html", form=form, round=round_, has_drafts=True)


def _public_link(round_: Round) -> str:
    return absolute_url("rounds.show_round", slug=round_.slug)


@bp.get("/staff/rounds/<int:round_id>")
@view_required
def show_round_admin(round_id: int) -> str:
    round_ = services.get_round(db.session, round_id)
    now = utcnow()
    invitations = services.list_invitations(db.session, round_id)
    form = DistributionForm(data={"association_ids": [a.id for _i, a in invitations]})
    form.association_ids.choices = [
        SelectChoice(a.id, a.name) for a in list_invitable_associations(db.session)
    ]
    return render_template(
        "rounds/round_admin.html",
        round=round_,
        now=now,
        state=round_.state(now),
        public_link=_public_link(round_),
        overview=services.round_overview(db.session, round_id),
        sections=services.load_sections(db.session, round_.draft_version_id),
        question_form=services.get_round_form(db.session, round_),
        invitations=invitations,
        uninvited=sum(1 for i, a in invitations if i.invited_at is None),
        distribution=form,
        confirm=ConfirmForm(),
        can_manage=can_manage(current_user),
        can_review=can_review(current_user, round_),
        digest=digests.latest_digest(db.session, "round", round_.id),
    )


@bp.post("/staff/rounds/<int:round_id>/distribution")
@manage_required
def save_distribution(round_id: int) -> Response:
    form = DistributionForm()
    if form.validate_on_submit():
        try:
            added, removed = services.save_distribution(
                db.session, round_id, form.association_ids.data or [], now=utcnow()
            )
        except Invalid as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(
                _("The distribution list was saved (%(added)s added, %(removed)s removed).",
                  added=added, removed=removed),
                "success",
            )  # fmt: skip
    return redirect(url_for("rounds.show_round_admin", round_id=round_id) + "#distribution")


@bp.post("/staff/rounds/<int:round_id>/invitations")
@manage_required
def send_invitations(round_id: int) -> Response:
    round_ = services.get_round(db.session, round_id)
    if ConfirmForm().validate_on_submit():
        try:
            result = services.send_invitations(
                db.session, round_id, link=_public_link(round_), now=utcnow()
            )
        except WrongState as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            mail_tasks.kick_outbox()
            flash(result.sent_text(), "success")
            if result.without_email:
                flash(result.without_email_text(), "error")
    return redirect(url_for("rounds.show_round_admin", round_id=round_id) + "#distribution")


# --- the participant's page ------------------------------------------------------------------


@dataclass
class Area:
    """One place to comment (a section, the whole draft) or the general questions' form."""

    key: str
    action: str
    section: Section | None = None
    form: FlaskForm | None = None
    comments: list[services.PublicComment] = field(default_factory=list)
    thanks: bool = False
    notice: str = ""
    expanded: bool = False
    can_send: bool = True


def _remembered(round_: Round) -> Any:
    ids = session.get(SESSION_KEY) or {}
    participant = services.find_participant(db.session, round_.id, ids.get(str(round_.id)))
    if participant is None and str(round_.id) in ids:
        _forget(round_)
    return participant


def _remember(round_: Round, participant_id: int) -> None:
    ids = dict(session.get(SESSION_KEY) or {})
    ids[str(round_.id)] = participant_id
    session[SESSION_KEY] = ids


def _forget(round_: Round) -> None:
    ids = dict(session.get(SESSION_KEY) or {})
    ids.pop(str(round_.id), None)
    session[SESSION_KEY] = ids


def _association_choices(round_: Round) -> list[SelectChoice]:
    """The "I speak for" choices, read once per request (a post may build two forms)."""
    cached = g.get("association_choices")
    if cached is not None:
        return cached
    first = (
        SelectChoice("", _("Choose the association"))
        if round_.association_required
        else SelectChoice("", _("Myself, as a resident"))
    )
    g.association_choices = [first] + [
        SelectChoice(str(a.id), a.name) for a in list_invitable_associations(db.session)
    ]
    return g.association_choices


def _area_key(section: Section | None) -> str:
    return f"s{section.id}" if section is not None else "draft"


def _comment_action(round_: Round, section: Section | None) -> str:
    if section is None:
        return url_for("rounds.post_comment", slug=round_.slug)
    return url_for("rounds.post_comment", slug=round_.slug, section_id=section.id)


def _comment_form(
    round_: Round,
    section: Section | None,
    choices: list[SelectChoice],
    *,
    bound: bool,
    submission_key: str | None = None,
) -> CommentForm:
    key = _area_key(section)
    if bound:
        form = CommentForm(prefix=key)
    else:
        data = {"submission_key": submission_key or new_submission_key()}
        form = CommentForm(prefix=key, formdata=None, data=data)
    form.association_id.choices = choices
    return form


def _answers_form(round_: Round, choices: list[SelectChoice], *, bound: bool) -> FlaskForm | None:
    definition = services.get_round_form(db.session, round_)
    if definition is None:
        return None
    form_class = engine.build_form_class(
        definition.schema, locale=current_locale(), base=IdentityForm
    )
    form = form_class(prefix="answers") if bound else form_class(prefix="answers", formdata=None)
    form.association_id.choices = choices
    return form


def _page(
    round_: Round,
    *,
    now: dt.datetime,
    participant: Any,
    posted: Area | None = None,
    thanks: str = "",
) -> str:
    """The whole page; `posted` replaces the area that was just sent to."""
    open_now = round_.is_open(now)
    choices = _association_choices(round_)
    sections = list(round_.version.sections)
    comments = services.public_comments(db.session, round_)
    areas: dict[str, Area] = {}
    places: list[Section | None] = sections if round_.section_comments else [None]
    if not round_.section_comments and not open_now and not round_.comments_public:
        places = []
    for section in places:
        key = _area_key(section)
        areas[key] = Area(
            key,
            _comment_action(round_, section),
            section,
            _comment_form(round_, section, choices, bound=False) if open_now else None,
            comments.get(section.id if section else None, []),
            thanks=thanks == key,
        )
    answers_form = _answers_form(round_, choices, bound=False)
    answers = None
    if answers_form is not None and open_now:
        answers = Area(
            "answers",
            url_for("rounds.post_answers", slug=round_.slug),
            form=answers_form if open_now else None,
            thanks=thanks == "answers",
        )
    if posted is not None:
        posted.comments = comments.get(posted.section.id if posted.section else None, [])
        if posted.key == "answers":
            answers = posted
        else:
            areas[posted.key] = posted
    return render_template(
        "rounds/round.html",
        round=round_,
        state=round_.state(now),
        sections=sections,
        areas=areas,
        whole_draft=areas.get("draft"),
        answers=answers,
        participant=participant,
        consent_text=_consent_text(round_),
        digest=digests.find_published_digest(db.session, "round", round_.id),
        surveys=_following_surveys(round_, now),
    )


def _following_surveys(round_: Round, now: dt.datetime) -> list[Any]:
    # Imported here: the surveys package refers to rounds (a survey may follow one).
    from participation.surveys import services as surveys

    return surveys.round_surveys(db.session, round_.id, now=now)


def _consent_text(round_: Round) -> str:
    text = privacy.find_current_consent_text(db.session, round_.consent_key)
    return text.text(current_locale()) if text else ""


def _render_area(
    round_: Round,
    area: Area,
    *,
    participant: Any,
    now: dt.datetime,
    newly_known: bool = False,
    csrf_value: str | None = None,
) -> str:
    """The area alone for htmx; for a newly known participant, the other areas' "about you"
    blocks are replaced out of band, so no form asks again."""
    if area.key != "answers" and round_.comments_public:
        area.comments = services.public_section_comments(
            db.session, round_, area.section.id if area.section else None
        )
    others: list[str] = []
    if newly_known:
        keys = (
            [_area_key(s) for s in round_.version.sections]
            if round_.section_comments
            else ["draft"]
        )
        if services.get_round_form(db.session, round_) is not None:
            keys.append("answers")
        others = [k for k in keys if k != area.key]
    return render_template(
        "rounds/_answers.html" if area.key == "answers" else "rounds/_comment_area.html",
        round=round_,
        area=area,
        participant=participant,
        # Asked for only while the person is unknown.
        consent_text="" if participant is not None else _consent_text(round_),
        oob_keys=others,
        in_place=True,
        csrf_value=csrf_value,
    )


def _respond(round_: Round, area: Area, *, participant: Any, now: dt.datetime, status: int) -> Any:
    if is_htmx():
        # htmx swaps only 2xx answers: the kept text and its message must reach the page.
        return _render_area(round_, area, participant=participant, now=now)
    body = _page(round_, now=now, participant=participant, posted=area)
    return body if status == 200 else (body, status)


@bp.get("/rounds/<slug>")
def show_round(slug: str) -> str:
    round_ = services.get_round_by_slug(db.session, slug)
    return _page(
        round_,
        now=utcnow(),
        participant=_remembered(round_),
        thanks=(request.args.get("sent") or "")[:20],
    )


def _comment_limit() -> str:
    return current_app.config.get("ROUND_COMMENT_RATE_LIMIT", "20 per minute")


def _manage_url(token: str) -> str:
    return absolute_url("rounds.show_own_comments", token=token)


def _section_of(round_: Round, section_id: int | None) -> Section | None:
    if section_id is None:
        return None
    if not round_.section_comments:
        raise NotFound(_("No such section."))
    return services.get_round_section(db.session, round_, section_id)


@bp.post("/rounds/<slug>/comments", defaults={"section_id": None})
@bp.post("/rounds/<slug>/sections/<int:section_id>/comments")
@redisplay_on_csrf_error
@limits_itself
def post_comment(slug: str, section_id: int | None) -> Any:
    check_rate_limit(_comment_limit())
    if (answer := _quick_comment(slug, section_id)) is not None:
        return answer
    now = utcnow()
    round_ = services.get_round_by_slug(db.session, slug, whole=False)
    section = _section_of(round_, section_id)
    participant = _remembered(round_)
    # A known participant's form asks nothing about them: no association list to read.
    choices = _association_choices(round_) if participant is None else []
    form = _comment_form(round_, section, choices, bound=True)
    area = Area(_area_key(section), _comment_action(round_, section), section, form, expanded=True)
    status = 200
    if form.validate_on_submit():
        try:
            outcome = services.submit_comment(
                db.session,
                round_.id,
                section_id=section.id if section else None,
                body=form.body.data or "",
                submission_key=form.submission_key.data or "",
                identity=form.identity(current_locale()),
                participant_id=participant.id if participant else None,
                manage_url=_manage_url,
                now=now,
                honeypot=form.homepage.data or "",
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        except WrongState as exc:
            db.session.rollback()
            area.notice, status = exc.message, 409
        else:
            db.session.commit()
            participant, newly_known = _accepted(round_, outcome, participant)
            if not is_htmx():
                return redirect(
                    url_for("rounds.show_round", slug=slug, sent=area.key) + f"#area-{area.key}"
                )
            known = [] if participant is not None else _association_choices(round_)
            fresh = _comment_form(round_, section, known, bound=False)
            done = Area(area.key, area.action, section, fresh, thanks=True)
            return _render_area(
                round_, done, participant=participant, now=now, newly_known=newly_known
            )
    if not services.KEY_PATTERN.match(form.submission_key.data or ""):
        form.submission_key.data = new_submission_key()  # a broken form is whole when sent again
    _explain_closed(round_, area, now)
    return _respond(round_, area, participant=participant, now=now, status=status)


def _quick_comment(slug: str, section_id: int | None) -> Any:
    """A remembered participant's comment stored by `quick` (see there), answered like the
    full path answers it; None when the full path must take the post."""
    remembered = [v for v in (session.get(SESSION_KEY) or {}).values() if isinstance(v, int)]
    key = f"s{section_id}" if section_id is not None else "draft"
    typed = request.form
    if not remembered or (typed.get(f"{key}-homepage") or "").strip():
        return None  # a new person, or the honeypot (the full path pretends to take it)
    target = quick.find_target(db.session, slug, section_id, remembered)
    if target is None:
        return None
    comment_id = quick.add_comment(
        db.session,
        target,
        body=typed.get(f"{key}-body") or "",
        submission_key=typed.get(f"{key}-submission_key") or "",
        now=utcnow(),
    )
    if comment_id is None:
        return None
    if not is_htmx():
        return redirect(url_for("rounds.show_round", slug=slug, sent=key) + f"#area-{key}")
    if target.round.comments_public:  # the comments shown change with every post
        with read_only():
            return _render_thanks(target, key, new_submission_key(), generate_csrf())
    # Otherwise the answer is the same for the same round, section, person and language but
    # for the new form's key and token: rendered once, then filled in.
    round_ = target.round
    facts = (
        round_.slug,
        round_.max_comment_length,
        target.section,
        target.participant,
        key,
        current_locale(),
    )
    made = _thanks.get_or_make(facts, lambda: _render_thanks(target, key, _KEY_MARK, _TOKEN_MARK))
    return made.replace(_KEY_MARK, new_submission_key()).replace(_TOKEN_MARK, generate_csrf())


# The short path's answers by everything they show (a change to any makes a new entry); the
# marks are where each answer's own key and token go.
_thanks: Kept[tuple[Any, ...], str] = Kept(1000)
_KEY_MARK, _TOKEN_MARK = "QUICK-KEY-MARK-4f1c", "QUICK-TOKEN-MARK-4f1c"


def _render_thanks(target: quick.Target, key: str, submission_key: str, token: str) -> str:
    round_, section = target.round, target.section
    fresh = _comment_form(round_, section, [], bound=False, submission_key=submission_key)  # type: ignore[arg-type]
    done = Area(key, request.path, section, fresh, thanks=True)  # type: ignore[arg-type]
    return _render_area(
        round_,
        done,
        participant=target.participant,
        now=utcnow(),
        csrf_value=token,  # type: ignore[arg-type]
    )


def _accepted(round_: Round, outcome: Any, participant: Any) -> tuple[Any, bool]:
    """After a stored comment or answers: mail the first confirmation, remember the person."""
    if outcome.new_participant:
        mail_tasks.kick_outbox()
    newly_known = participant is None and outcome.participant is not None
    if outcome.participant is not None:
        _remember(round_, outcome.participant.id)
        participant = outcome.participant
    return participant, newly_known


def _explain_closed(round_: Round, area: Area, now: dt.datetime) -> None:
    """A round not open now takes nothing; say why, keeping what was typed in the form."""
    if round_.is_open(now):
        return
    area.can_send = False
    if not area.notice:
        try:
            services.check_open(round_, now)
        except WrongState as exc:
            area.notice = exc.message


@bp.post("/rounds/<slug>/answers")
@redisplay_on_csrf_error
@limits_itself
def post_answers(slug: str) -> Any:
    check_rate_limit(_comment_limit())
    now = utcnow()
    round_ = services.get_round_by_slug(db.session, slug)
    participant = _remembered(round_)
    form = _answers_form(round_, _association_choices(round_), bound=True)
    if form is None:
        raise NotFound(_("This round has no general questions."))
    area = Area("answers", url_for("rounds.post_answers", slug=slug), form=form, expanded=True)
    status = 200
    valid = form.validate_on_submit()
    if valid:
        try:
            outcome = services.submit_answers(
                db.session,
                round_.id,
                answers=engine.answers_from_form(form, form.form_schema),
                identity=form.identity(current_locale()),
                participant_id=participant.id if participant else None,
                manage_url=_manage_url,
                locale=current_locale(),
                now=now,
                honeypot=form.homepage.data or "",
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        except WrongState as exc:
            db.session.rollback()
            area.notice, status = exc.message, 409
        else:
            db.session.commit()
            participant, newly_known = _accepted(round_, outcome, participant)
            if not is_htmx():
                return redirect(
                    url_for("rounds.show_round", slug=slug, sent="answers") + "#questions"
                )
            done = Area(
                "answers",
                area.action,
                form=_answers_form(round_, _association_choices(round_), bound=False),
                thanks=True,
            )
            return _render_area(
                round_, done, participant=participant, now=now, newly_known=newly_known
            )
    elif request.method == "POST" and participant is None and not form.csrf_token.errors:
        # Show the messages about the person together with those about the answers.
        _values, errors = services.check_identity(
            db.session, round_, form.identity(current_locale())
        )
        for name, messages in errors.items():
            form[name].errors = list(messages)
    _explain_closed(round_, area, now)
    return _respond(round_, area, participant=participant, now=now, status=status)


@bp.post("/rounds/<slug>/forget")
def forget_participant(slug: str) -> Response:
    round_ = services.get_round_by_slug(db.session, slug)
    if ConfirmForm().validate_on_submit():
        _forget(round_)
    return redirect(url_for("rounds.show_round", slug=slug))


@bp.errorhandler(TooManyRequests)
def _too_many_requests(error: TooManyRequests) -> Any:
    """The comment stays in its box with a message, as after any other refusal."""
    if request.endpoint not in ("rounds.post_comment", "rounds.post_answers"):
        return render_error(429, _("Too many attempts. Wait a minute and try again."))
    slug = (request.view_args or {}).get("slug", "")
    round_ = services.get_round_by_slug(db.session, slug)
    choices = _association_choices(round_)
    message = _(
        "Many messages have been sent from your connection in a short time. Wait a minute and "
        "send again: your text is kept below."
    )
    if request.endpoint == "rounds.post_answers":
        form = _answers_form(round_, choices, bound=True)
        area = Area("answers", url_for("rounds.post_answers", slug=slug), form=form)
    else:
        section = _section_of(round_, (request.view_args or {}).get("section_id"))
        form = _comment_form(round_, section, choices, bound=True)
        area = Area(_area_key(section), _comment_action(round_, section), section, form)
    area.notice, area.expanded = message, True
    participant = _remembered(round_)
    if is_htmx():
        return _render_area(round_, area, participant=participant, now=utcnow()), 429
    return _page(round_, now=utcnow(), participant=participant, posted=area), 429


# --- the participant's own link --------------------------------------------------------------


def _own_page(token: str, *, now: dt.datetime, edited: dict[int, Any] | None = None) -> Any:
    participant = services.get_participant_by_link(db.session, token, now)
    round_ = services.get_round(db.session, participant.round_id)
    comments = services.list_own_comments(db.session, participant.id)
    edited = edited or {}
    forms = {
        c.id: edited.get(c.id)
        or EditCommentForm(prefix=f"c{c.id}", formdata=None, data={"body": c.body})
        for c in comments
    }
    return render_template(
        "rounds/own_comments.html",
        token=token,
        round=round_,
        participant=participant,
        state=round_.state(now),
        comments=comments,
        forms=forms,
        confirm=ConfirmForm(),
    )


@bp.get("/comments/<token>")
def show_own_comments(token: str) -> Any:
    try:
        return _own_page(token, now=utcnow())
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem("rounds/link_problem.html", exc)


@bp.post("/comments/<token>/<int:comment_id>")
@redisplay_on_csrf_error
def edit_own_comment(token: str, comment_id: int) -> Any:
    now = utcnow()
    form = EditCommentForm(prefix=f"c{comment_id}")
    status = 200
    try:
        if form.validate_on_submit():
            try:
                services.edit_own_comment(
                    db.session, token, comment_id, form.body.data or "", now=now
                )
            except Invalid as exc:
                db.session.rollback()
                show_errors(form, exc)
            except WrongState as exc:
                db.session.rollback()
                form.form_errors.append(exc.message)
                status = 409
            else:
                db.session.commit()
                flash(_("Your comment was changed."), "success")
                return redirect(
                    url_for("rounds.show_own_comments", token=token) + f"#c{comment_id}"
                )
        body = _own_page(token, now=now, edited={comment_id: form})
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem("rounds/link_problem.html", exc)
    return body if status == 200 else (body, status)


@bp.post("/comments/<token>/<int:comment_id>/withdraw")
def withdraw_own_comment(token: str, comment_id: int) -> Any:
    now = utcnow()
    try:
        if ConfirmForm().validate_on_submit():
            try:
                services.withdraw_own_comment(db.session, token, comment_id, now=now)
            except WrongState as exc:
                db.session.rollback()
                flash(exc.message, "error")
            else:
                db.session.commit()
                flash(_("Your comment was withdrawn. It is no longer shown or used."), "success")
        return redirect(url_for("rounds.show_own_comments", token=token))
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem("rounds/link_problem.html", exc)
