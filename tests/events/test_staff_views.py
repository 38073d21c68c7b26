"""The staff's registration pages and the door through HTTP: who may do what (the event's
creator or a coordinator), the htmx and the no-JavaScript paths, and forms that keep what was
typed when something is wrong."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from participation.events.models import CANCELLED, CONFIRMED, WAITLISTED, Registration
from participation.mail.models import OutboxMessage
from tests.events.factories import make_event, make_registration

HTMX = {"HX-Request": "true"}


@pytest.fixture
def evening(db: Any, now: dt.datetime) -> dict[str, Any]:
    event = make_event(db, now=now, capacity=3, groups=[("Tilat", 1), ("Avustukset", None)])
    spaces, grants = event.groups
    aino = make_registration(
        db, event, name="Aino Aalto", email="aino@example.org", now=now, group=spaces
    )
    bertil = make_registration(
        db, event, name="Bertil Berg", email="bertil@example.org", now=now, group=grants
    )
    cecilia = make_registration(
        db, event, name="Cecilia Carlsson", email="cecilia@example.org", now=now, group=grants
    )
    david = make_registration(
        db,
        event,
        name="David Dahl",
        email="david@example.org",
        now=now,
        group=grants,
        status=WAITLISTED,
    )
    db.commit()
    return {"event": event, "aino": aino, "bertil": bertil, "cecilia": cecilia, "david": david}


def _base(evening: dict) -> str:
    return f"/staff/events/{evening['event'].id}"


def _mails_to(db: Any, address: str) -> list[OutboxMessage]:
    return list(db.query(OutboxMessage).filter(OutboxMessage.recipient == address))


# --- who may do what --------------------------------------------------------------------------


def _login_as_creator(login_as: Any, db: Any, evening: dict) -> Any:
    """Sign in as the contact person who created the evening: they run it like a coordinator."""
    user = login_as("contact_person")
    evening["event"].created_by_id = user.id
    db.commit()
    return user


def test_the_contact_person_who_created_the_event_runs_it(
    client: Any, post: Any, login_as: Any, db: Any, evening: dict
) -> None:
    _login_as_creator(login_as, db, evening)
    base = _base(evening)
    aino, bertil = evening["aino"], evening["bertil"]
    for path in (
        f"{base}/registrations",
        f"{base}/registrations.csv",
        f"{base}/figures",
        f"{base}/checkin",
        f"{base}/registrations/new",
    ):
        assert client.get(path).status_code == 200, path
    page = client.get(f"{base}/registrations").get_data(as_text=True)
    assert f"{base}/registrations/new" in page
    assert f"/registrations/{aino.id}/cancel" in page

    assert post(f"{base}/checkin/{aino.id}", {"attended": "1"}).status_code == 302
    db.refresh(aino)
    assert aino.attended_at is not None
    assert post(f"{base}/registrations/{bertil.id}/cancel").status_code == 302
    db.refresh(bertil)
    assert bertil.status == CANCELLED
    grants = evening["event"].groups[1]
    moved = post(f"{base}/registrations/{aino.id}/move", {"group_id": str(grants.id)})
    assert moved.status_code == 302
    db.refresh(aino)
    assert aino.group_id == grants.id


def test_a_contact_person_is_refused_someone_elses_event(
    client: Any, post: Any, login_as: Any, db: Any, evening: dict
) -> None:
    login_as("contact_person")  # the evening was not created by them
    base = _base(evening)
    aino, bertil = evening["aino"], evening["bertil"]
    for path in (
        f"{base}/registrations",
        f"{base}/registrations.csv",  # diet and accessibility answers
        f"{base}/registrations.xlsx",
        f"{base}/signin-sheet.pdf",
        f"{base}/figures",
        f"{base}/checkin",
    ):
        assert client.get(path).status_code == 403, path
    assert post(f"{base}/checkin/{aino.id}", {"attended": "1"}).status_code == 403
    assert post(f"{base}/checkin/walk-in", {"name": "Ovelta Tullut"}).status_code == 403
    assert post(f"{base}/registrations/{bertil.id}/cancel").status_code == 403
    db.refresh(aino)
    db.refresh(bertil)
    assert aino.attended_at is None and bertil.status == CONFIRMED
    assert db.query(Registration).filter_by(name="Ovelta Tullut").count() == 0


def test_anonymous_people_are_sent_to_sign_in(client: Any, evening: dict) -> None:
    response = client.get(f"{_base(evening)}/checkin")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_events_registration_is_not_found(
    post: Any, login_as: Any, db: Any, evening: dict, now: dt.datetime
) -> None:
    login_as("coordinator")
    other = make_event(db, now=now, title="Toinen ilta")
    db.commit()
    response = post(f"/staff/events/{other.id}/checkin/{evening['aino'].id}", {"attended": "1"})
    assert response.status_code == 404


# --- the list ---------------------------------------------------------------------------------


def test_list_shows_counts_filters_and_hostile_text_as_text(
    client: Any, login_as: Any, db: Any, evening: dict, now: dt.datetime
) -> None:
    login_as("coordinator")
    make_registration(
        db,
        evening["event"],
        name="<script>alert(1)</script>",
        email="x@example.org",
        now=now,
        status=CANCELLED,
    )
    db.commit()
    page = client.get(f"{_base(evening)}/registrations").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "3 / 3" in page  # seats taken of the capacity
    for registration in ("aino", "bertil", "cecilia", "david"):
        assert f'id="registration-{evening[registration].id}"' in page
    filtered = client.get(f"{_base(evening)}/registrations?status=waitlisted").get_data(
        as_text=True
    )
    assert f'id="registration-{evening["david"].id}"' in filtered
    assert f'id="registration-{evening["aino"].id}"' not in filtered
    # The export links carry the filters.
    assert f"{_base(evening)}/registrations.csv?status=waitlisted" in filtered


def test_export_downloads(client: Any, login_as: Any, db: Any, evening: dict) -> None:
    _login_as_creator(login_as, db, evening)
    csv_response = client.get(f"{_base(evening)}/registrations.csv?q=aino")
    assert csv_response.status_code == 200
    assert csv_response.mimetype == "text/csv"
    body = csv_response.get_data().decode("utf-8-sig")
    assert "Aino Aalto" in body and "Bertil Berg" not in body
    xlsx = client.get(f"{_base(evening)}/registrations.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get(f"{_base(evening)}/registrations.pdf").status_code == 404


def test_signin_sheet_pdf(client: Any, login_as: Any, db: Any, evening: dict) -> None:
    _login_as_creator(login_as, db, evening)
    grants = evening["event"].groups[1]
    response = client.get(f"{_base(evening)}/signin-sheet.pdf?group={grants.id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "Bertil Berg" in text and "Cecilia Carlsson" in text
    assert "Aino Aalto" not in text and "David Dahl" not in text
    assert client.get(f"{_base(evening)}/signin-sheet.pdf?group=999999").status_code == 404
    assert client.get(f"{_base(evening)}/signin-sheet.pdf?group=x").status_code == 404


# --- moves and cancellations ------------------------------------------------------------------


def test_move_refused_when_the_group_is_full_says_why(
    client: Any, post: Any, login_as: Any, db: Any, evening: dict
) -> None:
    login_as("coordinator")
    spaces = evening["event"].groups[0]
    bertil = evening["bertil"]
    response = post(
        f"{_base(evening)}/registrations/{bertil.id}/move?status=confirmed",
        {"group_id": str(spaces.id)},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page and f'id="move-error-{bertil.id}"' in page
    assert "Bertil Berg" in page
    db.refresh(bertil)
    assert bertil.group_id == evening["event"].groups[1].id


def test_move_to_a_group_with_room(post: Any, login_as: Any, db: Any, evening: dict) -> None:
    login_as("coordinator")
    aino, grants = evening["aino"], evening["event"].groups[1]
    response = post(
        f"{_base(evening)}/registrations/{aino.id}/move?q=aino", {"group_id": str(grants.id)}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"registrations?q=aino#registration-{aino.id}")
    db.refresh(aino)
    assert aino.group_id == grants.id


def test_cancel_on_behalf_asks_first_then_mails_and_promotes(
    client: Any, post: Any, login_as: Any, db: Any, evening: dict
) -> None:
    login_as("coordinator")
    bertil, david = evening["bertil"], evening["david"]
    path = f"{_base(evening)}/registrations/{bertil.id}/cancel"
    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "Bertil Berg" in confirm.get_data(as_text=True)
    db.refresh(bertil)
    assert bertil.status == CONFIRMED  # looking at the question changes nothing

    response = post(path)
    assert response.status_code == 302
    db.refresh(bertil)
    db.refresh(david)
    assert bertil.status == CANCELLED
    assert david.status == CONFIRMED  # the first on the waitlist got the seat
    assert len(_mails_to(db, "bertil@example.org")) == 1
    assert len(_mails_to(db, "david@example.org")) == 1
    # A second cancellation changes nothing and mails nobody.
    assert post(path).status_code == 302
    assert len(_mails_to(db, "bertil@example.org")) == 1


# --- adding by hand ---------------------------------------------------------------------------


def test_phone_registration_goes_through_the_rules(
    client: Any, post: Any, login_as: Any, db: Any, evening: dict
) -> None:
    login_as("coordinator")
    base = _base(evening)
    page = client.get(f"{base}/registrations/new").get_data(as_text=True)
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page)
    assert key
    grants = evening["event"].groups[1]
    response = post(
        f"{base}/registrations/new",
        {
            "name": "Puhelin Soittaja",
            "email": "soittaja@example.org",
            "group_id": str(grants.id),
            "seats": "1",
            "language": "fi",
            "submission_key": key.group(1),
        },
    )
    assert response.status_code == 302
    added = db.query(Registration).filter_by(email_key="soittaja@example.org").one()
    # The event is full (3 of 3): the caller goes on the waitlist, and is told by mail.
    assert (added.status, added.source) == (WAITLISTED, "staff")
    assert len(_mails_to(db, "soittaja@example.org")) == 1


def test_phone_registration_errors_keep_what_was_typed(
    post: Any, login_as: Any, db: Any, evening: dict
) -> None:
    login_as("coordinator")
    response = post(
        f"{_base(evening)}/registrations/new",
        {
            "name": "<b>Kesken</b> Jäänyt",
            "email": "ei-osoite",
            "group_id": "",
            "seats": "1",
            "submission_key": "k" * 32,
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="error-summary"' in page
    assert 'value="&lt;b&gt;Kesken&lt;/b&gt; Jäänyt"' in page
    assert 'value="ei-osoite"' in page
    assert db.query(Registration).filter_by(email_key="ei-osoite").count() == 0


# --- the door ---------------------------------------------------------------------------------


def test_check_in_with_htmx_returns_the_row_and_the_counts(
    client: Any, post: Any, login_as: Any, db: Any, evening: dict
) -> None:
    _login_as_creator(login_as, db, evening)
    aino = evening["aino"]
    response = post(
        f"{_base(evening)}/checkin/{aino.id}", {"attended": "1", "q": "aino"}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<li id="door-{aino.id}"')
    assert 'id="door-counts" class="door-counts" hx-swap-oob="true"' in html
    assert "1 / 3" in html
    assert 'id="door-status" hx-swap-oob="innerHTML"' in html
    assert 'name="attended" value="0"' in html  # the button now undoes
    assert 'name="q" value="aino"' in html
    db.refresh(aino)
    assert aino.attended_at is not None

    undo = post(f"{_base(evening)}/checkin/{aino.id}", {"attended": "0"}, headers=HTMX)
    assert "0 / 3" in undo.get_data(as_text=True)
    db.refresh(aino)
    assert aino.attended_at is None


def test_check_in_without_javascript_goes_back_to_the_same_search(
    client: Any, post: Any, login_as: Any, db: Any, evening: dict
) -> None:
    _login_as_creator(login_as, db, evening)
    bertil = evening["bertil"]
    response = post(f"{_base(evening)}/checkin/{bertil.id}", {"attended": "1", "q": "berg"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/checkin?q=berg#door-{bertil.id}")
    page = client.get(f"{_base(evening)}/checkin?q=berg").get_data(as_text=True)
    assert 'role="status"' in page
    assert f'id="door-{bertil.id}"' in page
    assert f'id="door-{evening["aino"].id}"' not in page


def test_a_cancelled_registration_cannot_be_checked_in(
    post: Any, login_as: Any, db: Any, evening: dict, now: dt.datetime
) -> None:
    _login_as_creator(login_as, db, evening)
    gone = make_registration(
        db, evening["event"], name="Peruttu", email="p@example.org", now=now, status=CANCELLED
    )
    db.commit()
    response = post(f"{_base(evening)}/checkin/{gone.id}", {"attended": "1"}, headers=HTMX)
    assert response.status_code == 200
    assert 'class="field-error"' in response.get_data(as_text=True)
    db.refresh(gone)
    assert gone.attended_at is None


def test_search_as_you_type_returns_the_results_only(
    client: Any, login_as: Any, db: Any, evening: dict
) -> None:
    _login_as_creator(login_as, db, evening)
    response = client.get(f"{_base(evening)}/checkin?q=DAHL", headers=HTMX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="door-results"')
    assert "<html" not in html
    assert f'id="door-{evening["david"].id}"' in html  # from the waitlist
    assert f'id="door-{evening["aino"].id}"' not in html
    assert 'id="door-status" hx-swap-oob="innerHTML"' in html


def test_walk_in_beyond_capacity_and_errors_keep_the_text(
    client: Any, post: Any, login_as: Any, db: Any, evening: dict
) -> None:
    _login_as_creator(login_as, db, evening)
    base = _base(evening)
    refused = post(f"{base}/checkin/walk-in", {"name": "  ", "email": "<i>huono</i>"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'class="error-summary"' in page and 'value="&lt;i&gt;huono&lt;/i&gt;"' in page

    response = post(f"{base}/checkin/walk-in", {"name": "Ovelta Tullut", "email": ""})
    assert response.status_code == 302
    assert "/checkin?q=Ovelta" in response.headers["Location"]
    walk_in = db.query(Registration).filter_by(name="Ovelta Tullut").one()
    # The event was full (3 of 3): a walk-in is in the room already, so confirmed anyway.
    assert (walk_in.status, walk_in.source) == (CONFIRMED, "walk_in")
    assert walk_in.attended_at is not None
    page = client.get(f"{base}/checkin").get_data(as_text=True)
    assert "1 / 4" in page
