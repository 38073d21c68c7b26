from __future__ import annotations

import datetime as dt

from flask import Response, current_app, redirect, render_template, request, session, url_for
from sqlalchemy import text

from participation.accounts.policy import staff_required
from participation.core import bp
from participation.extensions import csrf, db, limiter
from participation.i18n import safe_next
from participation.rounds import services as rounds_services


@bp.get("/")
def home() -> str:
    return render_template(
        "core/home.html",
        open_rounds=rounds_services.list_open_rounds(db.session, dt.datetime.now(dt.UTC)),
    )


@bp.get("/staff")
@staff_required
def dashboard() -> str:
    return render_template("core/dashboard.html")


@bp.get("/accessibility")
def accessibility() -> str:
    return render_template("core/accessibility.html")


@bp.get("/lang/<code>")
def set_language(code: str) -> Response:
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("core.home")))


@bp.get("/theme.css")
def theme() -> Response:
    # The accent colour is configuration, served as CSS so the CSP can forbid inline styles.
    from participation.web import HEX_COLOUR

    accent = current_app.config["ACCENT_COLOR"]
    accent = accent if HEX_COLOUR.match(accent) else "#0b5394"
    css = f":root {{ --accent: {accent}; }}\n"
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/logo")
def logo() -> Response:
    """The municipality's logo from the file MUNICIPALITY_LOGO names (relative to instance/)."""
    from pathlib import Path

    from flask import abort, send_file

    name = current_app.config["MUNICIPALITY_LOGO"]
    if not name:
        abort(404)
    path = Path(current_app.instance_path, name)
    if not path.is_file() or path.suffix.lower() not in {".svg", ".png", ".jpg", ".jpeg", ".webp"}:
        abort(404)
    response = send_file(path, max_age=300)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/health")
@csrf.exempt
@limiter.exempt
def health() -> tuple[dict, int]:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # the probe's whole point is to report, not to raise
        return {"status": "error", "database": type(exc).__name__}, 503
    return {"status": "ok", "database": "ok"}, 200
