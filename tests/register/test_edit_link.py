"""'Send me an edit link': an association keeps its own information current, through a real
SMTP server (aiosmtpd), with links that only the saving POST spends."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import time_machine
from sqlalchemy import select

from participation.register.models import Association, AssociationChange
from tests.conftest import body_of
from tests.register.conftest import without_csrf

ADDRESS = "kylayhdistys@rantala.example"
LINK = re.compile(r"http://localhost(/associations/edit/[^\s]+)")


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _form(association: Any, **changes: str) -> dict[str, str]:
    data = {
        "name": association.name,
        "registry_number": association.registry_number,
        "category": str(association.category_id or ""),
        "area": association.area,
        "email": association.email,
        "website": association.website,
        "description": association.description,
    }
    data.update(changes)
    return data


def _ask_for_link(post: Any, smtp: Any, address: str = ADDRESS) -> str:
    response = post("/associations/edit-link", {"email": address})
    assert response.status_code == 302
    [message] = smtp.to(address.lower())
    match = LINK.search(body_of(message))
    assert match, body_of(message)
    return match.group(1)


def test_the_home_page_links_to_the_request_form(client: Any) -> None:
    assert 'href="/associations/edit-link"' in _text(client.get("/"))


def test_the_mailed_link_shows_the_form_on_get_and_is_spent_by_the_saving_post(
    client: Any, post: Any, smtp: Any, make_association: Any, db: Any, login_as: Any
) -> None:
    association = make_association(
        name="Rantalan Kyläyhdistys ry", email=ADDRESS, area="Rantala", description="Kylätalo."
    )
    response = post("/associations/edit-link", {"email": " KylaYhdistys@Rantala.example "})
    assert response.status_code == 302
    sent = _text(client.get(response.headers["Location"]))
    assert "Tarkista sähköpostisi" in sent and "Linkki on voimassa 72 tuntia" in sent

    [message] = smtp.messages
    assert message["To"] == ADDRESS
    assert [to for _from, to in smtp.envelopes] == [[ADDRESS]]
    body = body_of(message)
    assert "Rantalan Kyläyhdistys ry" in body and "Linkki on voimassa 72 tuntia" in body
    path = LINK.search(body).group(1)

    # Opening the link (a mail scanner, then the person) does not use it up.
    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200
        assert 'value="Rantalan Kyläyhdistys ry"' in _text(page)
        assert "Kylätalo." in _text(page)

    saved = post(
        path, _form(association, area="Rantala–Ylikylä", description="Kylätalo ja uimaranta.")
    )
    assert saved.status_code == 302
    assert "Kiitos! Yhdistyksen Rantalan Kyläyhdistys ry tiedot tallennettiin." in _text(
        client.get(saved.headers["Location"])
    )
    db.refresh(association)
    assert association.area == "Rantala–Ylikylä"
    assert association.description == "Kylätalo ja uimaranta."

    again = post(path, _form(association, area="Toinen yritys"))
    assert again.status_code == 404
    assert "Linkki ei toimi" in _text(again)
    assert 'href="/associations/edit-link"' in _text(again)
    assert client.get(path).status_code == 404
    db.refresh(association)
    assert association.area == "Rantala–Ylikylä"

    change = db.scalars(
        select(AssociationChange).where(AssociationChange.association_id == association.id)
        .order_by(AssociationChange.id.desc())
    ).first()  # fmt: skip
    assert change.source == "edit_link" and change.staff_user_id is None
    assert change.changes["area"] == ["Rantala", "Rantala–Ylikylä"]

    login_as("contact_person")
    detail = _text(client.get(f"/staff/associations/{association.id}"))
    assert "Yhdistys muokkauslinkin kautta" in detail
    assert "Rantala–Ylikylä" in detail


def test_an_unknown_address_gets_the_same_page_and_no_mail(
    client: Any, post: Any, smtp: Any, make_association: Any
) -> None:
    make_association(name="Tunnettu ry", email=ADDRESS)
    known = post("/associations/edit-link", {"email": ADDRESS})
    unknown = post("/associations/edit-link", {"email": "tuntematon@example.fi"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    known_page = _text(client.get(known.headers["Location"]))
    unknown_page = _text(client.get(unknown.headers["Location"]))
    assert without_csrf(known_page) == without_csrf(unknown_page)
    assert [m["To"] for m in smtp.messages] == [ADDRESS]
    assert smtp.to("tuntematon@example.fi") == []


def test_the_request_form_keeps_what_was_typed(client: Any, post: Any) -> None:
    html = _text(post("/associations/edit-link", {"email": "<script>x</script>"}))
    assert "Anna kelvollinen sähköpostiosoite." in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    huge = post("/associations/edit-link", {"email": "a" * 1_000_000 + "@example.fi"})
    assert huge.status_code == 200 and "Käytä enintään 254 merkkiä." in _text(huge)


def test_an_expired_link_shows_a_clear_page_offering_a_new_one(
    app: Any, client: Any, post: Any, smtp: Any, make_association: Any
) -> None:
    make_association(name="Vanheneva ry", email=ADDRESS)
    path = _ask_for_link(post, smtp)
    hours = app.config["EDIT_LINK_HOURS"]
    with time_machine.travel(
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours, minutes=1), tick=False
    ):
        response = client.get(path)
    assert response.status_code == 410
    html = _text(response)
    assert "Linkki on vanhentunut" in html
    assert 'href="/associations/edit-link"' in html and "Lähetä minulle uusi linkki" in html
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours - 1), tick=False):
        assert client.get(path).status_code == 200


def test_a_tampered_link_shows_a_clear_page(
    client: Any, post: Any, smtp: Any, make_association: Any
) -> None:
    association = make_association(name="Peukaloitu ry", email=ADDRESS)
    path = _ask_for_link(post, smtp)
    token = path.rsplit("/", 1)[1]
    tampered = path[: -len(token)] + token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (tampered, "/associations/edit/not-a-token", "/associations/edit/" + "x" * 5000):
        response = client.get(bad)
        assert response.status_code == 404, bad
        assert "Linkki ei toimi" in _text(response)
        assert "Lähetä minulle uusi linkki" in _text(response)
    refused = post(tampered, _form(association, name="Kaapattu ry"))
    assert refused.status_code == 404
    assert client.get(path).status_code == 200  # the real link still works


def test_bad_input_through_the_link_is_shown_again_and_the_link_kept(
    client: Any, post: Any, smtp: Any, make_association: Any, db: Any
) -> None:
    association = make_association(name="Korjaava ry", email=ADDRESS)
    path = _ask_for_link(post, smtp)
    response = post(
        path,
        _form(
            association,
            name="",
            email="ei osoite",
            description="<script>alert(1)</script>" + "x" * 2000,
        ),
    )
    html = _text(response)
    assert response.status_code == 200
    assert "Anna yhdistyksen nimi." in html
    assert "Anna kelvollinen sähköpostiosoite." in html
    assert "Käytä enintään 1000 merkkiä." in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert 'value="ei osoite"' in html
    assert client.get(path).status_code == 200
    db.refresh(association)
    assert association.name == "Korjaava ry"


def test_a_changed_address_is_told_to_the_old_one(
    client: Any, post: Any, smtp: Any, make_association: Any, db: Any
) -> None:
    association = make_association(name="Muuttava ry", email=ADDRESS)
    path = _ask_for_link(post, smtp)
    assert post(path, _form(association, email="uusi@rantala.example")).status_code == 302
    db.refresh(association)
    assert association.email == "uusi@rantala.example"
    notices = [
        m for m in smtp.to(ADDRESS) if m["Subject"] == "Yhdistyksesi sähköpostiosoite on muutettu"
    ]
    assert len(notices) == 1 and "uusi@rantala.example" in body_of(notices[0])
    assert smtp.to("uusi@rantala.example") == []


def test_asking_too_often_gets_a_clear_message(
    client: Any, post: Any, smtp: Any, make_association: Any
) -> None:
    for n in range(5):
        assert (
            post("/associations/edit-link", {"email": f"kokeilu{n}@example.fi"}).status_code == 302
        )
    limited = post("/associations/edit-link", {"email": "kuudes@example.fi"})
    assert limited.status_code == 429
    assert "Linkkejä on pyydetty useita lyhyessä ajassa. Odota tunti" in _text(limited)


def test_staff_can_send_the_link_to_the_registered_address(
    client: Any, post: Any, smtp: Any, make_association: Any, login_as: Any
) -> None:
    association = make_association(name="Lähetettävä ry", email=ADDRESS)
    login_as("coordinator")
    response = post(f"/staff/associations/{association.id}/send-link")
    assert response.status_code == 302
    assert len(smtp.to(ADDRESS)) == 1 and LINK.search(body_of(smtp.to(ADDRESS)[0]))
    silent = make_association(name="Osoitteeton ry", email="")
    refused = post(f"/staff/associations/{silent.id}/send-link")
    assert refused.status_code == 409
    assert "Yhdistyksellä ei ole sähköpostiosoitetta, johon linkin voisi lähettää." in _text(
        refused
    )


def test_merged_or_inactive_associations_get_no_link(
    post: Any, smtp: Any, make_association: Any, db: Any
) -> None:
    make_association(name="Lepäävä ry", email=ADDRESS, active=False)
    assert post("/associations/edit-link", {"email": ADDRESS}).status_code == 302
    assert smtp.messages == []
    assert db.scalar(select(Association).where(Association.email == ADDRESS)) is not None
