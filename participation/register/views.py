"""Routes of the register: staff pages under /staff, and the associations' own edit link."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests
from wtforms.fields.choices import SelectChoice

from participation.accounts.forms import ConfirmForm
from participation.db import utcnow
from participation.errors import Invalid, WrongState
from participation.extensions import db, limiter
from participation.i18n import current_locale
from participation.mail import tasks as mail_tasks
from participation.pagination import Page, page_arg, page_size
from participation.register import (
    bp,
    exporting,
    importing,
    links,
    listing,
    merging,
    people,
    services,
    values,
)
from participation.register.forms import (
    FIELD_LABELS,
    AssociationDetailsForm,
    AssociationForm,
    CategoryForm,
    ImportForm,
    MergePickForm,
    PersonForm,
    RequestLinkForm,
    merge_form,
)
from participation.register.models import Association
from participation.register.policy import can_manage, manage_required, view_required
from participation.tokens import LinkExpired, LinkInvalid
from participation.web import (
    absolute_url,
    render_error,
    render_link_problem,
    render_page_or_partial,
    show_errors,
    typed_value_key,
)

HELSINKI = ZoneInfo("Europe/Helsinki")


def _link_for(token: str) -> str:
    return absolute_url("register.edit_by_link", token=token)


def _lifetime() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["EDIT_LINK_HOURS"])


def _form_data(association: Association) -> dict[str, Any]:
    return {
        "name": association.name,
        "registry_number": association.registry_number,
        "category": str(association.category_id or ""),
        "area": association.area,
        "email": association.email,
        "website": association.website,
        "description": association.description,
        "active": association.active,
    }


# --- associations ---------------------------------------------------------------------------


@bp.get("/staff/associations")
@view_required
def list_associations() -> str:
    flt = listing.parse_filter(request.args)
    page = page_arg(request.args)
    rows, total = listing.search_associations(db.session, flt, page=page, per_page=page_size())
    return render_page_or_partial(
        "register/associations.html",
        "register/_association_results.html",
        results=Page(rows, page, page_size(), total),
        flt=flt,
        categories=services.list_categories(db.session),
        areas=listing.list_areas(db.session),
        can_manage=can_manage(current_user),
    )


@bp.get("/staff/associations/export.<fmt>")
@manage_required
def export_associations(fmt: str) -> Response:
    if fmt not in {"csv", "xlsx"}:
        abort(404)
    flt = listing.parse_filter(request.args)
    header, rows = exporting.export_associations(db.session, flt, locale=current_locale())
    stamp = utcnow().astimezone(HELSINKI).date().isoformat()
    if fmt == "csv":
        body, mimetype = exporting.to_csv(header, rows), exporting.CSV_MIMETYPE
    else:
        body = exporting.to_xlsx(header, rows, title=_("Associations"))
        mimetype = exporting.XLSX_MIMETYPE
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="associations-{stamp}.{fmt}"'},
    )


@bp.route("/staff/associations/new", methods=["GET", "POST"])
@manage_required
def create_association() -> str | Response:
    categories = services.ensure_default_categories(db.session)
    form = AssociationForm()
    form.set_categories(categories, current_locale(), None)
    if form.validate_on_submit():
        try:
            association = services.create_association(
                db.session, form.values(), now=utcnow(), staff_user_id=current_user.id
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The association was added."), "success")
            return redirect(url_for("register.show_association", association_id=association.id))
    db.session.commit()  # the default categories, if they were just created
    return render_template(
        "register/association_form.html",
        form=form,
        association=None,
        description_max=values.DESCRIPTION_MAX,
    )


@bp.get("/staff/associations/<int:association_id>")
@view_required
def show_association(association_id: int) -> str:
    association = services.get_association(db.session, association_id)
    return render_template(
        "register/association.html",
        association=association,
        history=services.list_history(db.session, association_id, locale=current_locale()),
        labels=FIELD_LABELS,
        can_manage=can_manage(current_user),
        form=ConfirmForm(),
    )


@bp.route("/staff/associations/<int:association_id>/edit", methods=["GET", "POST"])
@manage_required
def edit_association(association_id: int) -> str | Response:
    association = services.get_association(db.session, association_id)
    if association.merged_into_id is not None:
        flash(_("A merged association is kept only for its history."), "error")
        return redirect(url_for("register.show_association", association_id=association_id))
    categories = services.ensure_default_categories(db.session)
    form = AssociationForm(data=_form_data(association))
    form.set_categories(categories, current_locale(), association.category_id)
    if form.validate_on_submit():
        try:
            services.update_association(
                db.session,
                association_id,
                form.values(),
                now=utcnow(),
                staff_user_id=current_user.id,
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The changes were saved."), "success")
            return redirect(url_for("register.show_association", association_id=association_id))
    db.session.commit()
    return render_template(
        "register/association_form.html",
        form=form,
        association=association,
        description_max=values.DESCRIPTION_MAX,
    )


@bp.post("/staff/associations/<int:association_id>/send-link")
@manage_required
def send_edit_link(association_id: int) -> Response:
    association = links.send_edit_link(
        db.session,
        association_id,
        now=utcnow(),
        lifetime=_lifetime(),
        link_for=_link_for,
        locale=current_locale(),
    )
    db.session.commit()
    mail_tasks.kick_outbox()
    flash(_("An edit link was sent to %(email)s.", email=association.email), "success")
    return redirect(url_for("register.show_association", association_id=association_id))


@bp.route("/staff/associations/merge", methods=["GET", "POST"])
@manage_required
def merge_associations() -> str | Response:
    keep_id = request.args.get("keep", type=int)
    duplicate_id = request.args.get("duplicate", type=int)
    pick = MergePickForm(request.args)
    if keep_id and duplicate_id:
        try:
            comparison = merging.compare_associations(
                db.session, keep_id, duplicate_id, locale=current_locale()
            )
        except (Invalid, WrongState) as exc:
            pick.form_errors.append(exc.message)
        else:
            form = merge_form(
                [
                    (
                        f.field,
                        str(FIELD_LABELS[f.field]),
                        _("%(value)s (kept)", value=f.kept or _("(empty)")),
                        _("%(value)s (duplicate)", value=f.duplicate or _("(empty)")),
                    )
                    for f in comparison.differing
                ]
            )
            if form.validate_on_submit():
                take = [
                    f.field
                    for f in comparison.differing
                    if form[f"take_{f.field}"].data == "duplicate"
                ]
                merging.merge_associations(
                    db.session,
                    keep_id=keep_id,
                    duplicate_id=duplicate_id,
                    take_from_duplicate=take,
                    now=utcnow(),
                    staff_user_id=current_user.id,
                )
                db.session.commit()
                flash(
                    _(
                        "%(duplicate)s was merged into %(keep)s.",
                        duplicate=comparison.duplicate.name,
                        keep=comparison.keep.name,
                    ),
                    "success",
                )
                return redirect(url_for("register.show_association", association_id=keep_id))
            return render_template(
                "register/merge_compare.html",
                comparison=comparison,
                form=form,
                labels=FIELD_LABELS,
            )
    choices = [SelectChoice("", _("Choose an association"))] + [
        SelectChoice(str(a.id), f"{a.name} ({a.registry_number})" if a.registry_number else a.name)
        for a in listing.list_association_choices(db.session)
    ]
    pick.keep.choices = choices
    pick.duplicate.choices = choices
    candidates = merging.find_duplicate_candidates(db.session, keep_id) if keep_id else []
    return render_template(
        "register/merge_pick.html", pick=pick, keep_id=keep_id, candidates=candidates
    )


@bp.route("/staff/associations/import", methods=["GET", "POST"])
@manage_required
def import_associations() -> str | Response:
    form = ImportForm()
    result = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = importing.import_associations(
                db.session,
                upload.filename or "",
                upload.read(),
                now=utcnow(),
                staff_user_id=current_user.id,
            )
        except Invalid as exc:
            form.file.errors = [exc.message]
        else:
            if result.ok:
                db.session.commit()
                flash(
                    ngettext(
                        "%(num)s association was imported.",
                        "%(num)s associations were imported.",
                        result.created,
                    ),
                    "success",
                )
                return redirect(url_for("register.list_associations", sort="updated"))
            db.session.rollback()
    return render_template(
        "register/import.html",
        form=form,
        result=result,
        columns=importing.COLUMNS,
        max_rows=importing.MAX_ROWS,
        categories=services.list_categories(db.session, active_only=True),
    )


@bp.get("/staff/associations/import/template.csv")
@manage_required
def download_import_template() -> Response:
    example = [
        "Esimerkkiyhdistys ry",
        "123.456",
        "hobbies",
        "Keskusta",
        "info@esimerkkiyhdistys.example",
        "https://www.esimerkkiyhdistys.example",
        _("What the association does, in a sentence or two."),
        _("yes"),
    ]
    return Response(
        exporting.to_csv(importing.COLUMNS, [example]),
        mimetype=exporting.CSV_MIMETYPE,
        headers={"Content-Disposition": 'attachment; filename="associations-template.csv"'},
    )


# --- people ---------------------------------------------------------------------------------


@bp.get("/staff/people")
@view_required
def list_people() -> str:
    q = (request.args.get("q") or "").strip()[:200]
    page = page_arg(request.args)
    rows, total = people.search_people(db.session, q, page=page, per_page=page_size())
    return render_page_or_partial(
        "register/people.html",
        "register/_people_results.html",
        results=Page(rows, page, page_size(), total),
        q=q,
        can_manage=can_manage(current_user),
    )


@bp.get("/staff/people/<int:person_id>")
@view_required
def show_person(person_id: int) -> str:
    return render_template(
        "register/person.html",
        person=people.get_person(db.session, person_id),
        can_manage=can_manage(current_user),
    )


def _person_choices(form: PersonForm) -> None:
    form.association_ids.choices = [
        SelectChoice(a.id, a.name) for a in listing.list_association_choices(db.session)
    ]


@bp.route("/staff/people/new", methods=["GET", "POST"])
@manage_required
def create_person() -> str | Response:
    preselect = request.args.get("association", type=int)
    form = PersonForm(data={"association_ids": [preselect] if preselect else []})
    _person_choices(form)
    if form.validate_on_submit():
        try:
            person = people.create_person(
                db.session, form.values(), now=utcnow(), staff_user_id=current_user.id
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The person was added."), "success")
            return redirect(url_for("register.show_person", person_id=person.id))
    return render_template("register/person_form.html", form=form, person=None)


@bp.route("/staff/people/<int:person_id>/edit", methods=["GET", "POST"])
@manage_required
def edit_person(person_id: int) -> str | Response:
    person = people.get_person(db.session, person_id)
    form = PersonForm(
        data={
            "name": person.name,
            "email": person.email,
            "language": person.language,
            "association_ids": [a.id for a in person.associations],
        }
    )
    _person_choices(form)
    if form.validate_on_submit():
        try:
            people.update_person(
                db.session, person_id, form.values(), now=utcnow(), staff_user_id=current_user.id
            )
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The changes were saved."), "success")
            return redirect(url_for("register.show_person", person_id=person_id))
    return render_template("register/person_form.html", form=form, person=person)


# --- categories -----------------------------------------------------------------------------


@bp.route("/staff/categories", methods=["GET", "POST"])
@manage_required
def list_categories() -> str | Response:
    categories = services.ensure_default_categories(db.session)
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            services.create_category(db.session, form.values())
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The category was added."), "success")
            return redirect(url_for("register.list_categories"))
    db.session.commit()
    return render_template(
        "register/categories.html",
        categories=categories,
        counts=services.count_by_category(db.session),
        form=form,
        confirm=ConfirmForm(),
    )


@bp.route("/staff/categories/<int:category_id>/edit", methods=["GET", "POST"])
@manage_required
def edit_category(category_id: int) -> str | Response:
    category = services.get_category(db.session, category_id)
    form = CategoryForm(
        data={"name_fi": category.name_fi, "name_sv": category.name_sv, "name_en": category.name_en}
    )
    if form.validate_on_submit():
        try:
            services.rename_category(db.session, category_id, form.values())
        except Invalid as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("The category was renamed."), "success")
            return redirect(url_for("register.list_categories"))
    return render_template("register/category_form.html", form=form, category=category)


@bp.post("/staff/categories/<int:category_id>/move")
@manage_required
def move_category(category_id: int) -> Response:
    services.move_category(db.session, category_id, request.form.get("direction", ""))
    db.session.commit()
    return redirect(url_for("register.list_categories"))


@bp.post("/staff/categories/<int:category_id>/active")
@manage_required
def toggle_category(category_id: int) -> Response:
    category = services.get_category(db.session, category_id)
    services.set_category_active(db.session, category_id, not category.active)
    db.session.commit()
    if category.active:
        flash(_("The category is in use again."), "success")
    else:
        flash(_("The category is no longer offered; associations in it keep it."), "success")
    return redirect(url_for("register.list_categories"))


# --- the associations' own edit link (public) -----------------------------------------------


def _link_limit() -> str:
    return current_app.config.get("EDIT_LINK_RATE_LIMIT", "5 per hour")


@bp.errorhandler(TooManyRequests)
def _too_many_requests(error: TooManyRequests) -> tuple[str, int]:
    if request.endpoint == "register.request_edit_link":
        return render_error(
            429,
            _(
                "Several links have been asked for in a short time. Wait an hour and try "
                "again, or contact the municipality's coordinator."
            ),
        )
    return render_error(429, _("Too many attempts. Wait a minute and try again."))


@bp.route("/associations/edit-link", methods=["GET", "POST"])
@limiter.limit(_link_limit, methods=["POST"])
@limiter.limit(_link_limit, methods=["POST"], key_func=typed_value_key("edit-link"))
def request_edit_link() -> str | Response:
    form = RequestLinkForm()
    if form.validate_on_submit():
        links.request_edit_link(
            db.session,
            form.email.data,
            now=utcnow(),
            lifetime=_lifetime(),
            link_for=_link_for,
            locale=current_locale(),
        )
        db.session.commit()
        mail_tasks.kick_outbox()  # called either way, so both answers take the same path
        return redirect(url_for("register.show_link_sent"))
    return render_template("register/request_link.html", form=form)


@bp.get("/associations/edit-link/sent")
def show_link_sent() -> str:
    return render_template("register/link_sent.html", hours=current_app.config["EDIT_LINK_HOURS"])


@bp.route("/associations/edit/<token>", methods=["GET", "POST"])
def edit_by_link(token: str) -> str | Response | tuple[str, int]:
    now = utcnow()
    try:
        association = links.open_edit_link(db.session, token, now=now)
    except (LinkExpired, LinkInvalid) as exc:
        return render_link_problem("register/link_problem.html", exc)
    form = AssociationDetailsForm(data=_form_data(association))
    form.set_categories(
        services.list_categories(db.session), current_locale(), association.category_id
    )
    if form.validate_on_submit():
        try:
            links.save_by_edit_link(
                db.session, token, form.values(), now=now, locale=current_locale()
            )
        except Invalid as exc:
            show_errors(form, exc)
        except (LinkExpired, LinkInvalid) as exc:
            db.session.rollback()
            return render_link_problem("register/link_problem.html", exc)
        else:
            db.session.commit()
            mail_tasks.kick_outbox()
            flash(
                _("Thank you! The information of %(name)s was saved.", name=association.name),
                "success",
            )
            return redirect(url_for("register.show_edit_saved"))
    return render_template(
        "register/edit_by_link.html",
        form=form,
        association=association,
        description_max=values.DESCRIPTION_MAX,
    )


@bp.get("/associations/edit-saved")
def show_edit_saved() -> str:
    return render_template("register/edit_saved.html")
