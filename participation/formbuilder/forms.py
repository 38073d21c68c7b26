"""Staff forms of the form builder: a form's details and one question with its settings."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

# Translated names of the engine's twelve question types, in the order offered.
TYPE_NAMES: dict[str, Any] = {
    "short_text": _l("Short text"),
    "long_text": _l("Long text"),
    "single_choice": _l("Single choice (pick one)"),
    "multiple_choice": _l("Multiple choice (pick several)"),
    "rating": _l("Rating scale"),
    "ranking": _l("Ranking (put in order)"),
    "yes_no": _l("Yes or no"),
    "number": _l("Number"),
    "date": _l("Date"),
    "email": _l("E-mail address"),
    "consent": _l("Consent (a checkbox to tick)"),
    "info": _l("Information text (nothing to answer)"),
}

# The settings fields each type uses; the others are ignored, junk typed in them included.
_CHOICE = ("options_fi", "options_sv", "options_en")
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "short_text": ("max_length",),
    "long_text": ("max_length",),
    "single_choice": _CHOICE,
    "multiple_choice": (*_CHOICE, "min_choices", "max_choices"),
    "rating": (
        "scale_min",
        "scale_max",
        *(f"{end}_{loc}" for end in ("min_label", "max_label") for loc in ("fi", "sv", "en")),
    ),
    "ranking": (*_CHOICE, "top_n"),
    "yes_no": (),
    "number": ("min_value", "max_value", "integer"),
    "date": ("min_date", "max_date"),
    "email": (),
    "consent": (),
    "info": (),
}
COMMON_FIELDS = (
    "csrf_token",
    "question_type",
    "required",
    *(f"{name}_{loc}" for name in ("label", "help") for loc in ("fi", "sv", "en")),
)

MAX_LABEL = 1000
MAX_HELP = 5000
MAX_OPTIONS_TEXT = 60_000
MAX_END_LABEL = 200


class LocalDecimalField(StringField):
    """A number typed the Finnish way ("2,5") or with a point; data is a Decimal or None."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        raw = (valuelist[0] if valuelist else "").strip()
        if not raw:
            return
        cleaned = "".join(raw.split()).replace("\u2212", "-").replace(",", ".")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or len(cleaned) > 32:
            raise ValueError(_l("Enter a number, for example 10 or 2,5."))
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data).replace(".", ",")


class FormDetailsForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(_l("Give the form a title.")),
            Length(max=200, message=_l("Use at most %(max)d characters.")),
        ],
    )
    description = TextAreaField(
        _l("Description for staff (optional)"),
        validators=[Length(max=5000, message=_l("Use at most %(max)d characters."))],
    )


def _text(label: Any, max_length: int, *validators: Any) -> StringField:
    return StringField(
        label,
        validators=[
            *validators,
            Length(max=max_length, message=_l("Use at most %(max)d characters.")),
        ],
    )


def _area(label: Any, max_length: int) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[Length(max=max_length, message=_l("Use at most %(max)d characters."))],
    )


def _count(label: Any, low: int = 1, high: int = 100) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            Optional(),
            NumberRange(low, high, message=_l("Enter a whole number from %(min)s to %(max)s.")),
        ],
        invalid_value_message=_l("Enter a whole number."),
    )


class QuestionForm(FlaskForm):
    """One question. Field names are what services.build_question reads and reports on."""

    question_type = SelectField(
        _l("Type of question"),
        choices=[SelectChoice(key, name) for key, name in TYPE_NAMES.items()],
        default="short_text",
    )
    label_fi = _text(
        _l("Question in Finnish"), MAX_LABEL, DataRequired(_l("Write the question in Finnish."))
    )
    label_sv = _text(_l("Question in Swedish (optional)"), MAX_LABEL)
    label_en = _text(_l("Question in English (optional)"), MAX_LABEL)
    help_fi = _area(_l("Help text in Finnish (optional)"), MAX_HELP)
    help_sv = _area(_l("Help text in Swedish (optional)"), MAX_HELP)
    help_en = _area(_l("Help text in English (optional)"), MAX_HELP)
    required = BooleanField(_l("An answer is required"))

    options_fi = _area(_l("Options in Finnish, one per line"), MAX_OPTIONS_TEXT)
    options_sv = _area(_l("Options in Swedish, one per line (optional)"), MAX_OPTIONS_TEXT)
    options_en = _area(_l("Options in English, one per line (optional)"), MAX_OPTIONS_TEXT)

    min_choices = _count(_l("Choose at least (optional)"))
    max_choices = _count(_l("Choose at most (optional)"))

    scale_min = _count(_l("Lowest value"), -100, 100)
    scale_max = _count(_l("Highest value"), -100, 100)
    min_label_fi = _text(_l("Label of the lowest value in Finnish (optional)"), MAX_END_LABEL)
    max_label_fi = _text(_l("Label of the highest value in Finnish (optional)"), MAX_END_LABEL)
    min_label_sv = _text(_l("Label of the lowest value in Swedish (optional)"), MAX_END_LABEL)
    max_label_sv = _text(_l("Label of the highest value in Swedish (optional)"), MAX_END_LABEL)
    min_label_en = _text(_l("Label of the lowest value in English (optional)"), MAX_END_LABEL)
    max_label_en = _text(_l("Label of the highest value in English (optional)"), MAX_END_LABEL)

    top_n = _count(_l("How many to rank (optional)"))

    min_value = LocalDecimalField(
        _l("Smallest accepted number (optional)"), validators=[Optional()]
    )
    max_value = LocalDecimalField(_l("Largest accepted number (optional)"), validators=[Optional()])
    integer = BooleanField(_l("Whole numbers only"))

    min_date = DateField(_l("Earliest accepted date (optional)"), validators=[Optional()])
    max_date = DateField(_l("Latest accepted date (optional)"), validators=[Optional()])

    max_length = _count(_l("Maximum length in characters (optional)"), 1, 100_000)

    locked_type: str | None = None

    def lock_type(self, qtype: str) -> None:
        """Once answers exist the type is fixed: the select goes, the type stays known."""
        del self.question_type
        self.locked_type = qtype

    @property
    def chosen_type(self) -> str:
        return self.locked_type or self.question_type.data or "short_text"

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        # Settings of other types are not used, so junk left in them must not block saving.
        used = set(COMMON_FIELDS) | set(TYPE_FIELDS.get(self.chosen_type, ()))
        for name, field in self._fields.items():
            if name not in used:
                field.errors = []
        return not self.form_errors and not any(f.errors for f in self._fields.values())

    def spec(self) -> dict[str, Any]:
        """The plain values services.build_question takes (only the chosen type's settings)."""
        used = set(COMMON_FIELDS) | set(TYPE_FIELDS.get(self.chosen_type, ()))
        return {
            name: field.data
            for name, field in self._fields.items()
            if name in used and name != "csrf_token"
        }
