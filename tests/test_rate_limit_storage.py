"""The in-memory rate-limit storage: windows end on time although the sweep runs seldom; and
the views that count their own limit."""

from __future__ import annotations

import time

from flask import Flask
from limits import RateLimitItemPerSecond
from limits.strategies import FixedWindowRateLimiter

from participation.extensions import SweptMemoryStorage


def test_a_window_ends_on_time_without_waiting_for_the_sweep() -> None:
    storage = SweptMemoryStorage()
    storage.SWEEP_EVERY = 3600.0  # the sweep will not come during this test
    assert storage.incr("k", 0.05) == 1 and storage.incr("k", 0.05) == 2
    time.sleep(0.08)
    assert storage.incr("k", 0.05) == 1  # a new window, counted from zero


def test_the_limit_holds_and_a_burst_starts_at_most_one_sweep() -> None:
    storage = SweptMemoryStorage()
    limiter = FixedWindowRateLimiter(storage)
    two_per_second = RateLimitItemPerSecond(2)
    timers = set()
    results = []
    for _ in range(5):
        results.append(limiter.hit(two_per_second, "address"))
        timers.add(id(storage.timer))
    assert results == [True, True, False, False, False]
    assert len(timers) <= 2  # the constructor's timer and at most one sweep


def test_views_that_count_their_own_limit_skip_flask_limiters_resolution(app: Flask) -> None:
    """Registrations, comments, answers to a round and survey answers count their limit
    themselves (web.check_rate_limit): flask-limiter's filter passes them by. Their 429s are
    tested with each view."""
    from participation.web import _limits_itself

    for path in (
        "/events/ilta/register",
        "/rounds/kierros/sections/1/comments",
        "/rounds/kierros/answers",
        "/surveys/kysely",
    ):
        with app.test_request_context(path, method="POST"):
            assert _limits_itself(), path
    with app.test_request_context("/login", method="POST"):  # limited by its decorators
        assert not _limits_itself()
