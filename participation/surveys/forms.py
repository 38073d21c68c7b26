"""Forms of the survey pages. The services check every rule again; these carry what was typed
so it is always shown back."""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from participation.fields import HelsinkiDateTimeField
from participation.surveys.models import ONE_PAGE, PAGED, REFUSE, UPDATE


def new_submission_key() -> str:
    return secrets.token_urlsafe(24)


class SurveyForm(FlaskForm):
    title = StringField(_l("Title"))
    welcome = TextAreaField(_l("Welcome text"))
    thank_you = TextAreaField(_l("Thank-you text"))
    opens_at = HelsinkiDateTimeField(_l("Opens (Helsinki time)"))
    closes_at = HelsinkiDateTimeField(_l("Closes (Helsinki time)"))
    anonymous = BooleanField(
        _l("Anonymous: no names, addresses or times are kept with the answers"), default=True
    )
    public_link = BooleanField(_l("Anyone with the public link may answer"), default=True)
    second_answer = RadioField(
        _l("A second answer through the same invitation"),
        choices=[
            SelectChoice(UPDATE, _l("replaces the first (identified surveys only)")),
            SelectChoice(REFUSE, _l("is refused")),
        ],
        validate_choice=False,
        default=UPDATE,
    )
    layout = RadioField(
        _l("How the questions are shown"),
        choices=[
            SelectChoice(ONE_PAGE, _l("All on one page")),
            SelectChoice(PAGED, _l("One question per page, with progress")),
        ],
        validate_choice=False,
        default=ONE_PAGE,
    )
    follows = SelectField(_l("Follows an event or a comment round"), validate_choice=False)

    value_fields = (
        "title",
        "welcome",
        "thank_you",
        "opens_at",
        "closes_at",
        "anonymous",
        "public_link",
        "second_answer",
        "layout",
        "follows",
    )

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name).data for name in self.value_fields}


class CopyForm(FlaskForm):
    """The copy's own title and times; everything else comes from the original."""

    title = StringField(_l("Title"))
    opens_at = HelsinkiDateTimeField(_l("Opens (Helsinki time)"))
    closes_at = HelsinkiDateTimeField(_l("Closes (Helsinki time)"))


class InviteForm(FlaskForm):
    addresses = TextAreaField(_l("E-mail addresses"))
    # Checkboxes, so the field macro lists them (and a keyboard needs no Ctrl-click).
    people = SelectMultipleField(
        _l("People in the register"),
        coerce=int,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class AnswerForm(FlaskForm):
    """The hidden parts of the answering form; the survey's questions are added by the form
    engine (`forms.build_form_class(..., base=AnswerForm)`)."""

    submission_key = HiddenField()
    # The link token of the answers saved so far (paged surveys, "continue later").
    progress = HiddenField()
    # The personal invitation link's token, when answering through one.
    invitation = HiddenField()
    page = HiddenField(default="0")
    # Left empty by people (it is hidden from them); bots fill every field.
    homepage = StringField(
        _l("Leave this field empty"),
        validators=[Optional()],
        render_kw={"tabindex": "-1", "autocomplete": "off"},
    )


class PaperAnswerForm(FlaskForm):
    submission_key = HiddenField()


class ResultsRequestForm(FlaskForm):
    email = EmailField(
        _l("Your e-mail address"), render_kw={"autocomplete": "email", "maxlength": 254}
    )
