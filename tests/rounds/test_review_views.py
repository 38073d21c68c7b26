"""The staff's review page as a staff member uses it: with and without JavaScript (htmx)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from sqlalchemy import event, select

from participation.mail.models import OutboxMessage
from participation.rounds.models import NOTED, PARTLY, TAKEN, Invitation
from tests.conftest import body_of
from tests.rounds import review_fixtures
from tests.rounds.review_fixtures import NOW, ReviewData, decide, hide, page_token

# The factories' fixtures, for this module.
review_data = review_fixtures.review_data
english = review_fixtures.english

HOSTILE = '<script>alert("x")</script>'


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _path(round_: Any, rest: str = "") -> str:
    return f"/staff/rounds/{round_.id}/comments{rest}"


@pytest.fixture
def coordinator(login_as: Any, english: None) -> Any:
    return login_as("coordinator")


# --- permissions --------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client: Any, review_data: ReviewData) -> None:
    r = review_data.round()
    c = review_data.comment(r)
    for path in (_path(r), _path(r, ".csv"), f"/staff/rounds/{r.id}/answered"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.post(_path(r, f"/{c.id}/decision"), data={})
    assert response.status_code in (302, 400)


def test_a_contact_person_reviews_only_their_own_rounds(
    client: Any, login_as: Any, review_data: ReviewData, make_user: Any
) -> None:
    me = login_as("contact_person")
    mine = review_data.round(created_by=me, title="Oma kierros")
    theirs = review_data.round(created_by=make_user("contact_person"), title="Toisen kierros")
    review_data.comment(mine, body="Minun kierrokseni kommentti")
    secret = review_data.comment(theirs, body="Toisen kierroksen kommentti")

    own = client.get(_path(mine))
    assert own.status_code == 200 and "Minun kierrokseni kommentti" in _text(own)
    for path in (
        _path(theirs),
        _path(theirs, ".csv"),
        _path(theirs, ".xlsx"),
        f"/staff/rounds/{theirs.id}/answered",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Toisen kierroksen kommentti" not in _text(response)
    refused = decide(client, theirs, secret, TAKEN, "kaapattu")
    assert refused.status_code == 404
    assert secret.decision is None
    # A comment of another round is not reached through one's own round either.
    assert decide(client, mine, secret, TAKEN).status_code == 404


def test_a_coordinator_reviews_every_round(
    client: Any, coordinator: Any, review_data: ReviewData, make_user: Any
) -> None:
    r = review_data.round(created_by=make_user("contact_person"))
    review_data.comment(r, body="Näkyy koordinaattorille")
    assert "Näkyy koordinaattorille" in _text(client.get(_path(r)))


# --- the list -----------------------------------------------------------------------------------


def test_the_page_filters_and_pages(
    app: Any, client: Any, coordinator: Any, review_data: ReviewData
) -> None:
    r = review_data.round()
    intro, goals, _ = review_data.sections(r)
    club = review_data.association(name="Porin Pallo ry")
    member = review_data.participant(r, name="Pekka Pallo", association=club)
    for n in range(1, 31):
        review_data.comment(r, body=f"Tavallinen kommentti {n:02}", section=goals)
    review_data.comment(
        r, member, body="Pallon kommentti johdantoon", section=intro, decision=TAKEN
    )
    review_data.comment(
        r, body="Piilotettu kommentti", hidden_at=NOW, hidden_reason="Asiaton kieli"
    )

    html = _text(client.get(_path(r)))
    assert "32 comments found" in html
    assert "Showing 1–25 of 32" in html and "Page 1 / 2" in html
    assert "1 / 31 answered" in html
    # The hidden comment is shown to staff, marked, with its reason.
    hidden = re.search(
        r'<article id="comment-\d+" class="review-comment is-hidden".*?</article>', html, re.S
    )
    assert (
        hidden and "Piilotettu kommentti" in hidden.group(0) and "Asiaton kieli" in hidden.group(0)
    )

    second = _text(client.get(_path(r, "?page=2")))
    assert "Showing 26–32 of 32" in second and "Tavallinen kommentti 30" in second
    assert "Tavallinen kommentti 01" not in second

    filtered = _text(client.get(_path(r, f"?section={goals.id}&decision=none&q=KOMMENTTI+07")))
    assert "1 comment found" in filtered
    assert "Tavallinen kommentti 07" in filtered and "Tavallinen kommentti 08" not in filtered
    # The filters stay chosen, and the decision forms post back to the same filtered list.
    assert f'<option value="{goals.id}" selected>' in filtered
    assert '<option value="none" selected>' in filtered
    assert 'value="KOMMENTTI 07"' in filtered
    assert re.search(r'action="[^"]*/decision\?[^"]*decision=none', filtered)

    by_association = _text(client.get(_path(r, f"?association={club.id}")))
    assert "1 comment found" in by_association and "Pekka Pallo" in by_association
    assert "Porin Pallo ry" in by_association
    hidden_only = _text(client.get(_path(r, "?visibility=hidden")))
    assert "1 comment found" in hidden_only and "Piilotettu kommentti" in hidden_only
    nothing = _text(client.get(_path(r, "?q=eiloydy")))
    assert "No comments match the filters." in nothing


def test_hostile_text_shows_escaped(client: Any, coordinator: Any, review_data: ReviewData) -> None:
    r = review_data.round(title=HOSTILE)
    p = review_data.participant(r, name=HOSTILE)
    review_data.comment(r, p, body=HOSTILE, decision=NOTED, decision_reason=HOSTILE)
    review_data.comment(r, p, body="piilossa", hidden_at=NOW, hidden_reason=HOSTILE)
    html = _text(client.get(_path(r)))
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_the_number_of_queries_does_not_grow_with_the_comments(
    app: Any, client: Any, coordinator: Any, review_data: ReviewData, make_user: Any
) -> None:
    engine = app.extensions["db_engine"]

    def count_for(n: int) -> int:
        r = review_data.round()
        sections = review_data.sections(r)
        deciders = [make_user("coordinator") for _ in range(3)]
        for i in range(n):
            association = review_data.association() if i % 4 == 0 else None
            p = review_data.participant(r, association=association)
            review_data.comment(
                r,
                p,
                section=sections[i % 3] if i % 5 else None,
                decision=TAKEN if i % 2 else None,
                decided_by_id=deciders[i % 3].id,
                hidden_at=NOW if i % 7 == 0 else None,
                hidden_by_id=deciders[0].id if i % 7 == 0 else None,
            )
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", record)
        try:
            response = client.get(_path(r))
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert response.status_code == 200
        return len(statements)

    few, many = count_for(10), count_for(60)
    assert few == many
    # The session user, the count, the page, its participants and sections, the filters'
    # sections and associations, the progress: whatever the number of comments.
    assert many <= 12


# --- decisions ----------------------------------------------------------------------------------


def test_a_decision_with_htmx_returns_the_comment_and_the_progress(
    client: Any, coordinator: Any, review_data: ReviewData, db: Any
) -> None:
    r = review_data.round()
    first = review_data.comment(r, body="Ensimmäinen")
    review_data.comment(r, body="Toinen")
    response = decide(client, r, first, PARTLY, "Osin mukana, kohta 2.", htmx=True)
    assert response.status_code == 200
    html = _text(response)
    assert "<html" not in html and "<h1" not in html
    assert html.count("<article") == 1 and f'id="comment-{first.id}"' in html
    assert "Toinen" not in html
    assert "The decision on comment 1 was saved." in html
    assert 'id="review-progress"' in html and 'hx-swap-oob="true"' in html
    assert "1 / 2 answered" in html
    assert re.search(r'value="partly"[^>]*checked|checked[^>]*value="partly"', html)
    assert "Osin mukana, kohta 2." in html
    db.refresh(first)
    assert (first.decision, first.decision_reason, first.decided_by_id) == (
        PARTLY,
        "Osin mukana, kohta 2.",
        coordinator.id,
    )
    assert "Decided on" in html and coordinator.name in html


def test_a_decision_without_javascript_goes_back_to_the_same_list(
    client: Any, coordinator: Any, review_data: ReviewData, db: Any
) -> None:
    r = review_data.round()
    comments = [review_data.comment(r) for _ in range(3)]
    target = comments[2]
    response = decide(client, r, target, TAKEN, "", query="?decision=none&q=Kommentti&page=1")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(_path(r) + "?")
    assert "decision=none" in location and "q=Kommentti" in location
    assert location.endswith(f"#comment-{target.id}")
    followed = _text(client.get(location))
    assert "The decision on comment 3 was saved." in followed
    assert "1 / 3 answered" in followed
    # The decision can be changed; who and when are recorded again.
    decide(client, r, target, NOTED, "Kiitos")
    db.refresh(target)
    assert (target.decision, target.decision_reason, target.decided_by_id) == (
        NOTED,
        "Kiitos",
        coordinator.id,
    )


def test_bad_decisions_are_shown_again_with_the_typed_text(
    client: Any, coordinator: Any, review_data: ReviewData, db: Any
) -> None:
    r = review_data.round()
    c = review_data.comment(r)
    typed = "Perustelu, jota ei saa hukata"
    no_choice = decide(client, r, c, None, typed)
    assert no_choice.status_code == 422
    html = _text(no_choice)
    assert "Please check the following" in html and "Choose a decision." in html
    assert f'href="#comment-{c.id}-decision-0"' in html
    assert typed in html

    huge = "x" * 1_000_000
    too_long = decide(client, r, c, TAKEN, huge)
    assert too_long.status_code == 422
    html = _text(too_long)
    assert "Use at most 2000 characters." in html and huge in html
    assert re.search(r'value="taken"[^>]*checked|checked[^>]*value="taken"', html)

    unknown = decide(client, r, c, "maybe", typed)
    assert unknown.status_code == 422 and typed in _text(unknown)

    with_htmx = decide(client, r, c, None, typed, htmx=True)
    assert with_htmx.status_code == 200  # htmx swaps only 2xx answers
    html = _text(with_htmx)
    assert "<html" not in html and "Choose a decision." in html and typed in html
    assert "autofocus" in html
    db.refresh(c)
    assert c.decision is None and c.decided_at is None


def test_an_expired_form_shows_the_typed_reason_again(
    client: Any, coordinator: Any, review_data: ReviewData, db: Any
) -> None:
    r = review_data.round()
    c = review_data.comment(r)
    typed = "Pitkä perustelu, jonka kirjoittamiseen meni aikaa"
    response = client.post(
        _path(r, f"/{c.id}/decision"),
        data={f"comment-{c.id}-decision": TAKEN, f"comment-{c.id}-reason": typed},
    )
    assert response.status_code == 400
    html = _text(response)
    assert "The form had expired. Your text is kept below" in html and typed in html
    db.refresh(c)
    assert c.decision is None


def test_the_rounds_staff_page_links_to_the_review(
    client: Any, coordinator: Any, review_data: ReviewData
) -> None:
    r = review_data.round()
    html = _text(client.get(f"/staff/rounds/{r.id}"))
    assert f'href="/staff/rounds/{r.id}/comments"' in html
    assert f'href="/staff/rounds/{r.id}/answered"' in html
    assert f'href="/staff/rounds/{r.id}/comments.csv"' in html


def test_a_hidden_comment_gets_no_decision_form(
    client: Any, coordinator: Any, review_data: ReviewData
) -> None:
    r = review_data.round()
    c = review_data.comment(r, hidden_at=NOW, hidden_reason="Asiaton")
    w = review_data.comment(r, withdrawn_at=NOW)
    html = _text(client.get(_path(r)))
    assert f"/comments/{c.id}/decision" not in html and f"/comments/{w.id}/decision" not in html
    assert "0 / 0 answered" in html
    refused = decide(client, r, c, TAKEN)
    assert refused.status_code == 422
    assert "Show it again first." in _text(refused)


# --- hiding and the exports ---------------------------------------------------------------------


def _csv(client: Any, r: Any) -> str:
    response = client.get(_path(r, ".csv"))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return response.get_data().decode("utf-8-sig")


def _xlsx_cells(client: Any, r: Any) -> list[list[Any]]:
    from openpyxl import load_workbook

    response = client.get(_path(r, ".xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_hiding_needs_a_reason_and_removes_the_comment_from_both_exports(
    client: Any, coordinator: Any, review_data: ReviewData, db: Any
) -> None:
    r = review_data.round()
    keep = review_data.comment(r, body="Asiallinen kommentti", decision=TAKEN)
    bad = review_data.comment(r, body="Asiaton kommentti", decision=TAKEN)
    assert "Asiaton kommentti" in _csv(client, r)

    refused = hide(client, r, bad, "   ")
    assert refused.status_code == 422
    assert "Give a reason for hiding." in _text(refused)
    assert '<details class="hide-comment" open>' in _text(refused)
    db.refresh(bad)
    assert bad.hidden_at is None

    hidden = hide(client, r, bad, "Loukkaava kieli", htmx=True)
    assert hidden.status_code == 200
    html = _text(hidden)
    assert "Comment 2 was hidden." in html and "Loukkaava kieli" in html
    assert "is-hidden" in html and "1 / 1 answered" in html  # the progress left it out
    db.refresh(bad)
    assert bad.hidden_at is not None and bad.hidden_by_id == coordinator.id

    text = _csv(client, r)
    assert "Asiallinen kommentti" in text and "Asiaton kommentti" not in text
    cells = [v for row in _xlsx_cells(client, r) for v in row]
    assert "Asiallinen kommentti" in cells and "Asiaton kommentti" not in cells

    # Shown again: back in the exports, its decision kept.
    response = client.post(
        _path(r, f"/{bad.id}/unhide"), data={"csrf_token": page_token(client, _path(r))}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"#comment-{bad.id}"
    )
    assert "Asiaton kommentti" in _csv(client, r)
    db.refresh(bad)
    assert bad.decision == TAKEN and keep.hidden_at is None


def test_exports_neutralise_formulas(
    client: Any, coordinator: Any, review_data: ReviewData
) -> None:
    r = review_data.round()
    p = review_data.participant(r, name="=cmd|' /C calc'!A0", name_public=True)
    formula = '=HYPERLINK("http://evil.example","klikkaa")'
    review_data.comment(r, p, body=formula, decision=NOTED, decision_reason="+1")
    review_data.comment(r, body=HOSTILE)
    rows = list(csv.reader(io.StringIO(_csv(client, r)), delimiter=";"))
    formula_row = next(row for row in rows if "HYPERLINK" in row[2])
    assert formula_row[2] == "'" + formula
    assert formula_row[3] == "'=cmd|' /C calc'!A0" and formula_row[6] == "'+1"
    assert [row[2] for row in rows if "script" in row[2]] == [HOSTILE]  # a file, not HTML
    rows = _xlsx_cells(client, r)
    assert rows[0][:3] == ["Number", "Section", "Comment"]
    bodies = {row[2] for row in rows[1:]}
    assert "'" + formula in bodies and HOSTILE in bodies
    assert all(not str(v).startswith("=") for row in rows for v in row if v)


def test_unknown_export_format(client: Any, coordinator: Any, review_data: ReviewData) -> None:
    r = review_data.round()
    assert client.get(_path(r, ".pdf")).status_code == 404


# --- who has answered, reminders ----------------------------------------------------------------


def test_reminders_go_only_to_invited_associations_that_have_not_answered(
    client: Any, coordinator: Any, review_data: ReviewData, db: Any, smtp: Any
) -> None:
    r = review_data.round(title="Ohjelmaluonnos 2026")
    answered = review_data.association(name="Vastannut ry", email="vastannut@example.fi")
    questions = review_data.association(name="Kyselyyn vastannut ry", email="kysely@example.fi")
    silent = review_data.association(name="Hiljainen ry", email="hiljainen@example.fi")
    no_email = review_data.association(name="Osoitteeton ry", email="")
    uninvited = review_data.association(name="Kutsumaton ry", email="kutsumaton@example.fi")
    for a in (answered, questions, silent, no_email):
        review_data.invite(r, a)
    review_data.comment(r, review_data.participant(r, association=answered))
    review_data.participant(r, association=questions, answered_questions=True)
    assert uninvited.id

    page = _text(client.get(f"/staff/rounds/{r.id}/answered"))
    assert "2 / 4 invited associations have answered." in page
    assert "The reminder goes to 1 association that has not answered" in page
    assert "1 association that has not answered has no e-mail address" in page

    token = page_token(client, f"/staff/rounds/{r.id}/answered")
    sent = client.post(f"/staff/rounds/{r.id}/reminders", data={"csrf_token": token})
    assert sent.status_code == 302
    assert [m["To"] for m in smtp.messages] == ["hiljainen@example.fi"]
    mail = smtp.messages[0]
    assert "Ohjelmaluonnos 2026" in mail["Subject"]
    body = body_of(mail)
    assert "Hiljainen ry" in body and f"http://localhost/rounds/{r.slug}" in body
    invitation = db.scalar(
        select(Invitation).where(
            Invitation.round_id == r.id, Invitation.association_id == silent.id
        )
    )
    db.refresh(invitation)
    assert invitation.reminded_at is not None
    followed = _text(client.get(sent.headers["Location"]))
    assert "A reminder was sent to 1 association." in followed

    # Not again within 24 hours, unless the staff member confirms.
    again = client.post(f"/staff/rounds/{r.id}/reminders", data={"csrf_token": token})
    assert again.status_code == 302 and len(smtp.messages) == 1
    followed = _text(client.get(again.headers["Location"]))
    assert "No reminders were sent." in followed
    assert "1 association was left out: it was reminded less than 24 hours ago." in followed
    assert "Also remind those reminded less than 24 hours ago" in followed
    confirmed = client.post(
        f"/staff/rounds/{r.id}/reminders", data={"csrf_token": token, "include_recent": "y"}
    )
    assert confirmed.status_code == 302
    assert [m["To"] for m in smtp.messages] == ["hiljainen@example.fi"] * 2
    assert (
        db.scalar(
            select(OutboxMessage.id).where(OutboxMessage.recipient == "kutsumaton@example.fi")
        )
        is None
    )


def test_no_reminders_after_the_close(
    client: Any, coordinator: Any, review_data: ReviewData, smtp: Any
) -> None:
    r = review_data.round(closes_at=NOW - dt.timedelta(minutes=1))
    review_data.invite(r, review_data.association(email="myohassa@example.fi"))
    page = _text(client.get(f"/staff/rounds/{r.id}/answered"))
    assert "Reminders can be sent only while the round is open." in page
    token = page_token(client, f"/staff/rounds/{r.id}/answered")
    response = client.post(f"/staff/rounds/{r.id}/reminders", data={"csrf_token": token})
    assert response.status_code == 302 and smtp.messages == []
    assert "Reminders can be sent only while the round is open." in _text(
        client.get(response.headers["Location"])
    )
