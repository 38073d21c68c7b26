"""The engine's own fi/sv/en message catalogue."""

from __future__ import annotations

import string
from datetime import date

import pytest

from forms import message
from forms.messages import MESSAGES, format_date, format_number


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fi", "Tämä kenttä on pakollinen."),
        ("sv", "Detta fält är obligatoriskt."),
        ("en", "This field is required."),
    ],
)
def test_required_in_each_language(locale, expected):
    assert message("required", locale) == expected


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [
        ("choose_at_most", ("Valitse enintään 3.", "Välj högst 3.", "Choose at most 3.")),
        ("choose_at_least", ("Valitse vähintään 3.", "Välj minst 3.", "Choose at least 3.")),
        ("choose_exactly", ("Valitse tasan 3.", "Välj exakt 3.", "Choose exactly 3.")),
        (
            "rank_count",
            (
                "Järjestä 3 eri vaihtoehtoa.",
                "Rangordna 3 olika alternativ.",
                "Rank 3 different options.",
            ),
        ),
    ],
)
def test_counted_messages(message_id, expected):
    assert tuple(message(message_id, loc, n=3) for loc in ("fi", "sv", "en")) == expected


def test_singular_and_plural():
    assert message("too_long", "fi", n=1) == "Enintään 1 merkki."
    assert message("too_long", "fi", n=500) == "Enintään 500 merkkiä."
    assert message("too_long", "en", n=1) == "At most 1 character."


@pytest.mark.parametrize(("locale", "used"), [("sv_FI", "sv"), ("en-GB", "en"), ("de", "fi")])
def test_locale_variants_and_fallback(locale, used):
    assert message("required", locale) == message("required", used)


def test_unknown_message_id_fails_loudly():
    with pytest.raises(KeyError):
        message("no_such_message", "fi")


def test_every_language_has_every_message_with_the_same_placeholders():
    def placeholders(entry: str | tuple[str, str]) -> set[str]:
        texts = entry if isinstance(entry, tuple) else (entry,)
        return {f for t in texts for _, f, _, _ in string.Formatter().parse(t) if f}

    finnish = MESSAGES["fi"]
    for locale in ("sv", "en"):
        assert MESSAGES[locale].keys() == finnish.keys(), locale
        for key, entry in MESSAGES[locale].items():
            assert placeholders(entry) == placeholders(finnish[key]), (locale, key)


def test_numbers_and_dates_are_shown_the_local_way():
    assert format_number(2.5, "fi") == "2,5"
    assert format_number(2.5, "sv") == "2,5"
    assert format_number(2.5, "en") == "2.5"
    assert format_number(10.0, "fi") == "10"
    assert format_date(date(2025, 3, 7), "fi") == "7.3.2025"
    assert format_date(date(2025, 3, 7), "sv") == "2025-03-07"
