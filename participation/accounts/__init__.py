from flask import Blueprint

bp = Blueprint("accounts", __name__)

from participation.accounts import views  # noqa: E402,F401  (routes attach to bp)
