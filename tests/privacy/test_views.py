from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from participation import tokens
from participation.mail.services import queue_mail
from participation.privacy import services
from participation.privacy.models import ConsentText, ErasureLog
from participation.register.models import Association, AssociationChange, Person
from tests.conftest import body_of
from tests.privacy.conftest import ago, places_holding

EMAIL = "anna.virtanen@example.org"
LINK = re.compile(r"http://localhost(/privacy/link/[^\s]+)")
CSRF = re.compile(r'(name="csrf_token"[^>]*value=|name="csrf-token" content=)"[^"]+"')


def _without_csrf(html: str) -> str:
    return CSRF.sub(r'\1""', html)


def _link_for(db: Any, person: Person, *, now: dt.datetime | None = None, hours: int = 1) -> str:
    token = tokens.issue_link(
        db,
        purpose="privacy",
        subject_id=person.id,
        lifetime=dt.timedelta(hours=hours),
        now=now or dt.datetime.now(dt.UTC),
    )
    db.commit()
    return f"/privacy/link/{token}"


# --- Asking for a link ---------------------------------------------------------------------


def test_known_and_unknown_addresses_get_the_same_page_and_only_the_known_is_mailed(
    client: Any, post: Any, make_person: Any, smtp: Any
) -> None:
    make_person(name="Anna Virtanen", email=EMAIL)

    known = post("/privacy", {"email": EMAIL})
    unknown = post("/privacy", {"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    known_page = client.get(known.headers["Location"]).get_data(as_text=True)
    unknown_page = client.get(unknown.headers["Location"]).get_data(as_text=True)
    assert _without_csrf(known_page) == _without_csrf(unknown_page)
    assert "Jos osoite on tiedoissamme, olemme lähettäneet siihen linkin." in known_page

    assert [m["To"] for m in smtp.messages] == [EMAIL]
    body = body_of(smtp.messages[0])
    assert "Anna Virtanen" in body
    assert LINK.search(body)
    assert smtp.to("nobody@example.org") == []


def test_the_request_form_keeps_what_was_typed_and_says_what_is_wrong(
    client: Any, post: Any
) -> None:
    response = post("/privacy", {"email": "not an address"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Anna kelvollinen sähköpostiosoite." in html
    assert 'value="not an address"' in html

    empty = post("/privacy", {"email": ""}).get_data(as_text=True)
    assert "Anna sähköpostiosoitteesi." in empty

    huge = post("/privacy", {"email": "a" * 1_000_000 + "@example.org"})
    assert huge.status_code == 200
    assert "Sähköpostiosoitteessa voi olla enintään 254 merkkiä." in huge.get_data(as_text=True)


def test_hostile_input_in_the_request_form_is_escaped(client: Any, post: Any) -> None:
    html = post("/privacy", {"email": "<script>alert(1)</script>"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_asking_too_often_gets_a_clear_message(client: Any, post: Any) -> None:
    for n in range(5):
        assert post("/privacy", {"email": f"x{n}@example.org"}).status_code == 302
    response = post("/privacy", {"email": "x9@example.org"})
    assert response.status_code == 429
    assert "odota tunti ja yritä sitten uudelleen" in response.get_data(as_text=True)


def test_one_address_cannot_be_flooded_from_many_machines(client: Any, post: Any) -> None:
    for n in range(5):
        response = client.post(
            "/privacy",
            data={"email": EMAIL, "csrf_token": _token(client)},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        )
        assert response.status_code == 302
    response = client.post(
        "/privacy",
        data={"email": EMAIL, "csrf_token": _token(client)},
        environ_base={"REMOTE_ADDR": "10.0.0.99"},
    )
    assert response.status_code == 429


def _token(client: Any) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client)


def test_the_home_page_links_the_privacy_page(client: Any) -> None:
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)


# --- Using the link ------------------------------------------------------------------------


def test_the_mailed_link_opens_a_page_that_does_not_spend_it(
    client: Any, post: Any, make_person: Any, smtp: Any
) -> None:
    make_person(name="Anna Virtanen", email=EMAIL)
    post("/privacy", {"email": EMAIL})
    path = LINK.search(body_of(smtp.messages[0])).group(1)

    for _ in range(3):  # a mail scanner, then the person, then again
        page = client.get(path)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Lataa tietoni" in html and "Poista tietoni" in html
    assert client.get(path + "/erase").status_code == 200
    assert post(path + "/download").status_code == 200
    assert post(path + "/download").status_code == 200  # downloading may be repeated
    assert client.get(path).status_code == 200


def test_download_is_a_json_file_of_everything_held(
    db: Any, client: Any, post: Any, make_person: Any, make_association: Any
) -> None:
    now = dt.datetime.now(dt.UTC)
    club = make_association(name="Kylätoimikunta")
    person = make_person(name="Anna Virtanen", email=EMAIL, associations=(club,))
    services.publish_consent_text(db, "register", "Suostun", "", "I agree", now)
    services.record_consent(db, person, "register", "en", now)
    queue_mail(
        db, to=EMAIL, template="privacy_link", purpose="t", now=now, name="", link="x", hours=1
    )
    path = _link_for(db, person)

    response = post(path + "/download")

    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.get_data(as_text=True))
    assert data["person"]["name"] == "Anna Virtanen"
    assert data["person"]["email"] == EMAIL
    assert data["associations"][0]["name"] == "Kylätoimikunta"
    assert data["consents"][0]["text_version"] == 1
    assert data["consents"][0]["text"] == "I agree"
    assert data["consents"][0]["given_at"] == now.isoformat()
    assert len(data["messages"]) == 1


def test_erasure_through_the_link_leaves_the_address_nowhere(
    db: Any, client: Any, post: Any, make_person: Any, make_association: Any, smtp: Any
) -> None:
    now = dt.datetime.now(dt.UTC)
    own = make_association(name="Annan yhdistys", email=EMAIL)
    person = make_person(name="Anna Virtanen", email=EMAIL, associations=(own,))
    services.publish_consent_text(db, "register", "Suostun", "", "", now)
    services.record_consent(db, person, "register", "fi", now)
    db.add(AssociationChange(association_id=own.id, source="staff", changes={"email": ["", EMAIL]}))
    db.commit()
    post("/privacy", {"email": EMAIL})  # a real mail to her, in the outbox and sent
    assert smtp.to(EMAIL)
    path = LINK.search(body_of(smtp.to(EMAIL)[0])).group(1)
    assert places_holding(db, EMAIL)

    confirm = client.get(path + "/erase").get_data(as_text=True)
    assert "Poista tietoni pysyvästi" in confirm
    response = post(path + "/erase")

    assert response.status_code == 302
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tietosi on poistettu" in done
    db.expire_all()
    assert places_holding(db, EMAIL) == []
    assert db.get(Association, own.id).name == "Annan yhdistys"
    assert db.scalar(select(ErasureLog)).reason == "request"
    # The spent link now says so, and offers a new one.
    again = client.get(path)
    assert again.status_code == 404
    assert "Pyydä uusi linkki" in again.get_data(as_text=True)
    assert post(path + "/erase").status_code == 404


def test_expired_link_shows_a_page_offering_a_new_one(
    db: Any, client: Any, post: Any, make_person: Any
) -> None:
    person = make_person()
    path = _link_for(db, person, now=ago(dt.datetime.now(dt.UTC), 2), hours=1)
    for response in (client.get(path), post(path + "/download"), post(path + "/erase")):
        assert response.status_code == 410
        html = response.get_data(as_text=True)
        assert "Linkki on vanhentunut" in html
        assert 'href="/privacy"' in html
    assert db.get(Person, person.id) is not None


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-3] + "xyz", lambda t: "nonsense", lambda t: t + "a"]
)
def test_tampered_link_shows_a_page_offering_a_new_one(
    db: Any, client: Any, post: Any, make_person: Any, mangle: Any
) -> None:
    person = make_person()
    token = _link_for(db, person).rsplit("/", 1)[1]
    path = f"/privacy/link/{mangle(token)}"
    for response in (client.get(path), post(path + "/download"), post(path + "/erase")):
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert "Linkki ei toimi" in html and 'href="/privacy"' in html
    assert db.get(Person, person.id) is not None


def test_posting_without_a_csrf_token_does_nothing(db: Any, client: Any, make_person: Any) -> None:
    person = make_person()
    path = _link_for(db, person)
    assert client.post(path + "/erase").status_code == 400
    assert client.post(path + "/download").status_code == 400
    assert db.get(Person, person.id) is not None


def test_a_name_with_markup_is_shown_escaped(db: Any, client: Any, make_person: Any) -> None:
    person = make_person(name="<script>alert(1)</script>")
    path = _link_for(db, person)
    for page in (client.get(path), client.get(path + "/erase")):
        html = page.get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- Staff pages ---------------------------------------------------------------------------


STAFF_PAGES = ["/staff/privacy/consents", "/staff/privacy/consents/new", "/staff/privacy/retention"]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_pages_are_for_coordinators(client: Any, login_as: Any, path: str) -> None:
    assert client.get(path).status_code == 302
    login_as("contact_person")
    assert client.get(path).status_code == 403


def test_run_retention_needs_a_coordinator(client: Any, post: Any, login_as: Any) -> None:
    assert "/login" in post("/staff/privacy/retention").headers["Location"]
    login_as("contact_person")
    assert post("/staff/privacy/retention").status_code == 403


def test_coordinator_publishes_a_new_version_and_both_are_listed(
    db: Any, client: Any, post: Any, login_as: Any
) -> None:
    login_as("coordinator")
    services.ensure_default_consent_texts(db, dt.datetime.now(dt.UTC))
    db.commit()

    form = client.get("/staff/privacy/consents/new?key=register").get_data(as_text=True)
    assert "yhdistysrekisteri" in form  # the current text, ready to edit

    response = post(
        "/staff/privacy/consents/new",
        {
            "key": "register",
            "text_fi": "Uusi <script>alert(1)</script>",
            "text_sv": "",
            "text_en": "",
        },
    )
    assert response.status_code == 302
    listing = client.get("/staff/privacy/consents").get_data(as_text=True)
    assert "Käyttötarkoituksen ”register” versio 2 julkaistiin." in listing  # the flash
    versions = db.scalars(select(ConsentText.version).where(ConsentText.key == "register")).all()
    assert sorted(versions) == [1, 2]
    assert "Uusi &lt;script&gt;alert(1)&lt;/script&gt;" in listing
    assert "<script>alert(1)</script>" not in listing
    assert "yhdistysrekisteri" in listing  # version 1 is still shown


def test_publish_form_keeps_what_was_typed_with_the_message(
    client: Any, post: Any, login_as: Any
) -> None:
    login_as("coordinator")
    html = post(
        "/staff/privacy/consents/new",
        {"key": "Bad Key!", "text_fi": "", "text_sv": "Min text", "text_en": ""},
    ).get_data(as_text=True)
    assert "Anna teksti suomeksi." in html
    assert "Käytä pieniä kirjaimia, numeroita, yhdysmerkkejä tai alaviivoja." in html
    assert "Min text" in html and 'value="Bad Key!"' in html

    huge = post("/staff/privacy/consents/new", {"key": "register", "text_fi": "x" * 1_000_000})
    assert huge.status_code == 200
    assert "Käytä enintään 20000 merkkiä." in huge.get_data(as_text=True)


def test_publishing_the_same_text_again_says_so(
    db: Any, client: Any, post: Any, login_as: Any
) -> None:
    login_as("coordinator")
    services.publish_consent_text(db, "register", "Sama", "", "", dt.datetime.now(dt.UTC))
    db.commit()
    html = post("/staff/privacy/consents/new", {"key": "register", "text_fi": "Sama"}).get_data(
        as_text=True
    )
    assert "Teksti on sama kuin voimassa olevassa versiossa." in html


def test_retention_page_previews_and_runs(
    db: Any, client: Any, post: Any, login_as: Any, make_person: Any, make_association: Any
) -> None:
    now = dt.datetime.now(dt.UTC)
    old = ago(now, 5 * 365)
    club = make_association()
    make_person(name="Old", created_at=old, updated_at=old)
    make_person(name="Old rep", created_at=old, updated_at=old, associations=(club,))
    make_person(name="New")
    login_as("coordinator")

    page = client.get("/staff/privacy/retention").get_data(as_text=True)
    assert re.search(r"Poistettavat henkilöt</dt><dd>1</dd>", page)
    assert "Poistoja ei ole vielä tehty." in page

    response = post("/staff/privacy/retention")
    assert response.status_code == 302
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "poistettuja henkilöitä 1," in after
    assert re.search(r"Poistettavat henkilöt</dt><dd>0</dd>", after)
    assert "Säilytysaika</td>" in after  # the log row
    assert set(db.scalars(select(Person.name))) == {"Old rep", "New"}


def test_retention_command(app: Any, db: Any, make_person: Any) -> None:
    old = ago(dt.datetime.now(dt.UTC), 5 * 365)
    make_person(name="Old", created_at=old, updated_at=old)
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would erase 1 people" in dry.output
    assert db.scalar(select(Person).where(Person.name == "Old")) is not None

    done = runner.invoke(args=["retention"])
    assert done.exit_code == 0, done.output
    assert "Erased 1 people" in done.output
    assert db.scalar(select(Person).where(Person.name == "Old")) is None

    refused = runner.invoke(args=["retention", "--days", "0"])
    assert refused.exit_code != 0


def test_staff_nav_and_dashboard_link_the_pages(client: Any, login_as: Any) -> None:
    login_as("coordinator")
    html = client.get("/staff").get_data(as_text=True)
    assert 'href="/staff/privacy/consents"' in html
    assert 'href="/staff/privacy/retention"' in html
