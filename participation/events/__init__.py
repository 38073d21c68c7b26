from flask import Blueprint

bp = Blueprint("events", __name__)

# Public pages and the participant's own link; the organiser's set-up; registrations and the
# door; the worker's reminders and clean-ups; what the privacy capability erases and exports.
from participation.events import privacy, setup_views, staff_views, tasks, views  # noqa: E402,F401
