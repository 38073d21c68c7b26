"""Forms of the evening's planning: the staff hub's programme, questions and themes, and the
public theme idea. The services check every rule; these carry what was typed so it is always
shown back (times are text: "17.30" comes back as typed, with the service's message)."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from participation.evenings.planning import (
    MAX_HIDE_REASON,
    MAX_ITEM_TITLE,
    MAX_QUESTION,
    MAX_SPEAKER,
    MAX_THEME_DESCRIPTION,
    MAX_THEME_TITLE,
)


def new_submission_key() -> str:
    return secrets.token_urlsafe(24)


class ProgrammeItemForm(FlaskForm):
    at = StringField(_l("Time"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    title = StringField(_l("What happens"), render_kw={"maxlength": MAX_ITEM_TITLE})
    speaker = StringField(_l("Speaker or host (optional)"), render_kw={"maxlength": MAX_SPEAKER})


class QuestionForm(FlaskForm):
    text = TextAreaField(_l("Question"), render_kw={"maxlength": MAX_QUESTION, "rows": 2})


class ThemeForm(FlaskForm):
    """A theme idea: from the public page (with the honeypot and the submission key) or added
    by staff."""

    title = StringField(_l("Theme"), render_kw={"maxlength": MAX_THEME_TITLE})
    description = TextAreaField(
        _l("Description (optional)"), render_kw={"maxlength": MAX_THEME_DESCRIPTION, "rows": 3}
    )
    association_id = SelectField(_l("Proposed by"), validate_choice=False, default="")
    submission_key = HiddenField()
    # Left empty by people (it is hidden from them); bots fill every field.
    homepage = StringField(
        _l("Leave this field empty"),
        validators=[Optional()],
        render_kw={"tabindex": "-1", "autocomplete": "off"},
    )


class HideThemeForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is it hidden?"), render_kw={"maxlength": MAX_HIDE_REASON, "rows": 3}
    )
