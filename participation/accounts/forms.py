from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from participation.accounts.models import CONTACT_PERSON, COORDINATOR


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail"), validators=[DataRequired(_l("Enter your e-mail address.")), Length(max=254)]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=500)]
    )


class UserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(_l("Enter an e-mail address.")),
            Email(_l("Enter a valid e-mail address.")),
            Length(max=254),
        ],
    )
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice(COORDINATOR, _l("Coordinator")),
            SelectChoice(CONTACT_PERSON, _l("Contact person")),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Enter a password.")),
            Length(min=10, max=500, message=_l("Use 10 to 500 characters.")),
        ],
    )


class ConfirmForm(FlaskForm):
    """An empty form: its CSRF token protects a button."""
