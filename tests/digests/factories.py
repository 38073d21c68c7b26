"""Rows of a comment round, made directly from the models (the rounds services are another
helper's), for the digest tests and the benchmarks (bench/ imports this too)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy.orm import Session

import forms as engine
from participation.accounts.models import User
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.register.models import Association
from participation.rounds.models import (
    Comment,
    Draft,
    DraftVersion,
    Invitation,
    Participant,
    Round,
    Section,
)

QUESTIONS = [
    {
        "key": "q_matters",
        "type": "long_text",
        "label": {
            "fi": "Mikä luonnoksessa on sinulle tärkeintä?",
            "en": "What matters most to you in the draft?",
        },
    },
    {
        "key": "q_missing",
        "type": "yes_no",
        "label": {"fi": "Puuttuuko luonnoksesta jotain?", "en": "Is something missing?"},
    },
    {
        "key": "q_forms",
        "type": "multiple_choice",
        "label": {"fi": "Mitkä yhteistyön muodot ovat tärkeimpiä?", "en": "Which forms matter?"},
        "options": [
            {"key": "o_forum", "label": {"fi": "Kumppanuusfoorumit"}},
            {"key": "o_news", "label": {"fi": "Yhdistysten uutiskirje"}},
            {"key": "o_grants", "label": {"fi": "Avustukset"}},
            {"key": "o_rooms", "label": {"fi": "Tilat"}},
        ],
    },
    {
        "key": "q_rating",
        "type": "rating",
        "label": {"fi": "Kuinka selkeä luonnos on?", "en": "How clear is the draft?"},
    },
]


def make_user(session: Session, *, role: str = "coordinator", email: str | None = None) -> User:
    user = User(
        email=email or f"staff-{secrets.token_hex(4)}@example.org",
        name="Kaisa Koordinaattori",
        role=role,
        password_hash="!",  # cannot log in; these users only own rows
    )
    session.add(user)
    session.flush()
    return user


def make_round(
    session: Session,
    *,
    now: dt.datetime,
    sections: int | list[str] = 3,
    state: str = "closed",
    title: str = "Yhdistysyhteistyön ohjelma 2026",
    creator_id: int | None = None,
    with_form: bool = True,
) -> Round:
    """A round on a new draft with `sections` sections; `state` sets its times around `now`."""
    if creator_id is None:
        creator_id = make_user(session).id
    draft = Draft(title="Yhdistysyhteistyön ohjelma", created_at=now, created_by_id=creator_id)
    version = DraftVersion(draft=draft, number=1, source_format="markdown", created_at=now)
    headings = (
        sections
        if isinstance(sections, list)
        else [f"{n}. Luku numero {n}" for n in range(1, sections + 1)]
    )
    for position, heading in enumerate(headings):
        version.sections.append(
            Section(
                position=position,
                heading=heading,
                anchor=f"luku-{position + 1}",
                body_html="<p>Teksti.</p>",
            )
        )
    session.add(draft)
    session.flush()
    opens, closes = {
        "closed": (now - dt.timedelta(days=30), now - dt.timedelta(days=1)),
        "open": (now - dt.timedelta(days=1), now + dt.timedelta(days=13)),
        "upcoming": (now + dt.timedelta(days=1), now + dt.timedelta(days=15)),
    }[state]
    form_id = None
    if with_form:
        form = FormDefinition(
            title="Yleiset kysymykset",
            schema=engine.validate_schema({"version": 1, "questions": QUESTIONS}),
            owner_id=creator_id,
            created_at=now,
            updated_at=now,
        )
        session.add(form)
        session.flush()
        form_id = form.id
    round_ = Round(
        title=title,
        slug=secrets.token_urlsafe(8),
        draft_version_id=version.id,
        opens_at=opens,
        closes_at=closes,
        form_id=form_id,
        created_at=now,
        created_by_id=creator_id,
    )
    session.add(round_)
    session.flush()
    return round_


def sections_of(session: Session, round_: Round) -> list[Section]:
    return list(session.get(DraftVersion, round_.draft_version_id).sections)


def make_association(session: Session, name: str, email: str = "") -> Association:
    association = Association(name=name, email=email, search_text=name.casefold())
    session.add(association)
    session.flush()
    return association


def invite(session: Session, round_: Round, association: Association, now: dt.datetime) -> None:
    session.add(Invitation(round_id=round_.id, association_id=association.id, invited_at=now))
    session.flush()


def add_participant(
    session: Session,
    round_: Round,
    *,
    name: str,
    email: str,
    now: dt.datetime,
    language: str = "fi",
    association: Association | None = None,
    name_public: bool = False,
    answers: dict[str, Any] | None = None,
) -> Participant:
    response_id = None
    if answers is not None and round_.form_id is not None:
        response = FormResponse(
            form_id=round_.form_id, answers=answers, schema_version=1, submitted_at=now
        )
        session.add(response)
        session.flush()
        response_id = response.id
    participant = Participant(
        round_id=round_.id,
        name=name,
        email=email,
        language=language,
        association_id=association.id if association else None,
        name_public=name_public,
        response_id=response_id,
        created_at=now,
    )
    session.add(participant)
    session.flush()
    return participant


def add_comment(
    session: Session,
    participant: Participant,
    body: str,
    *,
    now: dt.datetime,
    section: Section | None = None,
    decision: str | None = None,
    reason: str = "",
    hidden: bool = False,
    withdrawn: bool = False,
) -> Comment:
    comment = Comment(
        round_id=participant.round_id,
        section_id=section.id if section else None,
        participant_id=participant.id,
        body=body,
        submission_key=secrets.token_hex(16),
        created_at=now,
        updated_at=now,
        hidden_at=now if hidden else None,
        hidden_reason="asiaton" if hidden else "",
        withdrawn_at=now if withdrawn else None,
        decision=decision,
        decision_reason=reason,
        decided_at=now if decision else None,
    )
    session.add(comment)
    session.flush()
    return comment


def fill_round(
    session: Session,
    round_: Round,
    *,
    now: dt.datetime,
    comments: int,
    participants: int,
    associations: int = 20,
) -> None:
    """A big round for benchmarks: `comments` comments of `participants` people, decided."""
    import random

    rng = random.Random(7)
    sections = sections_of(session, round_)
    assocs = [
        make_association(session, f"Yhdistys {n} ry", f"yhdistys{n}@example.org")
        for n in range(associations)
    ]
    for association in assocs:
        invite(session, round_, association, now)
    people = []
    for n in range(participants):
        association = assocs[n % len(assocs)] if n % 3 else None
        people.append(
            add_participant(
                session,
                round_,
                name=f"Osallistuja {n}",
                email=f"osallistuja{n}@example.org",
                now=now,
                association=association,
                name_public=n % 5 == 0,
                answers={
                    "q_matters": f"Vastaus {n}: yhteistyö ja tilat ovat tärkeimpiä.",
                    "q_missing": bool(n % 2),
                    "q_forms": ["o_forum", "o_grants"] if n % 2 else ["o_rooms"],
                    "q_rating": 1 + n % 5,
                },
            )
        )
    text = "yhdistykset tarvitsevat tiloja ja avustuksia sekä selkeät yhteyshenkilöt kaupungin "
    text += "eri toimialoille jotta yhteistyö sujuu ja tieto kulkee molempiin suuntiin"
    words = text.split(" ")
    decisions = ["taken", "partly", "not_taken", "noted"]
    for n in range(comments):
        body = " ".join(rng.choice(words) for _ in range(rng.randint(25, 90))).capitalize() + "."
        add_comment(
            session,
            people[n % len(people)],
            body,
            now=now,
            section=sections[n % len(sections)],
            decision=decisions[n % 4],
            reason=" ".join(rng.choice(words) for _ in range(rng.randint(8, 30))).capitalize()
            + ".",
        )
