from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from participation.accounts import bp, services
from participation.accounts.forms import ConfirmForm, LoginForm, UserForm
from participation.accounts.policy import coordinator_required, staff_required
from participation.db import utcnow
from participation.errors import DomainError, Invalid
from participation.extensions import db, limiter, login_manager
from participation.i18n import safe_next
from participation.web import redisplay_on_csrf_error, typed_value_key


@login_manager.user_loader
def _load_user(token: str) -> services.User | None:
    return services.load_session_user(db.session, token, now=utcnow())


login_manager.login_view = "accounts.login"
login_manager.login_message_category = "info"


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    flash(_("Sign in to see that page."), "info")
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@redisplay_on_csrf_error
@limiter.limit(_login_limit, methods=["POST"], error_message="login")
@limiter.limit(
    _login_limit, methods=["POST"], key_func=typed_value_key("login"), error_message="login"
)
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("core.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.email.data, form.password.data)
        if user is None:
            form.form_errors.append(_("The e-mail address or password is wrong."))
        else:
            session.clear()  # a fresh session on every login: nothing carried over
            services.start_session(
                db.session, user, now=utcnow(), user_agent=request.headers.get("User-Agent", "")
            )
            db.session.commit()
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("core.dashboard")))
        db.session.commit()
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    ConfirmForm().validate_on_submit()  # CSRF checked by CSRFProtect already
    if current_user.is_authenticated:
        services.revoke_token(db.session, current_user.session_token, now=utcnow())
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("core.home"))


@bp.get("/staff/sessions")
@staff_required
def list_sessions() -> str:
    current_id = services.current_session_id(db.session, current_user.session_token)
    return render_template(
        "accounts/sessions.html",
        sessions=services.list_sessions(db.session, current_user.id),
        current_id=current_id,
        form=ConfirmForm(),
    )


@bp.post("/staff/sessions/<int:session_id>/revoke")
@staff_required
def revoke_session(session_id: int) -> Response:
    services.revoke_session(db.session, current_user.id, session_id, now=utcnow())
    db.session.commit()
    flash(_("The session was ended."), "success")
    return redirect(url_for("accounts.list_sessions"))


@bp.post("/staff/sessions/revoke-all")
@staff_required
def revoke_all_sessions() -> Response:
    services.revoke_all_sessions(db.session, current_user.id, now=utcnow())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("All your sessions were ended. Sign in again."), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/staff/users", methods=["GET", "POST"])
@coordinator_required
@redisplay_on_csrf_error
def list_users() -> str | Response:
    form = UserForm()
    if form.validate_on_submit():
        try:
            services.create_user(
                db.session,
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                password=form.password.data,
            )
        except Invalid as exc:
            for field, messages in exc.errors.items():
                getattr(form, field).errors = list(messages)
        except DomainError as exc:
            form.email.errors = [exc.message]
        else:
            db.session.commit()
            flash(_("The staff account was created."), "success")
            return redirect(url_for("accounts.list_users"))
    return render_template(
        "accounts/users.html",
        users=services.list_users(db.session),
        form=form,
        confirm=ConfirmForm(),
    )


@bp.post("/staff/users/<int:user_id>/active")
@coordinator_required
def toggle_user(user_id: int) -> Response:
    user = services.get_user(db.session, user_id)
    if user.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "error")
    else:
        services.set_active(db.session, user, not user.active, now=utcnow())
        db.session.commit()
        flash(_("The account was updated."), "success")
    return redirect(url_for("accounts.list_users"))


@bp.post("/staff/users/<int:user_id>/revoke")
@coordinator_required
def revoke_user_sessions(user_id: int) -> Response:
    user = services.get_user(db.session, user_id)
    count = services.revoke_all_sessions(db.session, user.id, now=utcnow())
    db.session.commit()
    flash(_("%(n)s sessions were ended.", n=count), "success")
    return redirect(url_for("accounts.list_users"))
