from flask import Blueprint

bp = Blueprint("core", __name__)

from participation.core import views  # noqa: E402,F401  (routes attach to bp)
