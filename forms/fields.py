"""WTForms fields for questionnaire questions.

Each field is a thin subclass of a stock WTForms field that also carries the
normalised question (``.question``, ``.question_type``) and the form's
``.locale``, so the app's Jinja macros can pick a rendering per type, and an
``answer_value()`` giving the canonical value for ``forms.answers``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from wtforms import fields as wtf
from wtforms import widgets
from wtforms.fields import SelectChoice

from forms.answers import parse_date, parse_number
from forms.messages import format_number, message
from forms.schema import text


class QuestionField:
    """Mixin carrying the question a field asks; must come before the WTForms base."""

    question: dict[str, Any]
    question_type: str
    locale: str
    data: Any

    def __init__(self, *args: Any, question: dict[str, Any], locale: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.question = question
        self.question_type = question["type"]
        self.locale = locale

    def answer_value(self) -> Any:
        """The posted value in the canonical shape that forms.answers checks."""
        return self.data


class ShortTextField(QuestionField, wtf.StringField):
    pass


class LongTextField(QuestionField, wtf.TextAreaField):
    pass


class EmailField(QuestionField, wtf.EmailField):
    pass


class SingleChoiceField(QuestionField, wtf.RadioField):
    pass


class GroupCheckboxInput(widgets.CheckboxInput):
    """Checkbox that never renders ``required``.

    In a required checkbox group the attribute would make the browser demand
    that every box be ticked; the group's requirement is checked server-side.
    """

    def __call__(self, field: wtf.Field, **kwargs: Any) -> Any:
        kwargs.setdefault("required", False)
        return super().__call__(field, **kwargs)


class MultipleChoiceField(QuestionField, wtf.SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = GroupCheckboxInput()

    def answer_value(self) -> list[str]:
        return list(self.data or [])


class RatingField(QuestionField, wtf.RadioField):
    """Radio buttons for scale_min..scale_max; ``min_label``/``max_label`` name the ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.min_label = text(self.question["min_label"], self.locale)
        self.max_label = text(self.question["max_label"], self.locale)


def _yes_no(value: Any) -> str:
    # Stored answers are booleans; posted ones are "yes"/"no".
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class YesNoField(QuestionField, wtf.RadioField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, coerce=_yes_no, **kwargs)


class NumberField(QuestionField, wtf.DecimalField):
    """A text input, not type=number: browsers disagree on decimal commas there,
    and Finnish respondents type "2,5"."""

    widget = widgets.TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, places=None, **kwargs)

    def process_data(self, value: Any) -> None:
        try:
            self.data = None if value is None else Decimal(str(value))
        except InvalidOperation:
            self.data = None

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        try:
            self.data = parse_number(valuelist[0])
        except ValueError:
            raise ValueError(message("not_a_number", self.locale)) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format_number(self.data, self.locale)


class DateField(QuestionField, wtf.DateField):
    def process_data(self, value: Any) -> None:
        # Stored answers are ISO strings.
        if isinstance(value, str):
            try:
                value = parse_date(value)
            except ValueError:
                value = None
        self.data = value if isinstance(value, date) else None

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        try:
            self.data = parse_date(valuelist[0])
        except ValueError:
            raise ValueError(message("date_invalid", self.locale)) from None

    def _value(self) -> str:
        # <input type=date> shows only ISO values, so re-show a parsed date as
        # ISO even when it was typed as 31.12.2025 (e.g. out of range).
        if self.data is not None:
            return self.data.isoformat()
        return self.raw_data[0] if self.raw_data else ""


class ConsentField(QuestionField, wtf.BooleanField):
    pass


class RankSelectField(wtf.SelectField):
    """One rank position of a RankingField; ``position`` is 1-based."""

    position: int


class RankingField(QuestionField, wtf.Field):
    """Ranks ``top_n`` options with one <select> per position.

    All selects share the field's name, so the browser posts the values in
    rank order and ``data`` is the list of option keys by rank, with "" for a
    blank position, kept as posted so a re-shown form keeps every position.
    Iterating the field yields one RankSelectField per position with ids
    ``<key>-1`` .. ``<key>-N``; the default widget renders them as an <ol>.
    """

    widget = widgets.ListWidget(html_tag="ol", prefix_label=True)

    def __init__(
        self,
        *args: Any,
        choices: Sequence[SelectChoice],
        top_n: int,
        placeholder: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.choices = list(choices)
        self.top_n = top_n
        self.placeholder = placeholder

    def process_data(self, value: Any) -> None:
        if isinstance(value, list | tuple):
            self.data = ["" if v is None else str(v) for v in value]
        else:
            self.data = []

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = [v.strip() for v in valuelist]

    def positions(self) -> list[str]:
        """The selected key per position, padded with "" to ``top_n`` positions."""
        data = list(self.data or [])
        return data + [""] * (self.top_n - len(data))

    def __iter__(self) -> Iterator[RankSelectField]:
        choices = [SelectChoice("", self.placeholder), *self.choices]
        for position, selected in enumerate(self.positions(), start=1):
            select = RankSelectField(
                label=f"{position}.",
                choices=choices,
                validate_choice=False,
                # Shared validators carry the required flag to every select.
                validators=self.validators,
                name=self.name,
                id=f"{self.id}-{position}",
                render_kw=self.render_kw,
                _form=self._form,
                _meta=self.meta,
            )
            select.position = position
            select.process(None, selected)
            yield select

    def answer_value(self) -> list[str]:
        return list(self.data or [])


def iter_items(form: Any) -> Iterator[tuple[dict[str, Any], QuestionField | None]]:
    """(question, field) in schema order; info blocks come with None as field."""
    for question in form.form_schema["questions"]:
        try:
            field = form[question["key"]]
        except KeyError:
            field = None
        yield question, field
