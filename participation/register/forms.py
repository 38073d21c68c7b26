"""Forms of the register. The services check everything again; these give the first messages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from participation.register.values import (
    AREA_MAX,
    CATEGORY_NAME_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    NAME_MAX,
    REGISTRY_MAX,
    WEBSITE_MAX,
    normalise_registry_number,
    normalise_website,
)

# Labels of the fields and of the other entries in an association's history.
FIELD_LABELS = {
    "name": _l("Name"),
    "registry_number": _l("Registry number"),
    "category": _l("Category"),
    "area": _l("Area"),
    "email": _l("E-mail"),
    "website": _l("Website"),
    "description": _l("Activities in brief"),
    "active": _l("Active"),
    "merged_from": _l("Merged from"),
    "merged_into": _l("Merged into"),
    "person_added": _l("Person added"),
    "person_removed": _l("Person removed"),
}

LANGUAGE_CHOICES = [
    SelectChoice("fi", "Suomi"),
    SelectChoice("sv", "Svenska"),
    SelectChoice("en", "English"),
]


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _too_long(n: int) -> Length:
    return Length(max=n, message=_l("Use at most %(max)d characters."))


def _registry_number(form: FlaskForm, field: StringField) -> None:
    try:
        normalise_registry_number(field.data or "")
    except ValueError as exc:
        raise ValidationError(
            _l("Enter the registry number as digits, for example 123.456.")
        ) from exc


def _website(form: FlaskForm, field: StringField) -> None:
    try:
        normalise_website(field.data or "")
    except ValueError as exc:
        raise ValidationError(_l("Enter a web address such as https://www.example.fi.")) from exc


class AssociationDetailsForm(FlaskForm):
    """What the association itself may change through its edit link."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Enter the association's name.")), _too_long(NAME_MAX)],
    )
    registry_number = StringField(
        _l("Registry number"), validators=[Optional(), _too_long(REGISTRY_MAX), _registry_number]
    )
    # Choices are set by the view from the categories in use.
    category = SelectField(_l("Category"), choices=[], validate_choice=False)
    area = StringField(_l("Area"), validators=[Optional(), _too_long(AREA_MAX)])
    email = EmailField(
        _l("E-mail"),
        filters=[_strip],
        validators=[
            Optional(),
            _too_long(EMAIL_MAX),
            Email(_l("Enter a valid e-mail address.")),
        ],
    )
    website = StringField(_l("Website"), validators=[Optional(), _too_long(WEBSITE_MAX), _website])
    description = TextAreaField(
        _l("Activities in brief"), validators=[Optional(), _too_long(DESCRIPTION_MAX)]
    )

    def set_categories(self, categories: list, locale: str, current_id: int | None) -> None:
        """Active categories, and the current one even if it is no longer in use."""
        self.category.choices = [SelectChoice("", _l("No category"))] + [
            SelectChoice(str(c.id), c.name(locale))
            for c in categories
            if c.active or c.id == current_id
        ]

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in self.value_fields}

    value_fields = (
        "name",
        "registry_number",
        "category",
        "area",
        "email",
        "website",
        "description",
    )


class AssociationForm(AssociationDetailsForm):
    """The staff form: also whether the association is active."""

    active = BooleanField(_l("Active"), default=True)

    value_fields = (*AssociationDetailsForm.value_fields, "active")


class RequestLinkForm(FlaskForm):
    email = EmailField(
        _l("The association's e-mail address"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter the association's e-mail address.")),
            _too_long(EMAIL_MAX),
            Email(_l("Enter a valid e-mail address.")),
        ],
    )


class PersonForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter the person's name.")), _too_long(NAME_MAX)]
    )
    email = EmailField(
        _l("E-mail"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            _too_long(EMAIL_MAX),
            Email(_l("Enter a valid e-mail address.")),
        ],
    )
    language = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES, default="fi")
    # Rendered as checkboxes by the field macro (a fieldset with a legend).
    association_ids = SelectMultipleField(
        _l("Associations represented"),
        choices=[],
        coerce=int,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "email": self.email.data,
            "language": self.language.data,
            "association_ids": self.association_ids.data or [],
        }


class CategoryForm(FlaskForm):
    name_fi = StringField(
        _l("Name in Finnish"),
        validators=[DataRequired(_l("Enter the name in Finnish.")), _too_long(CATEGORY_NAME_MAX)],
    )
    name_sv = StringField(
        _l("Name in Swedish"), validators=[Optional(), _too_long(CATEGORY_NAME_MAX)]
    )
    name_en = StringField(
        _l("Name in English"), validators=[Optional(), _too_long(CATEGORY_NAME_MAX)]
    )

    def values(self) -> dict:
        return {
            "name_fi": self.name_fi.data,
            "name_sv": self.name_sv.data,
            "name_en": self.name_en.data,
        }


class ImportForm(FlaskForm):
    file = FileField(
        _l("File (CSV or XLSX)"), validators=[FileRequired(_l("Choose a file to import."))]
    )


class MergePickForm(FlaskForm):
    """Chosen by GET, so the comparison page has a plain address; no CSRF needed to look."""

    class Meta:
        csrf = False

    keep = SelectField(_l("The association to keep"), choices=[], validate_choice=False)
    duplicate = SelectField(_l("The duplicate to merge into it"), choices=[], validate_choice=False)


class MergeForm(FlaskForm):
    """One radio group per field whose values differ; built by the view (see merge_form)."""


def merge_form(differing: list[tuple[str, str, str, str]], formdata: object = None) -> FlaskForm:
    """A MergeForm with a "keep"/"duplicate" choice per (field, label, kept value, duplicate
    value) in `differing`."""

    class _Form(MergeForm):
        pass

    for name, label, kept, duplicate in differing:
        setattr(
            _Form,
            f"take_{name}",
            RadioField(
                label,
                choices=[
                    SelectChoice("keep", kept),
                    SelectChoice("duplicate", duplicate),
                ],
                default="keep",
            ),
        )
    return _Form(formdata=formdata) if formdata is not None else _Form()


class DistributionForm(FlaskForm):
    """The associations a round or an event invites (participation.register.distribution)."""

    association_ids = SelectMultipleField(
        _l("Associations on the distribution list"),
        coerce=int,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
