from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Regexp

from participation.privacy.services import KEY_PATTERN, MAX_TEXT


class PrivacyRequestForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            Length(max=254, message=_l("An e-mail address has at most 254 characters.")),
            Email(_l("Enter a valid e-mail address.")),
        ],
    )


class ConsentTextForm(FlaskForm):
    key = StringField(
        _l("Purpose key"),
        validators=[
            DataRequired(_l("Enter the purpose key.")),
            Length(max=40, message=_l("Use at most 40 characters.")),
            Regexp(
                KEY_PATTERN,
                message=_l("Use lower-case letters, digits, hyphens or underscores."),
            ),
        ],
    )
    text_fi = TextAreaField(
        _l("Text in Finnish"),
        validators=[
            DataRequired(_l("Enter the text in Finnish.")),
            Length(max=MAX_TEXT, message=_l("Use at most %(max)d characters.")),
        ],
    )
    text_sv = TextAreaField(
        _l("Text in Swedish"),
        validators=[Length(max=MAX_TEXT, message=_l("Use at most %(max)d characters."))],
    )
    text_en = TextAreaField(
        _l("Text in English"),
        validators=[Length(max=MAX_TEXT, message=_l("Use at most %(max)d characters."))],
    )
