"""Forms of the staff's registration pages and the door. The registration services check every
rule again (names, addresses, groups, seats); these only carry what was typed, so it is always
shown back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField
from wtforms.fields import SelectChoice

import forms as engine
from participation.events.models import Event
from participation.events.services import RegistrationInput
from participation.events.staff import Choice


class PhoneRegistrationForm(FlaskForm):
    """Someone registered by staff (a phone call). The event's questions are added by the form
    engine, all optional: staff fill in what the caller tells."""

    name = StringField(_l("Name"), render_kw={"maxlength": 200, "autocomplete": "off"})
    email = EmailField(_l("E-mail address"), render_kw={"maxlength": 254, "autocomplete": "off"})
    association_id = SelectField(_l("Association"), validate_choice=False)
    group_id = SelectField(_l("Group"), validate_choice=False)
    seats = SelectField(_l("Number of people"), validate_choice=False, default="1")
    language = SelectField(
        _l("Language of the mails"),
        choices=[
            SelectChoice("fi", "Suomi"),
            SelectChoice("sv", "Svenska"),
            SelectChoice("en", "English"),
        ],
        validate_choice=False,
        default="fi",
    )
    submission_key = HiddenField()

    def registration_input(self) -> RegistrationInput:
        return RegistrationInput(
            name=self.name.data or "",
            email=(self.email.data or "").strip(),
            language=self.language.data or "fi",
            association_id=self.association_id.data or None,
            seats=self.seats.data or 1,
            group_id=self.group_id.data or None,
            submission_key=self.submission_key.data or "",
            source="staff",
        )


class WalkInForm(FlaskForm):
    """Someone at the door who did not register: a name is enough."""

    name = StringField(_l("Name"), render_kw={"maxlength": 200, "autocomplete": "off"})
    email = EmailField(
        _l("E-mail address (optional)"), render_kw={"maxlength": 254, "autocomplete": "off"}
    )
    association_id = SelectField(_l("Association (optional)"), validate_choice=False)
    group_id = SelectField(_l("Group (optional)"), validate_choice=False)


def optional_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The event's questions with none required: a caller may not know every answer."""
    return {
        **schema,
        "questions": [{**q, "required": False} for q in schema.get("questions", [])],
    }


def phone_form_class(schema: Mapping[str, Any] | None, locale: str) -> type[PhoneRegistrationForm]:
    if not schema:
        return PhoneRegistrationForm
    return engine.build_form_class(
        optional_schema(schema), locale=locale, base=PhoneRegistrationForm
    )


def association_choices(choices: Iterable[Choice], none_label: str) -> list[SelectChoice]:
    return [SelectChoice("", none_label), *(SelectChoice(c.value, c.label) for c in choices)]


def group_choices(event: Event, empty_label: str) -> list[SelectChoice]:
    return [SelectChoice("", empty_label), *(SelectChoice(str(g.id), g.name) for g in event.groups)]


def seat_choices(event: Event) -> list[SelectChoice]:
    most = event.max_party if event.allow_party else 1
    return [SelectChoice(str(n), str(n)) for n in range(1, most + 1)]
