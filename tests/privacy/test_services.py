from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from participation import tokens
from participation.errors import Invalid, NotFound
from participation.mail.models import FAILED, SENT, OutboxMessage
from participation.mail.services import queue_mail
from participation.privacy import services
from participation.privacy.models import Consent, ConsentText, ErasureLog
from participation.register.models import Association, AssociationChange, Person
from tests.privacy.conftest import ago, places_holding

EMAIL = "anna.virtanen@example.org"


@pytest.fixture(autouse=True)
def _english(db: Any) -> Any:
    """Services translate their messages; outside a request the locale must be given."""
    with force_locale("en"):
        yield


def _link(token: str) -> str:
    return f"http://localhost/privacy/link/{token}"


# --- Consents ------------------------------------------------------------------------------


def test_publishing_a_new_version_keeps_the_old_one_and_its_consents(
    db: Any, make_person: Any, now: dt.datetime
) -> None:
    v1 = services.publish_consent_text(db, "register", "Versio 1", "Version 1", "Version 1", now)
    person = make_person()
    consent = services.record_consent(db, person, "register", "sv", now)
    assert consent.consent_text_id == v1.id

    v2 = services.publish_consent_text(db, "register", "Versio 2", "", "", now)

    assert (v1.version, v2.version) == (1, 2)
    assert services.current_consent_text(db, "register").id == v2.id
    db.expire_all()
    assert db.get(ConsentText, v1.id).text_fi == "Versio 1"  # never edited in place
    assert db.get(Consent, consent.id).consent_text.version == 1
    # A new consent is given for the version current at that moment.
    again = services.record_consent(db, person, "register", "fi", now)
    assert again.consent_text.version == 2
    assert again.id != consent.id


def test_recording_the_same_version_twice_keeps_one_consent(
    db: Any, make_person: Any, now: dt.datetime
) -> None:
    services.publish_consent_text(db, "register", "Teksti", "", "", now)
    person = make_person()
    first = services.record_consent(db, person, "register", "fi", now)
    second = services.record_consent(db, person, "register", "fi", now)
    assert first.id == second.id


def test_withdrawing_a_consent_keeps_it_with_the_time(
    db: Any, make_person: Any, now: dt.datetime
) -> None:
    services.publish_consent_text(db, "register", "Teksti", "", "", now)
    person = make_person()
    consent = services.record_consent(db, person, "register", "fi", now)
    later = now + dt.timedelta(days=3)
    assert services.withdraw_consent(db, person, "register", later) == 1
    db.refresh(consent)
    assert consent.withdrawn_at == later
    assert services.find_active_consent(db, person.id, "register") is None
    assert services.withdraw_consent(db, person, "register", later) == 0


def test_consent_rules(db: Any, make_person: Any, now: dt.datetime) -> None:
    person = make_person()
    with pytest.raises(NotFound):
        services.record_consent(db, person, "nothing-published", "fi", now)
    with pytest.raises(Invalid) as bad_key:
        services.publish_consent_text(db, "Not A Key!", "Teksti", "", "", now)
    assert "key" in bad_key.value.errors
    with pytest.raises(Invalid) as no_finnish:
        services.publish_consent_text(db, "register", "   ", "Text", "Text", now)
    assert "text_fi" in no_finnish.value.errors
    services.publish_consent_text(db, "register", "Teksti", "", "", now)
    with pytest.raises(Invalid) as same:
        services.publish_consent_text(db, "register", "Teksti", "", "", now)
    assert "text_fi" in same.value.errors
    with pytest.raises(Invalid):
        services.record_consent(db, person, "register", "de", now)
    with pytest.raises(Invalid):
        services.publish_consent_text(db, "register", "x" * 20_001, "", "", now)


def test_default_consent_texts_are_created_once(db: Any, now: dt.datetime) -> None:
    assert services.ensure_default_consent_texts(db, now) == 1
    assert services.ensure_default_consent_texts(db, now) == 0
    text = services.current_consent_text(db, "register")
    assert text.version == 1
    assert "yhdistysrekisteri" in text.text_fi
    assert text.text_sv and text.text_en


def test_demo_loader_adds_the_default_texts(app: Any, db: Any, now: dt.datetime) -> None:
    from participation.demo import _extra_loaders
    from participation.privacy.demo import load_demo

    assert load_demo in _extra_loaders()
    assert load_demo(db, now=now) == 1
    assert load_demo(db, now=now) == 0


# --- The link ------------------------------------------------------------------------------


def test_a_link_is_queued_only_for_a_known_address(
    db: Any, make_person: Any, now: dt.datetime
) -> None:
    make_person(name="Anna", email=EMAIL)
    for email in ("nobody@example.org", EMAIL.upper()):
        services.request_privacy_link(
            db, email, make_url=_link, lifetime=dt.timedelta(hours=24), locale="fi", now=now
        )
    rows = db.scalars(select(OutboxMessage)).all()
    assert [r.recipient for r in rows] == [EMAIL]
    assert "http://localhost/privacy/link/" in rows[0].body_text
    assert db.scalar(select(func.count(tokens.ActionLink.id))) == 1


def test_the_link_is_checked_without_spending_it(
    db: Any, make_person: Any, now: dt.datetime
) -> None:
    person = make_person()
    token = tokens.issue_link(
        db, purpose="privacy", subject_id=person.id, lifetime=dt.timedelta(hours=1), now=now
    )
    assert services.get_person_by_link(db, token, now).id == person.id
    assert services.export_by_link(db, token, now)["person"]["email"] == person.email
    assert services.get_person_by_link(db, token, now).id == person.id
    with pytest.raises(tokens.LinkExpired):
        services.get_person_by_link(db, token, now + dt.timedelta(hours=2))
    # Another purpose's link does not open privacy pages.
    other = tokens.issue_link(
        db, purpose="edit", subject_id=person.id, lifetime=dt.timedelta(hours=1), now=now
    )
    with pytest.raises(tokens.LinkInvalid):
        services.get_person_by_link(db, other, now)


# --- Export --------------------------------------------------------------------------------


def test_export_holds_everything_about_the_person(
    db: Any, make_person: Any, make_association: Any, now: dt.datetime
) -> None:
    club = make_association(name="Kylätoimikunta")
    person = make_person(name="Anna Virtanen", email=EMAIL, associations=(club,))
    other = make_person()
    services.publish_consent_text(db, "register", "Suostun", "Jag samtycker", "I agree", now)
    services.record_consent(db, person, "register", "en", now)
    services.record_consent(db, other, "register", "fi", now)
    queue_mail(
        db, to=EMAIL, template="privacy_link", purpose="test", now=now, name="", link="x", hours=1
    )
    queue_mail(
        db,
        to=other.email,
        template="privacy_link",
        purpose="test",
        now=now,
        name="",
        link="x",
        hours=1,
    )
    db.add(
        AssociationChange(association_id=club.id, source="staff", changes={"email": ["", EMAIL]})
    )
    db.add(
        AssociationChange(association_id=club.id, source="staff", changes={"area": ["", "Pori"]})
    )
    db.flush()

    data = services.export_person(db, person, now)

    assert data["person"]["name"] == "Anna Virtanen"
    assert data["person"]["email"] == EMAIL
    assert data["associations"] == [{"id": club.id, "name": "Kylätoimikunta"}]
    [consent] = data["consents"]
    assert (consent["purpose"], consent["text_version"], consent["text"]) == (
        "register",
        1,
        "I agree",
    )
    assert consent["given_at"] == now.isoformat()
    assert len(data["messages"]) == 1 and data["messages"][0]["status"] == "queued"
    assert [h["changes"] for h in data["association_history"]] == [{"email": ["", EMAIL]}]
    import json

    json.dumps(data)  # plain data, ready for the file


# --- Erasure -------------------------------------------------------------------------------


def _rich_person(db: Any, make_person: Any, make_association: Any, now: dt.datetime) -> dict:
    """A person who has left traces in every place the platform keeps them."""
    # search_text as the register's services keep it: case-folded name and address.
    own = make_association(
        name="Annan yhdistys", email=EMAIL, search_text=f"annan yhdistys {EMAIL}"
    )
    club = make_association(name="Kyläyhdistys", description=f"Yhteyshenkilö: {EMAIL}")
    person = make_person(
        name="Anna Virtanen",
        email=EMAIL,
        associations=(own, club),
        search_text=f"anna virtanen {EMAIL}",
    )
    bob = make_person(name="Bob", email="bob@example.org", associations=(club,))
    services.publish_consent_text(db, "register", "Suostun", "", "", now)
    services.record_consent(db, person, "register", "fi", now)
    services.record_consent(db, bob, "register", "fi", now)
    queue_mail(
        db,
        to="Anna.Virtanen@Example.org",
        template="privacy_link",
        purpose="test",
        now=now,
        name="Anna Virtanen",
        link="x",
        hours=1,
    )
    sent = queue_mail(
        db,
        to=EMAIL,
        template="privacy_link",
        purpose="test",
        now=now,
        name="Anna Virtanen",
        link="x",
        hours=1,
    )
    sent.status, sent.last_error = SENT, f"earlier: {EMAIL} refused"
    to_bob = queue_mail(
        db,
        to=bob.email,
        template="privacy_link",
        purpose="test",
        now=now,
        name=f"Bob (ask {EMAIL})",
        link="x",
        hours=1,
    )
    db.add_all(
        [
            AssociationChange(
                association_id=own.id, source="staff", changes={"email": ["old@example.org", EMAIL]}
            ),
            AssociationChange(
                association_id=club.id,
                source="merge",
                changes={"people": [["Anna Virtanen", "Bob"], ["Bob"]]},
            ),
            AssociationChange(
                association_id=club.id, source="staff", changes={"area": ["", "Pori"]}
            ),
            AssociationChange(
                association_id=club.id,
                source="merge",
                changes={"person_added": [None, "Anna Virtanen, Bob"]},
            ),
        ]
    )
    tokens.issue_link(
        db, purpose="privacy", subject_id=person.id, lifetime=dt.timedelta(hours=1), now=now
    )
    db.commit()
    return {"person": person, "bob": bob, "own": own, "club": club, "to_bob": to_bob}


def test_after_erasure_the_address_is_in_no_column_of_any_table(
    db: Any, make_person: Any, make_association: Any, now: dt.datetime
) -> None:
    things = _rich_person(db, make_person, make_association, now)
    assert places_holding(db, EMAIL)  # the scan really finds it before

    counts = services.erase_person(db, things["person"].id, now)
    db.commit()
    db.expire_all()

    assert places_holding(db, EMAIL) == []
    assert places_holding(db, "Anna Virtanen") == []
    assert db.scalar(select(Person).where(Person.email == EMAIL)) is None
    # The associations stay; only the person's own address is cleared from them.
    own, club = db.get(Association, things["own"].id), db.get(Association, things["club"].id)
    assert own is not None and own.email == "" and own.name == "Annan yhdistys"
    assert own.search_text == "annan yhdistys"
    assert club.email.startswith("assoc") and "[erased]" in club.description
    assert [p.name for p in club.people] == ["Bob"]
    # Nothing of Bob's went with it.
    bob_message = db.get(OutboxMessage, things["to_bob"].id)
    assert bob_message.recipient == "bob@example.org"
    assert "Bob (ask [erased])" in bob_message.body_text
    history = [
        c.changes for c in db.scalars(select(AssociationChange).order_by(AssociationChange.id))
    ]
    assert {"person_added": [None, "[erased], Bob"]} in history
    assert {"people": [["[erased]", "Bob"], ["Bob"]]} in history
    assert {
        "email": ["[erased]", ""]
    } in history  # the erasure itself, in the association's history
    assert services.find_active_consent(db, things["bob"].id, "register") is not None
    assert db.scalar(
        select(AssociationChange).where(
            AssociationChange.source == "staff", AssociationChange.association_id == club.id
        )
    ).changes == {"area": ["", "Pori"]}
    # Messages to her stay as counted rows that will never be sent.
    erased = db.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "[erased]")).all()
    assert len(erased) == 2 and {m.status for m in erased} == {FAILED, SENT}
    # One anonymous log row.
    [log] = db.scalars(select(ErasureLog)).all()
    assert log.reason == "request" and log.counts == counts
    assert counts["people"] == 1 and counts["consents"] == 1 and counts["representations"] == 2
    assert counts["links"] == 1 and counts["history_entries"] == 3


def test_erasing_an_unknown_person_is_refused(db: Any, now: dt.datetime) -> None:
    with pytest.raises(NotFound):
        services.erase_person(db, 999_999, now)


def test_later_capabilities_plug_their_eraser_in(
    db: Any, make_person: Any, monkeypatch: pytest.MonkeyPatch, now: dt.datetime
) -> None:
    person = make_person()
    seen = []

    def erase_comments(session: Any, who: Person, when: dt.datetime) -> dict[str, int]:
        seen.append((who.id, when))
        return {"comments": 3}

    monkeypatch.setattr(services, "ERASERS", [*services.ERASERS, erase_comments])
    counts = services.erase_person(db, person.id, now)
    assert seen == [(person.id, now)]
    assert counts["comments"] == 3


def test_erasure_through_the_link_spends_it(db: Any, make_person: Any, now: dt.datetime) -> None:
    person = make_person()
    token = tokens.issue_link(
        db, purpose="privacy", subject_id=person.id, lifetime=dt.timedelta(hours=1), now=now
    )
    services.erase_by_link(db, token, now)
    with pytest.raises(tokens.LinkInvalid):
        services.erase_by_link(db, token, now)
    assert db.get(Person, person.id) is None


# --- Retention -----------------------------------------------------------------------------


def test_retention_erases_the_inactive_and_keeps_the_rest(
    db: Any, make_person: Any, make_association: Any, now: dt.datetime
) -> None:
    days = 365
    old = ago(now, 400)
    active_club = make_association()
    closed_club = make_association(active=False)
    gone = make_person(name="Old", created_at=old, updated_at=old)
    gone_closed = make_person(
        name="Old closed", created_at=old, updated_at=old, associations=(closed_club,)
    )
    recent = make_person(name="Recent", created_at=ago(now, 10), updated_at=ago(now, 10))
    representative = make_person(
        name="Rep", created_at=old, updated_at=old, associations=(active_club,)
    )
    consented = make_person(name="Consented", created_at=old, updated_at=old)
    mailed = make_person(name="Mailed", created_at=old, updated_at=old)
    services.publish_consent_text(db, "register", "Teksti", "", "", old)
    services.record_consent(db, gone, "register", "fi", old)
    services.record_consent(db, consented, "register", "fi", ago(now, 5))
    queue_mail(
        db,
        to=mailed.email,
        template="privacy_link",
        purpose="t",
        now=ago(now, 5),
        name="",
        link="x",
        hours=1,
    )
    old_mail = queue_mail(
        db,
        to="someone@example.org",
        template="privacy_link",
        purpose="t",
        now=ago(now, 366),
        name="",
        link="x",
        hours=1,
    )
    db.commit()

    preview = services.preview_retention(db, days, now)
    assert (preview.people, preview.messages) == (2, 1)
    assert preview.cutoff == ago(now, days)

    counts = services.run_retention(db, days, now)
    db.commit()
    db.expire_all()

    remaining = set(db.scalars(select(Person.name)))
    assert remaining == {"Recent", "Rep", "Consented", "Mailed"}
    remaining_ids = set(db.scalars(select(Person.id)))
    assert gone.id not in remaining_ids and gone_closed.id not in remaining_ids
    assert {recent.id, representative.id} <= remaining_ids
    assert db.get(OutboxMessage, old_mail.id) is None
    assert db.get(Association, closed_club.id) is not None
    assert counts["people"] == 2 and counts["messages_deleted"] == 1
    [log] = db.scalars(select(ErasureLog)).all()
    assert log.reason == "retention" and log.counts["people"] == 2
    # A second run finds nothing and logs nothing.
    assert services.preview_retention(db, days, now).people == 0
    services.run_retention(db, days, now)
    assert db.scalar(select(func.count(ErasureLog.id))) == 1


def test_retention_needs_a_period(db: Any, now: dt.datetime) -> None:
    with pytest.raises(Invalid):
        services.run_retention(db, 0, now)
