from flask import Blueprint

bp = Blueprint("rounds", __name__)

from participation.rounds import views  # noqa: E402,F401  (routes attach to bp)
