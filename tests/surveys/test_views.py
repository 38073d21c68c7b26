"""Survey pages through HTTP: staff set-up, answering in both layouts, the states, the
invitation link, the thank-you page, paper answers, and anonymity end to end."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from sqlalchemy import select, text

from participation.formbuilder.models import FormDefinition, FormResponse
from participation.mail.models import OutboxMessage
from participation.surveys import services
from participation.surveys.models import (
    PAGED,
    Survey,
    SurveyAnswer,
    SurveyProgress,
    SurveyResultsRequest,
)
from tests.surveys.factories import make_survey, question_keys

TWO = [
    {"question_type": "short_text", "label_fi": "Nimimerkki", "required": True, "max_length": 20},
    {"question_type": "yes_no", "label_fi": "Tuletko uudelleen?", "required": True},
]
INVITE_LINK = re.compile(r"http://\S+/surveys/i/\S+")


def _form_values(html: str) -> dict[str, str]:
    """The hidden inputs of the answering form, as a browser would send them back."""
    values = {}
    for name in ("submission_key", "progress", "invitation", "page"):
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
            rf'value="([^"]*)"[^>]*name="{name}"', html
        )
        values[name] = match.group(1) if match else ""
    return values


def _get(client: Any, path: str) -> tuple[str, dict[str, str]]:
    html = client.get(path).get_data(as_text=True)
    return html, _form_values(html)


# --- staff -------------------------------------------------------------------------------------


def test_staff_create_edit_copy_and_list(client: Any, post: Any, login_as: Any, db: Any) -> None:
    login_as("coordinator")
    assert client.get("/staff/surveys/new").status_code == 200
    response = post(
        "/staff/surveys/new",
        {"title": "<script>x</script>", "opens_at": "2030-01-01T10:00", "closes_at": "bad"},
    )
    html = response.get_data(as_text=True)
    assert "&lt;script&gt;x&lt;/script&gt;" in html and 'value="bad"' in html
    response = post(
        "/staff/surveys/new",
        {
            "title": "Palaute 2030",
            "opens_at": "2030-01-01T10:00",
            "closes_at": "2030-01-15T16:00",
            "anonymous": "y",
            "public_link": "y",
            "second_answer": "refuse",
            "layout": PAGED,
            "follows": "",
        },
    )
    assert response.status_code == 302
    survey = db.scalar(select(Survey).where(Survey.title == "Palaute 2030"))
    # Typed in Helsinki time (winter: UTC+2).
    assert survey.opens_at.replace(tzinfo=dt.UTC) == dt.datetime(2030, 1, 1, 8, tzinfo=dt.UTC)
    page = client.get(f"/staff/surveys/{survey.id}").get_data(as_text=True)
    assert f"/staff/forms/{survey.form_id}" in page
    response = post(
        f"/staff/surveys/{survey.id}/edit",
        {**services.settings_of(survey), "opens_at": "2030-01-02T10:00",
         "closes_at": "2030-01-15T16:00", "anonymous": "y", "layout": "one_page"},
    )  # fmt: skip
    assert response.status_code == 302 and survey.layout == "one_page"
    response = post(
        f"/staff/surveys/{survey.id}/copy",
        {"title": "Palaute 2031", "opens_at": "2031-01-01T10:00", "closes_at": "2031-01-15T10:00"},
    )
    assert response.status_code == 302
    listing = client.get("/staff/surveys").get_data(as_text=True)
    assert "Palaute 2030" in listing and "Palaute 2031" in listing


def test_contact_person_runs_only_their_own_surveys(
    client: Any, post: Any, login_as: Any, db: Any, now: dt.datetime
) -> None:
    others = make_survey(db, now=now, questions=TWO, title="Toisen kysely")
    db.commit()
    me = login_as("contact_person")
    assert client.get("/staff/surveys/new").status_code == 200
    response = post(
        "/staff/surveys/new",
        {"title": "Oma kysely", "opens_at": "2030-01-01T10:00",
         "closes_at": "2030-01-15T16:00", "anonymous": "y", "layout": "one_page"},
    )  # fmt: skip
    assert response.status_code == 302
    mine = db.scalar(select(Survey).where(Survey.title == "Oma kysely"))
    assert mine.created_by_id == me.id
    listing = client.get("/staff/surveys").get_data(as_text=True)
    assert f"/staff/surveys/{mine.id}" in listing and "Toisen kysely" not in listing

    # Every page and action of another's survey is refused.
    for path in ("", "/edit", "/copy", "/invitations", "/answers/new", "/qr", "/paper.pdf"):
        assert client.get(f"/staff/surveys/{others.id}{path}").status_code == 403, path
    for path in ("/invitations/send", "/invitations/remind", "/results/publish-pdf"):
        assert post(f"/staff/surveys/{others.id}{path}").status_code == 403, path
    assert post(f"/staff/surveys/{others.id}/edit", {"title": "Muutettu"}).status_code == 403
    assert db.get(Survey, others.id).title == "Toisen kysely"
    assert client.get("/staff/surveys/999999/edit").status_code == 404

    # A coordinator sees and opens every survey.
    login_as("coordinator")
    listing = client.get("/staff/surveys").get_data(as_text=True)
    assert "Oma kysely" in listing and "Toisen kysely" in listing
    assert client.get(f"/staff/surveys/{mine.id}/edit").status_code == 200


def test_contact_person_types_paper_answers_into_their_own_survey(
    client: Any, post: Any, login_as: Any, db: Any, now: dt.datetime
) -> None:
    survey = make_survey(db, now=now, questions=TWO, state="closed")
    keys = question_keys(db, survey)
    db.commit()
    survey.created_by_id = login_as("contact_person").id
    db.commit()
    form = client.get(f"/staff/surveys/{survey.id}/answers/new").get_data(as_text=True)
    key = _form_values(form)["submission_key"]
    response = post(
        f"/staff/surveys/{survey.id}/answers/new",
        {keys[0]: "Paperi", keys[1]: "no", "submission_key": key},
    )
    assert response.status_code == 302
    answer = db.scalar(select(SurveyAnswer).where(SurveyAnswer.survey_id == survey.id))
    assert db.get(FormResponse, answer.response_id).source == "paper"


def test_contact_person_follows_only_their_own_events(
    client: Any, post: Any, login_as: Any, db: Any, now: dt.datetime
) -> None:
    from tests.events import factories as ef

    others = ef.make_event(db, now=now, title="Toisen ilta")
    me = login_as("contact_person")
    mine = ef.make_event(db, now=now, title="Oma ilta", creator_id=me.id)
    db.commit()
    form = client.get("/staff/surveys/new").get_data(as_text=True)
    assert f'value="event:{mine.id}"' in form and f'value="event:{others.id}"' not in form
    values = {"title": "Vieras ilta", "opens_at": "2030-01-01T10:00",
              "closes_at": "2030-01-15T16:00", "layout": "one_page"}  # fmt: skip
    response = post("/staff/surveys/new", {**values, "follows": f"event:{others.id}"})
    assert response.status_code == 200 and 'value="Vieras ilta"' in response.get_data(as_text=True)
    assert db.scalar(select(Survey).where(Survey.title == "Vieras ilta")) is None
    assert post("/staff/surveys/new", {**values, "follows": f"event:{mine.id}"}).status_code == 302
    assert db.scalar(select(Survey).where(Survey.title == "Vieras ilta")).event_id == mine.id


# --- answering ---------------------------------------------------------------------------------


def test_one_page_answer_errors_keep_text_and_double_submit_is_one(
    client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    survey = make_survey(db, now=now, questions=TWO)
    keys = question_keys(db, survey)
    db.commit()
    html, hidden = _get(client, f"/surveys/{survey.slug}")
    assert "Nimimerkki" in html and "identified-notice" not in html
    path = f"/surveys/{survey.slug}"
    response = post(path, {**hidden, keys[0]: "<b>liian pitkä nimimerkki tässä</b>"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "&lt;b&gt;liian pitkä nimimerkki tässä&lt;/b&gt;" in html
    assert 'class="field-error"' in html and f'id="{keys[0]}-error"' in html
    data = {**hidden, keys[0]: "Maija", keys[1]: "yes", "action": "send"}
    assert post(path, data).status_code == 302
    assert post(path, data).status_code == 302
    assert services.count_answers(db, survey.id) == 1
    thanks = client.get(f"/surveys/{survey.slug}/thanks")
    assert thanks.status_code == 200
    assert post(f"/surveys/{survey.slug}/thanks", {"email": "x"}).status_code == 422
    assert post(f"/surveys/{survey.slug}/thanks", {"email": "m@example.org"}).status_code == 302
    assert db.scalar(select(SurveyResultsRequest.email)) == "m@example.org"


def test_paged_back_and_forward_keep_answers_then_save_for_later(
    client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    survey = make_survey(db, now=now, questions=TWO, layout=PAGED)
    keys = question_keys(db, survey)
    db.commit()
    path = f"/surveys/{survey.slug}"
    html, hidden = _get(client, path)
    assert "Question 1/2" in html or "1/2" in html
    assert f'name="{keys[1]}"' not in html
    # Next without the required answer: the page's own message, nothing saved.
    response = post(path, {**hidden, "action": "next"})
    assert response.status_code == 422
    response = post(path, {**hidden, keys[0]: "Kalle", "action": "next"})
    assert response.status_code == 302 and "/continue/" in response.headers["Location"]
    html, hidden = _get(client, response.headers["Location"])
    assert "2/2" in html and f'name="{keys[1]}"' in html and hidden["progress"]
    response = post(path, {**hidden, keys[1]: "no", "action": "back"})
    html, hidden = _get(client, response.headers["Location"])
    assert 'value="Kalle"' in html
    saved = post(path, {**hidden, keys[0]: "Kalle K", "action": "save"}).get_data(as_text=True)
    link = re.search(r'href="(http://[^"]+/continue/[^"]+)"', saved).group(1)
    html, hidden = _get(client, link.removeprefix("http://localhost"))
    assert 'value="Kalle K"' in html
    response = post(path, {**hidden, keys[0]: "Kalle K", "action": "next"})
    html, hidden = _get(client, response.headers["Location"])
    assert re.search(rf'id="{keys[1]}-1"[^>]*checked|checked[^>]*id="{keys[1]}-1"', html)
    assert post(path, {**hidden, keys[1]: "no", "action": "send"}).status_code == 302
    answer = db.scalar(select(SurveyAnswer).where(SurveyAnswer.survey_id == survey.id))
    assert db.get(FormResponse, answer.response_id).answers == {keys[0]: "Kalle K", keys[1]: False}
    assert db.scalar(select(SurveyProgress).where(SurveyProgress.survey_id == survey.id)) is None
    # The same progress sent again from another tab: still one answer, a thank-you.
    again = post(path, {**hidden, keys[1]: "yes", "action": "send"})
    assert again.status_code == 302 and "/thanks" in again.headers["Location"]
    assert services.count_answers(db, survey.id) == 1


def test_closed_and_upcoming_pages_and_a_late_post_keeps_text(
    client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    closed = make_survey(db, now=now, questions=TWO, state="closed")
    upcoming = make_survey(db, now=now, questions=TWO, state="upcoming")
    keys = question_keys(db, closed)
    db.commit()
    html = client.get(f"/surveys/{closed.slug}").get_data(as_text=True)
    assert "survey-state" in html and '<form method="post" action="/surveys/' not in html
    assert "survey-state" in client.get(f"/surveys/{upcoming.slug}").get_data(as_text=True)
    response = post(
        f"/surveys/{closed.slug}",
        {keys[0]: "Myöhäinen vastaus", keys[1]: "yes", "submission_key": "a" * 24},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and 'value="Myöhäinen vastaus"' in html
    assert services.count_answers(db, closed.id) == 0


def test_invitation_only_and_bad_links(client: Any, db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TWO, public_link=False)
    db.commit()
    assert client.get(f"/surveys/{survey.slug}").status_code == 403
    assert client.get("/surveys/i/not-a-token").status_code == 404
    assert client.get(f"/surveys/{survey.slug}/continue/nope").status_code == 404


def test_honeypot_stores_nothing(client: Any, post: Any, db: Any, now: dt.datetime) -> None:
    survey = make_survey(db, now=now, questions=TWO)
    keys = question_keys(db, survey)
    db.commit()
    html, hidden = _get(client, f"/surveys/{survey.slug}")
    data = {**hidden, keys[0]: "Botti", keys[1]: "yes", "homepage": "http://spam"}
    assert post(f"/surveys/{survey.slug}", data).status_code == 302
    assert services.count_answers(db, survey.id) == 0


# --- invitations and anonymity -----------------------------------------------------------------


def _all_values(db: Any, table: str, where: str, **params: Any) -> list[Any]:
    # Fixed table names and conditions from this module only.
    rows = db.execute(text(f"SELECT * FROM {table} WHERE {where}"), params).all()  # noqa: S608
    return [value for row in rows for value in row]


def test_anonymous_answer_through_an_invitation_leaves_no_trace(
    client: Any, post: Any, login_as: Any, db: Any, now: dt.datetime, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    survey = make_survey(db, now=now, questions=TWO, public_link=False, layout=PAGED)
    keys = question_keys(db, survey)
    db.commit()
    address = "salainen.vastaaja@example.org"
    login_as("coordinator")
    assert (
        post(f"/staff/surveys/{survey.id}/invitations", {"addresses": address}).status_code == 302
    )
    assert post(f"/staff/surveys/{survey.id}/invitations/send").status_code == 302
    mail = db.scalar(select(OutboxMessage).where(OutboxMessage.recipient == address))
    link = INVITE_LINK.search(mail.body_text).group(0)
    token = link.rsplit("/", 1)[1]
    caplog.clear()

    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    html, hidden = _get(client, link.removeprefix("http://localhost"))
    assert hidden["invitation"] == token
    path = f"/surveys/{survey.slug}"
    response = post(path, {**hidden, keys[0]: "Nimetön", "action": "next"})
    html, hidden = _get(client, response.headers["Location"])
    response = post(path, {**hidden, keys[1]: "yes", "action": "send"})
    assert response.status_code == 302 and "/thanks" in response.headers["Location"]
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    answer = db.scalar(select(SurveyAnswer).where(SurveyAnswer.survey_id == survey.id))
    assert answer is not None
    values = (
        _all_values(db, "survey_answer", "survey_id = :s", s=survey.id)
        + _all_values(db, "form_response", "form_id = :f", f=survey.form_id)
        + _all_values(db, "survey_progress", "survey_id = :s", s=survey.id)
    )
    text_values = " ".join(str(v) for v in values)
    for secret in (address, "127.0.0.1", token):
        assert secret not in text_values
        assert secret not in caplog.text
    for value in values:
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            assert not (before <= aware <= after), value
        if isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d", value):
            assert value[11:19] == "00:00:00", value
    assert services.answered_counts(db, survey.id) == (1, 1)
    # The invitation link now says clearly that it has been used.
    used = client.get(link.removeprefix("http://localhost"))
    assert used.status_code == 409
    tampered = client.get(link.removeprefix("http://localhost")[:-3] + "abc")
    assert tampered.status_code == 404


def test_identified_survey_shows_its_notice_and_reminders_once(
    client: Any, post: Any, login_as: Any, db: Any, now: dt.datetime
) -> None:
    survey = make_survey(db, now=now, questions=TWO, anonymous=False)
    db.commit()
    assert "identified-notice" in client.get(f"/surveys/{survey.slug}").get_data(as_text=True)
    login_as("coordinator")
    post(f"/staff/surveys/{survey.id}/invitations", {"addresses": "a@example.org, b@example.org"})
    post(f"/staff/surveys/{survey.id}/invitations/send")
    page = client.get(f"/staff/surveys/{survey.id}/invitations").get_data(as_text=True)
    assert 'id="answered-count"' in page and "/invitations/remind" in page
    post(f"/staff/surveys/{survey.id}/invitations/remind")
    post(f"/staff/surveys/{survey.id}/invitations/remind")
    reminders = db.scalars(
        select(OutboxMessage).where(OutboxMessage.purpose == "survey_reminder")
    ).all()
    assert sorted(m.recipient for m in reminders) == ["a@example.org", "b@example.org"]
    assert db.get(FormDefinition, survey.form_id) is not None


def test_register_people_are_picked_as_checkboxes(
    client: Any, post: Any, login_as: Any, db: Any, now: dt.datetime
) -> None:
    from participation.register.models import Person

    survey = make_survey(db, now=now, questions=TWO)
    person = Person(name="Rekisteri Henkilö", email="rekisteri@example.org")
    db.add(person)
    db.commit()
    login_as("coordinator")
    page = client.get(f"/staff/surveys/{survey.id}/invitations").get_data(as_text=True)
    assert f'type="checkbox" value="{person.id}"' in page.replace('name="people" ', "")
    assert (
        post(f"/staff/surveys/{survey.id}/invitations", {"people": str(person.id)}).status_code
        == 302
    )
    assert services.list_invitations(db, survey.id)[0].email == "rekisteri@example.org"
