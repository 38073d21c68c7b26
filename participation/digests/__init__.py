from flask import Blueprint

bp = Blueprint("digests", __name__)

from participation.digests import views  # noqa: E402,F401  (routes attach to bp)
