"""Forms of the organiser's event pages. The services check every rule again; these carry what
was typed so it is always shown back. Numbers are text fields so the service gives the message,
in the organiser's language, and "12 people" comes back as typed."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice

from participation.events.models import KINDS

# A generic Helsinki-time field; it lives with the comment rounds, which needed it first.
from participation.fields import HelsinkiDateTimeField

KIND_LABELS = {
    "association_evening": _l("Association evening"),
    "workshop": _l("Workshop"),
    "info_session": _l("Info session"),
    "partnership_forum": _l("Partnership forum"),
    "other": _l("Other event"),
}
assert set(KIND_LABELS) == set(KINDS)


class EventForm(FlaskForm):
    kind = SelectField(
        _l("Kind of event"),
        choices=[SelectChoice(k, KIND_LABELS[k]) for k in KINDS],
        validate_choice=False,
    )
    title = StringField(_l("Title"))
    description = TextAreaField(_l("Description"))
    starts_at = HelsinkiDateTimeField(_l("Starts (Helsinki time)"))
    ends_at = HelsinkiDateTimeField(_l("Ends (Helsinki time)"))
    place = StringField(_l("Place"))
    accessibility = TextAreaField(_l("Accessibility of the place"))
    online_url = URLField(_l("Online link"))
    capacity = StringField(_l("Seats"))
    registration_opens_at = HelsinkiDateTimeField(_l("Registration opens (Helsinki time)"))
    registration_closes_at = HelsinkiDateTimeField(_l("Registration closes (Helsinki time)"))
    allow_party = BooleanField(_l("One registration may bring several people of an association"))
    max_party = StringField(_l("Most people on one registration"), default="5")
    notify_cancellations = BooleanField(_l("Tell the organiser of each cancellation by e-mail"))
    organiser_email = EmailField(_l("Organiser's e-mail address"))
    reminder_days = StringField(_l("Reminder (days before the start)"), default="2")
    thank_you = BooleanField(_l("Send a thank-you after the event"), default=True)
    feedback_url = URLField(_l("Feedback link in the thank-you"))
    list_participants = BooleanField(
        _l("List participants on the event's page (only those who agree)")
    )
    sensitive_days = StringField(
        _l("Delete diet and accessibility answers (days after the event)"), default="30"
    )
    published = BooleanField(_l("Published: shown on the public pages and in the calendar feed"))

    value_fields = (
        "kind",
        "title",
        "description",
        "starts_at",
        "ends_at",
        "place",
        "accessibility",
        "online_url",
        "capacity",
        "registration_opens_at",
        "registration_closes_at",
        "allow_party",
        "max_party",
        "notify_cancellations",
        "organiser_email",
        "reminder_days",
        "thank_you",
        "feedback_url",
        "list_participants",
        "sensitive_days",
        "published",
    )

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name).data for name in self.value_fields}


def event_data(event: Any) -> dict[str, Any]:
    """An event's settings as the form's initial data."""
    data = {name: getattr(event, name) for name in EventForm.value_fields if name != "published"}
    data["capacity"] = "" if event.capacity is None else str(event.capacity)
    data["reminder_days"] = "" if event.reminder_days is None else str(event.reminder_days)
    data["max_party"] = str(event.max_party)
    data["sensitive_days"] = str(event.sensitive_days)
    data["published"] = event.published_at is not None
    return data


class DuplicateForm(FlaskForm):
    """The copy's own title and times; everything else comes from the original."""

    title = StringField(_l("Title"))
    starts_at = HelsinkiDateTimeField(_l("Starts (Helsinki time)"))
    ends_at = HelsinkiDateTimeField(_l("Ends (Helsinki time)"))
    registration_opens_at = HelsinkiDateTimeField(_l("Registration opens (Helsinki time)"))
    registration_closes_at = HelsinkiDateTimeField(_l("Registration closes (Helsinki time)"))

    def values(self) -> dict[str, Any]:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


class GroupForm(FlaskForm):
    name = StringField(_l("Name of the group"))
    description = TextAreaField(_l("Description"))
    capacity = StringField(_l("Seats"))
    facilitator = StringField(_l("Facilitator"))

    def values(self) -> dict[str, Any]:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


class CancelEventForm(FlaskForm):
    message = TextAreaField(_l("Message to the registered (optional)"))
