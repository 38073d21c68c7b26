"""The results pages: who may do what, filters through the page, hiding a text with a reason
(htmx and without JavaScript), publishing, the public page and formula-safe exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from participation.formbuilder.models import FormDefinition
from participation.surveys.models import HiddenText, Survey
from tests.surveys.factories import add_answer, make_survey

HOSTILE = "<script>alert('x')</script>"
FORMULA = '=HYPERLINK("http://example.org","klik")'


@pytest.fixture
def survey(db: Session, now: dt.datetime) -> tuple[Survey, dict[str, Any]]:
    s = make_survey(db, now=now)
    form = db.get(FormDefinition, s.form_id)
    single, multiple, rating, ranking, yes_no, short, long_ = form.questions
    opts = [o["key"] for o in single["options"]]
    answers = []
    for i in range(6):
        answers.append(
            add_answer(
                db,
                s,
                {
                    single["key"]: opts[i % 2],
                    multiple["key"]: [multiple["options"][0]["key"]],
                    rating["key"]: 3 + i % 3,
                    ranking["key"]: [o["key"] for o in ranking["options"][:3]],
                    yes_no["key"]: i != 0,
                    short["key"]: FORMULA if i == 0 else f"lyhyt {i}",
                    long_["key"]: HOSTILE if i == 0 else f"pitkä {i}",
                },
                now=now,
                source="paper" if i == 5 else "web",
            )
        )
    db.commit()
    return s, {"answers": answers, "long": long_["key"], "short": short["key"], "single": single}


def test_results_are_for_the_creator_and_coordinators(
    client: Any, login_as: Any, post: Any, survey: Any, db: Session
) -> None:
    s, k = survey
    url = f"/staff/surveys/{s.id}/results"
    hide = f"/staff/surveys/{s.id}/results/texts/{k['answers'][1].id}/{k['long']}/hide"
    publish = f"/staff/surveys/{s.id}/results/publish"
    assert client.get(url).status_code == 302  # to the login page
    assert client.get(f"/staff/surveys/{s.id}/answers.csv").status_code == 302

    # A contact person who did not create the survey gets nothing of it.
    login_as("contact_person")
    assert client.get(url).status_code == 403
    assert client.get(f"/staff/surveys/{s.id}/answers.csv").status_code == 403
    assert client.get(f"/staff/surveys/{s.id}/answers.xlsx").status_code == 403
    assert post(hide, {"reason": "x"}).status_code == 403
    assert post(publish, {"publish": "1"}).status_code == 403
    db.refresh(s)
    assert s.results_published_at is None
    assert client.get("/staff/surveys/999999/results").status_code == 404

    # Its creator sees, exports and publishes.
    s.created_by_id = login_as("contact_person").id
    db.commit()
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="chart-' in html and 'role="img"' in html
    assert hide in html and publish in html
    assert client.get(f"/staff/surveys/{s.id}/answers.csv").status_code == 200
    assert post(publish, {"publish": "1"}).status_code == 302
    db.refresh(s)
    assert s.results_published_at is not None

    # A coordinator sees every survey's results.
    login_as("coordinator")
    assert client.get(url).status_code == 200
    assert client.get(f"/staff/surveys/{s.id}/answers.csv").status_code == 200


def test_hostile_text_shows_as_text(client: Any, login_as: Any, survey: Any) -> None:
    s, _k = survey
    login_as("coordinator")
    html = client.get(f"/staff/surveys/{s.id}/results").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert HOSTILE not in html


def test_filters_through_the_page_and_small_groups(client: Any, login_as: Any, survey: Any) -> None:
    s, k = survey
    login_as("coordinator")
    url = f"/staff/surveys/{s.id}/results"
    html = client.get(url, query_string={"source": "web"}).get_data(as_text=True)
    assert "small-group" not in html and 'id="chart-' in html
    assert 'value="web" selected' in html
    # One paper answer: far below five, so no figures and the reason instead.
    html = client.get(url, query_string={"source": "paper"}).get_data(as_text=True)
    assert 'class="notice small-group"' in html and 'id="chart-' not in html
    first = k["single"]["options"][0]["key"]
    html = client.get(url, query_string={"answer": f"{k['single']['key']}:{first}"}).get_data(
        as_text=True
    )
    assert 'class="notice small-group"' in html  # three chose it
    # Nonsense in the query string is ignored, not an error.
    assert (
        client.get(url, query_string={"source": "x", "category": "'; --", "page": "-3"}).status_code
        == 200
    )


def test_hide_with_reason_without_js_and_with_htmx(
    client: Any, login_as: Any, post: Any, survey: Any, db: Session
) -> None:
    s, k = survey
    login_as("coordinator")
    first, second = k["answers"][0].id, k["answers"][1].id
    base = f"/staff/surveys/{s.id}/results/texts"

    # No reason: refused, with the field's message and the form open again.
    response = post(f"{base}/{first}/{k['long']}/hide", {"reason": "  "})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.query(HiddenText).count() == 0

    response = post(f"{base}/{first}/{k['long']}/hide?source=web", {"reason": "Asiaton"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"source=web#text-{first}-{k['long']}")
    hidden = db.query(HiddenText).one()
    assert (hidden.answer_id, hidden.question_key, hidden.reason) == (first, k["long"], "Asiaton")

    response = post(
        f"{base}/{second}/{k['long']}/hide",
        {"reason": "Nimi mainittu"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith(f'<li id="text-{second}-{k["long"]}"')
    assert "Nimi mainittu" in fragment and "/unhide" in fragment

    response = post(f"{base}/{second}/{k['long']}/unhide", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "/hide" in response.get_data(as_text=True)
    assert db.query(HiddenText).count() == 1

    # A question that is not a free text, or an answer of another survey: not found.
    assert post(f"{base}/{first}/{k['single']['key']}/hide", {"reason": "x"}).status_code == 404


def test_publish_then_public_page_without_hidden_texts(
    client: Any, login_as: Any, post: Any, survey: Any, db: Session
) -> None:
    s, k = survey
    public = f"/surveys/{s.slug}/results"
    assert client.get(public).status_code == 404  # not published
    assert client.get("/surveys/no-such-slug/results").status_code == 404

    login_as("coordinator")
    post(
        f"/staff/surveys/{s.id}/results/texts/{k['answers'][0].id}/{k['long']}/hide",
        {"reason": "Asiaton"},
    )
    assert post(f"/staff/surveys/{s.id}/results/publish", {"publish": "1"}).status_code == 302
    db.refresh(s)
    assert s.results_published_at is not None

    client.get("/logout")
    with client.session_transaction() as session:
        session.clear()
    page = client.get(public)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'role="img"' in html and "pitkä 2" in html
    assert "alert(" not in html  # the hidden text is not there in any form
    assert "Asiaton" not in html  # nor the reason
    assert f"text-{k['answers'][1].id}-" not in html  # nor answer ids
    assert "/hide" not in html

    login_as("coordinator")
    post(f"/staff/surveys/{s.id}/results/publish", {"publish": "0"})
    with client.session_transaction() as session:
        session.clear()
    assert client.get(public).status_code == 404


def test_exports_are_formula_safe_with_readable_values(
    client: Any, login_as: Any, survey: Any
) -> None:
    s, k = survey
    login_as("coordinator")
    response = client.get(f"/staff/surveys/{s.id}/answers.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    header, first = rows[0], rows[1]
    assert len(rows) == 7
    assert header[4:6] == ["Mistä kuulit tilaisuudesta?", "Mitkä aiheet kiinnostavat?"]
    assert first[0] == str(k["answers"][0].id)
    assert first[4] == "Uutiskirjeestä"  # the option's Finnish label, not its key
    assert first[7] == "1. Foorumit; 2. Uutiskirje; 3. Avustukset"
    assert first[9] == "'" + FORMULA  # neutralised
    assert first[10] == HOSTILE  # as text
    assert rows[6][2] != rows[1][2]  # paper and web told apart

    response = client.get(f"/staff/surveys/{s.id}/answers.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][9] == "'" + FORMULA and values[1][10] == HOSTILE
    assert client.get(f"/staff/surveys/{s.id}/answers.pdf").status_code == 404
