"""A demo form: the initial survey of a partnership forum, as Esimerkkilä's coordinator built it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import forms as engine
from participation.accounts import services as accounts
from participation.formbuilder.models import FormDefinition

TITLE = "Kumppanuusfoorumin alkukysely"
DESCRIPTION = "Yhdistysillan alussa: mitkä yhteistyön muodot ovat yhdistyksille tärkeimpiä?"

FORMS_OF_COOPERATION = [
    ("Kumppanuusfoorumit", "Partnerskapsforum", "Partnership forums"),
    ("Yhdistysten uutiskirje", "Föreningarnas nyhetsbrev", "A newsletter for associations"),
    ("Yhdistysagentit", "Föreningsagenter", "Association agents"),
    ("Avustukset", "Bidrag", "Grants"),
    (
        "Vapaaehtoistoiminnan koordinointi",
        "Samordning av frivilligverksamhet",
        "Coordination of volunteering",
    ),
    ("Tilat", "Lokaler", "Premises"),
    ("Kaupungin koordinointi", "Stadens samordning", "The city's coordination"),
]


def _options(rows: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [{"label": {"fi": fi, "sv": sv, "en": en}} for fi, sv, en in rows]


QUESTIONS: list[dict[str, Any]] = [
    {
        "type": "info",
        "label": {
            "fi": "Kiitos, että osallistut! Vastaaminen vie noin viisi minuuttia.",
            "sv": "Tack för att du deltar! Det tar ungefär fem minuter att svara.",
            "en": "Thank you for taking part! Answering takes about five minutes.",
        },
    },
    {
        "type": "multiple_choice",
        "label": {
            "fi": "Valitse näistä seitsemästä kolme tärkeintä",
            "sv": "Välj de tre viktigaste av dessa sju",
            "en": "Pick the three most important of these seven",
        },
        "help": {
            "fi": "Mitkä yhteistyön muodot hyödyttävät yhdistystänne eniten?",
            "sv": "Vilka former av samarbete gagnar er förening mest?",
            "en": "Which forms of cooperation help your association most?",
        },
        "required": True,
        "max_choices": 3,
        "options": _options(FORMS_OF_COOPERATION),
    },
    {
        "type": "rating",
        "label": {
            "fi": "Kuinka hyvin yhteistyö kaupungin kanssa toimii nyt?",
            "sv": "Hur väl fungerar samarbetet med staden nu?",
            "en": "How well does the cooperation with the city work now?",
        },
        "scale_min": 1,
        "scale_max": 5,
        "min_label": {"fi": "Huonosti", "sv": "Dåligt", "en": "Poorly"},
        "max_label": {"fi": "Erinomaisesti", "sv": "Utmärkt", "en": "Excellently"},
    },
    {
        "type": "ranking",
        "label": {
            "fi": "Mihin kaupungin pitäisi panostaa ensin? Nimeä kolme tärkeintä järjestyksessä.",
            "sv": "Vad borde staden satsa på först? Ange de tre viktigaste i ordning.",
            "en": "What should the city invest in first? Name the top three in order.",
        },
        "top_n": 3,
        "options": _options(FORMS_OF_COOPERATION),
    },
    {
        "type": "long_text",
        "label": {
            "fi": "Mitä muuta haluat sanoa yhteistyöstä?",
            "sv": "Vad mer vill du säga om samarbetet?",
            "en": "What else would you like to say about the cooperation?",
        },
        "max_length": 2000,
    },
]


def load_demo(session: Session, *, now: dt.datetime) -> int:
    """Adds the demo form once (found by its title); returns the number of rows added."""
    from participation.demo import DEMO_COORDINATOR

    owner = accounts.find_user_by_email(session, DEMO_COORDINATOR)
    if owner is None:
        return 0
    if session.scalar(select(FormDefinition.id).where(FormDefinition.title == TITLE)):
        return 0
    schema = engine.empty_schema()
    for question in QUESTIONS:
        schema = engine.add_question(schema, question)
    session.add(
        FormDefinition(
            title=TITLE,
            description=DESCRIPTION,
            schema=schema,
            owner_id=owner.id,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    return 1
