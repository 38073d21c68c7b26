from flask import Blueprint

bp = Blueprint("privacy", __name__)

from participation.privacy import views  # noqa: E402,F401  (routes attach to bp)
