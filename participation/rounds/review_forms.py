"""Forms of the staff's comment review. Each comment on the page has its own decision and hide
forms, told apart by a prefix holding the comment's id (field names and ids stay unique)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from participation.rounds.models import DECISIONS
from participation.rounds.review import DECISION_LABELS, HIDDEN_REASON_MAX, REASON_MAX


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice(key, DECISION_LABELS[key]) for key in DECISIONS],
        validators=[InputRequired(_l("Choose a decision."))],
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[Length(max=REASON_MAX, message=_l("Use at most %(max)d characters."))],
    )


class HideForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for hiding"),
        validators=[
            DataRequired(_l("Give a reason for hiding.")),
            Length(max=HIDDEN_REASON_MAX, message=_l("Use at most %(max)d characters.")),
        ],
    )


class ReminderForm(FlaskForm):
    include_recent = BooleanField(_l("Also remind those reminded less than 24 hours ago"))


def decision_form(comment: Any, *, formdata: Any = None) -> DecisionForm:
    """The comment's decision form: bound to `formdata` when it was the one posted, else
    filled with the stored decision."""
    return DecisionForm(
        formdata=formdata,
        prefix=f"comment-{comment.id}",
        data={"decision": comment.decision, "reason": comment.decision_reason},
    )


def hide_form(comment: Any, *, formdata: Any = None) -> HideForm:
    return HideForm(formdata=formdata, prefix=f"hide-{comment.id}")
