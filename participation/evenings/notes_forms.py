"""Forms of the facilitators' pages: a link per group (staff) and the notes page's own fields
(the notes themselves are one textarea per workshop question, read by the view)."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, Optional

from participation.evenings.notes import MAX_AUTHOR_NAME_LENGTH, MAX_LABEL_LENGTH


def new_key() -> str:
    return secrets.token_urlsafe(24)


class LinkForm(FlaskForm):
    """A new link for one group; the submission key makes a double click harmless."""

    label = StringField(
        _l("Facilitator's name"),
        validators=[
            DataRequired(message=_l("Write the facilitator's name.")),
            Length(max=MAX_LABEL_LENGTH),
        ],
    )
    submission_key = HiddenField(default=new_key)


class RevokeForm(FlaskForm):
    link_id = IntegerField(validators=[DataRequired()])


class NotesForm(FlaskForm):
    """The notes page's own fields; `device` repeats the device cookie so the page's texts stay
    this device's even where cookies are blocked."""

    author_name = StringField(
        _l("Your name (shown beside your notes)"),
        validators=[Optional(), Length(max=MAX_AUTHOR_NAME_LENGTH)],
    )
    device = HiddenField()
