"""Mailed links (participation.tokens): a token signed without its subject, as a registration
signs its own before the row exists, resolves through its stored row alone; nothing else about
links loosens."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from participation import tokens

NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)


def _stored(db: Any, nonce: str, subject_id: int, purpose: str = "test_link") -> None:
    db.add(
        tokens.ActionLink(
            purpose=purpose,
            subject_id=subject_id,
            nonce_hash=tokens.token_hash(nonce),
            created_at=NOW,
            expires_at=NOW + dt.timedelta(hours=1),
        )
    )
    db.flush()


def test_a_token_without_its_subject_resolves_to_its_row(db: Any) -> None:
    nonce = tokens.new_token()
    token = tokens.sign("test_link", nonce)  # before the subject exists
    _stored(db, nonce, subject_id=41)
    assert tokens.check_link(db, token, purpose="test_link", now=NOW).subject_id == 41


def test_a_token_naming_another_subject_or_purpose_or_altered_is_refused(db: Any) -> None:
    nonce = tokens.new_token()
    _stored(db, nonce, subject_id=41)
    assert tokens.check_link(db, tokens.sign("test_link", nonce, 41), purpose="test_link", now=NOW)
    for token, purpose in (
        (tokens.sign("test_link", nonce, 42), "test_link"),  # another subject
        (tokens.sign("other_link", nonce), "other_link"),  # another purpose's signature
        (tokens.sign("test_link", nonce), "other_link"),
        (tokens.sign("test_link", tokens.new_token()), "test_link"),  # no such row
    ):
        with pytest.raises(tokens.LinkInvalid):
            tokens.check_link(db, token, purpose=purpose, now=NOW)
    signed = tokens.sign("test_link", nonce)
    payload, _dot, signature = signed.partition(".")
    with pytest.raises(tokens.LinkInvalid):  # the subject cannot be taken out or put in
        tokens.check_link(db, payload + "x." + signature, purpose="test_link", now=NOW)


def test_a_token_without_its_subject_still_expires_with_its_row(db: Any) -> None:
    nonce = tokens.new_token()
    _stored(db, nonce, subject_id=41)
    with pytest.raises(tokens.LinkExpired):
        tokens.check_link(
            db,
            tokens.sign("test_link", nonce),
            purpose="test_link",
            now=NOW + dt.timedelta(hours=2),
        )
