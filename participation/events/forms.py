"""Forms of the participant's side of events. The registration service checks every rule again
(the event's own limits, seats, groups); these only carry what was typed, so it can always be
shown back."""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, RadioField, SelectField, StringField
from wtforms.validators import Optional

import forms as engine
from forms.formdata import FormData, answers_from_formdata
from participation.events.services import RegistrationInput


def new_submission_key() -> str:
    return secrets.token_urlsafe(24)


class RegistrationForm(FlaskForm):
    """Who registers, how many come, which group, and the honeypot. The event's own questions
    are added by the form engine (`forms.build_form_class(..., base=RegistrationForm)`)."""

    name = StringField(_l("Your name"), render_kw={"autocomplete": "name", "maxlength": 200})
    email = EmailField(
        _l("Your e-mail address"), render_kw={"autocomplete": "email", "maxlength": 254}
    )
    association_id = SelectField(_l("Association"), validate_choice=False)
    # Choices are 1..the event's largest party; the service refuses anything else.
    seats = SelectField(_l("Number of people"), validate_choice=False, default="1")
    group_id = RadioField(_l("Group"), validate_choice=False)
    name_public = BooleanField(_l("My name may be shown in the public list of participants"))
    consent = BooleanField(_l("I agree to the handling of my data as described above"))
    submission_key = HiddenField()
    # Left empty by people (it is hidden from them); bots fill every field.
    homepage = StringField(
        _l("Leave this field empty"),
        validators=[Optional()],
        render_kw={"tabindex": "-1", "autocomplete": "off"},
    )

    def registration_input(self, language: str) -> RegistrationInput:
        return RegistrationInput(
            name=self.name.data or "",
            email=(self.email.data or "").strip(),
            language=language,
            association_id=self.association_id.data or None,
            seats=self.seats.data or 1,
            group_id=self.group_id.data or None,
            name_public=bool(self.name_public.data),
            consent=bool(self.consent.data),
            submission_key=self.submission_key.data or "",
            source="web",
        )


class ChangeForm(FlaskForm):
    """The participant's own link: another group or another number of people."""

    group_id = RadioField(_l("Group"), validate_choice=False)
    seats = SelectField(_l("Number of people"), validate_choice=False)


def registration_form_class(schema: str | None, locale: str) -> type[RegistrationForm]:
    """The registration form with the event's questions: `schema` is the form's schema as
    stored (JSON text; None: no questions), its class built once per process."""
    if schema is None:
        return RegistrationForm
    return engine.cached_form_class(schema, locale, RegistrationForm)


class _Prefixed:
    """Posted data as the fields of a form with `prefix` read it."""

    def __init__(self, formdata: FormData, prefix: str) -> None:
        self.formdata, self.prefix = formdata, prefix

    def getlist(self, key: str) -> list[str]:
        return self.formdata.getlist(f"{self.prefix}-{key}")


def _first(values: list[str], default: Any = None) -> Any:
    return values[0] if values else default


def _ticked(values: list[str]) -> bool:
    return bool(values) and values[0] not in BooleanField.false_values


def input_from_formdata(
    form_class: type[RegistrationForm], formdata: FormData, language: str
) -> RegistrationInput | None:
    """What `form_class(prefix="reg")` bound to `formdata` gives by `registration_input` (with
    the event's answers), read without binding it; None when the bound form would not validate
    or the honeypot is filled: bind it then, for its messages. The CSRF token is not looked at:
    the caller makes sure CSRFProtect accepted it (`web.csrf_checked`)."""
    posted = _Prefixed(formdata, "reg")
    if (_first(posted.getlist("homepage")) or "").strip():
        return None
    answers = None
    schema = getattr(form_class, "form_schema", None)
    if schema is not None:
        answers = answers_from_formdata(schema, posted, locale=language)
        if answers is None:
            return None
    # As the fields process them: a text or choice field takes the first value posted (a
    # choice coerced by str), a box is ticked unless it posts "false" or nothing.
    return RegistrationInput(
        name=_first(posted.getlist("name")) or "",
        email=(_first(posted.getlist("email")) or "").strip(),
        language=language,
        association_id=_first(posted.getlist("association_id")) or None,
        seats=_first(posted.getlist("seats"), "1") or 1,
        group_id=_first(posted.getlist("group_id")) or None,
        name_public=_ticked(posted.getlist("name_public")),
        consent=_ticked(posted.getlist("consent")),
        submission_key=_first(posted.getlist("submission_key")) or "",
        source="web",
        answers=answers,
    )
