"""Demo comment rounds for the invented municipality Esimerkkilä: the association-cooperation
programme draft, one closed round with about forty answered comments and one open round.

Every text, name and address here is invented (addresses on example.fi, which reaches no one).
Rounds are found by slug and the draft by title, so a second run adds nothing. No mail is queued.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from participation.accounts import services as accounts
from participation.demo import DEMO_COORDINATOR
from participation.digests import services as digests
from participation.formbuilder import services as formbuilder
from participation.privacy import services as privacy
from participation.register import people
from participation.register.models import Association
from participation.rounds import drafts, services
from participation.rounds.models import (
    NOT_TAKEN,
    NOTED,
    PARTLY,
    TAKEN,
    Comment,
    Draft,
    Invitation,
    Participant,
    Round,
)

TITLE = "Esimerkkilän yhdistysyhteistyöohjelma 2027–2030"
CLOSED_SLUG = "yhdistysohjelma-luonnos-2026"
OPEN_SLUG = "yhdistysohjelma-toinen-kierros"

DRAFT = """\
# Johdanto

Tämä luonnos kertoo, miten Esimerkkilän kaupunki ja kaupungissa toimivat yhdistykset tekevät \
yhteistyötä vuosina 2027–2030. Luonnos on kommentoitavana, ja jokainen kommentti saa vastauksen.

# Tausta

Esimerkkilässä toimii noin kaksisataa rekisteröityä yhdistystä. Ne pyörittävät kerhoja, \
liikuntavuoroja, kylätaloja ja vertaisryhmiä, joita kaupunki ei yksin pystyisi järjestämään.

Edellinen ohjelma päättyi vuonna 2024. Sen arvioinnissa yhdistykset toivoivat kolmea asiaa:

- selkeämpää tietoa siitä, kehen kaupungilla voi ottaa yhteyttä
- ennustettavia avustuksia ja hakuaikoja
- kohtuuhintaisia tiloja iltaisin ja viikonloppuisin

# Tarkoitus ja tavoitteet

Ohjelman tarkoitus on tehdä yhteistyöstä **suunnitelmallista ja molemmin puolin hyödyllistä**. \
Tavoitteena on, että

1. jokainen yhdistys tietää, mistä saa apua ja tietoa
2. yhdistysten ääni kuuluu kaupungin päätöksenteossa
3. asukkaiden on helppo löytää itselleen sopivaa toimintaa

Onnistumista seurataan vuosittain: montako yhdistystä osallistuu yhdistysiltoihin, montako \
avustushakemusta tulee ja miten yhdistykset arvioivat yhteistyön sujumista.

# Yhteistyön muodot ja avustukset

Kaupunki järjestää neljä kertaa vuodessa *yhdistysillan*, jossa käsitellään ajankohtaisia \
asioita ja kuullaan yhdistysten ehdotuksia. Jokaisella toimialalla on nimetty yhteyshenkilö.

Avustuksia on kahdenlaisia:

- **toiminta-avustukset** yhdistyksen vakiintuneeseen toimintaan, haku kerran vuodessa tammikuussa
- **kohdeavustukset** yksittäisiin tapahtumiin ja kokeiluihin, haku jatkuvasti

Avustusten myöntöperusteet julkaistaan kaupungin verkkosivuilla ennen hakuajan alkua.

# Tilat

Kaupungin koulut, nuorisotilat ja kirjaston kokoushuoneet ovat yhdistysten käytössä iltaisin. \
Tilat varataan sähköisestä varausjärjestelmästä.

Yleishyödyllisille yhdistyksille tilat ovat maksuttomia arki-iltaisin. Viikonloppuisin \
peritään siivousmaksu.

### Kylätalot

Kylätaloja ylläpitävät kyläyhdistykset voivat hakea kunnossapitoon erillistä avustusta.

# Viestintä

Kaupunki julkaisee yhdistyksille uutiskirjeen kuusi kertaa vuodessa. Uutiskirjeessä kerrotaan \
avustusten hakuajoista, tulevista yhdistysilloista ja kaupungin hankkeista.

Yhdistykset voivat ilmoittaa tapahtumistaan kaupungin yhteisessä tapahtumakalenterissa.

# Vuosikello

| Kuukausi | Mitä tapahtuu |
| --- | --- |
| Tammikuu | Toiminta-avustusten haku |
| Maaliskuu | Kevään yhdistysilta |
| Toukokuu | Vapaaehtoistoiminnan kiitosjuhla |
| Syyskuu | Syksyn yhdistysilta ja yhdistysmessut |
| Marraskuu | Ohjelman vuosiarviointi |
"""

# The second version answers the first round: the premises section gets a new paragraph.
PREMISES_V2 = """\
Kaupungin koulut, nuorisotilat ja kirjaston kokoushuoneet ovat yhdistysten käytössä iltaisin. \
Tilat varataan sähköisestä varausjärjestelmästä, jossa näkyvät myös vapaat vuorot.

Yleishyödyllisille yhdistyksille tilat ovat maksuttomia arki-iltaisin ja lauantaisin klo 16 asti. \
Muina aikoina peritään siivousmaksu.

Kaupunki selvittää vuoden 2027 aikana, voiko koulujen varastoihin varata yhdistyksille \
lukittavia kaappeja.

### Kylätalot

Kylätaloja ylläpitävät kyläyhdistykset voivat hakea kunnossapitoon erillistä avustusta.
"""

# name, e-mail, association (None: a resident), name may be shown
PEOPLE = (
    ("Aino Harjula", "aino.harjula@example.fi", "Esimerkkilän Eläkkeensaajat ry", True),
    ("Eero Salmi", "eero.salmi@example.fi", "FC Esimerkkilä ry", True),
    ("Helmi Koskinen", "helmi.koskinen@example.fi", None, False),
    ("Ilkka Rantanen", "ilkka.rantanen@example.fi", "Rantalan Kyläyhdistys ry", True),
    ("Johanna Lehto", "johanna.lehto@example.fi", "Esimerkkilän Omaishoitajat ry", False),
    ("Kalle Niemi", "kalle.niemi@example.fi", "Esimerkkilän Kisa-Veikot ry", True),
    ("Liisa Vuori", "liisa.vuori@example.fi", None, True),
    ("Markus Aalto", "markus.aalto@example.fi", "Esimerkkilän Teatteriyhdistys ry", False),
    ("Noora Peltonen", "noora.peltonen@example.fi", "Asemanseudun Asukasyhdistys ry", True),
    ("Olli Kivelä", "olli.kivela@example.fi", "Esimerkkilän Nuorisoseura ry", False),
    ("Pirjo Mäkelä", "pirjo.makela@example.fi", "Kylätoimikunta Mäkikylä", True),
    ("Riikka Saari", "riikka.saari@example.fi", None, False),
    ("Sami Heinonen", "sami.heinonen@example.fi", "Esimerkkilän Yrittäjät ry", True),
    ("Tuula Virta", "tuula.virta@example.fi", "Esimerkkilän Muistiyhdistys ry", False),
    ("Ville Lindqvist", "ville.lindqvist@example.fi", "Rantalan Soutajat ry", True),
    ("Anneli Hautala", "anneli.hautala@example.fi", "Esimerkkilän Sydänyhdistys ry", False),
    ("Jari Kallio", "jari.kallio@example.fi", None, False),
    ("Maria Nyström", "maria.nystrom@example.fi", "Esimerkkilän Kamerakerho ry", True),
    ("Pekka Ojala", "pekka.ojala@example.fi", "Ylikylän Kyläseura ry", True),
    ("Sanna Rautio", "sanna.rautio@example.fi", "Koivulan koulun Vanhempainyhdistys ry", False),
    ("Timo Laine", "timo.laine@example.fi", "Esimerkkilän Luonnonsuojeluyhdistys ry", True),
    ("Hanna Ek", "hanna.ek@example.fi", "Esimerkkilän Mielenterveysseura ry", False),
)

# section heading (None: the draft as a whole), person index, text, decision, reason, hidden
Row = tuple[str | None, int, str, str | None, str, str]
CLOSED_COMMENTS: tuple[Row, ...] = (
    ("Tausta", 0, "Hyvä, että taustassa mainitaan vertaisryhmät. Moni eläkeläinen löytää meidät juuri niiden kautta.", NOTED, "Kiitos, vertaisryhmät pidetään mukana ohjelman kuvauksessa.", ""),
    ("Tausta", 2, "Luku kaksisataa yhdistystä tuntuu pieneltä. Mukana on varmasti myös paljon rekisteröimättömiä porukoita.", PARTLY, "Lisäämme maininnan myös rekisteröimättömistä ryhmistä, mutta avustukset koskevat jatkossakin rekisteröityjä yhdistyksiä.", ""),
    ("Tausta", 8, "Edellisen ohjelman arvioinnin tulokset kannattaisi liittää tähän kokonaan, ei vain kolmea kohtaa.", TAKEN, "Arviointiraportti liitetään ohjelman liitteeksi.", ""),
    ("Tausta", 16, "Miksi edellisen ohjelman päättymisen jälkeen on kulunut näin kauan?", NOTED, "Uuden ohjelman valmistelu siirtyi kaupungin organisaatiomuutoksen vuoksi. Jatkossa valmistelu aloitetaan vuotta ennen edellisen kauden loppua.", ""),
    ("Tarkoitus ja tavoitteet", 1, "Tavoitteisiin pitäisi lisätä lasten ja nuorten harrastamisen tukeminen. Se on meille tärkein asia.", TAKEN, "Lisätään neljänneksi tavoitteeksi lasten ja nuorten harrastusmahdollisuuksien turvaaminen.", ""),
    ("Tarkoitus ja tavoitteet", 3, "Yhdistysten äänen kuuluminen päätöksenteossa on hieno tavoite, mutta miten se käytännössä tapahtuu?", PARTLY, "Ohjelmaan lisätään yhdistysten lausuntokierrokset suurista päätöksistä. Pysyvää edustusta lautakunnissa ei voida luvata.", ""),
    ("Tarkoitus ja tavoitteet", 6, "Mittareiksi sopisi myös se, kuinka moni asukas osallistuu yhdistysten toimintaan.", NOT_TAKEN, "Osallistujamääriä ei voi luotettavasti kerätä kaikilta yhdistyksiltä ilman kohtuutonta työtä. Seuraamme yhdistysten omaa arviota.", ""),
    ("Tarkoitus ja tavoitteet", 9, "Nuoret eivät tunne yhdistyksiä lainkaan. Tavoitteisiin voisi kirjata yhteistyön koulujen kanssa.", TAKEN, "Koulujen ja yhdistysten yhteistyö lisätään kolmannen tavoitteen alle.", ""),
    ("Tarkoitus ja tavoitteet", 13, "Muistisairaiden ja heidän läheistensä tarpeet puuttuvat tavoitteista.", PARTLY, "Lisäämme esimerkkeihin vertaistuen ryhmät. Erillistä tavoitetta ei tehdä, koska ohjelma koskee kaikkia yhdistyksiä.", ""),
    ("Yhteistyön muodot ja avustukset", 0, "Neljä yhdistysiltaa vuodessa on sopiva määrä. Toivomme, että osa pidetään päiväsaikaan.", TAKEN, "Yksi illoista järjestetään iltapäivällä klo 14.", ""),
    ("Yhteistyön muodot ja avustukset", 1, "Toiminta-avustusten haku tammikuussa on liian myöhään, koska kausi alkaa syksyllä.", NOT_TAKEN, "Hakuaika on sidottu kaupungin talousarvion hyväksymiseen joulukuussa, joten sitä ei voi aikaistaa.", ""),
    ("Yhteistyön muodot ja avustukset", 4, "Omaishoitajat eivät ehdi täyttää pitkiä hakemuksia. Pienille avustuksille tarvitaan kevyempi lomake.", TAKEN, "Alle 1 000 euron kohdeavustuksille tehdään lyhyt hakulomake.", ""),
    ("Yhteistyön muodot ja avustukset", 5, "Kohdeavustusten jatkuva haku on erinomainen uudistus.", NOTED, "Kiitos palautteesta.", ""),
    ("Yhteistyön muodot ja avustukset", 7, "Myöntöperusteet pitäisi julkaista vähintään kuukautta ennen hakuajan alkua.", TAKEN, "Perusteet julkaistaan viimeistään marraskuun lopussa.", ""),
    ("Yhteistyön muodot ja avustukset", 10, "Kyläyhdistysten talkootyö pitäisi voida laskea omarahoitusosuudeksi.", PARTLY, "Talkootyö hyväksytään omarahoitukseksi kohdeavustuksissa, ei toiminta-avustuksissa.", ""),
    ("Yhteistyön muodot ja avustukset", 12, "Yrittäjät voisivat olla mukana yhdistysilloissa ja tarjota sponsorointia.", NOTED, "Välitämme ehdotuksen elinvoimapalveluille.", ""),
    ("Yhteistyön muodot ja avustukset", 14, "Ketkä ovat toimialojen yhteyshenkilöt? Nimet ja yhteystiedot pitäisi olla ohjelmassa.", TAKEN, "Yhteyshenkilöt listataan ohjelman liitteessä ja verkkosivuilla.", ""),
    ("Yhteistyön muodot ja avustukset", 17, "Tämä on turhaa byrokratiaa, kaupunki voisi vain antaa rahat suoraan.", None, "", "Asiaton sävy; sama ehdotus käsitellään toisessa kommentissa."),
    ("Yhteistyön muodot ja avustukset", 19, "Vanhempainyhdistyksille pitäisi olla oma pieni avustus retkiin.", NOT_TAKEN, "Koulujen retket rahoitetaan opetustoimen kautta, eikä niihin myönnetä yhdistysavustusta.", ""),
    ("Tilat", 0, "Maksuttomat arki-illat ovat meille elintärkeitä. Kiitos!", NOTED, "Kiitos palautteesta.", ""),
    ("Tilat", 3, "Kylätalojen kunnossapitoavustus on hyvä, mutta sen taso pitäisi kertoa.", PARTLY, "Avustuksen taso päätetään vuosittain talousarviossa; ohjelmaan kirjataan määrä vuodelle 2027.", ""),
    ("Tilat", 5, "Viikonlopun siivousmaksu estää junioriturnaukset kokonaan. Lauantaipäivät pitäisi saada maksutta.", TAKEN, "Lauantait klo 16 asti muutetaan maksuttomiksi.", ""),
    ("Tilat", 7, "Teatteriryhmä tarvitsee varastotilaa lavasteille. Voisiko koulujen varastoja käyttää?", PARTLY, "Kaupunki selvittää lukittavien kaappien mahdollisuutta kouluissa; isoja varastotiloja ei ole tarjolla.", ""),
    ("Tilat", 8, "Varausjärjestelmästä ei näe, mitkä vuorot ovat vapaina. Tämä pitää korjata.", TAKEN, "Vapaat vuorot tulevat näkyviin järjestelmän päivityksessä keväällä 2027.", ""),
    ("Tilat", 11, "Kirjaston kokoushuoneet ovat aina varattuja. Lisää tiloja tarvitaan.", NOTED, "Tilojen riittävyyttä seurataan varausjärjestelmän tiedoista.", ""),
    ("Tilat", 14, "Soutajien venevaja on kaupungin maalla. Vuokrasopimus kannattaisi mainita ohjelmassa.", NOT_TAKEN, "Yksittäisten yhdistysten vuokrasopimukset eivät kuulu ohjelmaan; otamme yhteyttä erikseen.", ""),
    ("Tilat", 15, "Esteettömyys puuttuu tilojen kuvauksesta kokonaan. Moni tila on meidän jäsenillemme mahdoton.", TAKEN, "Tilojen esteettömyystiedot lisätään varausjärjestelmään ja mainitaan ohjelmassa.", ""),
    ("Tilat", 18, "Seurantalot ovat kylien ainoat kokoontumispaikat. Niiden ylläpito pitäisi nähdä yhteisenä asiana.", PARTLY, "Ohjelmaan lisätään maininta seurantalojen merkityksestä; ylläpidon vastuu säilyy yhdistyksillä.", ""),
    ("Viestintä", 2, "Uutiskirje on hyvä, mutta kuusi kertaa vuodessa on liian harvoin.", NOT_TAKEN, "Resurssit riittävät kuuteen numeroon; kiireelliset asiat kerrotaan erillisviesteillä.", ""),
    ("Viestintä", 6, "Tapahtumakalenteriin ilmoittaminen on hankalaa. Lomakkeen pitäisi toimia myös puhelimella.", TAKEN, "Kalenterin ilmoituslomake uudistetaan mobiilikäyttöön sopivaksi.", ""),
    ("Viestintä", 9, "Nuoret eivät lue uutiskirjeitä. Some-kanavat pitäisi ottaa mukaan.", PARTLY, "Kaupungin nuorisopalvelut jakavat yhdistysten tapahtumia omissa kanavissaan.", ""),
    ("Viestintä", 11, "Kaikki viestintä pitäisi olla myös ruotsiksi.", PARTLY, "Uutiskirje julkaistaan jatkossa myös ruotsiksi; tapahtumakalenterin ilmoitukset ovat yhdistysten kielellä.", ""),
    ("Viestintä", 13, "Paperinen tiedote kirjastoon auttaisi niitä, jotka eivät käytä sähköpostia.", TAKEN, "Uutiskirje tulostetaan kirjastoihin ja palvelupisteisiin.", ""),
    ("Viestintä", 20, "Lisää viestintään luontoretket, niitä on paljon ja ne ovat kaikille avoimia.", NOTED, "Luontoretket voi ilmoittaa tapahtumakalenteriin kuten muutkin tapahtumat.", ""),
    ("Viestintä", 17, "Käy katsomassa minun kotisivuni, sieltä löytyy halvat lainat!", None, "", "Mainos, ei liity luonnokseen."),
    ("Vuosikello", 1, "Syksyn yhdistysilta ja messut samaan aikaan ovat liikaa. Ne kannattaa erottaa.", TAKEN, "Yhdistysmessut siirretään lokakuulle.", ""),
    ("Vuosikello", 8, "Vuosikelloon pitäisi lisätä talousarvion valmistelun vaiheet, jotta yhdistykset voivat vaikuttaa ajoissa.", TAKEN, "Talousarvion valmistelun päävaiheet lisätään vuosikelloon.", ""),
    ("Vuosikello", 18, "Kesäkuukaudet puuttuvat. Kesä on kylien tärkein tapahtumakausi.", PARTLY, "Lisäämme kesäkuun kohdalle kesätapahtumien ilmoitusajan; kaupungin omia tilaisuuksia kesällä ei järjestetä.", ""),
    ("Vuosikello", 12, "Vuosikello kannattaa julkaista myös kalenteritiedostona.", NOTED, "Selvitämme mahdollisuutta, kun tapahtumakalenteri uudistetaan.", ""),
    (None, 21, "Ohjelma on selkeä ja hyvin kirjoitettu. Toivottavasti sitä myös noudatetaan.", NOTED, "Ohjelman toteutumista arvioidaan joka marraskuu, ja arvio julkaistaan.", ""),
)  # fmt: skip

OPEN_COMMENTS: tuple[Row, ...] = (
    ("Tilat", 5, "Lauantaimuutos on juuri se, mitä toivoimme. Kiitos!", None, "", ""),
    ("Tilat", 7, "Lukittavat kaapit auttaisivat jo paljon. Toivottavasti selvitys valmistuu ajoissa.", None, "", ""),
    ("Viestintä", 3, "Ruotsinkielinen uutiskirje on hyvä lisäys.", None, "", ""),
    ("Tarkoitus ja tavoitteet", 16, "Lasten ja nuorten tavoite on nyt mukana, hyvä.", None, "", ""),
)  # fmt: skip

ANSWERS = (
    ("Avustusten ennustettavuus.", "Esteettömyys.", ""),
    ("Maksuttomat tilat.", "", "Kiitos, että saimme kommentoida."),
    ("Yhdistysillat ja yhteyshenkilöt.", "Kesän tapahtumat.", ""),
    ("", "Nuorten tavoittaminen.", "Lisää some-viestintää."),
)


def _at(start: dt.datetime, step: int) -> dt.datetime:
    return start + dt.timedelta(hours=7 * step + 3)


def _person_rows(session: Session) -> list[tuple[str, str, int | None, bool]]:
    names = {a.name: a.id for a in session.scalars(select(Association))}
    return [
        (name, email, names.get(assoc) if assoc else None, public)
        for name, email, assoc, public in PEOPLE
    ]


def _take_part(
    session: Session,
    round_: Round,
    rows: tuple[Row, ...],
    *,
    start: dt.datetime,
    coordinator_id: int,
    decided_at: dt.datetime | None,
    now: dt.datetime,
) -> int:
    people_rows = _person_rows(session)
    sections = {s.heading: s for s in services.load_sections(session, round_.draft_version_id)}
    participants: dict[int, Participant] = {}
    for step, (heading, who, body, decision, reason, hidden) in enumerate(rows):
        at = _at(start, step)
        if who not in participants:
            name, email, association_id, public = people_rows[who]
            person = people.find_or_create_person(session, email=email, name=name, now=at)
            consent = privacy.record_consent(session, person, round_.consent_key, "fi", at)
            participant = Participant(
                round_id=round_.id,
                person_id=person.id,
                name=name,
                email=email,
                association_id=association_id,
                name_public=public,
                consent_id=consent.id,
                created_at=at,
            )
            session.add(participant)
            session.flush()
            participants[who] = participant
        comment = Comment(
            round_id=round_.id,
            section_id=sections[heading].id if heading else None,
            participant_id=participants[who].id,
            body=body,
            submission_key=f"demo-{round_.slug}-{step:03d}"[:64],
            created_at=at,
            updated_at=at,
        )
        if hidden:
            comment.hidden_at, comment.hidden_reason = decided_at or now, hidden
            comment.hidden_by_id = coordinator_id
        elif decision and decided_at:
            comment.decision, comment.decision_reason = decision, reason
            comment.decided_at, comment.decided_by_id = decided_at, coordinator_id
        session.add(comment)
    session.flush()
    form = services.get_round_form(session, round_)
    if form is not None:
        keys = [q["key"] for q in form.questions if q["type"] != "info"]
        for index, texts in enumerate(ANSWERS):
            participant = participants.get(index * 3)
            if participant is None:
                continue
            answers = {k: t for k, t in zip(keys, texts, strict=False) if t}
            response = formbuilder.record_response(
                session, form, answers, now=_at(start, len(rows) + index)
            )
            participant.response_id = response.id
    session.flush()
    return len(participants) + len(rows)


def _invite(session: Session, round_: Round, names: list[str], at: dt.datetime | None) -> int:
    ids = session.scalars(select(Association.id).where(Association.name.in_(names)))
    added = 0
    for association_id in ids:
        round_.invitations.append(Invitation(association_id=association_id, invited_at=at))
        added += 1
    session.flush()
    return added


INVITED = [
    "Esimerkkilän Eläkkeensaajat ry",
    "FC Esimerkkilä ry",
    "Rantalan Kyläyhdistys ry",
    "Esimerkkilän Omaishoitajat ry",
    "Esimerkkilän Kisa-Veikot ry",
    "Esimerkkilän Teatteriyhdistys ry",
    "Asemanseudun Asukasyhdistys ry",
    "Esimerkkilän Nuorisoseura ry",
    "Kylätoimikunta Mäkikylä",
    "Esimerkkilän Yrittäjät ry",
    "Ylikylän Kyläseura ry",
    "Esimerkkilän Näkövammaiset ry",
]


def _round(
    session: Session,
    *,
    slug: str,
    title: str,
    intro: str,
    version_id: int,
    opens: dt.datetime,
    closes: dt.datetime,
    coordinator_id: int,
    now: dt.datetime,
) -> Round:
    data = {
        "title": title,
        "intro": intro,
        "draft_version_id": version_id,
        "opens_at": opens,
        "closes_at": closes,
        "section_comments": True,
        "comments_public": True,
        "association_required": False,
        "consent_key": services.ROUND_CONSENT,
        "retention_days": 730,
        "max_comment_length": 3000,
    }
    round_ = services.create_round(session, data, staff_user_id=coordinator_id, now=opens)
    round_.slug = slug
    session.flush()
    return round_


def _at_four_pm(moment: dt.datetime) -> dt.datetime:
    """Rounds open and close at a time a person would set: 16.00 in Helsinki on that day."""
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo("Europe/Helsinki"))
    return local.replace(hour=16, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


def load_demo(session: Session, *, now: dt.datetime) -> int:
    if session.scalar(select(Round.id).where(Round.slug.in_([CLOSED_SLUG, OPEN_SLUG]))):
        return 0
    coordinator = accounts.find_user_by_email(session, DEMO_COORDINATOR)
    if coordinator is None:
        return 0
    services.ensure_round_consent_text(session, now - dt.timedelta(days=90))
    draft = session.scalar(select(Draft).where(Draft.title == TITLE))
    if draft is None:
        draft = drafts.create_draft(
            session,
            title=TITLE,
            parsed=drafts.parse_markdown(DRAFT),
            note="Työryhmän luonnos",
            staff_user_id=coordinator.id,
            now=now - dt.timedelta(days=80),
        )
    versions = drafts.get_draft(session, draft.id).versions
    first = versions[0]
    if len(versions) > 1:
        second = versions[1]
    else:
        premises = next(s for s in first.sections if s.heading == "Tilat")
        second = drafts.edit_section(
            session,
            draft.id,
            premises.id,
            heading="Tilat",
            markdown=PREMISES_V2,
            note="Ensimmäisen kierroksen kommenttien perusteella",
            now=now - dt.timedelta(days=14),
        )
    closed_opens = _at_four_pm(now - dt.timedelta(days=70))
    closed = _round(
        session,
        slug=CLOSED_SLUG,
        title="Yhdistysyhteistyöohjelman luonnos: kommentointi",
        intro=(
            "Kerro, mitä mieltä olet yhdistysyhteistyöohjelman luonnoksesta. Voit kommentoida "
            "jokaista lukua erikseen ja vastata lopussa kolmeen yleiseen kysymykseen."
        ),
        version_id=first.id,
        opens=closed_opens,
        closes=_at_four_pm(now - dt.timedelta(days=42)),
        coordinator_id=coordinator.id,
        now=now,
    )
    added = 3 + _invite(session, closed, INVITED, closed_opens + dt.timedelta(hours=1))
    added += _take_part(
        session,
        closed,
        CLOSED_COMMENTS,
        start=closed_opens + dt.timedelta(days=1),
        coordinator_id=coordinator.id,
        decided_at=now - dt.timedelta(days=30),
        now=now,
    )
    if digests.latest_digest(session, "round", closed.id) is None:
        # Published a month ago; the worker renders it (and files the mails) when it starts.
        digests.publish_round_digest(
            session, closed.id, now=now - dt.timedelta(days=29), staff_user_id=coordinator.id
        )
        added += 1
    open_opens = _at_four_pm(now - dt.timedelta(days=7))
    opened = _round(
        session,
        slug=OPEN_SLUG,
        title="Yhdistysyhteistyöohjelma: toinen kommentointikierros",
        intro=(
            "Luonnosta on muokattu ensimmäisen kierroksen kommenttien perusteella, erityisesti "
            "tiloja koskevaa lukua. Kerro, vastaako uusi versio toiveisiin."
        ),
        version_id=second.id,
        opens=open_opens,
        closes=_at_four_pm(now + dt.timedelta(days=21)),
        coordinator_id=coordinator.id,
        now=now,
    )
    added += _invite(session, opened, INVITED, open_opens + dt.timedelta(hours=1))
    added += _take_part(
        session,
        opened,
        OPEN_COMMENTS,
        start=open_opens + dt.timedelta(hours=5),
        coordinator_id=coordinator.id,
        decided_at=None,
        now=now,
    )
    return added
