"""The summary editor's form. The service checks every rule again; the form carries what was
typed so it is always shown back. The selects' choices are set by the view from the database."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice

from participation.evenings.models import ALL_REGISTERED, ATTENDED

AUDIENCE_LABELS = {
    ALL_REGISTERED: _l("Everyone registered (whether they came or not)"),
    ATTENDED: _l("Only those marked as attended"),
}


class SummaryForm(FlaskForm):
    body = TextAreaField(_l("Summary"))
    next_steps = TextAreaField(_l("Next steps"))
    # Choices are filled in by the view; the service checks the chosen ids.
    next_event_id = SelectField(_l("The next evening"), validate_choice=False)
    follow_up_survey_id = SelectField(_l("A survey that follows"), validate_choice=False)
    follow_up_round_id = SelectField(_l("A comment round that follows"), validate_choice=False)
    audience = RadioField(
        _l("Who gets the summary"),
        choices=[SelectChoice(key, label) for key, label in AUDIENCE_LABELS.items()],
        default=ALL_REGISTERED,
        validate_choice=False,
    )
    include_invited = BooleanField(_l("Send it to the invited associations too"), default=True)


class ConfirmForm(FlaskForm):
    """Only the CSRF token: publishing, recording figures."""
