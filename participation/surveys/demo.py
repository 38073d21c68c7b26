"""Demo surveys for the invented municipality Esimerkkilä: the partnership forum's survey on its
seven structures of cooperation ("pick the three most important") with about 150 answers, some
typed in from paper, its results published (page and PDF); and the feedback survey of the past
workshop (made by events.demo) with a dozen answers, its results published.

Every text here is invented. Answers go through surveys.services.submit_answer, so they are
checked and stored as real ones are (anonymous: the day only). Surveys are found by slug, so a
second run adds nothing; demo data sends nothing, so any mail queued here is dropped.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from participation.accounts import services as accounts
from participation.demo import DEMO_COORDINATOR
from participation.events.demo import WORKSHOP_SLUG
from participation.events.models import Event
from participation.formbuilder import services as formbuilder
from participation.formbuilder.models import PAPER, WEB, FormDefinition
from participation.mail.models import OutboxMessage
from participation.register.models import Category
from participation.surveys import digest, results, services
from participation.surveys.models import Survey, SurveyAnswer

FORUM_SLUG = "kumppanuusfoorumin-rakenteet-demo"
FEEDBACK_SLUG = "tyopajan-palaute-demo"
FORUM_ANSWERS = 152
PAPER_EVERY = 5  # every fifth forum answer came on paper
FEEDBACK_ANSWERS = 12

# The forum's seven structures of cooperation, with how often each is picked among the three.
STRUCTURES = (
    ("Kumppanuusfoorumit kahdesti vuodessa", 0.50),
    ("Yhdistysten uutiskirje", 0.32),
    ("Yhdistysagentit kaupungin toimialoilla", 0.27),
    ("Yhdistysavustukset ja niiden hakuneuvonta", 0.68),
    ("Vapaaehtoistoiminnan koordinointi", 0.24),
    ("Kaupungin tilat yhdistysten käyttöön", 0.61),
    ("Kaupungin yhdistysyhteistyön koordinaattori", 0.38),
)
FORUM_TEXTS = (
    "Avustusten hakuaika on liian lyhyt pienelle yhdistykselle, jossa kaikki tehdään talkoilla.",
    "Foorumeissa on hyvä tavata muita yhdistyksiä. Toivoisin niitä myös iltaisin kylillä.",
    "Tilojen varaaminen pitäisi saada yhteen paikkaan verkossa.",
    "Uutiskirje on hyvä, mutta se tulee liian harvoin.",
    "Yhdistysagentti auttoi meitä löytämään oikean ihmisen kaupungilta. Kiitos!",
    "Vapaaehtoisia on vaikea löytää. Yhteinen vapaaehtoispankki auttaisi.",
    "Koulujen liikuntasalien iltavuorot ovat meille kaikkein tärkein asia.",
    "Koordinaattorin yhteystiedot voisivat näkyä paremmin kaupungin sivuilla.",
    "Avustuspäätökset tulevat niin myöhään, että toiminnan suunnittelu on hankalaa.",
    "Hyvä, että tällainen kysely tehtiin.",
    "Kylätalon vuokra on noussut, ja se vie ison osan avustuksesta.",
    "Foorumin aineistot voisi jakaa etukäteen, niin ehtisi keskustella hallituksessa.",
    "Toivomme ruotsinkielistä tiedotusta myös uutiskirjeeseen.",
    "Nuorisoyhdistyksille oma tapaaminen olisi hyvä lisä.",
)
# A text that names someone is hidden from the public results (with the reason staff see).
HIDDEN_TEXT = "Soittakaa puheenjohtajallemme Kyllikki Esimerkkiselle, numero 040 000 0000."

FEEDBACK_PARTS = (
    "Somekanavien vertailu",
    "Tapahtumakalenteriin ilmoittaminen",
    "Kuvien ja tekstien tekeminen puhelimella",
)
FEEDBACK_TEXTS = (
    "Lisää aikaa harjoitella omalla puhelimella.",
    "Seuraavaksi uutiskirjeen tekemisestä.",
    "Hyvä työpaja, selkeät esimerkit.",
    "Saavutettavuudesta somessa voisi olla oma osio.",
    "Kahvitarjoilu oli mukava yllätys.",
)


def _at(start: dt.datetime, end: dt.datetime, index: int, count: int) -> dt.datetime:
    """Answers spread over the open time, a little after each other."""
    span = (end - start) * 0.9
    return start + dt.timedelta(hours=1) + span * index / max(count, 1)


def _keys(session: Session, survey: Survey) -> list[dict[str, Any]]:
    form = session.get(FormDefinition, survey.form_id)
    assert form is not None
    return form.questions


def _survey(
    session: Session,
    *,
    slug: str,
    title: str,
    welcome: str,
    opens: dt.datetime,
    closes: dt.datetime,
    questions: list[dict[str, Any]],
    owner_id: int,
    follows: str = "",
) -> Survey:
    survey = services.create_survey(
        session,
        {
            "title": title,
            "welcome": welcome,
            "thank_you": "Kiitos vastauksestasi! Kerromme tuloksista yhdistyksille.",
            "opens_at": opens,
            "closes_at": closes,
            "anonymous": True,
            "public_link": True,
            "follows": follows,
        },
        staff_user_id=owner_id,
        now=opens - dt.timedelta(days=2),
    )
    survey.slug = slug
    form = services.survey_form(session, survey)
    for spec in questions:
        formbuilder.add_question(session, form, spec, now=opens - dt.timedelta(days=2))
    session.flush()
    return survey


def _submit(
    session: Session,
    survey: Survey,
    answers: dict[str, Any],
    *,
    key: str,
    at: dt.datetime,
    source: str,
    owner_id: int,
    category_id: int | None,
) -> SurveyAnswer:
    return services.submit_answer(
        session,
        survey.id,
        answers,
        now=at,
        submission_key=key,
        source=source,
        entered_by_id=owner_id if source == PAPER else None,
        category_id=category_id,
    )


def _forum(session: Session, owner_id: int, now: dt.datetime) -> int:
    opens = now - dt.timedelta(days=45)
    closes = now - dt.timedelta(days=12)
    survey = _survey(
        session,
        slug=FORUM_SLUG,
        title="Kumppanuusfoorumi: mitkä yhteistyön rakenteet ovat tärkeimmät?",
        welcome=(
            "Esimerkkilän kaupunki ja yhdistykset ovat rakentaneet yhteistyölle seitsemän "
            "rakennetta. Kerro, mitkä kolme niistä ovat yhdistyksellesi tärkeimmät, niin "
            "tiedämme, mihin panostaa ensi vuonna. Vastaaminen vie noin kolme minuuttia, ja "
            "vastaukset käsitellään nimettöminä."
        ),
        opens=opens,
        closes=closes,
        questions=[
            {
                "question_type": "multiple_choice",
                "label_fi": "Mitkä kolme rakennetta ovat yhdistyksellesi tärkeimmät?",
                "options_fi": "\n".join(name for name, _weight in STRUCTURES),
                "min_choices": 1,
                "max_choices": 3,
                "required": True,
            },
            {
                "question_type": "rating",
                "label_fi": "Kuinka hyvin yhteistyö kaupungin kanssa toimii nyt?",
                "scale_min": 1,
                "scale_max": 5,
                "min_label_fi": "Huonosti",
                "max_label_fi": "Erinomaisesti",
            },
            {
                "question_type": "yes_no",
                "label_fi": "Osallistuiko yhdistyksesi kumppanuusfoorumiin viimeisen vuoden aikana?",
            },
            {
                "question_type": "long_text",
                "label_fi": "Mitä muuta haluat sanoa yhdistysten ja kaupungin yhteistyöstä?",
                "max_length": 2000,
            },
        ],
        owner_id=owner_id,
    )
    choose, rating, attended, free = (q["key"] for q in _keys(session, survey))
    options = [o["key"] for o in _keys(session, survey)[0]["options"]]
    categories = list(session.scalars(select(Category.id).order_by(Category.position)))
    rng = random.Random(2026)  # the same demo every time
    hidden_answer: SurveyAnswer | None = None
    for index in range(FORUM_ANSWERS):
        weights = [w for _name, w in STRUCTURES]
        picked: list[str] = []
        how_many = 3 if index % 9 else 2
        while len(picked) < how_many:
            option = rng.choices(options, weights=weights)[0]
            if option not in picked:
                picked.append(option)
        answers: dict[str, Any] = {choose: picked}
        if index % 11 != 10:
            answers[rating] = rng.choices([1, 2, 3, 4, 5], weights=[1, 3, 6, 7, 3])[0]
        answers[attended] = rng.random() < 0.45
        if index % 11 == 0:
            answers[free] = FORUM_TEXTS[(index // 11) % len(FORUM_TEXTS)]
        if index == 40:
            answers[free] = HIDDEN_TEXT
        source = PAPER if index % PAPER_EVERY == PAPER_EVERY - 1 else WEB
        answer = _submit(
            session,
            survey,
            answers,
            key=f"demo-forum-answer-{index:04d}",
            at=_at(opens, closes, index, FORUM_ANSWERS),
            source=source,
            owner_id=owner_id,
            category_id=categories[index % len(categories)] if categories and index % 4 else None,
        )
        if index == 40:
            hidden_answer = answer
    if hidden_answer is not None:
        results.hide_text(
            session,
            survey,
            hidden_answer.id,
            free,
            reason="Vastauksessa on henkilön nimi ja puhelinnumero.",
            staff_user_id=owner_id,
            now=closes + dt.timedelta(days=1),
        )
    results.publish_results(session, survey, now=closes + dt.timedelta(days=2))
    # The results PDF, published as well; the worker renders it when it starts.
    digest.publish_results_digest(
        session, survey.id, now=closes + dt.timedelta(days=2), staff_user_id=owner_id
    )
    return 1 + FORUM_ANSWERS


def _feedback(session: Session, owner_id: int, now: dt.datetime) -> int:
    event = session.scalar(select(Event).where(Event.slug == WORKSHOP_SLUG))
    if event is None:
        return 0
    opens = event.ends_at
    closes = event.ends_at + dt.timedelta(days=14)
    survey = _survey(
        session,
        slug=FEEDBACK_SLUG,
        title="Palautekysely: yhdistyksen viestinnän työpaja",
        welcome="Kiitos, että osallistuit työpajaan! Kerro, mikä toimi ja mitä toivoisit ensi kerralla.",
        opens=opens,
        closes=closes,
        questions=[
            {
                "question_type": "rating",
                "label_fi": "Kuinka hyödyllinen työpaja oli?",
                "scale_min": 1,
                "scale_max": 5,
                "min_label_fi": "Ei lainkaan",
                "max_label_fi": "Erittäin",
                "required": True,
            },
            {
                "question_type": "single_choice",
                "label_fi": "Mikä osio oli sinulle hyödyllisin?",
                "options_fi": "\n".join(FEEDBACK_PARTS),
            },
            {
                "question_type": "yes_no",
                "label_fi": "Suosittelisitko työpajaa muille yhdistyksille?",
            },
            {
                "question_type": "long_text",
                "label_fi": "Mitä toivoisit seuraavaan työpajaan?",
                "max_length": 2000,
            },
        ],
        owner_id=owner_id,
        follows=f"event:{event.id}",
    )
    rating, part, recommend, wish = (q["key"] for q in _keys(session, survey))
    parts = [o["key"] for o in _keys(session, survey)[1]["options"]]
    ratings = (5, 4, 4, 5, 3, 4, 5, 4, 2, 4, 5, 4)
    for index in range(FEEDBACK_ANSWERS):
        answers: dict[str, Any] = {
            rating: ratings[index % len(ratings)],
            part: parts[(index * 2) % len(parts)],
            recommend: index % 7 != 3,
        }
        if index % 3 == 0:
            answers[wish] = FEEDBACK_TEXTS[(index // 3) % len(FEEDBACK_TEXTS)]
        _submit(
            session,
            survey,
            answers,
            key=f"demo-feedback-answer-{index:04d}",
            at=_at(opens, closes, index, FEEDBACK_ANSWERS),
            source=WEB,
            owner_id=owner_id,
            category_id=None,
        )
    results.publish_results(session, survey, now=closes + dt.timedelta(days=1))
    return 1 + FEEDBACK_ANSWERS


def load_demo(session: Session, *, now: dt.datetime) -> int:
    coordinator = accounts.find_user_by_email(session, DEMO_COORDINATOR)
    if coordinator is None:
        return 0
    existing = set(
        session.scalars(select(Survey.slug).where(Survey.slug.in_([FORUM_SLUG, FEEDBACK_SLUG])))
    )
    last_mail = session.scalar(select(func.max(OutboxMessage.id))) or 0
    added = 0
    if FORUM_SLUG not in existing:
        added += _forum(session, coordinator.id, now)
    if FEEDBACK_SLUG not in existing:
        added += _feedback(session, coordinator.id, now)
    # Demo data sends nothing: whatever was queued here is dropped.
    session.execute(delete(OutboxMessage).where(OutboxMessage.id > last_mail))
    session.flush()
    return added
