"""Staff pages of the form builder: list, builder, question editing, preview."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response

import forms as engine
from participation.accounts.forms import ConfirmForm
from participation.accounts.policy import staff_required
from participation.db import utcnow
from participation.errors import Conflict, Invalid
from participation.extensions import db
from participation.formbuilder import bp, services
from participation.formbuilder.forms import TYPE_NAMES, FormDetailsForm, QuestionForm
from participation.pagination import Page, page_arg
from participation.web import is_htmx, show_errors


@bp.app_template_filter("localised")
def localised(value: Any, locale: str = "fi") -> str:
    """A question's {locale: text} in ``locale``, falling back as the form engine does."""
    return engine.text(value, locale)


@bp.get("/staff/forms")
@staff_required
def list_forms() -> str:
    page = page_arg(request.args)
    per_page = current_app.config["PAGE_SIZE"]
    rows, total = services.list_forms(db.session, current_user, page=page, per_page=per_page)
    return render_template(
        "formbuilder/list.html",
        page=Page(rows, page, per_page, total),
        show_owner=current_user.is_coordinator,
    )


@bp.route("/staff/forms/new", methods=["GET", "POST"])
@staff_required
def create_form() -> str | Response:
    form = FormDetailsForm()
    if form.validate_on_submit():
        try:
            created = services.create_form(
                db.session,
                owner_id=current_user.id,
                title=form.title.data,
                description=form.description.data,
                now=utcnow(),
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The form was created. Add its questions below."), "success")
            return redirect(url_for("formbuilder.show_form", form_id=created.id))
    return render_template("formbuilder/details.html", form=form, definition=None)


@bp.route("/staff/forms/<int:form_id>/details", methods=["GET", "POST"])
@staff_required
def edit_form(form_id: int) -> str | Response:
    definition = services.get_form(db.session, form_id, user=current_user)
    form = FormDetailsForm(obj=definition)
    if form.validate_on_submit():
        try:
            services.update_form(
                db.session,
                definition,
                title=form.title.data,
                description=form.description.data,
                now=utcnow(),
            )
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The form's details were saved."), "success")
            return redirect(url_for("formbuilder.show_form", form_id=form_id))
    return render_template("formbuilder/details.html", form=form, definition=definition)


@bp.post("/staff/forms/<int:form_id>/duplicate")
@staff_required
def duplicate_form(form_id: int) -> Response:
    definition = services.get_form(db.session, form_id, user=current_user)
    copy = services.duplicate_form(
        db.session,
        definition,
        owner_id=current_user.id,
        title=_("Copy of %(title)s", title=definition.title),
        now=utcnow(),
    )
    db.session.commit()
    flash(_("The form was copied. This is the copy; rename it if you like."), "success")
    return redirect(url_for("formbuilder.show_form", form_id=copy.id))


def _builder(definition: Any, question_form: QuestionForm) -> str:
    return render_template(
        "formbuilder/builder.html", question_form=question_form, **_list_context(definition)
    )


def _list_context(definition: Any, message: str = "", category: str = "success") -> dict:
    answered = services.has_answers(db.session, definition.id)
    return {
        "definition": definition,
        "questions": definition.questions,
        "answered": answered,
        "responses": services.count_responses(db.session, definition.id) if answered else 0,
        "type_names": TYPE_NAMES,
        "confirm": ConfirmForm(),
        "status_message": message,
        "status_category": category,
    }


@bp.get("/staff/forms/<int:form_id>")
@staff_required
def show_form(form_id: int) -> str:
    definition = services.get_form(db.session, form_id, user=current_user)
    return _builder(definition, QuestionForm(formdata=None))


@bp.post("/staff/forms/<int:form_id>/questions")
@staff_required
def add_question(form_id: int) -> str | Response:
    definition = services.get_form(db.session, form_id, user=current_user)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            key = services.add_question(db.session, definition, form.spec(), now=utcnow())
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The question was added."), "success")
            return redirect(
                url_for("formbuilder.show_form", form_id=form_id, _anchor=f"question-{key}")
            )
    return _builder(definition, form)


@bp.route("/staff/forms/<int:form_id>/questions/<key>/edit", methods=["GET", "POST"])
@staff_required
def edit_question(form_id: int, key: str) -> str | Response:
    definition = services.get_form(db.session, form_id, user=current_user)
    question = services.get_question(definition, key)
    answered = services.has_answers(db.session, form_id)
    form = QuestionForm(data=services.spec_from_question(question))
    if answered and question["type"] != "info":
        form.lock_type(question["type"])
    if form.validate_on_submit():
        try:
            services.update_question(db.session, definition, key, form.spec(), now=utcnow())
        except Invalid as exc:
            db.session.rollback()
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The question was saved."), "success")
            return redirect(
                url_for("formbuilder.show_form", form_id=form_id, _anchor=f"question-{key}")
            )
    return render_template(
        "formbuilder/question.html",
        definition=definition,
        question=question,
        form=form,
        answered=answered,
        type_names=TYPE_NAMES,
    )


def _after_list_change(definition: Any, message: str, category: str = "success") -> Any:
    """Just the question list for htmx (with the message in the status region), else a
    redirect back to the builder with the message flashed."""
    if is_htmx():
        return render_template(
            "formbuilder/_questions.html", **_list_context(definition, message, category)
        )
    flash(message, category)
    return redirect(url_for("formbuilder.show_form", form_id=definition.id, _anchor="questions"))


@bp.post("/staff/forms/<int:form_id>/questions/<key>/move")
@staff_required
def move_question(form_id: int, key: str) -> Any:
    definition = services.get_form(db.session, form_id, user=current_user)
    offset = -1 if request.form.get("direction") == "up" else 1
    services.move_question(db.session, definition, key, offset, now=utcnow())
    db.session.commit()
    message = _("The question was moved up.") if offset < 0 else _("The question was moved down.")
    return _after_list_change(definition, message)


@bp.post("/staff/forms/<int:form_id>/questions/<key>/delete")
@staff_required
def delete_question(form_id: int, key: str) -> Any:
    definition = services.get_form(db.session, form_id, user=current_user)
    try:
        services.delete_question(db.session, definition, key, now=utcnow())
    except Conflict as exc:
        db.session.rollback()
        return _after_list_change(definition, exc.message, "error")
    db.session.commit()
    return _after_list_change(definition, _("The question was deleted."))


@bp.route("/staff/forms/<int:form_id>/preview", methods=["GET", "POST"])
@staff_required
def preview_form(form_id: int) -> str:
    definition = services.get_form(db.session, form_id, user=current_user)
    lang = request.args.get("lang", "fi")
    lang = lang if lang in engine.LOCALES else "fi"
    answers = build_participant_form(definition.schema, lang)
    tried = answers.validate_on_submit()
    # Rendered in the preview language, as a participant choosing it would see the form; the
    # staff page around it stays in the staff member's language. Nothing is stored.
    with force_locale(lang):
        rendered = render_template(
            "formbuilder/_preview_form.html",
            definition=definition,
            form=answers,
            lang=lang,
            tried=tried,
        )
    return render_template(
        "formbuilder/preview.html",
        definition=definition,
        # Our own template output, in which all user text was autoescaped when rendered.
        preview=Markup(rendered),  # noqa: S704
        lang=lang,
        submitted=request.method == "POST",
        tried=tried,
    )


def build_participant_form(schema: dict[str, Any], locale: str) -> FlaskForm:
    """The form a participant fills in, bound to the current request."""
    form_class = engine.build_form_class(schema, locale=locale, base=FlaskForm)
    return form_class()
