from flask import Blueprint

bp = Blueprint("mail", __name__)

from participation.mail import tasks, views  # noqa: E402,F401  (routes and tasks attach)
