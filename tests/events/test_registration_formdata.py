"""events.forms.input_from_formdata, which a registration on the event's kept facts uses instead
of binding the registration form: wherever it returns an input, the bound form validates, its
honeypot is empty and it gives the same input and answers; wherever not, it returns None (and
the full path binds the form for its messages). Checked over many random posts."""

from __future__ import annotations

import random
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from forms import answers_from_form, build_form_class
from participation.events.forms import RegistrationForm, input_from_formdata
from participation.events.services import RegistrationInput
from tests.conftest import form_post

SCHEMA: dict[str, Any] = {
    "version": 2,
    "questions": [
        {"key": "q_coffee", "type": "yes_no", "label": {"fi": "Kahvi"}, "required": True},
        {"key": "q_diet", "type": "short_text", "label": {"fi": "Ruokavalio"}, "max_length": 20},
        {
            "key": "q_access",
            "type": "multiple_choice",
            "label": {"fi": "Saavutettavuus"},
            "options": [{"key": f"o_{n}", "label": {"fi": n}} for n in ("a", "b")],
        },
    ],
}
# Posted values per field (None leaves it out, a list posts it repeatedly): mostly what a
# browser sends, some not.
VALUES: dict[str, list[Any]] = {
    "name": [None, "", "Maija Meikäläinen", " Maija ", ["Eka", "Toka"]],
    "email": [None, "", "maija@example.fi", " MAIJA@example.fi ", "ei osoite"],
    "association_id": [None, "", "3", "x"],
    "seats": [None, "", "1", "2", "0", "kaksi", ["2", "3"]],
    "group_id": [None, "", "7", ["7", "8"]],
    "name_public": [None, "", "y", "false", ["", "y"]],
    "consent": [None, "", "y", "on", "false"],
    "submission_key": [None, "", "k" * 32, ["a", "b"]],
    "homepage": [None, "", "", "", "  ", "http://roskaa.example"],
    "q_coffee": [None, "", "yes", "no", "maybe"],
    "q_diet": [None, "", "Gluteeniton", "x" * 21],
    "q_access": [None, [], ["o_a"], ["o_b", "o_a"], ["o_c"]],
}


def _bound(form_class: Any, posted: MultiDict, language: str) -> RegistrationInput | None:
    form = form_class(prefix="reg", formdata=posted, meta={"csrf": False})
    if not form.validate() or (form.homepage.data or "").strip():
        return None
    data = form.registration_input(language)
    schema = getattr(form, "form_schema", None)
    if schema is not None:
        data.answers = answers_from_form(form, schema)
    return data


@pytest.fixture(params=["with questions", "without"])
def form_class(request: pytest.FixtureRequest, app: Flask) -> Any:
    with app.app_context():
        if request.param == "without":
            yield RegistrationForm
        else:
            yield build_form_class(SCHEMA, locale="fi", base=RegistrationForm)


def test_random_posts_agree_with_the_bound_form(app: Flask, form_class: Any) -> None:
    rnd = random.Random(20261126)
    accepted = 0
    for n in range(1500):
        choice = {key: rnd.choice(values) for key, values in VALUES.items()}
        posted = form_post(choice, "reg")
        language = ("fi", "sv", "en")[n % 3]
        with app.test_request_context(method="POST"):
            expected = _bound(form_class, posted, language)
            assert input_from_formdata(form_class, posted, language) == expected, choice
        accepted += expected is not None
    assert 150 < accepted < 1350, accepted


def test_a_filled_honeypot_or_a_refused_answer_is_none(app: Flask) -> None:
    with app.app_context():
        form_class = build_form_class(SCHEMA, locale="fi", base=RegistrationForm)
    good = {"name": "Maija", "email": "maija@example.fi", "consent": "y", "q_coffee": "yes"}
    with app.test_request_context(method="POST"):
        found = input_from_formdata(form_class, form_post(good, "reg"), "fi")
        assert found is not None
        assert (found.name, found.consent, found.answers) == ("Maija", True, {"q_coffee": True})
        for key, bad in [
            ("homepage", "http://roskaa.example"),
            ("q_coffee", ""),
            ("q_diet", "x" * 21),
        ]:
            assert (
                input_from_formdata(form_class, form_post({**good, key: bad}, "reg"), "fi") is None
            )
