"""Rules of comment rounds, with the clock passed in: state, storing, duplicates, spam, privacy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask_babel import gettext
from sqlalchemy import func, select

from participation import tokens
from participation.errors import Invalid, WrongState
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.i18n import datetime_filter
from participation.mail.models import OutboxMessage
from participation.privacy import services as privacy
from participation.privacy.models import Consent
from participation.register.models import Person
from participation.rounds import services
from participation.rounds.models import Comment, Invitation, Participant
from tests.rounds.conftest import identity, key, no_link


def _comment(db: Any, round_: Any, *, now: dt.datetime, section: Any = "first", **kw: Any) -> Any:
    if section == "first":
        section = round_.version.sections[0]
    values: dict[str, Any] = {
        "section_id": section.id if section else None,
        "body": "Hyvä luonnos.",
        "submission_key": key(),
        "identity": identity(),
        "participant_id": None,
        "manage_url": no_link,
        "now": now,
    }
    values.update(kw)
    return services.submit_comment(db, round_.id, **values)


def _count(db: Any, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_the_state_follows_the_clock_to_the_second(make_round: Any) -> None:
    opens = dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC)
    closes = dt.datetime(2027, 3, 31, 21, 0, tzinfo=dt.UTC)
    round_ = make_round(opens_at=opens, closes_at=closes)
    second = dt.timedelta(seconds=1)
    assert round_.state(opens - second) == "upcoming"
    assert round_.state(opens) == "open"
    assert round_.state(closes - second) == "open"
    assert round_.state(closes) == "closed"
    assert round_.state(closes + second) == "closed"


def test_a_new_round_gets_the_three_general_questions_and_a_consent_text(
    db: Any, make_round: Any
) -> None:
    round_ = make_round()
    form = db.get(FormDefinition, round_.form_id)
    labels = [q["label"]["en"] for q in form.questions]
    assert labels == [
        "What matters most to you in the draft?",
        "Is something missing from the draft?",
        "Other feedback",
    ]
    assert {q["type"] for q in form.questions} == {"long_text"}
    assert privacy.current_consent_text(db, "round").text_fi
    assert len(round_.slug) > 12 and round_.slug.startswith("kommentoi-yhdistysohjelmaa-")


def test_round_settings_are_checked(db: Any, make_round: Any, make_draft: Any, now: Any) -> None:
    round_ = make_round()
    data = {
        "title": "",
        "draft_version_id": 0,
        "opens_at": now,
        "closes_at": now - dt.timedelta(hours=1),
        "consent_key": "nonexistent",
        "retention_days": "0",
        "max_comment_length": "x",
    }
    with pytest.raises(Invalid) as bad:
        services.update_round(db, round_.id, data, now=now)
    assert set(bad.value.errors) == {
        "title",
        "draft_version_id",
        "closes_at",
        "consent_key",
        "retention_days",
        "max_comment_length",
    }
    # Once there are comments, the round's text cannot be swapped for another version.
    _comment(db, round_, now=now)
    other = make_draft(title="Toinen")
    good = {
        "title": "T",
        "draft_version_id": other.versions[0].id,
        "opens_at": round_.opens_at,
        "closes_at": round_.closes_at,
        "consent_key": "round",
        "retention_days": 30,
        "max_comment_length": 1000,
    }
    with pytest.raises(Invalid) as moved:
        services.update_round(db, round_.id, good, now=now)
    assert list(moved.value.errors) == ["draft_version_id"]


@pytest.mark.parametrize(
    ("offset", "stored"),
    [(dt.timedelta(seconds=-1), True), (dt.timedelta(0), False), (dt.timedelta(seconds=1), False)],
)
def test_nothing_is_stored_from_the_close_on(
    db: Any, make_round: Any, offset: dt.timedelta, stored: bool
) -> None:
    round_ = make_round()
    moment = round_.closes_at + offset
    if stored:
        outcome = _comment(db, round_, now=moment)
        assert outcome.comment is not None and outcome.stored
    else:
        with pytest.raises(WrongState) as closed:
            _comment(db, round_, now=moment)
        assert closed.value.message == gettext(
            "The comment round closed on %(date)s. Your text was not saved: copy it from the "
            "box below if you want to keep it.",
            date=datetime_filter(round_.closes_at, "short"),
        )
    assert _count(db, Comment) == (1 if stored else 0)
    assert _count(db, Participant) == (1 if stored else 0)


def test_nothing_is_stored_before_the_opening(db: Any, make_round: Any) -> None:
    round_ = make_round()
    with pytest.raises(WrongState):
        _comment(db, round_, now=round_.opens_at - dt.timedelta(seconds=1))
    assert _comment(db, round_, now=round_.opens_at).stored
    assert _count(db, Comment) == 1


def test_the_same_form_sent_twice_stores_one_comment(db: Any, make_round: Any, now: Any) -> None:
    round_ = make_round()
    same = key()
    first = _comment(db, round_, now=now, submission_key=same)
    second = _comment(db, round_, now=now, submission_key=same, body="Hyvä luonnos.")
    assert first.comment.id == second.comment.id and second.duplicate
    assert _count(db, Comment) == 1
    # A different form (a new key) is a new comment by the same participant.
    third = _comment(db, round_, now=now, submission_key=key(), body="Toinen ajatus.")
    assert third.participant.id == first.participant.id and not third.new_participant
    assert _count(db, Comment) == 2 and _count(db, Participant) == 1


def test_a_filled_honeypot_stores_nothing_and_says_thank_you(
    db: Any, make_round: Any, now: Any
) -> None:
    round_ = make_round()
    outcome = _comment(db, round_, now=now, honeypot="http://spam.example")
    assert not outcome.stored and outcome.comment is None
    assert _count(db, Comment) == 0 and _count(db, Participant) == 0
    assert _count(db, OutboxMessage) == 0


def test_comments_are_checked_for_length_identity_and_association(
    db: Any, make_round: Any, make_association: Any, now: Any
) -> None:
    round_ = make_round(association_required=True)
    with pytest.raises(Invalid) as bad:
        _comment(
            db,
            round_,
            now=now,
            body="x" * 501,
            identity=identity(name="", email="ei-osoite", consent=False),
        )
    assert set(bad.value.errors) == {"body", "name", "email", "association_id", "consent"}
    assert "501" in bad.value.errors["body"][0] and "500" in bad.value.errors["body"][0]
    inactive = make_association(active=False)
    with pytest.raises(Invalid) as gone:
        _comment(db, round_, now=now, identity=identity(association_id=str(inactive.id)))
    assert list(gone.value.errors) == ["association_id"]
    with pytest.raises(Invalid) as empty:
        _comment(db, round_, now=now, body="  \n ", identity=identity(association_id="x"))
    assert set(empty.value.errors) == {"body", "association_id"}
    club = make_association()
    ok = _comment(
        db, round_, now=now, body="x" * 500, identity=identity(association_id=str(club.id))
    )
    assert ok.participant.association_id == club.id
    assert _count(db, Comment) == 1


def test_a_participant_is_a_register_person_with_a_consent_and_one_mail(
    db: Any, make_round: Any, now: Any
) -> None:
    round_ = make_round()
    first = _comment(db, round_, now=now, identity=identity(email="Maija@Example.FI"))
    assert first.new_participant
    participant = first.participant
    person = db.get(Person, participant.person_id)
    assert person.email == "maija@example.fi" == participant.email
    consent = db.get(Consent, participant.consent_id)
    assert consent.person_id == person.id and consent.consent_text.key == "round"
    # Found again by the address: same participant, no second mail, details unchanged.
    again = _comment(
        db, round_, now=now, identity=identity(name="Joku Muu", email="maija@example.fi")
    )
    assert again.participant.id == participant.id and not again.new_participant
    assert again.participant.name == "Maija Meikäläinen"
    mails = db.scalars(select(OutboxMessage)).all()
    assert len(mails) == 1 and mails[0].recipient == "maija@example.fi"
    assert "Hyvä luonnos." in mails[0].body_text
    link = db.scalar(select(tokens.ActionLink).where(tokens.ActionLink.purpose == "round_manage"))
    assert link.subject_id == participant.id
    assert link.expires_at == round_.closes_at + services.MANAGE_AFTER_CLOSE


def test_answers_to_the_general_questions_replace_earlier_ones(
    db: Any, make_round: Any, now: Any
) -> None:
    round_ = make_round()
    form = db.get(FormDefinition, round_.form_id)
    first_key, second_key, _third = (q["key"] for q in form.questions)

    def answer(answers: dict[str, Any], **kw: Any) -> Any:
        values = {
            "answers": answers,
            "identity": identity(),
            "participant_id": None,
            "manage_url": no_link,
            "locale": "en",
            "now": now,
        }
        values.update(kw)
        return services.submit_answers(db, round_.id, **values)

    with pytest.raises(Invalid):
        answer({})
    outcome = answer({first_key: "Avustukset."})
    assert outcome.new_participant
    answer({second_key: "Tilat."}, participant_id=outcome.participant.id)
    participant = db.get(Participant, outcome.participant.id)
    response = db.get(FormResponse, participant.response_id)
    assert response.answers == {second_key: "Tilat."}
    assert _count(db, FormResponse) == 1 and _count(db, OutboxMessage) == 1
    # A comment after the answers sends no second mail.
    _comment(db, round_, now=now, participant_id=participant.id, identity=services.Identity())
    assert _count(db, OutboxMessage) == 1
    with pytest.raises(WrongState):
        answer({first_key: "Myöhässä."}, now=round_.closes_at)


def test_public_comments_show_only_visible_ones_and_names_only_with_permission(
    db: Any, make_round: Any, make_association: Any, now: Any
) -> None:
    club = make_association(name="Kisa-Veikot ry")
    round_ = make_round()
    sections = round_.version.sections
    named = _comment(db, round_, now=now, identity=identity(name_public=True), body="Nimellä")
    _comment(
        db,
        round_,
        now=now,
        identity=identity(name="Pekka", email="pekka@example.fi", association_id=str(club.id)),
        body="Seuran puolesta",
    )
    _comment(
        db, round_, now=now, identity=identity(name="Anna", email="anna@example.fi"), body="Asukas"
    )
    hidden = _comment(db, round_, now=now, body="Piilotettu", participant_id=named.participant.id)
    hidden.comment.hidden_at = now
    gone = _comment(db, round_, now=now, body="Peruttu", participant_id=named.participant.id)
    gone.comment.withdrawn_at = now
    _comment(
        db,
        round_,
        now=now,
        section=sections[1],
        body="Toinen osio",
        participant_id=named.participant.id,
    )
    db.flush()
    shown = services.public_comments(db, round_)
    assert [(c.author, c.body) for c in shown[sections[0].id]] == [
        ("Maija Meikäläinen", "Nimellä"),
        ("Kisa-Veikot ry", "Seuran puolesta"),
        (gettext("a resident"), "Asukas"),
    ]
    assert [c.body for c in shown[sections[1].id]] == ["Toinen osio"]
    round_.comments_public = False
    assert services.public_comments(db, round_) == {}
    overview = services.round_overview(db, round_.id)
    assert (overview.comments, overview.hidden, overview.withdrawn) == (5, 1, 1)
    assert overview.by_section == {sections[0].id: 4, sections[1].id: 1}


def test_own_comments_can_be_edited_and_withdrawn_until_the_close(
    db: Any, make_round: Any, now: Any
) -> None:
    round_ = make_round()
    outcome = _comment(db, round_, now=now)
    token = tokens.issue_link(
        db,
        purpose="round_manage",
        subject_id=outcome.participant.id,
        lifetime=dt.timedelta(days=60),
        now=now,
    )
    comment_id = outcome.comment.id
    services.edit_own_comment(db, token, comment_id, "Muutettu.", now=now)
    assert db.get(Comment, comment_id).body == "Muutettu."
    with pytest.raises(Invalid):
        services.edit_own_comment(db, token, comment_id, "x" * 501, now=now)
    last = round_.closes_at - dt.timedelta(seconds=1)
    services.withdraw_own_comment(db, token, comment_id, now=last)
    assert db.get(Comment, comment_id).withdrawn_at == last
    with pytest.raises(WrongState):
        services.edit_own_comment(db, token, comment_id, "Takaisin", now=now)
    other = _comment(db, round_, now=now, participant_id=outcome.participant.id)
    with pytest.raises(WrongState):
        services.edit_own_comment(db, token, other.comment.id, "Myöhässä", now=round_.closes_at)
    with pytest.raises(WrongState):
        services.withdraw_own_comment(db, token, other.comment.id, now=round_.closes_at)
    assert db.get(Comment, other.comment.id).withdrawn_at is None
    # Someone else's comment cannot be reached with this link.
    stranger = _comment(db, round_, now=now, identity=identity(email="muu@example.fi"))
    with pytest.raises(services.NotFound):
        services.withdraw_own_comment(db, token, stranger.comment.id, now=now)


def test_erasing_a_person_keeps_their_comments_anonymous(
    db: Any, make_round: Any, now: Any
) -> None:
    round_ = make_round()
    outcome = _comment(db, round_, now=now, body="Kirjoita minulle: maija@example.fi")
    participant = outcome.participant
    person_id = participant.person_id
    export = privacy.export_person(db, db.get(Person, person_id), now)
    assert export["comment_rounds"][0]["comments"][0]["comment"].startswith("Kirjoita")
    privacy.erase_person(db, person_id, now)
    db.expire_all()
    participant = db.get(Participant, participant.id)
    assert participant.name == "—" and participant.email == f"erased-{participant.id}"
    assert participant.person_id is None and participant.anonymised_at == now
    comment = db.get(Comment, outcome.comment.id)
    assert comment.body == "Kirjoita minulle: [erased]"
    assert services.public_comments(db, round_)[comment.section_id][0].author == gettext(
        "a resident"
    )
    assert _count(db, tokens.ActionLink) == 0


def test_retention_anonymises_rounds_closed_longer_than_their_period(
    db: Any, make_round: Any, now: Any
) -> None:
    old = make_round(
        opens_at=now - dt.timedelta(days=60), closes_at=now - dt.timedelta(days=31),
        retention_days=30,
    )  # fmt: skip
    recent = make_round(
        opens_at=now - dt.timedelta(days=60), closes_at=now - dt.timedelta(days=29),
        retention_days=30,
    )  # fmt: skip
    _comment(db, old, now=old.opens_at + dt.timedelta(days=1))
    kept = _comment(db, recent, now=recent.opens_at + dt.timedelta(days=1))
    counts = privacy.run_retention(db, 3 * 365, now)
    assert counts["rounds_anonymised"] == 1 and counts["round_participants"] == 1
    assert old.anonymised_at == now and recent.anonymised_at is None
    names = set(db.scalars(select(Participant.name)))
    assert names == {"—", kept.participant.name}
    assert _count(db, Comment) == 2


def test_invitations_go_once_to_each_association_with_an_address(
    db: Any, make_round: Any, make_association: Any, now: Any
) -> None:
    round_ = make_round()
    with_address = make_association(email="seura@example.fi")
    without = make_association(email="")
    assert services.save_distribution(db, round_.id, [with_address.id, without.id], now=now) == (
        2,
        0,
    )
    result = services.send_invitations(db, round_.id, link="http://x/rounds/r", now=now)
    assert result.sent == 1 and result.without_email == [without.name]
    assert services.send_invitations(db, round_.id, link="http://x", now=now).sent == 0
    mails = db.scalars(select(OutboxMessage)).all()
    assert [m.recipient for m in mails] == ["seura@example.fi"]
    assert "http://x/rounds/r" in mails[0].body_text
    assert services.save_distribution(db, round_.id, [with_address.id], now=now) == (0, 1)
    assert _count(db, Invitation) == 1
    with pytest.raises(Invalid):
        services.save_distribution(db, round_.id, [999_999], now=now)
    with pytest.raises(WrongState):
        services.send_invitations(db, round_.id, link="x", now=round_.closes_at)


def test_open_rounds_for_the_home_page(make_round: Any, now: Any, db: Any) -> None:
    open_round = make_round(title="Auki")
    make_round(
        title="Tuleva", opens_at=now + dt.timedelta(days=1), closes_at=now + dt.timedelta(days=2)
    )
    make_round(
        title="Mennyt", opens_at=now - dt.timedelta(days=9), closes_at=now - dt.timedelta(days=2)
    )
    assert [r.id for r in services.list_open_rounds(db, now)] == [open_round.id]
    rows, total = services.list_rounds(db, page=1, per_page=2)
    assert total == 3 and len(rows) == 2


def test_the_demo_loads_once(app: Any, db: Any, now: Any) -> None:
    from participation.accounts import services as accounts
    from participation.demo import DEMO_COORDINATOR
    from participation.formbuilder.demo import load_demo as forms_demo
    from participation.register.demo import load_demo as register_demo
    from participation.rounds.demo import CLOSED_SLUG, OPEN_SLUG, load_demo

    accounts.create_user(
        db, email=DEMO_COORDINATOR, name="K", role="coordinator", password="x" * 12
    )
    register_demo(db, now=now)
    forms_demo(db, now=now)
    assert load_demo(db, now=now) > 40
    assert load_demo(db, now=now) == 0
    closed = services.get_round_by_slug(db, CLOSED_SLUG)
    opened = services.get_round_by_slug(db, OPEN_SLUG)
    assert closed.state(now) == "closed" and opened.state(now) == "open"
    assert closed.draft_version_id != opened.draft_version_id
    comments = db.scalars(select(Comment).where(Comment.round_id == closed.id)).all()
    assert 35 <= len(comments) <= 45
    assert sum(1 for c in comments if c.hidden_at and c.hidden_reason) == 2
    assert sum(1 for c in comments if c.decision and c.decision_reason) >= 30
    assert db.scalar(select(func.count(Comment.id)).where(Comment.round_id == opened.id)) >= 3
