"""The form engine's own message catalogue (Finnish, Swedish, English).

The engine is deliberately independent of Flask, so it cannot use Flask-Babel's
gettext; the app passes the respondent's locale in instead. The catalogue is
small enough that plain dicts with ``str.format`` placeholders stay readable.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

DEFAULT_LOCALE = "fi"
LOCALES: tuple[str, ...] = ("fi", "sv", "en")

# A tuple entry is (singular, plural), picked by the ``n`` placeholder, because
# Finnish needs a different noun form after "1" ("1 merkki" vs "5 merkkiä").
Entry = str | tuple[str, str]

MESSAGES: dict[str, dict[str, Entry]] = {
    "fi": {
        "required": "Tämä kenttä on pakollinen.",
        "consent_required": "Vastauksen lähettäminen edellyttää suostumustasi.",
        "too_long": ("Enintään {n} merkki.", "Enintään {n} merkkiä."),
        "invalid_choice": "Valitse jokin annetuista vaihtoehdoista.",
        "invalid_value": "Virheellinen vastaus.",
        "choose_at_most": "Valitse enintään {n}.",
        "choose_at_least": "Valitse vähintään {n}.",
        "choose_exactly": "Valitse tasan {n}.",
        "rank_count": "Järjestä {n} eri vaihtoehtoa.",
        "rank_duplicate": "Kunkin vaihtoehdon voi valita vain kerran.",
        "rank_placeholder": "Valitse",
        "not_a_number": "Anna luku.",
        "not_whole_number": "Anna kokonaisluku.",
        "number_min": "Luvun on oltava vähintään {min}.",
        "number_max": "Luku saa olla enintään {max}.",
        "number_range": "Anna luku väliltä {min}–{max}.",
        "date_invalid": "Anna päivämäärä muodossa pp.kk.vvvv.",
        "date_min": "Päivämäärä voi olla aikaisintaan {min}.",
        "date_max": "Päivämäärä voi olla viimeistään {max}.",
        "date_range": "Anna päivämäärä väliltä {min}–{max}.",
        "email_invalid": "Anna sähköpostiosoite muodossa nimi@esimerkki.fi.",
        "yes": "Kyllä",
        "no": "Ei",
    },
    "sv": {
        "required": "Detta fält är obligatoriskt.",
        "consent_required": "Du måste ge ditt samtycke för att kunna skicka svaret.",
        "too_long": ("Högst {n} tecken.", "Högst {n} tecken."),
        "invalid_choice": "Välj ett av de givna alternativen.",
        "invalid_value": "Ogiltigt svar.",
        "choose_at_most": "Välj högst {n}.",
        "choose_at_least": "Välj minst {n}.",
        "choose_exactly": "Välj exakt {n}.",
        "rank_count": "Rangordna {n} olika alternativ.",
        "rank_duplicate": "Varje alternativ kan rangordnas bara en gång.",
        "rank_placeholder": "Välj",
        "not_a_number": "Ange ett tal.",
        "not_whole_number": "Ange ett heltal.",
        "number_min": "Talet måste vara minst {min}.",
        "number_max": "Talet får vara högst {max}.",
        "number_range": "Ange ett tal mellan {min} och {max}.",
        "date_invalid": "Ange datumet i formatet åååå-mm-dd.",
        "date_min": "Datumet får vara tidigast {min}.",
        "date_max": "Datumet får vara senast {max}.",
        "date_range": "Ange ett datum mellan {min} och {max}.",
        "email_invalid": "Ange e-postadressen i formatet namn@exempel.fi.",
        "yes": "Ja",
        "no": "Nej",
    },
    "en": {
        "required": "This field is required.",
        "consent_required": "Your consent is required to submit the answer.",
        "too_long": ("At most {n} character.", "At most {n} characters."),
        "invalid_choice": "Choose one of the given options.",
        "invalid_value": "Invalid answer.",
        "choose_at_most": "Choose at most {n}.",
        "choose_at_least": "Choose at least {n}.",
        "choose_exactly": "Choose exactly {n}.",
        "rank_count": "Rank {n} different options.",
        "rank_duplicate": "Each option can be ranked only once.",
        "rank_placeholder": "Choose",
        "not_a_number": "Enter a number.",
        "not_whole_number": "Enter a whole number.",
        "number_min": "The number must be at least {min}.",
        "number_max": "The number must be at most {max}.",
        "number_range": "Enter a number between {min} and {max}.",
        "date_invalid": "Enter the date as yyyy-mm-dd.",
        "date_min": "The date must be {min} or later.",
        "date_max": "The date must be {max} or earlier.",
        "date_range": "Enter a date between {min} and {max}.",
        "email_invalid": "Enter the email address as name@example.com.",
        "yes": "Yes",
        "no": "No",
    },
}


def normalise_locale(locale: str | None) -> str:
    """Map e.g. "sv_FI" or "fi-FI" to a catalogue locale, falling back to Finnish."""
    if not locale:
        return DEFAULT_LOCALE
    base = locale.replace("-", "_").split("_", 1)[0].lower()
    return base if base in MESSAGES else DEFAULT_LOCALE


def message(message_id: str, locale: str | None = DEFAULT_LOCALE, **kw: object) -> str:
    """Return the message in ``locale`` with placeholders filled.

    Unknown ids raise KeyError on purpose: a typo should fail tests, not show
    an empty error to a respondent.
    """
    entry = MESSAGES[normalise_locale(locale)][message_id]
    if isinstance(entry, tuple):
        entry = entry[0] if kw.get("n") == 1 else entry[1]
    return entry.format(**kw)


def format_number(value: int | float | Decimal, locale: str | None) -> str:
    """Show a bound the way respondents write it: decimal comma in fi/sv."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    shown = str(value)
    if normalise_locale(locale) in ("fi", "sv"):
        shown = shown.replace(".", ",")
    return shown


def format_date(value: date, locale: str | None) -> str:
    """Finnish writes 31.12.2025; Swedish and our English texts use ISO dates."""
    if normalise_locale(locale) == "fi":
        return f"{value.day}.{value.month}.{value.year}"
    return value.isoformat()
