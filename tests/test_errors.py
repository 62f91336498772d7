"""The error helpers every stage shares: one-line messages."""

from __future__ import annotations

import random

import pytest

from monitor.errors import one_line
from monitor.feeds import polling
from monitor.retry import backoff_seconds, exponential_backoff
from conftest import utc


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("a\n  b\tc\r\n", None, "a b c"),
    (None, None, ""),
    (ValueError("bad\nthing"), None, "bad thing"),
    ("x" * 10, 10, "x" * 10),
    ("x" * 11, 10, "x" * 9 + "…"),
    ("one two\nthree", 8, "one two…"),
])
def test_one_line_collapses_whitespace_and_cuts_with_a_marker(text, limit, expected):
    assert one_line(text, limit) == expected


def test_one_backoff_formula_serves_alert_retries_and_feed_polls():
    def expected(first, growth, attempts, cap, jitter, seed):
        return min(first * growth ** (attempts - 1), cap) * random.Random(seed).uniform(1 - jitter, 1 + jitter)

    assert exponential_backoff(4, first=10, growth=3, cap=3600, jitter=0.2, rng=random.Random(5)) == \
        expected(10, 3, 4, 3600, 0.2, 5)
    assert exponential_backoff(20, first=10, growth=3, cap=3600, jitter=0, rng=random.Random(5)) == 3600
    assert backoff_seconds(3, random.Random(9)) == expected(10, 3, 3, 6 * 3600, 0.2, 9)
    now = utc(2024, 6, 1)
    waited = (polling.after_error(now, 60, 3, rng=random.Random(9)) - now).total_seconds()
    assert waited == pytest.approx(expected(60, 2, 3, 24 * 3600, 0.1, 9))
