from flask import Blueprint

bp = Blueprint("digests", __name__)

from participation.digests import tasks, views  # noqa: E402,F401  (routes and tasks attach)
