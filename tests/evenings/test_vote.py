"""The live vote through the test client: making it, the phone's vote (one answer per phone,
a second vote updating or refused), refusals that keep the choices, the tally by hand, and
hostile option text on the big screen."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from participation.evenings import vote
from participation.evenings.models import REFUSE, UPDATE, LiveVote, Theme
from participation.events.models import Event
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.surveys.models import Survey, SurveyAnswer
from tests.conftest import csrf_token
from tests.evenings.factories import make_evening

HOSTILE = "<script>alert('x')</script>"
SECRET = "test-secret-key-not-for-production"


@pytest.fixture
def english(client: Any) -> None:
    client.get("/lang/en")


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _evening(db: Any, now: dt.datetime, **kw: Any) -> Event:
    """An event going on now (it started half an hour ago)."""
    event = make_evening(db, now=now, **kw)
    event.starts_at = now - dt.timedelta(minutes=30)
    event.ends_at = now + dt.timedelta(hours=2)
    db.flush()
    return event


def _make_vote(
    db: Any,
    event: Event,
    *,
    now: dt.datetime,
    options: list[str] | None = None,
    max_choices: int = 3,
    second_vote: str = UPDATE,
    opened: bool = True,
    user: Any = None,
) -> LiveVote:
    if user is None:
        from participation.accounts import services

        user = services.create_user(
            db, email="vote-maker@example.org", name="Vote Maker", role="coordinator",
            password="correct horse battery",
        )  # fmt: skip
    live = vote.create_vote(
        db,
        event,
        question="Valitse kolme tärkeintä",
        options=options or ["Avustukset", "Tilat", "Viestintä", "Vuosikello"],
        max_choices=max_choices,
        second_vote=second_vote,
        staff_user_id=user.id,
        now=now,
    )
    if opened:
        vote.open_vote(db, live, event, now=now)
    db.commit()
    return live


def _keys(db: Any, live: LiveVote) -> list[str]:
    return [o["key"] for o in vote.question_of(db, live)["options"]]


def _answers(db: Any, live: LiveVote) -> list[tuple[str, dict[str, Any], dt.datetime]]:
    return list(
        db.execute(
            select(SurveyAnswer.submission_key, FormResponse.answers, FormResponse.submitted_at)
            .join(FormResponse, FormResponse.id == SurveyAnswer.response_id)
            .where(SurveyAnswer.survey_id == live.survey_id)
        ).all()
    )


def _phone(client: Any, code: str) -> str:
    """Open the vote page as a phone does; returns the phone's cookie value."""
    response = client.get(f"/v/{code}")
    assert response.status_code == 200
    cookie = client.get_cookie("vote_phone", path="/v/")
    assert cookie is not None
    return cookie.value


def _vote(client: Any, code: str, choices: list[str], **kw: Any) -> Any:
    data = {"csrf_token": csrf_token(client, f"/v/{code}"), "choice": choices}
    return client.post(f"/v/{code}", data=data, **kw)


def _checked(page: str) -> list[str]:
    return re.findall(r'name="choice" value="([^"]+)" id="choice-\d+" checked', page)


# --- making the vote --------------------------------------------------------------------------


def test_the_staff_page_offers_the_visible_themes_and_makes_an_anonymous_survey(
    login_as: Any, english: None, client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    user = login_as("contact_person")
    event = _evening(db, now, creator_id=user.id)
    for n, title in enumerate(["Avustukset", "Piilotettu", "Tilat"]):
        db.add(
            Theme(
                event_id=event.id,
                title=title,
                submission_key=f"theme-key-{n}-{event.id}",
                hidden_at=now if title == "Piilotettu" else None,
            )
        )
    db.commit()
    page = _text(client.get(f"/staff/events/{event.id}/evening/vote"))
    assert "Pick the three most important" in page
    assert "Avustukset\nTilat" in page and "Piilotettu" not in page

    response = post(
        f"/staff/events/{event.id}/evening/vote",
        {
            "question": "Mitkä kolme ensin?",
            "options": "Avustukset\n\nTilat\nViestintä\n",
            "max_choices": "2",
            "second_vote": REFUSE,
        },
    )
    assert response.status_code == 302
    live = vote.event_vote(db, event.id)
    assert live is not None and vote.CODE_PATTERN.match(live.code)
    assert live.second_vote == REFUSE and live.opened_at is None
    survey = db.get(Survey, live.survey_id)
    assert survey is not None
    assert survey.anonymous and survey.public_link and survey.event_id == event.id
    assert survey.closes_at == event.ends_at
    form = db.get(FormDefinition, survey.form_id)
    assert form is not None
    (question,) = form.questions
    assert question["type"] == "multiple_choice" and question["key"] == live.question_key
    assert (question["min_choices"], question["max_choices"]) == (1, 2)
    assert [o["label"]["fi"] for o in question["options"]] == ["Avustukset", "Tilat", "Viestintä"]

    page = _text(client.get(f"/staff/events/{event.id}/evening/vote"))
    assert f"http://localhost/v/{live.code}" in page
    assert 'class="qr-code"' in page and "0 phones have voted" in page
    assert client.get(f"/staff/events/{event.id}/evening/vote/qr.svg").mimetype == "image/svg+xml"


def test_a_wrong_vote_form_keeps_what_was_typed(
    login_as: Any, english: None, client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    login_as("coordinator")
    event = _evening(db, now)
    db.commit()
    response = post(
        f"/staff/events/{event.id}/evening/vote",
        {
            "question": "Oma kysymys",
            "options": "Vain yksi",
            "max_choices": "3",
            "second_vote": UPDATE,
        },
    )
    assert response.status_code == 422
    page = _text(response)
    assert "Give at least two options, one per line." in page
    assert 'value="Oma kysymys"' in page and "Vain yksi</textarea>" in page
    assert vote.event_vote(db, event.id) is None


def test_staff_open_and_close_the_vote(
    login_as: Any, client: Any, post: Any, db: Any, now: dt.datetime
) -> None:
    user = login_as("coordinator")
    event = _evening(db, now)
    live = _make_vote(db, event, now=now, opened=False, user=user)
    assert vote.state_of(live, event, now) == vote.NOT_OPENED
    assert post(f"/staff/events/{event.id}/evening/vote/open").status_code == 302
    db.refresh(live)
    assert live.opened_at is not None and live.closed_at is None
    assert vote.state_of(live, event, live.opened_at) == vote.OPEN
    assert post(f"/staff/events/{event.id}/evening/vote/close").status_code == 302
    db.refresh(live)
    assert live.closed_at is not None
    assert vote.state_of(live, event, live.closed_at) == vote.CLOSED


# --- the phone's vote -------------------------------------------------------------------------


def test_a_phone_votes_once_and_a_second_vote_replaces_the_first(
    client: Any, db: Any, now: dt.datetime
) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now)
    keys = _keys(db, live)
    phone = _phone(client, live.code)

    response = _vote(client, live.code, [keys[2], keys[0]])
    assert response.status_code == 303 and response.location.endswith(f"/v/{live.code}")
    ((key, answers, submitted_at),) = _answers(db, live)
    expected = hmac.new(SECRET.encode(), f"{phone}:{live.id}".encode(), hashlib.sha256)
    assert key == expected.hexdigest() and len(key) == 64
    assert answers == {live.question_key: [keys[0], keys[2]]}  # the options' order
    # Anonymous: nothing finer than the day.
    assert (submitted_at.hour, submitted_at.minute, submitted_at.second) == (0, 0, 0)
    page = _text(client.get(f"/v/{live.code}"))
    assert _checked(page) == [keys[0], keys[2]]

    response = _vote(client, live.code, [keys[1]], headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert len(response.data) < 400  # a small fragment, not the page
    ((_key, answers, _at),) = _answers(db, live)
    assert answers == {live.question_key: [keys[1]]}
    assert vote.vote_count(db, event.id) == 1


def test_a_second_vote_is_refused_when_the_vote_says_so(
    client: Any, db: Any, now: dt.datetime
) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now, second_vote=REFUSE)
    keys = _keys(db, live)
    _phone(client, live.code)
    assert _vote(client, live.code, [keys[0]]).status_code == 303
    response = _vote(client, live.code, [keys[1], keys[3]])
    assert response.status_code == 409
    page = _text(response)
    assert "Tällä puhelimella on jo äänestetty" in page or "already voted" in page
    assert _checked(page) == [keys[1], keys[3]]
    ((_key, answers, _at),) = _answers(db, live)
    assert answers == {live.question_key: [keys[0]]}


def test_other_phones_count_separately(client: Any, app: Any, db: Any, now: dt.datetime) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now)
    keys = _keys(db, live)
    for n in range(3):
        phone = app.test_client()
        _phone(phone, live.code)
        assert _vote(phone, live.code, [keys[n]]).status_code == 303
    assert vote.vote_count(db, event.id) == 3


@pytest.mark.parametrize(
    ("choices", "message"),
    [([], "Choose at least one option."), ([0, 1, 2, 3], "Choose at most 3 options.")],
)
def test_too_many_or_no_choices_get_the_fields_message_with_the_choices_kept(
    english: None, client: Any, db: Any, now: dt.datetime, choices: list[int], message: str
) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now)
    keys = _keys(db, live)
    _phone(client, live.code)
    response = _vote(client, live.code, [keys[n] for n in choices])
    assert response.status_code == 422
    page = _text(response)
    assert message in page and 'class="field-error"' in page
    assert _checked(page) == [keys[n] for n in choices]
    assert _answers(db, live) == []


def test_an_unknown_option_is_refused(
    english: None, client: Any, db: Any, now: dt.datetime
) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now)
    _phone(client, live.code)
    response = _vote(client, live.code, ["o_nothere"])
    assert response.status_code == 422 and "Choose from the options shown." in _text(response)
    assert _answers(db, live) == []


def test_before_opening_and_after_the_end_the_vote_is_refused_with_the_choices_kept(
    english: None, client: Any, db: Any, now: dt.datetime
) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now, opened=False)
    keys = _keys(db, live)
    _phone(client, live.code)
    response = _vote(client, live.code, [keys[1]])
    assert response.status_code == 409
    assert "The vote has not been opened yet. Your choices were not saved." in _text(response)
    assert _checked(_text(response)) == [keys[1]]

    vote.open_vote(db, live, event, now=now)
    event.ends_at = now - dt.timedelta(minutes=1)  # the evening is over
    db.commit()
    for headers in ({}, {"HX-Request": "true"}):
        response = _vote(client, live.code, [keys[0], keys[2]], headers=headers)
        page = _text(response)
        assert "The vote has closed. Your choices were not saved." in page
        assert _checked(page) == [keys[0], keys[2]]
    assert response.status_code == 200  # htmx swaps only 2xx answers
    assert response.headers["HX-Retarget"] == "#vote-region"
    assert _answers(db, live) == []


@pytest.mark.parametrize(
    "headers",
    [{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://toinen.example"}],
    ids=["fetch-metadata", "origin"],
)
def test_a_vote_posted_from_another_site_is_refused_with_the_choices_kept(
    english: None, client: Any, db: Any, now: dt.datetime, headers: dict[str, str]
) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now)
    keys = _keys(db, live)
    _phone(client, live.code)
    response = client.post(f"/v/{live.code}", data={"choice": [keys[3]]}, headers=headers)
    assert response.status_code == 403
    assert "only from its own page" in _text(response)
    assert _checked(_text(response)) == [keys[3]]
    assert _answers(db, live) == []


@pytest.mark.parametrize(
    "same_site",
    [
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
        # An older browser behind a proxy that ends TLS: the same host counts.
        {"Origin": "https://localhost"},
    ],
    ids=["fetch-metadata", "origin-behind-a-tls-proxy"],
)
def test_a_vote_needs_no_token_so_a_page_left_open_all_evening_still_votes(
    client: Any, db: Any, now: dt.datetime, same_site: dict[str, str]
) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now)
    keys = _keys(db, live)
    _phone(client, live.code)
    response = client.post(f"/v/{live.code}", data={"choice": [keys[1]]}, headers=same_site)
    assert response.status_code == 303
    assert len(_answers(db, live)) == 1


def test_the_rate_limit_is_per_phone_not_per_address(
    app: Any, db: Any, now: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LIVE_VOTE_RATE_LIMIT", "2 per minute")
    event = _evening(db, now)
    live = _make_vote(db, event, now=now)
    keys = _keys(db, live)
    first, second = app.test_client(), app.test_client()
    _phone(first, live.code)
    _phone(second, live.code)
    # The first vote of a phone never counts (it cannot be over any limit); the repeats do.
    statuses = [_vote(first, live.code, [keys[0]]).status_code for _n in range(4)]
    assert statuses == [303, 303, 303, 429]
    assert _vote(second, live.code, [keys[1]]).status_code == 303  # same address, other phone


def test_an_unknown_code_is_a_clear_404(client: Any) -> None:
    assert client.get("/v/zzzzzz").status_code == 404
    assert client.get("/v/NOT-A-CODE/screen").status_code == 404


# --- results ----------------------------------------------------------------------------------


def test_the_tally_by_hand(client: Any, app: Any, db: Any, now: dt.datetime) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now)
    a, b, c, d = _keys(db, live)
    for choices in ([a, b, c], [a, c], [c], [a, b]):
        phone = app.test_client()
        _phone(phone, live.code)
        assert _vote(phone, live.code, choices).status_code == 303
    result = vote.tally(db, live.id)
    assert result.question == "Valitse kolme tärkeintä"
    assert result.total == 4 and result.choices == 8 and result.max_choices == 3
    assert [(r.label, r.count, r.share) for r in result.rows] == [
        ("Avustukset", 3, 0.75),
        ("Tilat", 2, 0.5),
        ("Viestintä", 3, 0.75),
        ("Vuosikello", 0, 0.0),
    ]
    assert vote.vote_count(db, event.id) == 4
    fragment = _text(client.get(f"/v/{live.code}/screen/results"))
    assert 'data-total="4"' in fragment and 'hx-trigger="every 1s"' in fragment
    assert re.search(r"Avustukset</th>.*?75 %.*?>3</td>", fragment, re.S)


def test_no_vote_counts_zero(db: Any, now: dt.datetime) -> None:
    event = _evening(db, now)
    assert vote.event_vote(db, event.id) is None and vote.vote_count(db, event.id) == 0


def test_hostile_option_text_shows_as_text_on_the_big_screen(
    client: Any, db: Any, now: dt.datetime
) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now, options=[HOSTILE, "Tilat"], max_choices=1)
    for path in (f"/v/{live.code}/screen", f"/v/{live.code}/screen/results", f"/v/{live.code}"):
        page = _text(client.get(path))
        assert HOSTILE not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_the_big_screen_shows_the_question_short_link_and_qr(
    client: Any, db: Any, now: dt.datetime
) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now)
    page = _text(client.get(f"/v/{live.code}/screen"))
    assert "Valitse kolme tärkeintä" in page
    assert f"localhost/v/{live.code}" in page and 'class="qr-code"' in page
    assert 'hx-get="/v/' in page and "every 1s" in page


def test_the_survey_lists_one_answer_per_phone(client: Any, db: Any, now: dt.datetime) -> None:
    event = _evening(db, now)
    live = _make_vote(db, event, now=now)
    keys = _keys(db, live)
    _phone(client, live.code)
    for choice in keys:
        _vote(client, live.code, [choice])
    count = db.scalar(
        select(func.count(SurveyAnswer.id)).where(SurveyAnswer.survey_id == live.survey_id)
    )
    assert count == 1
