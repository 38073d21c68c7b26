from flask import Blueprint

bp = Blueprint("rounds", __name__)

# Participant pages and round set-up; the staff's review of comments (decisions, hiding, export).
from participation.rounds import privacy, review_views, views  # noqa: E402,F401  (routes attach to bp)
