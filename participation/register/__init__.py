from flask import Blueprint

bp = Blueprint("register", __name__)

from participation.register import views  # noqa: E402,F401  (routes attach to bp)
