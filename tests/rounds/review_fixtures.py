"""Small factories for the review tests: a round on a draft with sections, participants,
comments, invitations. Rows are made directly (the participants' pages are another module's);
import the fixtures explicitly: `from tests.rounds.review_fixtures import review_data`."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest

from participation.formbuilder import services as forms
from participation.register import services as register
from participation.register.models import Association
from participation.rounds.models import (
    Comment,
    Draft,
    DraftVersion,
    Invitation,
    Participant,
    Round,
    Section,
)

NOW = dt.datetime.now(dt.UTC)
OPENS = NOW - dt.timedelta(days=7)
CLOSES = NOW + dt.timedelta(days=7)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class ReviewData:
    """Factories bound to the test's session; every made row is committed (a savepoint)."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self._n = iter(range(1, 100_000))

    def round(
        self,
        *,
        created_by: Any = None,
        sections: tuple[str, ...] = ("Johdanto", "Tavoitteet", "Toimenpiteet"),
        title: str = "Yhdistysyhteistyön ohjelma",
        opens_at: dt.datetime = OPENS,
        closes_at: dt.datetime = CLOSES,
    ) -> Round:
        n = next(self._n)
        draft = Draft(title=title, created_by_id=created_by.id if created_by else None)
        version = DraftVersion(draft=draft, number=1, source_format="markdown")
        for position, heading in enumerate(sections, start=1):
            version.sections.append(
                Section(
                    position=position,
                    heading=heading,
                    anchor=f"s{position}",
                    body_html=f"<p>{heading}</p>",
                )
            )
        self.db.add(draft)
        self.db.flush()
        round_ = Round(
            title=title,
            slug=f"kierros-{n}-{uuid.uuid4().hex[:8]}",
            draft_version_id=version.id,
            opens_at=opens_at,
            closes_at=closes_at,
            created_by_id=created_by.id if created_by else None,
        )
        self.db.add(round_)
        self.db.commit()
        return round_

    def sections(self, round_: Round) -> list[Section]:
        return list(round_.version.sections)

    def association(self, **values: Any) -> Association:
        n = next(self._n)
        data = {"name": f"Yhdistys {n} ry", "email": f"yhdistys{n}@example.fi", "active": True}
        data.update(values)
        association = register.create_association(self.db, data, now=NOW)
        self.db.commit()
        return association

    def invite(self, round_: Round, association: Association, **values: Any) -> Invitation:
        invitation = Invitation(
            round_id=round_.id, association_id=association.id, invited_at=OPENS, **values
        )
        self.db.add(invitation)
        self.db.commit()
        return invitation

    def participant(
        self,
        round_: Round,
        *,
        association: Association | None = None,
        answered_questions: bool = False,
        **values: Any,
    ) -> Participant:
        n = next(self._n)
        data: dict[str, Any] = {
            "name": f"Osallistuja {n}",
            "email": f"osallistuja{n}@example.fi",
            "name_public": False,
        }
        data.update(values)
        participant = Participant(
            round_id=round_.id, association_id=association.id if association else None, **data
        )
        if answered_questions:
            participant.response_id = self._response().id
        self.db.add(participant)
        self.db.commit()
        return participant

    def _response(self) -> Any:
        from participation.accounts import services as accounts

        owner = accounts.create_user(
            self.db,
            email=f"owner{next(self._n)}@example.org",
            name="Lomakkeen omistaja",
            role="coordinator",
            password="correct horse battery",
        )
        form = forms.create_form(self.db, owner_id=owner.id, title="Yleiset kysymykset", now=NOW)
        return forms.record_response(self.db, form, {}, now=NOW)

    def comment(
        self,
        round_: Round,
        participant: Participant | None = None,
        *,
        body: str | None = None,
        section: Section | None = None,
        **values: Any,
    ) -> Comment:
        n = next(self._n)
        participant = participant or self.participant(round_)
        values.setdefault("created_at", NOW - dt.timedelta(hours=1))
        comment = Comment(
            round_id=round_.id,
            participant_id=participant.id,
            section_id=section.id if section else None,
            body=body if body is not None else f"Kommentti numero {n}",
            submission_key=uuid.uuid4().hex,
            **values,
        )
        self.db.add(comment)
        self.db.commit()
        return comment


@pytest.fixture
def review_data(db: Any) -> ReviewData:
    return ReviewData(db)


@pytest.fixture
def english(client: Any) -> None:
    """The UI in English, the source language of the messages asserted."""
    client.get("/lang/en")


def page_token(client: Any, path: str) -> str:
    match = CSRF_META.search(client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def decide(
    client: Any,
    round_: Round,
    comment: Comment,
    decision: str | None,
    reason: str = "",
    *,
    htmx: bool = False,
    query: str = "",
) -> Any:
    """Post comment's decision form as the browser would (its prefixed field names)."""
    path = f"/staff/rounds/{round_.id}/comments"
    token = page_token(client, path)
    data = {f"comment-{comment.id}-csrf_token": token, f"comment-{comment.id}-reason": reason}
    if decision is not None:
        data[f"comment-{comment.id}-decision"] = decision
    headers = {"HX-Request": "true", "X-CSRFToken": token} if htmx else {}
    return client.post(
        f"{path}/{comment.id}/decision{query}",
        data=data,
        headers=headers,
    )


def hide(client: Any, round_: Round, comment: Comment, reason: str, *, htmx: bool = False) -> Any:
    path = f"/staff/rounds/{round_.id}/comments"
    token = page_token(client, path)
    headers = {"HX-Request": "true", "X-CSRFToken": token} if htmx else {}
    return client.post(
        f"{path}/{comment.id}/hide",
        data={f"hide-{comment.id}-csrf_token": token, f"hide-{comment.id}-reason": reason},
        headers=headers,
    )
