"""A survey that follows a comment round is offered on the round's page while it is open."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.digests import factories as rounds
from tests.surveys.factories import make_survey


def test_the_rounds_page_links_its_open_public_survey_only(
    db: Any, client: Any, now: dt.datetime
) -> None:
    round_ = rounds.make_round(db, now=now, state="open")
    open_one = make_survey(db, now=now, title="Kysely <b>kierroksesta</b>", round_id=round_.id)
    closed = make_survey(db, now=now, title="Vanha kysely", state="closed", round_id=round_.id)
    private = make_survey(db, now=now, title="Kutsutuille", public_link=False, round_id=round_.id)
    other = make_survey(db, now=now, title="Muu kysely")
    db.commit()
    page = client.get(f"/rounds/{round_.slug}").get_data(as_text=True)
    assert f'href="/surveys/{open_one.slug}"' in page
    assert "Kysely &lt;b&gt;kierroksesta&lt;/b&gt;" in page  # the title is text
    for hidden in (closed, private, other):
        assert f"/surveys/{hidden.slug}" not in page


def test_a_round_without_surveys_has_no_survey_box(db: Any, client: Any, now: dt.datetime) -> None:
    round_ = rounds.make_round(db, now=now, state="open")
    db.commit()
    page = client.get(f"/rounds/{round_.slug}").get_data(as_text=True)
    assert "round-surveys" not in page
