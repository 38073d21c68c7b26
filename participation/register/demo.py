"""Demo associations and people for the invented municipality Esimerkkilä.

Every name here is invented; addresses use example.fi and .example domains, which never reach a
real mailbox. Rows are found by name or e-mail before they are created, so a second run adds
nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from participation import tokens
from participation.register import links, people, services, values
from participation.register.models import Association, Category, Person

# name, category key, area, registry number, e-mail, website, activities, active
ASSOCIATIONS = (
    ("Esimerkkilän Eläkkeensaajat ry", "seniors", "Keskusta", "201.345",
     "elakkeensaajat@example.fi", "https://elakkeensaajat.esimerkkila.example",
     "Viikoittaiset kerhot, retket ja tanssit eläkeläisille. Tiistaisin kahvila seurakuntatalolla.", True),
    ("Mäkikylän Senioritoverit ry", "seniors", "Mäkikylä", "", "senioritoverit@example.fi", "",
     "Kyläkoululla kokoontuva senioripiiri: jumppaa, lukupiiri ja yhteiset ruokailut.", True),
    ("Rantalan Eläkeläiset ry", "seniors", "Rantala", "188.902", "rantalan.elakelaiset@example.fi", "",
     "Kesäisin rantaretkiä ja talvisin tuolijumppaa, mukana noin 80 jäsentä.", True),
    ("Esimerkkilän Veteraaniperinneyhdistys ry", "seniors", "Keskusta", "", "perinne@example.fi", "",
     "Vaalii sotiemme veteraanien perintöä ja järjestää muistotilaisuuksia.", True),
    ("Koivulan Päiväkerho Seniorit ry", "seniors", "Koivula", "", "", "",
     "Päiväkerho ikäihmisille torstaisin.", False),
    ("Esimerkkilän Omaishoitajat ry", "social_health", "Keskusta", "214.778",
     "omaishoitajat@example.fi", "https://omaishoitajat.esimerkkila.example",
     "Vertaistukea ja virkistystä omaishoitajille, vertaisryhmät kerran kuussa.", True),
    ("Esimerkkilän Sydänyhdistys ry", "social_health", "Keskusta", "156.210", "sydan@example.fi", "",
     "Terveysluentoja, kuntokävelyt ja verenpaineen mittauspäivät.", True),
    ("Esimerkkilän Mielenterveysseura ry", "social_health", "Asemanseutu", "", "mielenterveys@example.fi",
     "https://mieli.esimerkkila.example", "Matalan kynnyksen kohtaamispaikka ja vertaisryhmiä.", True),
    ("Esimerkkilän Näkövammaiset ry", "social_health", "Keskusta", "", "nako@example.fi", "",
     "Edunvalvontaa, kerhotoimintaa ja apuvälineneuvontaa näkövammaisille.", True),
    ("Esimerkkilän Muistiyhdistys ry", "social_health", "Koivula", "230.011", "muisti@example.fi", "",
     "Muistikahvilat ja tietoa muistisairauksista läheisille.", True),
    ("FC Esimerkkilä ry", "hobbies", "Keskusta", "198.456", "toimisto@fc-esimerkkila.example",
     "https://fc-esimerkkila.example", "Jalkapalloa kaikenikäisille, junioreita yli 200.", True),
    ("FC Esimerkkilä", "hobbies", "Keskusta", "", "toimisto@fc-esimerkkila.example", "",
     "Sama seura kirjattuna kahdesti: yhdistä FC Esimerkkilä ry:hyn.", True),
    ("Esimerkkilän Kisa-Veikot ry", "hobbies", "Asemanseutu", "102.334", "kisaveikot@example.fi",
     "https://kisaveikot.example", "Yleisurheilua, hiihtoa ja suunnistusta.", True),
    ("Esimerkkilän Teatteriyhdistys ry", "hobbies", "Keskusta", "", "teatteri@example.fi",
     "https://teatteri.esimerkkila.example", "Kesäteatteri Rantalan lavalla ja lasten teatterikerhot.", True),
    ("Esimerkkilän Kamerakerho ry", "hobbies", "Keskusta", "", "kamerakerho@example.fi", "",
     "Valokuvausretkiä, näyttelyitä ja kuvankäsittelyn kursseja.", True),
    ("Rantalan Soutajat ry", "hobbies", "Rantala", "245.100", "soutajat@example.fi", "",
     "Kirkkovenesoutua ja melontaa kesäisin.", True),
    ("Esimerkkilän Kansantanssijat ry", "hobbies", "Ylikylä", "", "kansantanssi@example.fi", "",
     "Kansantanssiryhmiä lapsille ja aikuisille.", True),
    ("Esimerkkilän Shakkikerho ry", "hobbies", "Keskusta", "", "", "", "Toiminta on tauolla.", False),
    ("Kylätoimikunta Mäkikylä", "residents", "Mäkikylä", "", "kylatoimikunta@makikyla.example", "",
     "Kylän yhteiset talkoot, kyläjuhla ja tiedotus asukkaille.", True),
    ("Rantalan Kyläyhdistys ry", "residents", "Rantala", "176.543", "kylayhdistys@rantala.example",
     "https://rantala.example", "Ylläpitää kylätaloa ja uimarantaa.", True),
    ("Asemanseudun Asukasyhdistys ry", "residents", "Asemanseutu", "", "asukkaat@example.fi", "",
     "Asukasillat, pihakirppikset ja yhteydenpito kaupunkiin kaavoitusasioissa.", True),
    ("Koivulan koulun Vanhempainyhdistys ry", "residents", "Koivula", "", "vanhemmat.koivula@example.fi", "",
     "Tukee koulun retkiä ja järjestää koulun kevätjuhlan kahvion.", True),
    ("Ylikylän Kyläseura ry", "residents", "Ylikylä", "", "kylaseura@ylikyla.example", "",
     "Kyläseura vastaa seurantalosta ja juhannusjuhlista.", True),
    ("Esimerkkilän Yrittäjät ry", "others", "Keskusta", "120.987", "yrittajat@example.fi",
     "https://yrittajat.esimerkkila.example", "Paikallisten yrittäjien yhteistyö ja tapahtumat.", True),
    ("Esimerkkilän Luonnonsuojeluyhdistys ry", "others", "Ylikylä", "", "luonto@example.fi", "",
     "Luontoretket, linnunpönttötalkoot ja vieraslajien torjunta.", True),
    ("Esimerkkilän Nuorisoseura ry", "others", "Ylikylä", "", "nuorisoseura@example.fi", "",
     "Nuorisoseurantalon illat, bändikerho ja lasten leirit.", True),
)  # fmt: skip

# name, e-mail, language, associations represented
PEOPLE = (
    ("Maija Meikäläinen", "maija.meikalainen@example.fi", "fi",
     ("Esimerkkilän Eläkkeensaajat ry", "Esimerkkilän Muistiyhdistys ry")),
    ("Matti Mallinen", "matti.mallinen@example.fi", "fi", ("FC Esimerkkilä ry",)),
    ("Liisa Esimerkki", "liisa.esimerkki@example.fi", "fi", ("Kylätoimikunta Mäkikylä",)),
    ("Teppo Testinen", "teppo.testinen@example.fi", "fi", ("FC Esimerkkilä",)),
    ("Aino Kuvitelma", "aino.kuvitelma@example.fi", "fi", ("Esimerkkilän Omaishoitajat ry",)),
    ("Eero Esikuva", "eero.esikuva@example.fi", "fi",
     ("Esimerkkilän Kisa-Veikot ry", "Rantalan Soutajat ry")),
    ("Helmi Harjoitus", "helmi.harjoitus@example.fi", "fi", ("Esimerkkilän Teatteriyhdistys ry",)),
    ("Ville Versio", "ville.versio@example.fi", "fi", ("Rantalan Kyläyhdistys ry",)),
    ("Sanna Sepitelmä", "sanna.sepitelma@example.fi", "fi",
     ("Koivulan koulun Vanhempainyhdistys ry",)),
    ("Kalle Kokeilu", "kalle.kokeilu@example.fi", "fi", ("Esimerkkilän Yrittäjät ry",)),
    ("Anna Asukas", "anna.asukas@example.fi", "fi", ("Asemanseudun Asukasyhdistys ry",)),
    ("Pekka Puuhanen", "pekka.puuhanen@example.fi", "fi",
     ("Mäkikylän Senioritoverit ry", "Kylätoimikunta Mäkikylä")),
    ("Greta Exempelsson", "greta.exempelsson@example.fi", "sv", ("Esimerkkilän Kansantanssijat ry",)),
    ("Oskari Osallinen", "oskari.osallinen@example.fi", "fi",
     ("Esimerkkilän Luonnonsuojeluyhdistys ry", "Ylikylän Kyläseura ry")),
    ("Sam Sample", "sam.sample@example.fi", "en", ("Esimerkkilän Sydänyhdistys ry",)),
)  # fmt: skip

# An association that already updated itself through its edit link, so staff see such a change.
SELF_UPDATED = "Rantalan Kyläyhdistys ry"


def load_demo(session: Session, *, now: dt.datetime) -> int:
    """Add the demo categories, associations and people that are missing; return how many."""
    before = session.scalar(select(func.count(Category.id))) or 0
    categories = {c.key: c for c in services.ensure_default_categories(session)}
    added = len(categories) - before

    existing = {
        values.fold(a.name): a
        for a in session.scalars(select(Association).where(Association.merged_into_id.is_(None)))
    }
    for name, key, area, number, email, website, description, active in ASSOCIATIONS:
        if values.fold(name) in existing:
            continue
        association = services.create_association(
            session,
            {
                "name": name,
                "registry_number": number,
                "category": categories[key].id,
                "area": area,
                "email": email,
                "website": website,
                "description": description,
                "active": active,
            },
            now=now - dt.timedelta(days=30),
            source="import",
        )
        existing[values.fold(name)] = association
        added += 1
        if name == SELF_UPDATED:
            _update_through_link(session, association, now=now)

    known_people = set(session.scalars(select(Person.email)))
    for name, email, language, names in PEOPLE:
        if email in known_people:
            continue
        people.create_person(
            session,
            {
                "name": name,
                "email": email,
                "language": language,
                "association_ids": [existing[values.fold(n)].id for n in names],
            },
            now=now - dt.timedelta(days=30),
            staff_user_id=None,
        )
        added += 1
    session.flush()
    return added


def _update_through_link(session: Session, association: Association, *, now: dt.datetime) -> None:
    when = now - dt.timedelta(days=3)
    token = tokens.issue_link(
        session,
        purpose=links.EDIT_PURPOSE,
        subject_id=association.id,
        lifetime=dt.timedelta(hours=1),
        now=when,
    )
    data = {name: getattr(association, name) for name in links.LINK_FIELDS if name != "category"}
    data["category"] = association.category_id
    data["description"] = (
        "Ylläpitää kylätaloa, uimarantaa ja kesäistä kylätorin kirppistä. Uudet jäsenet tervetulleita!"
    )
    links.save_by_edit_link(session, token, data, now=when, locale="fi")
