from flask import Blueprint

bp = Blueprint("surveys", __name__)

# Set-up and answering; results, exports and the results PDF; the worker's reminders.
from participation.surveys import digest, paper, privacy, results_views, tasks, views  # noqa: E402,F401
