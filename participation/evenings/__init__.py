from flask import Blueprint

bp = Blueprint("evenings", __name__)

# Planning (programme, workshop questions, themes); facilitators' notes and the coordinator's
# overview; the live vote and its big screen; the summary, its PDF and mailing, the figures.
from participation.evenings import (  # noqa: E402,F401
    notes_views,
    planning_views,
    privacy,
    summary_views,
    vote_views,
)
