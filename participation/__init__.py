"""The participation platform: application factory."""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints. It never creates or migrates tables."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "INSTANCE_PATH", str(ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)

    from participation.config import load_config

    app.config.update(load_config(instance))
    local = instance / "config.py"
    if local.exists():
        app.config.update({k: v for k, v in runpy.run_path(str(local)).items() if k.isupper()})
    if test_config:
        app.config.update(test_config)
    app.config["TRUSTED_HOSTS"] = app.config.get("TRUSTED_HOSTS")

    from participation import web
    from participation.extensions import babel, csrf, db, limiter, login_manager
    from participation.i18n import compile_catalogues, select_locale, select_timezone

    compile_catalogues(Path(app.root_path) / "translations")

    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)

    web.init_app(app)
    _register_blueprints(app)

    from participation import queue

    queue.init_app(app)  # after the blueprints, whose packages declare the tasks

    from participation.cli import register_cli

    register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from participation.accounts import bp as accounts_bp
    from participation.core import bp as core_bp
    from participation.digests import bp as digests_bp
    from participation.evenings import bp as evenings_bp
    from participation.events import bp as events_bp
    from participation.formbuilder import bp as formbuilder_bp
    from participation.mail import bp as mail_bp
    from participation.privacy import bp as privacy_bp
    from participation.register import bp as register_bp
    from participation.rounds import bp as rounds_bp
    from participation.surveys import bp as surveys_bp

    for bp in (
        core_bp,
        accounts_bp,
        register_bp,
        privacy_bp,
        formbuilder_bp,
        rounds_bp,
        events_bp,
        surveys_bp,
        evenings_bp,
        digests_bp,
        mail_bp,
    ):
        app.register_blueprint(bp)
