"""The staff form that makes the evening's live vote. The service checks every rule again;
the form carries what was typed so it is always shown back."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from participation.evenings.models import REFUSE, UPDATE


class VoteForm(FlaskForm):
    question = StringField(_l("Question shown to the room"))
    options = TextAreaField(_l("Options, one per line"))
    max_choices = IntegerField(
        _l("How many options each phone may choose"), validators=[Optional()]
    )
    second_vote = RadioField(
        _l("A second vote from the same phone"),
        choices=[
            SelectChoice(UPDATE, _l("replaces the phone's first vote")),
            SelectChoice(REFUSE, _l("is refused: the first vote stands")),
        ],
        default=UPDATE,
        validate_choice=False,
    )
