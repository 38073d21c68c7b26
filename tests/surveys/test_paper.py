"""The blank paper survey PDF: every question and option printed, tagged, staff only."""

from __future__ import annotations

import datetime as dt
import io
import os
from typing import Any

from pypdf import PdfReader

from participation.formbuilder.models import FormDefinition
from participation.surveys.paper import render_blank_pdf
from tests.digests.conftest import pdf_text
from tests.surveys import factories as f

EVERY_TYPE: list[dict[str, Any]] = [
    *f.DEFAULT_QUESTIONS,
    {"question_type": "number", "label_fi": "Montako jäsentä yhdistykselläsi on?"},
    {"question_type": "date", "label_fi": "Milloin yhdistys perustettiin?"},
    {"question_type": "email", "label_fi": "Sähköpostiosoite tuloksia varten"},
    {"question_type": "consent", "label_fi": "Saamme julkaista vastauksesi nimettömänä"},
    {"question_type": "info", "label_fi": "Lopuksi muutama taustakysymys"},
]


def _labels(db: Any, survey: Any) -> tuple[list[str], list[str]]:
    form = db.get(FormDefinition, survey.form_id)
    questions = [q["label"]["fi"] for q in form.questions]
    options = [o["label"]["fi"] for q in form.questions for o in q.get("options", [])]
    return questions, options


def _save(data: bytes, name: str) -> None:
    """Keep the PDF for a look by eye when PAPER_PDF_DIR is set."""
    folder = os.environ.get("PAPER_PDF_DIR")
    if folder:
        with open(os.path.join(folder, name), "wb") as out:
            out.write(data)


def test_blank_pdf_holds_every_question_and_option_and_is_tagged(db: Any, now: dt.datetime) -> None:
    survey = f.make_survey(db, now=now, questions=EVERY_TYPE, title="Yhdistyskysely 2026")
    db.commit()
    data = render_blank_pdf(db, survey, language="fi")
    _save(data, "paper.pdf")
    text = pdf_text(data)
    questions, options = _labels(db, survey)
    assert len(questions) == len(EVERY_TYPE)
    for label in [*questions, *options]:
        assert label in text, label
    assert "Yhdistyskysely 2026" in text
    assert survey.welcome in text
    reader = PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "fi"
    assert reader.metadata.title and "Yhdistyskysely 2026" in reader.metadata.title
    # One bookmark per question to answer (the info block too), under the title.
    assert len(reader.outline) >= 1


def test_ranking_rating_and_choice_instructions_are_printed(db: Any, now: dt.datetime) -> None:
    survey = f.make_survey(
        db,
        now=now,
        questions=[
            {
                "question_type": "multiple_choice",
                "label_fi": "Valitse kolme tärkeintä",
                "options_fi": "Yksi\nKaksi\nKolme\nNeljä",
                "max_choices": 3,
            },
            *f.DEFAULT_QUESTIONS[2:4],
        ],
    )
    db.commit()
    text = pdf_text(render_blank_pdf(db, survey, language="en"))
    assert "Tick at most 3 boxes." in text
    assert "Choose the 3 most important: write 1 in the box of the most important" in text
    assert "Tick one box: 1 is the lowest, 5 the highest." in text
    for step in "12345":
        assert step in text
    assert "Ei lainkaan" in text and "Erittäin" in text


def test_hostile_labels_print_as_text(db: Any, now: dt.datetime) -> None:
    hostile = "<script>alert('x')</script> <img src=x>"
    survey = f.make_survey(
        db,
        now=now,
        title=hostile,
        questions=[{"question_type": "short_text", "label_fi": hostile, "max_length": 100}],
    )
    survey.welcome = hostile
    db.commit()
    text = pdf_text(render_blank_pdf(db, survey, language="fi"))
    assert text.count(hostile) >= 3


def test_staff_download_the_blank_pdf(
    db: Any, client: Any, login_as: Any, now: dt.datetime
) -> None:
    survey = f.make_survey(db, now=now)
    db.commit()
    path = f"/staff/surveys/{survey.id}/paper.pdf"
    assert client.get(path).status_code == 302  # to the login page
    login_as("contact_person")
    assert client.get(path).status_code == 403  # another's survey
    survey.created_by_id = login_as("contact_person").id
    db.commit()
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "Mistä kuulit tilaisuudesta?" in pdf_text(response.data)
    assert client.get("/staff/surveys/999999/paper.pdf").status_code == 404
