"""Forms of comment rounds. The services check every rule again (with the round's own limits);
these carry what was typed so it can always be shown back."""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from participation.fields import HelsinkiDateTimeField
from participation.rounds.services import Identity


class DraftForm(FlaskForm):
    title = StringField(_l("Title"))
    file = FileField(_l("Upload a file (.md or .docx)"))
    text = TextAreaField(_l("Or paste the text (Markdown)"))
    note = StringField(_l("Note about this version"))


class SectionForm(FlaskForm):
    heading = StringField(_l("Heading"))
    body = TextAreaField(_l("Text (Markdown)"))
    note = StringField(_l("Note about this version"))


class RoundForm(FlaskForm):
    title = StringField(_l("Title"))
    intro = TextAreaField(_l("Introduction for participants"))
    draft_version_id = SelectField(_l("Draft version to comment on"), validate_choice=False)
    opens_at = HelsinkiDateTimeField(_l("Opens (Helsinki time)"))
    closes_at = HelsinkiDateTimeField(_l("Closes (Helsinki time)"))
    section_comments = BooleanField(_l("Comments on single sections"), default=True)
    comments_public = BooleanField(_l("Show comments publicly on the round's page"))
    association_required = BooleanField(_l("Participants must speak for an association"))
    consent_key = SelectField(_l("Consent text"), validate_choice=False)
    # Text, not IntegerField: the service gives the message, in the person's language.
    retention_days = StringField(_l("Keep personal data for (days after the close)"), default="365")
    max_comment_length = StringField(_l("Longest comment (characters)"), default="5000")

    value_fields = (
        "title",
        "intro",
        "draft_version_id",
        "opens_at",
        "closes_at",
        "section_comments",
        "comments_public",
        "association_required",
        "consent_key",
        "retention_days",
        "max_comment_length",
    )

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name).data for name in self.value_fields}


def new_submission_key() -> str:
    return secrets.token_urlsafe(24)


class IdentityForm(FlaskForm):
    """Who is taking part, and the honeypot: asked until the browser remembers the person."""

    name = StringField(_l("Your name"), render_kw={"autocomplete": "name", "maxlength": 200})
    email = EmailField(
        _l("Your e-mail address"), render_kw={"autocomplete": "email", "maxlength": 254}
    )
    association_id = SelectField(_l("I speak for"), validate_choice=False)
    name_public = BooleanField(_l("My name may be shown with my comments"))
    consent = BooleanField(_l("I agree to the handling of my data as described above"))
    # Left empty by people (it is hidden from them); bots fill every field.
    homepage = StringField(
        _l("Leave this field empty"),
        validators=[Optional()],
        render_kw={"tabindex": "-1", "autocomplete": "off"},
    )

    def identity(self, language: str) -> Identity:
        return Identity(
            name=self.name.data or "",
            email=(self.email.data or "").strip(),
            association_id=str(self.association_id.data or ""),
            name_public=bool(self.name_public.data),
            consent=bool(self.consent.data),
            language=language,
        )


class CommentForm(IdentityForm):
    body = TextAreaField(_l("Your comment"))
    submission_key = HiddenField()


class EditCommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"))
