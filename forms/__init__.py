"""Form engine: JSON question schemas rendered as WTForms forms, answers checked and summarised.

Independent of Flask and of the ``participation`` app: the app passes the
locale in and may pass Flask-WTF's FlaskForm as the form base class.
"""

from forms.aggregate import aggregate
from forms.build import (
    QuestionValidator,
    answers_from_form,
    build_form_class,
    cached_form_class,
    validate_answers,
)
from forms.fields import QuestionField, RankingField, iter_items
from forms.messages import LOCALES, message
from forms.schema import (
    QUESTION_TYPES,
    SchemaError,
    add_question,
    check_change,
    delete_question,
    empty_schema,
    move_question,
    new_key,
    text,
    update_question,
    validate_schema,
)

__all__ = [
    "LOCALES",
    "QUESTION_TYPES",
    "QuestionField",
    "QuestionValidator",
    "RankingField",
    "SchemaError",
    "add_question",
    "aggregate",
    "answers_from_form",
    "build_form_class",
    "cached_form_class",
    "check_change",
    "delete_question",
    "empty_schema",
    "iter_items",
    "message",
    "move_question",
    "new_key",
    "text",
    "update_question",
    "validate_answers",
    "validate_schema",
]
