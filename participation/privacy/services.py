"""Consents with their text versions; a person's own download and erasure through a mailed link;
retention, which erases what has not been touched for a configured period.

Erasure is built from a list of erasers (ERASERS) and the download from a list of exporters
(EXPORTERS): each capability that stores something about a person adds one of each.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import (
    Integer,
    ScalarSelect,
    Select,
    String,
    Text,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from participation import tokens
from participation.db import UTCDateTime
from participation.errors import Conflict, Invalid, NotFound
from participation.mail.models import FAILED, QUEUED, SENDING, OutboxMessage
from participation.mail.services import queue_mail
from participation.privacy import registry
from participation.privacy.models import Consent, ConsentText, ErasureLog
from participation.privacy.registry import Counts, Eraser, Exporter
from participation.register import people
from participation.register.models import (
    LANGUAGES,
    Association,
    AssociationChange,
    Person,
    representation,
)

LINK_PURPOSE = "privacy"
REGISTER_CONSENT = "register"
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_TEXT = 20_000
# What erased text is replaced with; plain data, not UI text, so it is not translated.
ERASED = "[erased]"


# --- Consents ------------------------------------------------------------------------------


DEFAULT_TEXTS = {
    REGISTER_CONSENT: (
        "Suostun siihen, että nimeni, sähköpostiosoitteeni ja tieto edustamistani yhdistyksistä "
        "tallennetaan kaupungin yhdistysrekisteriin. Tietoja käytetään kaupungin ja yhdistysten "
        "yhteistyön yhteydenpitoon, esimerkiksi kutsuihin yhdistysiltoihin, kommentointikierroksiin "
        "ja koosteiden lähettämiseen. Voit milloin tahansa ladata tietosi ja pyytää niiden "
        "poistamista osallistumispalvelun sivulla ”Tietosi ja yksityisyys”.",
        "Jag samtycker till att mitt namn, min e-postadress och uppgift om de föreningar jag "
        "representerar sparas i stadens föreningsregister. Uppgifterna används för kontakter i "
        "samarbetet mellan staden och föreningarna, till exempel inbjudningar till föreningskvällar, "
        "kommentarsrundor och utskick av sammanfattningar. Du kan när som helst ladda ner dina "
        "uppgifter och begära att de raderas på sidan ”Dina uppgifter och integritet” i "
        "deltagandetjänsten.",
        "I agree that my name, e-mail address and the associations I represent are stored in the "
        "city's association register. The data is used to keep in touch in the cooperation between "
        "the city and the associations, for example for invitations to association evenings, comment "
        "rounds and sending summaries. You can download your data and ask for its erasure at any "
        "time on the page “Your data and privacy” of the participation service.",
    ),
}


def find_current_consent_text(session: Session, key: str) -> ConsentText | None:
    return session.scalar(
        select(ConsentText)
        .where(ConsentText.key == key)
        .order_by(ConsentText.version.desc())
        .limit(1)
    )


def current_consent_text(session: Session, key: str) -> ConsentText:
    """The newest version under `key`. Raises NotFound when none was published."""
    text = find_current_consent_text(session, key)
    if text is None:
        raise NotFound(_("No consent text has been published for this purpose."))
    return text


def list_consent_texts(session: Session) -> list[tuple[ConsentText, int]]:
    """Every version of every text, newest version first per key, with its active consents."""
    rows = session.execute(
        select(ConsentText, func.count(Consent.id))
        .outerjoin(
            Consent,
            (Consent.consent_text_id == ConsentText.id) & Consent.withdrawn_at.is_(None),
        )
        .group_by(ConsentText.id)
        .order_by(ConsentText.key, ConsentText.version.desc())
    ).all()
    return [(text, count) for text, count in rows]


def publish_consent_text(
    session: Session, key: str, text_fi: str, text_sv: str, text_en: str, now: dt.datetime
) -> ConsentText:
    """Add the next version under `key`; earlier versions stay as they were, with their consents.

    Raises Invalid (bad key, no Finnish text, too long, same as the current version) or Conflict
    (someone published a version of the same key at the same moment).
    """
    key = (key or "").strip().lower()
    texts = {"text_fi": text_fi.strip(), "text_sv": text_sv.strip(), "text_en": text_en.strip()}
    errors: dict[str, list[str]] = {}
    if not KEY_PATTERN.match(key):
        errors["key"] = [
            _("Use 1 to 40 lower-case letters, digits, hyphens or underscores, e.g. “register”.")
        ]
    if not texts["text_fi"]:
        errors["text_fi"] = [_("Enter the text in Finnish.")]
    for name, value in texts.items():
        if len(value) > MAX_TEXT:
            errors[name] = [_("Use at most %(n)s characters.", n=MAX_TEXT)]
    if errors:
        raise Invalid(next(iter(errors.values()))[0], errors)
    current = find_current_consent_text(session, key)
    if current is not None and all(getattr(current, k) == v for k, v in texts.items()):
        message = _("The text is the same as the current version.")
        raise Invalid(message, {"text_fi": [message]})
    text = ConsentText(
        key=key, version=(current.version + 1 if current else 1), created_at=now, **texts
    )
    try:
        with session.begin_nested():
            session.add(text)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            _("Another version was published at the same moment. Reload the page and check it.")
        ) from exc
    return text


def ensure_default_consent_texts(session: Session, now: dt.datetime) -> int:
    """Publish version 1 of each default text that has no version yet; returns how many."""
    added = 0
    for key, (text_fi, text_sv, text_en) in DEFAULT_TEXTS.items():
        if find_current_consent_text(session, key) is None:
            publish_consent_text(session, key, text_fi, text_sv, text_en, now)
            added += 1
    return added


def find_active_consent(session: Session, person_id: int, key: str) -> Consent | None:
    """The person's newest consent under `key` that is not withdrawn, of whichever version."""
    return session.scalar(
        select(Consent)
        .join(ConsentText)
        .where(
            Consent.person_id == person_id,
            ConsentText.key == key,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(Consent.given_at.desc(), Consent.id.desc())
        .limit(1)
    )


def record_consent(
    session: Session, person: Person, key: str, language: str, now: dt.datetime
) -> Consent:
    """Record that `person` agreed to the current text under `key`, shown in `language`.

    Agreeing again to the same version returns the existing consent. Raises NotFound when no
    text is published under `key`, Invalid for an unknown language.
    """
    _check_language(language)
    text = current_consent_text(session, key)
    active = find_active_consent(session, person.id, key)
    if active is not None and active.consent_text_id == text.id:
        return active
    consent = Consent(person_id=person.id, consent_text_id=text.id, language=language, given_at=now)
    session.add(consent)
    session.flush()
    return consent


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise Invalid(_("Unknown language."), {"language": [_("Unknown language.")]})


_ACTIVE_CONSENT_ID = (
    select(Consent.id)
    .where(
        Consent.person_id == bindparam("person_id"),
        Consent.consent_text_id == bindparam("consent_text_id"),
        Consent.withdrawn_at.is_(None),
    )
    .order_by(Consent.given_at.desc(), Consent.id.desc())
    .limit(1)
)
_NEW_CONSENT = insert(Consent.__table__).returning(Consent.__table__.c.id)


def current_text_id(key: Any) -> ScalarSelect[int]:
    """The id of the newest text under `key` (a value, or a column of the enclosing query) as
    a scalar subquery, to read it in the same statement as what it goes with."""
    return (
        select(ConsentText.id)
        .where(ConsentText.key == key)
        .order_by(ConsentText.version.desc())
        .limit(1)
        .scalar_subquery()
    )


def consent_id_for(
    session: Session,
    person_id: int,
    consent_text_id: int,
    language: str,
    now: dt.datetime,
    *,
    new_person: bool = False,
) -> tuple[int, bool]:
    """`record_consent` for a hot path, by ids: the person's active consent to this text
    version, recorded now when they have none. A person created in this transaction
    (`new_person`) can have none, so that is one INSERT. Returns (the consent's id, whether it
    was recorded now). Raises Invalid for an unknown language."""
    _check_language(language)
    conn = session.connection()
    ids = {"person_id": person_id, "consent_text_id": consent_text_id}
    if not new_person:
        active = conn.execute(_ACTIVE_CONSENT_ID, ids).scalar()
        if active is not None:
            return active, False
    consent_id = conn.execute(
        _NEW_CONSENT, {**ids, "language": language, "given_at": now}
    ).scalar_one()
    return consent_id, True


def new_person_with_consent(*also: Any) -> Any:
    """PostgreSQL: the person (if new) and their consent in one statement. Also the id of one
    who was there already (the new one is not visible to the statement itself). `also`: more
    columns (labelled) for the statement to return, such as another CTE's. Its parameters:
    `person_consent_params`; its row: `person_and_consent_of`."""
    person = (
        postgresql.insert(Person.__table__)
        .values({name: bindparam(f"person_{name}") for name in people.NEW_PERSON_COLUMNS})
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(Person.__table__.c.id)
        .cte("new_person")
    )
    consent = (
        insert(Consent.__table__)
        .from_select(
            ["person_id", "consent_text_id", "language", "given_at"],
            select(
                person.c.id,
                bindparam("consent_text_id", type_=Integer()),
                bindparam("consent_language", type_=String()),
                bindparam("given_at", type_=UTCDateTime()),
            ),
        )
        .returning(Consent.__table__.c.id)
        .cte("new_consent")
    )
    return select(
        select(person.c.id).scalar_subquery().label("new_person_id"),
        select(consent.c.id).scalar_subquery().label("consent_id"),
        select(Person.id)
        .where(Person.email == bindparam("lookup_email"))
        .scalar_subquery()
        .label("person_id"),
        *also,
    )


def person_consent_params(
    *, email: str, name: str, language: str, consent_text_id: int, now: dt.datetime
) -> dict[str, Any]:
    """The parameters of `new_person_with_consent`, values checked as for
    `people.person_id_for`."""
    _check_language(language)
    return {
        **{
            f"person_{key}": value
            for key, value in people.new_person_row(
                email=email, name=name, language=language, now=now
            ).items()
        },
        "lookup_email": email,
        "consent_text_id": consent_text_id,
        "consent_language": language,
        "given_at": now,
    }


def person_and_consent_of(
    session: Session,
    row: Any,
    *,
    email: str,
    consent_text_id: int,
    language: str,
    now: dt.datetime,
) -> tuple[int, bool, int, bool]:
    """What a row of `new_person_with_consent` tells, as `person_and_consent_ids` returns it;
    for a person who was there already, their consent is looked up (or recorded) now."""
    if row.new_person_id is not None:
        return row.new_person_id, True, row.consent_id, True
    # There already, or created by a transaction that committed while this one waited for it.
    person_id = row.person_id or people.find_person_id(session, email)
    assert person_id is not None
    consent_id, recorded = consent_id_for(session, person_id, consent_text_id, language, now)
    return person_id, False, consent_id, recorded


_NEW_PERSON_WITH_CONSENT = new_person_with_consent()


def person_and_consent_ids(
    session: Session,
    *,
    email: str,
    name: str,
    language: str,
    consent_text_id: int,
    now: dt.datetime,
) -> tuple[int, bool, int, bool]:
    """`people.person_id_for` and `consent_id_for` together: on PostgreSQL one statement for a
    new person (with their consent). Values checked as for `person_id_for`. Returns (person
    id, whether created now, consent id, whether recorded now)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        person_id, new = people.person_id_for(
            session, email=email, name=name, language=language, now=now
        )
        consent_id, recorded = consent_id_for(
            session, person_id, consent_text_id, language, now, new_person=new
        )
        return person_id, new, consent_id, recorded
    params = person_consent_params(
        email=email, name=name, language=language, consent_text_id=consent_text_id, now=now
    )
    row = conn.execute(_NEW_PERSON_WITH_CONSENT, params).one()
    return person_and_consent_of(
        session, row, email=email, consent_text_id=consent_text_id, language=language, now=now
    )


def withdraw_consent(session: Session, person: Person, key: str, now: dt.datetime) -> int:
    """Mark every active consent of `person` under `key` withdrawn; returns how many."""
    text_ids = select(ConsentText.id).where(ConsentText.key == key)
    result = session.execute(
        update(Consent)
        .where(
            Consent.person_id == person.id,
            Consent.consent_text_id.in_(text_ids),
            Consent.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=now)
    )
    session.flush()
    return result.rowcount or 0


# --- The person's link ---------------------------------------------------------------------


def _find_person_by_email(session: Session, email: str) -> Person | None:
    return session.scalar(
        select(Person).where(func.lower(Person.email) == email.strip().lower()).limit(1)
    )


def request_privacy_link(
    session: Session,
    email: str,
    *,
    make_url: Callable[[str], str],
    lifetime: dt.timedelta,
    locale: str,
    now: dt.datetime,
) -> None:
    """Mail a download-and-erasure link to the person registered with `email`, if there is one.

    An unknown address gets the same work done (a token made, the mail rendered) and nothing
    sent, and the caller shows the same page: neither the answer nor its timing tells anyone
    whether an address is in the register.
    """
    person = _find_person_by_email(session, email)
    hours = max(1, int(lifetime.total_seconds() // 3600))
    if person is None:
        with force_locale(locale if locale in LANGUAGES else "fi"):
            render_template(
                "mail/privacy_link.txt", name="", link=make_url(tokens.new_token()), hours=hours
            )
        return
    token = tokens.issue_link(
        session, purpose=LINK_PURPOSE, subject_id=person.id, lifetime=lifetime, now=now
    )
    queue_mail(
        session,
        to=person.email,
        template="privacy_link",
        purpose=LINK_PURPOSE,
        locale=person.language if person.language in LANGUAGES else "fi",
        now=now,
        name=person.name,
        link=make_url(token),
        hours=hours,
    )


def get_person_by_link(session: Session, token: str, now: dt.datetime) -> Person:
    """The person a privacy link was sent to; the link is not spent.

    Raises LinkExpired, or LinkInvalid (tampered, used, or the person is gone).
    """
    link = tokens.check_link(session, token, purpose=LINK_PURPOSE, now=now)
    person = session.get(Person, link.subject_id)
    if person is None:
        raise tokens.LinkInvalid()
    return person


def export_by_link(session: Session, token: str, now: dt.datetime) -> dict[str, Any]:
    """Everything held about the link's person. The link stays usable until it expires, so a
    failed download can be repeated. Raises what get_person_by_link raises."""
    return export_person(session, get_person_by_link(session, token, now), now)


def erase_by_link(session: Session, token: str, now: dt.datetime) -> Counts:
    """Spend the link and erase its person. Raises LinkExpired or LinkInvalid."""
    link = tokens.use_link(session, token, purpose=LINK_PURPOSE, now=now)
    if session.get(Person, link.subject_id) is None:
        raise tokens.LinkInvalid()
    return erase_person(session, link.subject_id, now, reason="request")


# --- Export --------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _export_associations(session: Session, person: Person) -> dict[str, Any]:
    return {
        "associations": [
            {"id": a.id, "name": a.name} for a in sorted(person.associations, key=lambda a: a.name)
        ]
    }


def _export_consents(session: Session, person: Person) -> dict[str, Any]:
    consents = session.execute(
        select(Consent, ConsentText)
        .join(ConsentText)
        .where(Consent.person_id == person.id)
        .order_by(Consent.given_at, Consent.id)
    ).all()
    return {
        "consents": [
            {
                "purpose": text.key,
                "text_version": text.version,
                "language": consent.language,
                "text": text.text(consent.language),
                "given_at": _plain(consent.given_at),
                "withdrawn_at": _plain(consent.withdrawn_at),
            }
            for consent, text in consents
        ]
    }


def _messages_to(person: Person) -> Select[tuple[OutboxMessage]]:
    return select(OutboxMessage).where(func.lower(OutboxMessage.recipient) == person.email.lower())


def _export_messages(session: Session, person: Person) -> dict[str, Any]:
    rows = session.scalars(_messages_to(person).order_by(OutboxMessage.created_at)).all()
    return {
        "messages": [
            {
                "subject": m.subject,
                "created_at": _plain(m.created_at),
                "status": m.status,
                "sent_at": _plain(m.sent_at),
            }
            for m in rows
        ]
    }


def _export_history(session: Session, person: Person) -> dict[str, Any]:
    rows = session.execute(
        select(AssociationChange, Association.name)
        .join(Association, Association.id == AssociationChange.association_id)
        .where(_mentions_clause(person))
        .order_by(AssociationChange.changed_at, AssociationChange.id)
    ).all()
    return {
        "association_history": [
            {
                "association": name,
                "changed_at": _plain(change.changed_at),
                "source": change.source,
                "changes": change.changes,
            }
            for change, name in rows
            if _mentions(change.changes, person)
        ]
    }


# The register's own sections first; the capabilities' follow as they registered (the list is
# the registry's, so a capability imported later still lands in it).
EXPORTERS: list[Exporter] = registry.EXPORTERS
EXPORTERS[:0] = [_export_associations, _export_consents, _export_messages, _export_history]
"""What the person's download holds, section by section. Each exporter returns a dict of
sections for the JSON file. A capability that stores something about a person (comments,
registrations, survey answers) registers its exporter with its eraser (privacy.registry)."""


def export_person(session: Session, person: Person, now: dt.datetime) -> dict[str, Any]:
    """Everything held about `person`, as plain JSON-ready data."""
    mapper = inspect(Person)
    data: dict[str, Any] = {
        "generated_at": _plain(now),
        "person": {attr.key: _plain(getattr(person, attr.key)) for attr in mapper.column_attrs},
    }
    for exporter in EXPORTERS:
        data.update(exporter(session, person))
    return data


# --- Erasure -------------------------------------------------------------------------------


def _like(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: Any, fragments: set[str]) -> Any:
    return or_(*(column.ilike(_like(f), escape="\\") for f in fragments))


def _email_forms(email: str) -> set[str]:
    """The address as typed, lower-cased, case-folded, and as it appears inside stored JSON."""
    forms = {email, email.lower(), unicodedata.normalize("NFC", email).casefold()}
    return forms | {json.dumps(f)[1:-1] for f in forms}


def _email_pattern(person: Person) -> re.Pattern[str]:
    forms = sorted(_email_forms(person.email), key=len, reverse=True)
    return re.compile("|".join(re.escape(f) for f in forms), re.IGNORECASE)


def _name_pattern(person: Person) -> re.Pattern[str] | None:
    """The full name as a whole word sequence: "Anna Virtanen" in "Anna Virtanen, Bob"."""
    name = " ".join(person.name.split())
    if not name:
        return None
    return re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.IGNORECASE)


def _mentions_clause(person: Person) -> Any:
    """A cheap SQL pre-filter for change rows that may mention the person; _mentions decides."""
    fragments = _email_forms(person.email)
    name = " ".join(person.name.split())
    if name:
        fragments |= {name, json.dumps(name)[1:-1]}
    return _contains(cast(AssociationChange.changes, Text), fragments)


def _mentions(value: Any, person: Person) -> bool:
    return _scrub(value, person) != value


def _scrub(value: Any, person: Person) -> Any:
    """`value` with the person's address and full name replaced, at any depth.

    A namesake's name in the register history goes too: erring that way keeps no one's data.
    """
    if isinstance(value, str):
        value = _email_pattern(person).sub(ERASED, value)
        names = _name_pattern(person)
        return names.sub(ERASED, value) if names else value
    if isinstance(value, list):
        return [_scrub(v, person) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, person) for k, v in value.items()}
    return value


def _text_attributes(model: Any) -> list[str]:
    """The model's string columns, so a column added later is scrubbed without a change here."""
    return [a.key for a in inspect(model).column_attrs if isinstance(a.columns[0].type, String)]


def _rows_quoting(model: Any, person: Person, *extra: Any) -> Select[Any]:
    forms = _email_forms(person.email)
    columns = [getattr(model, key) for key in _text_attributes(model)]
    return select(model).where(or_(*extra, *(_contains(c, forms) for c in columns)))


def _erase_consents(session: Session, person: Person, now: dt.datetime) -> Counts:
    result = session.execute(delete(Consent).where(Consent.person_id == person.id))
    return {"consents": result.rowcount or 0}


def _erase_association_data(session: Session, person: Person, now: dt.datetime) -> Counts:
    """The associations stay; the person's place in them and their address in them go. An
    association whose own address is the person's loses it (recorded in its history)."""
    represented = len(person.associations)
    person.associations.clear()
    session.flush()
    pattern = _email_pattern(person)
    cleared = 0
    for association in session.scalars(_rows_quoting(Association, person)).all():
        changes: dict[str, list[str]] = {}
        for key in _text_attributes(Association):
            old = getattr(association, key)
            if not old or not pattern.search(old):
                continue
            if key == "email" and pattern.fullmatch(old.strip()):
                new = ""
            elif key == "search_text":  # derived for search; the address simply drops out
                new = " ".join(pattern.sub(" ", old).split())
            else:
                new = pattern.sub(ERASED, old)
            setattr(association, key, new)
            if key != "search_text":
                changes[key] = [ERASED, new]
        if changes:
            cleared += 1
            association.updated_at = now
            session.add(
                AssociationChange(
                    association_id=association.id, changed_at=now, source="erasure", changes=changes
                )
            )
    session.flush()
    return {"representations": represented, "association_fields": cleared}


def _erase_history_mentions(session: Session, person: Person, now: dt.datetime) -> Counts:
    scrubbed = 0
    for change in session.scalars(select(AssociationChange).where(_mentions_clause(person))):
        cleaned = _scrub(change.changes, person)
        if cleaned != change.changes:
            change.changes = cleaned  # a new object, so the JSON column is marked changed
            scrubbed += 1
    session.flush()
    return {"history_entries": scrubbed}


def _erase_messages(session: Session, person: Person, now: dt.datetime) -> Counts:
    """Messages to the person lose recipient, subject and body (the row stays as a count in the
    outbox, never sent); other messages that quote the address lose the address."""
    pattern = _email_pattern(person)
    email = person.email.strip().lower()
    rows = session.scalars(
        _rows_quoting(OutboxMessage, person, func.lower(OutboxMessage.recipient) == email)
    ).all()
    for message in rows:
        if message.recipient.strip().lower() == email:
            message.recipient = message.subject = message.body_text = ERASED
            message.last_error = ERASED if message.last_error else ""
            if message.status in (QUEUED, SENDING):
                message.status, message.last_error = FAILED, ERASED
        for key in _text_attributes(OutboxMessage):
            value = getattr(message, key)
            if value and pattern.search(value):
                setattr(message, key, pattern.sub(ERASED, value))
    session.flush()
    return {"messages": len(rows)}


def _erase_links(session: Session, person: Person, now: dt.datetime) -> Counts:
    # All of them, the one being spent included: an id may be reused once the person is gone.
    result = session.execute(
        delete(tokens.ActionLink).where(
            tokens.ActionLink.purpose == LINK_PURPOSE, tokens.ActionLink.subject_id == person.id
        )
    )
    return {"links": result.rowcount or 0}


ERASERS: list[Eraser] = registry.ERASERS
ERASERS[:0] = [
    _erase_consents,
    _erase_association_data,
    _erase_history_mentions,
    _erase_messages,
    _erase_links,
]
"""Run in order by erase_person before the person row is deleted. Each eraser removes, or
anonymises, its capability's rows about the person (what they contributed stays, without who) and
returns counts for the anonymous erasure log. A later capability that stores something about a
person (comments, registrations, survey answers) registers its eraser and exporter
(privacy.registry); a row that points at person.id must not be left pointing at it."""


def erase_person(
    session: Session, person_id: int, now: dt.datetime, *, reason: str = "request", log: bool = True
) -> Counts:
    """Remove the person's personal data: every eraser, then the person row; afterwards their
    address is in no column of any table. Logs an anonymous row unless `log` is false (retention
    logs one row per run). Raises NotFound when there is no such person."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(_("No such person."))
    counts: Counts = {"people": 1}
    for eraser in ERASERS:
        for key, value in eraser(session, person, now).items():
            counts[key] = counts.get(key, 0) + value
    session.delete(person)
    session.flush()
    if log:
        session.add(ErasureLog(erased_at=now, reason=reason, counts=counts))
        session.flush()
    return counts


# --- Retention -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionPreview:
    days: int
    cutoff: dt.datetime
    people: int
    messages: int


@dataclass(frozen=True)
class RetentionOverview:
    preview: RetentionPreview
    erasures: list[ErasureLog]
    total_erasures: int


def _cutoff(days: int, now: dt.datetime) -> dt.datetime:
    if days < 1:
        raise Invalid(_("The retention period must be at least one day."))
    return now - dt.timedelta(days=days)


def _stale_people(cutoff: dt.datetime) -> Select[tuple[int]]:
    """People untouched since `cutoff` (row, consents, mail) who represent no active association."""
    recent_consent = exists().where(
        Consent.person_id == Person.id,
        or_(Consent.given_at >= cutoff, Consent.withdrawn_at >= cutoff),
    )
    recent_recipients = select(func.lower(OutboxMessage.recipient)).where(
        OutboxMessage.created_at >= cutoff
    )
    represents_active = exists().where(
        representation.c.person_id == Person.id,
        representation.c.association_id == Association.id,
        Association.active.is_(True),
        Association.merged_into_id.is_(None),
    )
    return select(Person.id).where(
        Person.updated_at < cutoff,
        Person.created_at < cutoff,
        ~recent_consent,
        ~represents_active,
        func.lower(Person.email).not_in(recent_recipients),
    )


def _old_messages(cutoff: dt.datetime) -> Any:
    return OutboxMessage.created_at < cutoff


def preview_retention(session: Session, days: int, now: dt.datetime) -> RetentionPreview:
    """What run_retention would remove now. Raises Invalid for a period under one day."""
    cutoff = _cutoff(days, now)
    people = session.scalar(select(func.count()).select_from(_stale_people(cutoff).subquery()))
    messages = session.scalar(select(func.count(OutboxMessage.id)).where(_old_messages(cutoff)))
    return RetentionPreview(days=days, cutoff=cutoff, people=people or 0, messages=messages or 0)


def retention_overview(
    session: Session, days: int, now: dt.datetime, *, page: int, per_page: int
) -> RetentionOverview:
    """The preview and a page of the erasure log, newest first."""
    total = session.scalar(select(func.count(ErasureLog.id))) or 0
    rows = session.scalars(
        select(ErasureLog)
        .order_by(ErasureLog.erased_at.desc(), ErasureLog.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return RetentionOverview(preview_retention(session, days, now), list(rows), total)


def run_retention(session: Session, days: int, now: dt.datetime) -> Counts:
    """Erase people untouched for `days` who represent no active association, and delete outbox
    messages older than that. Logs one anonymous row when anything was removed.
    Raises Invalid for a period under one day."""
    cutoff = _cutoff(days, now)
    counts: Counts = {"people": 0}
    old = session.execute(delete(OutboxMessage).where(_old_messages(cutoff)))
    counts["messages_deleted"] = old.rowcount or 0
    for person_id in session.scalars(_stale_people(cutoff)).all():
        for key, value in erase_person(session, person_id, now, log=False).items():
            counts[key] = counts.get(key, 0) + value
    for retention in registry.RETENTION:
        for key, value in retention(session, now, days).items():
            counts[key] = counts.get(key, 0) + value
    # Anything removed is logged (a count of anonymised rounds or events alone is not).
    removed = {key: value for key, value in counts.items() if not key.endswith("_anonymised")}
    if any(removed.values()):
        session.add(ErasureLog(erased_at=now, reason="retention", counts=counts))
    session.flush()
    return counts
