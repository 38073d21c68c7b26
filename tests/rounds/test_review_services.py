"""The review's rules: filters, paging, progress, decisions, hiding, who has answered, export."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask_babel import force_locale

from participation.errors import Invalid, NotFound, WrongState
from participation.register.exporting import to_csv
from participation.rounds import review
from participation.rounds.models import NOT_TAKEN, NOTED, PARTLY, TAKEN
from tests.rounds import review_fixtures
from tests.rounds.review_fixtures import NOW, ReviewData

review_data = review_fixtures.review_data  # the factories' fixture, for this module

pytestmark = pytest.mark.usefixtures("app")


def _bodies(page: Any) -> list[str]:
    return [item.comment.body for item in page.items]


def _list(db: Any, round_: Any, per_page: int = 50, page: int = 1, **args: str) -> Any:
    flt = review.parse_filter(args)
    return review.list_comments(db, round_.id, flt, page=page, per_page=per_page)


def test_filters_by_section_association_decision_visibility_and_text(
    db: Any, review_data: ReviewData
) -> None:
    r = review_data.round()
    intro, goals, _measures = review_data.sections(r)
    club = review_data.association(name="Porin Pallo ry")
    village = review_data.association(name="Kylätoimikunta ry")
    anna = review_data.participant(r, name="Anna Aaltonen", association=club)
    ville = review_data.participant(r, name="Ville Virtanen", association=village)
    resident = review_data.participant(r, name="Reijo Rantanen")
    review_data.comment(r, anna, body="Koko luonnos on hyvä")
    review_data.comment(r, anna, body="Johdanto on liian pitkä", section=intro, decision=TAKEN)
    review_data.comment(r, ville, body="Tavoitteet puuttuvat", section=goals, decision=NOTED)
    review_data.comment(r, resident, body="Piilotettu asiaton", section=goals, hidden_at=NOW)
    review_data.comment(r, resident, body="Peruttu kommentti", section=intro, withdrawn_at=NOW)
    review_data.comment(r, ville, body="100% samaa mieltä", section=goals)
    other = review_data.round()
    review_data.comment(other, body="Toisen kierroksen kommentti")

    everything = _list(db, r)
    assert everything.total == 6
    # The draft as a whole first, then section by section.
    assert _bodies(everything)[0] == "Koko luonnos on hyvä"
    assert [i.number for i in everything.items] == [1, 2, 5, 3, 4, 6]

    assert _bodies(_list(db, r, section="whole")) == ["Koko luonnos on hyvä"]
    assert set(_bodies(_list(db, r, section=str(intro.id)))) == {
        "Johdanto on liian pitkä",
        "Peruttu kommentti",
    }
    assert set(_bodies(_list(db, r, association=str(village.id)))) == {
        "Tavoitteet puuttuvat",
        "100% samaa mieltä",
    }
    assert set(_bodies(_list(db, r, association="none"))) == {
        "Piilotettu asiaton",
        "Peruttu kommentti",
    }
    assert _bodies(_list(db, r, decision=TAKEN)) == ["Johdanto on liian pitkä"]
    assert _list(db, r, decision="none").total == 4
    assert _list(db, r, visibility="visible").total == 4
    assert _bodies(_list(db, r, visibility="hidden")) == ["Piilotettu asiaton"]
    assert _bodies(_list(db, r, visibility="withdrawn")) == ["Peruttu kommentti"]
    # Text: in the comment or the participant's name, every word, any case.
    assert set(_bodies(_list(db, r, q="VIRTANEN"))) == {"Tavoitteet puuttuvat", "100% samaa mieltä"}
    assert _bodies(_list(db, r, q="virtanen tavoitteet")) == ["Tavoitteet puuttuvat"]
    assert _bodies(_list(db, r, q="100%")) == ["100% samaa mieltä"]  # % is no wildcard
    assert _list(db, r, q="%").total == 1
    # Combined.
    assert _bodies(_list(db, r, section=str(goals.id), decision="none", visibility="visible")) == [
        "100% samaa mieltä"
    ]


def test_unknown_filter_values_mean_all() -> None:
    flt = review.parse_filter(
        {"section": "1 OR 1=1", "association": "-3", "decision": "maybe", "visibility": "x"}
    )
    assert flt == review.ReviewFilter()
    assert review.parse_filter({"q": "  a   b " + "x" * 500}).q.startswith("a b x")
    assert len(review.parse_filter({"q": "x" * 500}).q) == review.SEARCH_MAX


def test_pages_hold_per_page_comments_and_a_late_page_shows_the_last(
    db: Any, review_data: ReviewData
) -> None:
    r = review_data.round()
    p = review_data.participant(r)
    for n in range(1, 8):
        review_data.comment(r, p, body=f"Kommentti {n}")
    first = _list(db, r, per_page=3)
    assert (first.total, first.pages, _bodies(first)) == (
        7,
        3,
        ["Kommentti 1", "Kommentti 2", "Kommentti 3"],
    )
    last = _list(db, r, per_page=3, page=3)
    assert _bodies(last) == ["Kommentti 7"]
    assert _list(db, r, per_page=3, page=99).page == 3


def test_progress_counts_visible_comments_only(db: Any, review_data: ReviewData) -> None:
    r = review_data.round()
    review_data.comment(r, decision=TAKEN)
    review_data.comment(r, decision=PARTLY)
    review_data.comment(r)
    review_data.comment(r, decision=NOTED, hidden_at=NOW, hidden_reason="asiaton")
    review_data.comment(r, withdrawn_at=NOW)
    review_data.comment(review_data.round(), decision=TAKEN)
    assert review.count_progress(db, r.id) == review.Progress(answered=2, total=3)


def test_a_decision_is_recorded_and_can_be_changed(
    db: Any, review_data: ReviewData, make_user: Any
) -> None:
    r = review_data.round()
    c = review_data.comment(r)
    first, second = make_user("coordinator"), make_user("contact_person")
    review.decide_comment(
        db, r.id, c.id, decision=TAKEN, reason="  Lisätty kohtaan 3. ", user_id=first.id, now=NOW
    )
    assert (c.decision, c.decision_reason, c.decided_by_id, c.decided_at) == (
        TAKEN,
        "Lisätty kohtaan 3.",
        first.id,
        NOW,
    )
    later = NOW + dt.timedelta(minutes=5)
    review.decide_comment(
        db, r.id, c.id, decision=NOT_TAKEN, reason="", user_id=second.id, now=later
    )
    assert (c.decision, c.decision_reason, c.decided_by_id, c.decided_at) == (
        NOT_TAKEN,
        "",
        second.id,
        later,
    )
    item = review.get_review_item(db, r.id, c.id)
    assert item.decided_by == second.name and item.decision_label == "Ei otettu huomioon"


def test_bad_decisions_are_refused(db: Any, review_data: ReviewData, make_user: Any) -> None:
    user = make_user()
    r = review_data.round()
    c = review_data.comment(r)
    with force_locale("en"):
        with pytest.raises(Invalid) as no_choice:
            review.decide_comment(db, r.id, c.id, decision="", reason="", user_id=user.id, now=NOW)
        assert no_choice.value.errors == {"decision": ["Choose a decision."]}
        with pytest.raises(Invalid) as too_long:
            review.decide_comment(
                db, r.id, c.id, decision=TAKEN, reason="x" * 2001, user_id=user.id, now=NOW
            )
        assert too_long.value.errors == {"reason": ["Use at most 2000 characters."]}
    hidden = review_data.comment(r, hidden_at=NOW, hidden_reason="asiaton")
    withdrawn = review_data.comment(r, withdrawn_at=NOW)
    for comment in (hidden, withdrawn):
        with pytest.raises(WrongState):
            review.decide_comment(
                db, r.id, comment.id, decision=TAKEN, reason="", user_id=user.id, now=NOW
            )
    # A comment of another round is not found through this one.
    elsewhere = review_data.comment(review_data.round())
    with pytest.raises(NotFound):
        review.decide_comment(
            db, r.id, elsewhere.id, decision=TAKEN, reason="", user_id=user.id, now=NOW
        )
    assert c.decision is None and elsewhere.decision is None


def test_hiding_needs_a_reason_and_can_be_undone(
    db: Any, review_data: ReviewData, make_user: Any
) -> None:
    user = make_user()
    r = review_data.round()
    c = review_data.comment(r, decision=TAKEN)
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(Invalid) as refused:
            review.hide_comment(db, r.id, c.id, reason=reason, user_id=user.id, now=NOW)
        assert "reason" in refused.value.errors
    assert c.hidden_at is None
    review.hide_comment(db, r.id, c.id, reason="Loukkaava", user_id=user.id, now=NOW)
    assert (c.hidden_at, c.hidden_reason, c.hidden_by_id, c.visible) == (
        NOW,
        "Loukkaava",
        user.id,
        False,
    )
    with pytest.raises(WrongState):
        review.hide_comment(db, r.id, c.id, reason="Taas", user_id=user.id, now=NOW)
    review.unhide_comment(db, r.id, c.id)
    assert c.visible and c.hidden_reason == "" and c.decision == TAKEN


def test_contact_persons_review_only_their_own_rounds(
    db: Any, review_data: ReviewData, make_user: Any
) -> None:
    coordinator, owner, other = (
        make_user("coordinator"),
        make_user("contact_person"),
        make_user("contact_person"),
    )
    r = review_data.round(created_by=owner)
    assert review.can_review(coordinator, r) and review.can_review(owner, r)
    assert not review.can_review(other, r)
    assert review.get_round_for_review(db, r.id, user=owner) is r
    with pytest.raises(NotFound):
        review.get_round_for_review(db, r.id, user=other)
    with pytest.raises(NotFound):
        review.get_round_for_review(db, r.id + 1000, user=coordinator)
    nobodys = review_data.round(created_by=None)
    assert not review.can_review(owner, nobodys) and review.can_review(coordinator, nobodys)


def test_who_has_answered(db: Any, review_data: ReviewData) -> None:
    r = review_data.round()
    commented = review_data.association(name="A-kommentoi ry")
    questions = review_data.association(name="B-kysymykset ry")
    withdrew = review_data.association(name="C-perui ry")
    silent = review_data.association(name="D-hiljainen ry", email="")
    uninvited = review_data.association(name="E-kutsumaton ry")
    for a in (commented, questions, withdrew, silent):
        review_data.invite(r, a)
    review_data.comment(r, review_data.participant(r, association=commented), hidden_at=NOW)
    review_data.participant(r, association=questions, answered_questions=True)
    review_data.comment(r, review_data.participant(r, association=withdrew), withdrawn_at=NOW)
    review_data.comment(r, review_data.participant(r, association=uninvited))
    # Answering another round does not count here.
    elsewhere = review_data.round()
    review_data.comment(elsewhere, review_data.participant(elsewhere, association=silent))

    statuses = review.list_invitation_status(db, r.id)
    summary = [(s.name, s.answered, s.comments, s.answered_questions) for s in statuses]
    assert summary == [
        ("A-kommentoi ry", True, 1, False),
        ("B-kysymykset ry", True, 0, True),
        ("C-perui ry", False, 0, False),
        ("D-hiljainen ry", False, 0, False),
    ]
    plan = review.plan_reminders(statuses, now=NOW)
    assert [s.name for s in plan.due] == ["C-perui ry"]
    assert [s.name for s in plan.without_email] == ["D-hiljainen ry"]


def test_reminders_only_while_the_round_is_open(db: Any, review_data: ReviewData) -> None:
    closed = review_data.round(closes_at=NOW - dt.timedelta(seconds=1))
    review_data.invite(closed, review_data.association())
    with pytest.raises(WrongState):
        review.send_reminders(
            db, closed.id, round_url="http://x", include_recent=False, locale="fi", now=NOW
        )


def test_the_export_holds_visible_comments_only_and_public_names_only(
    db: Any, review_data: ReviewData
) -> None:
    r = review_data.round()
    intro = review_data.sections(r)[0]
    club = review_data.association(name="Porin Pallo ry")
    public = review_data.participant(r, name="Julkinen Nimi", name_public=True, association=club)
    private = review_data.participant(r, name="Salainen Nimi")
    review_data.comment(
        r,
        public,
        body='=HYPERLINK("http://evil.example")',
        section=intro,
        decision=PARTLY,
        decision_reason="@osin",
        created_at=dt.datetime(2025, 6, 1, 9, 30, tzinfo=dt.UTC),
    )
    review_data.comment(r, private, body="Yksityisen kommentti")
    review_data.comment(r, private, body="Piilotettu", hidden_at=NOW, hidden_reason="x")
    review_data.comment(r, private, body="Peruttu", withdrawn_at=NOW)
    with force_locale("en"):
        header, rows = review.export_comments(db, r.id)
    assert header == [
        "Number",
        "Section",
        "Comment",
        "Name",
        "Association",
        "Decision",
        "Reason",
        "Time",
    ]
    assert rows == [
        ["2", "The draft as a whole", "Yksityisen kommentti", "", "", "", "", rows[0][7]],
        [
            "1",
            "Johdanto",
            '=HYPERLINK("http://evil.example")',
            "Julkinen Nimi",
            "Porin Pallo ry",
            "Partly taken into account",
            "@osin",
            "2025-06-01 12:30",  # Helsinki summer time
        ],
    ]
    csv = to_csv(header, rows).decode("utf-8")
    assert "'=HYPERLINK" in csv and "'@osin" in csv
    assert "Piilotettu" not in csv and "Peruttu" not in csv and "Salainen" not in csv
