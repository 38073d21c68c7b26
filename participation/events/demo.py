"""Demo events for the invented municipality Esimerkkilä: an association evening in about three
weeks, a partnership forum with five breakout groups (two of them full, with a waitlist), and a
workshop a month ago with attendance marked.

Every name and address is invented (example.fi reaches no one). Registrations go through the
registration service, so seats, the waitlist and the answers are what the real rules give; the
mails it queues are removed, as demo data sends nothing. Events are found by slug, so a second
run adds nothing.
"""

from __future__ import annotations

import datetime as dt
from itertools import cycle
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from participation.accounts import services as accounts
from participation.demo import DEMO_CONTACT, DEMO_COORDINATOR
from participation.events import services
from participation.events.models import Event, EventGroup, Registration
from participation.events.setup import add_default_questions
from participation.formbuilder.models import FormDefinition
from participation.mail.models import OutboxMessage
from participation.register.models import Association

HELSINKI = ZoneInfo("Europe/Helsinki")
EVENING_SLUG = "yhdistysilta-kumppanuusfoorumi-demo"
WORKSHOP_SLUG = "tyopaja-yhdistysten-viestinta-demo"

# name, facilitator
GROUPS = (
    ("Kulttuuri ja tapahtumat", "Sirkku Vainio"),
    ("Liikunta ja ulkoilu", "Arttu Keränen"),
    ("Sosiaali- ja terveysala", "Merja Holmström"),
    ("Lapset, nuoret ja perheet", "Teemu Rinne"),
    ("Kylät ja asuinalueet", "Leena Kotilainen"),
)
# How many register for each group, in this order; the first two groups take 8 and have more.
EVENING_SIGNUPS = (10, 10, 5, 4, 3)

# Invented people (first name, last name); addresses are made from them.
PEOPLE = (
    ("Aila", "Honkanen"), ("Asko", "Mattila"), ("Elina", "Tuominen"), ("Erkki", "Väisänen"),
    ("Hannele", "Jokela"), ("Harri", "Kauppinen"), ("Irja", "Lampinen"), ("Jouko", "Backman"),
    ("Kaarina", "Seppälä"), ("Kari", "Hyvönen"), ("Kirsi", "Laaksonen"), ("Lasse", "Ahola"),
    ("Marjatta", "Karjalainen"), ("Mikko", "Toivonen"), ("Minna", "Rautiainen"),
    ("Oskari", "Blomqvist"), ("Paula", "Kinnunen"), ("Raimo", "Huttunen"), ("Ritva", "Parviainen"),
    ("Seppo", "Lahtinen"), ("Sirpa", "Kettunen"), ("Tapani", "Hirvonen"), ("Terhi", "Manninen"),
    ("Toni", "Savolainen"), ("Ulla", "Hakala"), ("Veikko", "Pesonen"), ("Virpi", "Lindroos"),
    ("Aleksi", "Nurmi"), ("Eija", "Halonen"), ("Hilkka", "Suominen"), ("Juha", "Koivisto"),
    ("Katja", "Forsman"), ("Matti", "Räsänen"), ("Outi", "Heikkilä"), ("Pasi", "Anttila"),
    ("Reija", "Grönlund"), ("Sakari", "Korhonen"), ("Tiina", "Mäkinen"), ("Vesa", "Pulkkinen"),
    ("Anu", "Eskola"), ("Jorma", "Tikkanen"), ("Pirkko", "Wikström"), ("Rasmus", "Hellberg"),
    ("Satu", "Leinonen"), ("Tuomas", "Rissanen"), ("Helena", "Sundqvist"), ("Arto", "Kemppainen"),
)  # fmt: skip
DIETS = ("", "", "gluteeniton", "", "laktoositon", "", "", "kasvis", "", "vegaaninen")
NEEDS = {
    3: "Tulen pyörätuolilla, tarvitsen esteettömän paikan.",
    11: "Tarvitsen induktiosilmukan.",
}


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=HELSINKI).astimezone(dt.UTC)


def _address(first: str, last: str) -> str:
    folded = f"{first}.{last}".lower()
    for a, b in (("ä", "a"), ("ö", "o"), ("å", "a"), ("é", "e")):
        folded = folded.replace(a, b)
    return f"{folded}@example.fi"


def _answers(session: Session, event: Event, index: int) -> dict[str, Any]:
    """Coffee for most, a diet for some, an accessibility need for two."""
    form = session.get(FormDefinition, event.form_id) if event.form_id else None
    if form is None:
        return {}
    keys = [q["key"] for q in form.questions if q["type"] != "info"]
    coffee, diet, needs = (keys + [None, None, None])[:3]
    answers: dict[str, Any] = {}
    if coffee:
        answers[coffee] = "no" if index % 6 == 5 else "yes"
    if diet and DIETS[index % len(DIETS)]:
        answers[diet] = DIETS[index % len(DIETS)]
    if needs and index in NEEDS:
        answers[needs] = NEEDS[index]
    return answers


def _event(
    session: Session,
    *,
    slug: str,
    kind: str,
    title: str,
    description: str,
    starts: dt.datetime,
    ends: dt.datetime,
    capacity: int | None,
    opens: dt.datetime,
    closes: dt.datetime,
    groups: tuple[tuple[str, str], ...],
    group_capacity: int | None,
    owner_id: int,
) -> Event:
    event = Event(
        kind=kind,
        title=title,
        slug=slug,
        description=description,
        starts_at=starts,
        ends_at=ends,
        place="Esimerkkilän kaupungintalo, valtuustosali, Torikatu 1",
        accessibility=(
            "Esteetön sisäänkäynti Torikadun puolelta, hissi toiseen kerrokseen. Salissa on "
            "induktiosilmukka. Pysäköinti talon takana."
        ),
        capacity=capacity,
        registration_opens_at=opens,
        registration_closes_at=closes,
        organiser_email=DEMO_COORDINATOR,
        notify_cancellations=True,
        reminder_days=2,
        feedback_url="https://palaute.esimerkkila.example/yhdistykset",
        published_at=opens,
        created_by_id=owner_id,
        created_at=opens - dt.timedelta(days=3),
        updated_at=opens - dt.timedelta(days=3),
    )
    for position, (name, facilitator) in enumerate(groups):
        event.groups.append(
            EventGroup(
                name=name, capacity=group_capacity, facilitator=facilitator, position=position
            )
        )
    session.add(event)
    session.flush()
    add_default_questions(session, event, owner_id=owner_id, now=event.created_at)
    return event


def _register(
    session: Session,
    event: Event,
    person: tuple[str, str],
    *,
    index: int,
    group: EventGroup | None,
    association_id: int | None,
    at: dt.datetime,
) -> Registration:
    first, last = person
    outcome = services.register(
        session,
        event.id,
        services.RegistrationInput(
            name=f"{first} {last}",
            email=_address(first, last),
            association_id=association_id,
            group_id=group.id if group else None,
            answers=_answers(session, event, index),
            name_public=index % 3 != 2,
            consent=True,
            submission_key=f"demo-{event.id}-{index:03d}-registration",
        ),
        now=at,
        manage_url=services.manage_link_url,
    )
    return outcome.registration


def _associations(session: Session) -> list[int | None]:
    ids: list[int | None] = list(
        session.scalars(
            select(Association.id)
            .where(Association.active.is_(True), Association.merged_into_id.is_(None))
            .order_by(Association.id)
        )
    )
    # Every fourth person comes as a resident, without an association.
    return [None, *ids[:3], None, *ids[3:]] if ids else [None]


def _evening(session: Session, owner_id: int, now: dt.datetime) -> int:
    day = (now + dt.timedelta(days=21)).astimezone(HELSINKI).date()
    opens = now - dt.timedelta(days=10)
    event = _event(
        session,
        slug=EVENING_SLUG,
        kind="partnership_forum",
        title="Yhdistysilta: kumppanuusfoorumi",
        description=(
            "Kevään yhdistysillassa kaupunki ja yhdistykset suunnittelevat yhdessä tulevan vuoden "
            "yhteistyötä. Illan aluksi kuullaan ajankohtaiset asiat avustuksista ja tiloista, "
            "minkä jälkeen jatketaan viidessä teemaryhmässä. Valitse ilmoittautuessasi ryhmä, "
            "johon haluat osallistua. Tarjolla on kahvia ja iltapalaa."
        ),
        starts=_local(day, 17, 30),
        ends=_local(day, 20, 0),
        capacity=40,
        opens=opens,
        closes=_local(day - dt.timedelta(days=3), 16),
        groups=GROUPS,
        group_capacity=8,
        owner_id=owner_id,
    )
    associations = cycle(_associations(session))
    groups = list(event.groups)
    # Arrivals interleave the groups, as people really register; the full groups fill early.
    order = [
        g for round_ in range(max(EVENING_SIGNUPS)) for g in range(5) if round_ < EVENING_SIGNUPS[g]
    ]
    start = opens + dt.timedelta(hours=2)
    for index, group_index in enumerate(order):
        _register(
            session,
            event,
            PEOPLE[index],
            index=index,
            group=groups[group_index],
            association_id=next(associations),
            at=start + dt.timedelta(hours=6 * index + 1),
        )
    return 1 + len(GROUPS) + len(order)


def _workshop(session: Session, owner_id: int, now: dt.datetime) -> int:
    day = (now - dt.timedelta(days=30)).astimezone(HELSINKI).date()
    opens = now - dt.timedelta(days=50)
    starts = _local(day, 17)
    event = _event(
        session,
        slug=WORKSHOP_SLUG,
        kind="workshop",
        title="Työpaja: yhdistyksen viestintä ja somekanavat",
        description=(
            "Käytännön työpaja yhdistysten tiedottajille: miten tavoitat uudet jäsenet, mitä "
            "kannattaa julkaista ja miten tapahtuman saa kaupungin tapahtumakalenteriin. Ota "
            "oma puhelin tai kannettava mukaan."
        ),
        starts=starts,
        ends=_local(day, 19, 30),
        capacity=20,
        opens=opens,
        closes=_local(day - dt.timedelta(days=2), 16),
        groups=(),
        group_capacity=None,
        owner_id=owner_id,
    )
    associations = cycle(_associations(session)[3:] or [None])
    count = 15
    registrations = [
        _register(
            session,
            event,
            PEOPLE[-1 - index],
            index=index,
            group=None,
            association_id=next(associations),
            at=opens + dt.timedelta(days=1, hours=9 * index),
        )
        for index in range(count)
    ]
    # Twelve came (ticked at the door), three did not; one more came without registering.
    for index, registration in enumerate(registrations):
        if index % 5 != 4:
            services.mark_attended(
                session, registration.id, True, now=starts - dt.timedelta(minutes=10 - index % 7)
            )
    services.add_walk_in(
        session,
        event.id,
        name="Kalevi Ahlroth",
        email="",
        now=starts + dt.timedelta(minutes=5),
    )
    # The reminder and thank-you went out at the time; the worker must not send them now.
    for registration in session.scalars(
        select(Registration).where(Registration.event_id == event.id)
    ):
        registration.reminded_at = starts - dt.timedelta(days=2)
        registration.thanked_at = event.ends_at + dt.timedelta(hours=14)
    session.flush()
    return 1 + count + 1


def load_demo(session: Session, *, now: dt.datetime) -> int:
    if session.scalar(select(Event.id).where(Event.slug.in_([EVENING_SLUG, WORKSHOP_SLUG]))):
        return 0
    coordinator = accounts.find_user_by_email(session, DEMO_COORDINATOR)
    if coordinator is None:
        return 0
    last_mail = session.scalar(select(func.max(OutboxMessage.id))) or 0
    services.ensure_event_consent_text(session, now - dt.timedelta(days=60))
    # The past workshop is the contact person's own (a department's event): signed in as the
    # demo contact person one sees it, and only it.
    contact = accounts.find_user_by_email(session, DEMO_CONTACT)
    added = _workshop(session, (contact or coordinator).id, now)
    added += _evening(session, coordinator.id, now)
    # Demo data sends nothing: the confirmations the service queued are dropped.
    session.execute(delete(OutboxMessage).where(OutboxMessage.id > last_mail))
    session.flush()
    return added
