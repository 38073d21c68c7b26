"""The demo's association evening content for the invented municipality Esimerkkilä.

The past workshop (events demo) gets three breakout groups, a programme, four workshop
questions, theme ideas with votes, the notes of two facilitators per group, a live vote that
fifteen phones answered, and a published summary with its figures recorded; its PDF is left for
the worker to render when it starts, as the comment round's digest is. The upcoming evening gets
a programme, the workshop questions and theme ideas open for votes.

Every name is invented. Each part is skipped when its event already has workshop questions, so
a second run adds nothing. Demo data sends nothing: mails queued here are removed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from participation.evenings.models import (
    GroupNote,
    ProgrammeItem,
    Theme,
    ThemeVote,
    WorkshopQuestion,
)
from participation.events.models import Event, EventGroup
from participation.mail.models import OutboxMessage
from participation.register.models import Association

HELSINKI = ZoneInfo("Europe/Helsinki")

# --- the past workshop ---------------------------------------------------------------------------

WORKSHOP_GROUPS = (
    ("Somekanavat", "Noora Lehtola"),
    ("Uudet jäsenet", "Ilkka Saarinen"),
    ("Tapahtumaviestintä", "Maija Ollikainen"),
)
WORKSHOP_PROGRAMME = (
    (17, 0, "Tervetuloa ja illan kulku", "Yrjö Yhteyshenkilö"),
    (17, 15, "Miten yhdistykset tavoittavat ihmiset nyt? Kyselyn tulokset", "Noora Lehtola"),
    (17, 45, "Työskentely kolmessa ryhmässä", ""),
    (18, 50, "Ryhmien purku ja äänestys tärkeimmistä", ""),
    (19, 20, "Miten tästä eteenpäin", "Yrjö Yhteyshenkilö"),
)
WORKSHOP_QUESTIONS = (
    "Mikä yhdistyksesi viestinnässä toimii jo hyvin?",
    "Mikä viestinnässä on vaikeinta?",
    "Mitä yhdistykset voisivat tehdä yhdessä?",
    "Miten kaupunki voisi auttaa?",
)
# (title, description, handled, votes)
WORKSHOP_THEMES = (
    ("Yhteinen tapahtumakalenteri", "Kaikkien yhdistysten tapahtumat yhteen paikkaan.", True, 14),
    ("Somekoulutus vapaaehtoisille", "Lyhyitä iltakoulutuksia some-päivittäjille.", True, 11),
    ("Kuvapankki yhdistysten käyttöön", "Vapaasti käytettäviä kuvia kaupungin tiloista.", False, 6),
    ("Uutiskirjeen yhdistyspalsta", "Kaupungin uutiskirjeeseen oma osio yhdistyksille.", True, 9),
)
# NOTES[group][question] = (first facilitator's note, second facilitator's note)
NOTES = (
    (
        (
            "Facebook-ryhmä tavoittaa nykyiset jäsenet hyvin.\nTapahtumakuvat saavat eniten "
            "reaktioita.",
            "Instagram toimii nuorempien kanssa, jos päivittäjiä on useampi.",
        ),
        (
            "Päivittäjä väsyy, kun kaikki on yhden ihmisen varassa.",
            "Algoritmit muuttuvat: julkaisut eivät näy kaikille seuraajille.",
        ),
        (
            "Yhteinen sisältökalenteri ja vuorottelu päivittämisessä.",
            "Jaetaan toistemme tapahtumia: sovitaan yhteinen tunniste.",
        ),
        (
            "Somekoulutus kerran keväällä ja syksyllä.",
            "Kaupungin kanavat voisivat jakaa yhdistysten tapahtumia.",
        ),
    ),
    (
        (
            "Henkilökohtainen kutsu kaverilta toimii parhaiten.",
            "Avoimet harjoitukset ja kokeilupäivät tuovat uusia.",
        ),
        (
            "Uudet eivät tiedä, mitä jäsenyys tarkoittaa ja maksaa.",
            "Nettisivut ovat vanhentuneet, eikä kukaan ehdi päivittää niitä.",
        ),
        (
            "Yhteinen esittelypäivä kirjastolla syyskuussa.",
            "Esite, jossa kaikki alueen yhdistykset lyhyesti.",
        ),
        (
            "Tilat maksutta esittelypäivään.",
            "Uusien asukkaiden tervetuliaispakettiin yhdistysesite.",
        ),
    ),
    (
        (
            "Paikallislehden menovinkit toimivat yhä.",
            "Ilmoitustaulut kaupoissa tavoittavat iäkkäät.",
        ),
        (
            "Tapahtuman saaminen kaupungin tapahtumakalenteriin on hankalaa.",
            "Tiedote pitäisi lähettää monta viikkoa etukäteen, mutta suunnitelmat elävät.",
        ),
        (
            "Yhteinen tapahtumakalenteri, johon jokainen lisää omansa.",
            "Yhteiset julisteet isoista tapahtumista.",
        ),
        (
            "Tapahtumakalenterin lomake helpommaksi.",
            "Kaupungin näyttöihin yhdistysten tapahtumia.",
        ),
    ),
)
VOTE_QUESTION = "Valitse kolme tärkeintä"
VOTE_OPTIONS = (
    "Yhteinen tapahtumakalenteri",
    "Somekoulutus vapaaehtoisille",
    "Uutiskirjeen yhdistyspalsta",
    "Yhteinen esittelypäivä",
    "Kuvapankki",
)
# Each phone's choices (indexes into VOTE_OPTIONS): fifteen phones.
VOTE_CHOICES = (
    (0, 1, 3), (0, 1, 3), (0, 3, 4), (0, 1), (0, 2, 3), (1, 3), (0, 1, 4), (0, 3),
    (1, 2, 3), (0, 1, 3), (0,), (0, 2, 4), (1, 3), (0, 1, 2), (3, 4),
)  # fmt: skip
SUMMARY_INTRO = (
    "Työpajaan osallistui yhdistysten tiedottajia ja puheenjohtajia. Ryhmät pohtivat, mikä "
    "viestinnässä toimii ja missä tarvitaan apua. Alla on ryhmien muistiinpanot ja illan "
    "äänestyksen tulos.\n\n"
)
NEXT_STEPS = (
    "- Kaupunki selvittää **yhteisen tapahtumakalenterin** toteutuksen ja kertoo tuloksista "
    "seuraavassa yhdistysillassa.\n"
    "- Ensimmäinen **somekoulutus** järjestetään syksyllä; ilmoittautuminen avataan "
    "uutiskirjeessä.\n"
    "- Kaupungin uutiskirjeeseen tulee kokeiluna oma **yhdistyspalsta**.\n"
)

# --- the upcoming evening ------------------------------------------------------------------------

EVENING_PROGRAMME = (
    (17, 30, "Kahvi ja tervetuloa", ""),
    (17, 45, "Ajankohtaista avustuksista ja tiloista", "Kaisa Koordinaattori"),
    (18, 15, "Työskentely teemaryhmissä", ""),
    (19, 30, "Ryhmien tulokset ja äänestys", ""),
    (19, 50, "Yhteenveto ja seuraavat askeleet", "Kaisa Koordinaattori"),
)
EVENING_QUESTIONS = (
    "Mikä yhdistysten ja kaupungin yhteistyössä toimii jo hyvin?",
    "Mitä pitäisi muuttaa, ja miksi?",
    "Mitä yhdistykset voisivat tehdä yhdessä?",
    "Mitä yhdistykset tarvitsevat kaupungilta?",
    "Mitä tehdään ensin, ja kuka vie asiaa eteenpäin?",
)
EVENING_THEMES = (
    ("Avustusten haku selkeämmäksi", "Yksi lomake ja selkeät aikataulut kaikille avustuksille.", 7),
    ("Yhteinen vuosikello", "Yhdistysten ja kaupungin tapahtumat samaan vuosikalenteriin.", 5),
    ("Kokoontumistilat iltaisin", "Koulujen ja kirjastojen tilat yhdistysten käyttöön.", 9),
    ("Hyvinvointikertomus", "Miten yhdistysten työ näkyy hyvinvointikertomuksessa?", 2),
)


def _programme(session: Session, event: Event, items: tuple[tuple[int, int, str, str], ...]) -> int:
    for position, (hour, minute, title, speaker) in enumerate(items):
        session.add(
            ProgrammeItem(
                event_id=event.id,
                position=position,
                at=dt.time(hour, minute),
                title=title,
                speaker=speaker,
            )
        )
    return len(items)


def _questions(session: Session, event: Event, texts: tuple[str, ...]) -> list[WorkshopQuestion]:
    added = [
        WorkshopQuestion(event_id=event.id, position=position, text=text)
        for position, text in enumerate(texts)
    ]
    session.add_all(added)
    session.flush()
    return added


def _voter(event: Event, theme_index: int, voter: int) -> str:
    # A browser's key is stored hashed; the demo's "browsers" are numbered.
    return hashlib.sha256(f"demo-{event.slug}-{theme_index}-{voter}".encode()).hexdigest()


def _themes(
    session: Session,
    event: Event,
    themes: tuple[tuple[str, str, bool, int], ...],
    *,
    at: dt.datetime,
) -> int:
    associations = list(
        session.scalars(
            select(Association.id)
            .where(Association.active.is_(True), Association.merged_into_id.is_(None))
            .order_by(Association.id)
            .limit(len(themes))
        )
    )
    added = 0
    for index, (title, description, handled, votes) in enumerate(themes):
        theme = Theme(
            event_id=event.id,
            title=title,
            description=description,
            # Proposed by an association (the last one by staff, with no proposer).
            association_id=associations[index]
            if index < len(associations) and index < len(themes) - 1
            else None,
            submission_key=f"demo-theme-{event.slug}-{index}"[:64],
            created_at=at + dt.timedelta(hours=5 * index),
            handled=handled,
        )
        session.add(theme)
        session.flush()
        for voter in range(votes):
            session.add(
                ThemeVote(
                    theme_id=theme.id,
                    voter_key=_voter(event, index, voter),
                    voted_on=(at + dt.timedelta(days=1 + voter % 5)).astimezone(HELSINKI).date(),
                )
            )
        added += 1 + votes
    return added


def _groups(session: Session, event: Event) -> list[EventGroup]:
    if not event.groups:
        for position, (name, facilitator) in enumerate(WORKSHOP_GROUPS):
            event.groups.append(EventGroup(name=name, facilitator=facilitator, position=position))
        session.flush()
    return list(event.groups)


def _notes(
    session: Session,
    event: Event,
    groups: list[EventGroup],
    questions: list[WorkshopQuestion],
    owner_id: int | None,
) -> int:
    from participation.evenings import notes

    added = 0
    start = event.starts_at + dt.timedelta(minutes=50)
    for g, group in enumerate(groups[: len(NOTES)]):
        facilitator = WORKSHOP_GROUPS[g][1] if g < len(WORKSHOP_GROUPS) else group.name
        for device in range(2):
            link, _token = notes.create_link(
                session,
                event.id,
                group.id,
                label=f"{facilitator} ({device + 1})",
                submission_key=f"demo-link-{event.id}-{group.id}-{device}-facilitator",
                created_by_id=owner_id,
                now=event.starts_at - dt.timedelta(hours=2),
            )
            author_key = hashlib.sha256(f"demo-device-{link.id}".encode()).hexdigest()
            for q, question in enumerate(questions[: len(NOTES[g])]):
                at = start + dt.timedelta(minutes=12 * q + 3 * device)
                session.add(
                    GroupNote(
                        event_id=event.id,
                        group_id=group.id,
                        question_id=question.id,
                        link_id=link.id,
                        author_key=author_key,
                        author_name=facilitator if device == 0 else "",
                        body=NOTES[g][q][device],
                        revision=3 + q,
                        created_at=at,
                        updated_at=at + dt.timedelta(minutes=4),
                    )
                )
                added += 1
            link.last_used_at = start + dt.timedelta(minutes=50)
            added += 1
    session.flush()
    return added


def _vote(session: Session, event: Event, owner_id: int) -> int:
    from participation.evenings import vote

    opened = event.starts_at + dt.timedelta(minutes=110)
    live = vote.create_vote(
        session,
        event,
        question=VOTE_QUESTION,
        options=list(VOTE_OPTIONS),
        max_choices=3,
        second_vote="update",
        staff_user_id=owner_id,
        now=opened - dt.timedelta(minutes=5),
    )
    vote.open_vote(session, live, event, now=opened)
    keys = [o["key"] for o in vote.question_of(session, live)["options"]]
    secret = current_app.config["SECRET_KEY"]
    for index, picks in enumerate(VOTE_CHOICES):
        vote.cast_vote(
            session,
            live.code,
            [keys[i] for i in picks],
            phone=f"demo-phone-{event.id:06d}-{index:03d}",
            secret=secret,
            now=opened + dt.timedelta(seconds=20 + 9 * index),
        )
    vote.close_vote(session, live, now=opened + dt.timedelta(minutes=8))
    return 1 + len(VOTE_CHOICES)


def _summary(session: Session, event: Event, next_event: Event | None, owner_id: int) -> int:
    from participation.evenings import digest, summary
    from participation.surveys.demo import FEEDBACK_SLUG
    from participation.surveys.models import Survey

    survey_id = session.scalar(
        select(Survey.id).where(Survey.slug == FEEDBACK_SLUG, Survey.public_link.is_(True))
    )
    written = event.ends_at + dt.timedelta(days=1)
    summary.save_summary(
        session,
        event,
        {
            "body": SUMMARY_INTRO + summary.prefill(session, event),
            "next_steps": NEXT_STEPS,
            "next_event_id": next_event.id if next_event else None,
            "follow_up_survey_id": survey_id,
            "audience": "all",
            "include_invited": True,
        },
        now=written,
        staff_user_id=owner_id,
    )
    # Published the next day; the worker renders the PDF (and would send) when it starts.
    digest.publish_summary(
        session, event.id, now=written + dt.timedelta(hours=3), staff_user_id=owner_id
    )
    return 2


def _workshop(session: Session, event: Event, next_event: Event | None) -> int:
    owner_id = event.created_by_id
    if owner_id is None:
        return 0
    added = 0
    groups = _groups(session, event)
    added += len(groups)
    added += _programme(session, event, WORKSHOP_PROGRAMME)
    questions = _questions(session, event, WORKSHOP_QUESTIONS)
    added += len(questions)
    added += _themes(
        session, event, WORKSHOP_THEMES, at=event.registration_opens_at + dt.timedelta(days=2)
    )
    added += _notes(session, event, groups, questions, owner_id)
    added += _vote(session, event, owner_id)
    added += _summary(session, event, next_event, owner_id)
    return added


def _evening(session: Session, event: Event) -> int:
    added = _programme(session, event, EVENING_PROGRAMME)
    added += len(_questions(session, event, EVENING_QUESTIONS))
    themes = tuple((title, text, False, votes) for title, text, votes in EVENING_THEMES)
    added += _themes(session, event, themes, at=event.registration_opens_at + dt.timedelta(days=1))
    return added


def _has_questions(session: Session, event: Event) -> bool:
    return bool(
        session.scalar(
            select(func.count(WorkshopQuestion.id)).where(WorkshopQuestion.event_id == event.id)
        )
    )


def load_demo(session: Session, *, now: dt.datetime) -> int:
    from participation.events.demo import EVENING_SLUG, WORKSHOP_SLUG

    events: dict[str, Any] = {
        e.slug: e
        for e in session.scalars(select(Event).where(Event.slug.in_([EVENING_SLUG, WORKSHOP_SLUG])))
    }
    workshop, evening = events.get(WORKSHOP_SLUG), events.get(EVENING_SLUG)
    last_mail = session.scalar(select(func.max(OutboxMessage.id))) or 0
    added = 0
    if evening is not None and not _has_questions(session, evening):
        added += _evening(session, evening)
    if workshop is not None and workshop.ends_at <= now and not _has_questions(session, workshop):
        added += _workshop(session, workshop, evening)
    # Demo data sends nothing: the summary's mails are dropped (the mailing stays, empty).
    session.execute(delete(OutboxMessage).where(OutboxMessage.id > last_mail))
    session.flush()
    return added
