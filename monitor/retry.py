"""When to try a failed alert again, and when to give up. Pure.

Transient failures (timeouts, connection errors, 408, 425, 429, 5xx) are retried on a schedule of about three
days: 10 s, 30 s, 90 s, 4.5 min … growing threefold to at most 6 h between attempts, with ±20 % jitter so that
many alerts do not retry in lockstep; an alert still failing three days after it was raised is ``dead``.
A ``Retry-After`` the destination sends is honoured (capped at a day, so a typo on the other side cannot park
alerts for a year). Other refusals (3xx, 4xx, a refused address) are given a few attempts — the operator may
be fixing the URL — and then the alert is ``dead``. ``dead`` rows stay in the outbox, visible and retryable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_RETRY_SECONDS = 10.0
GROWTH = 3.0
MAX_RETRY_SECONDS = 6 * 3600.0
GIVE_UP_AFTER = timedelta(days=3)
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
PERMANENT_ATTEMPTS = 4
JITTER = 0.2

_rng = random.Random()


@dataclass(frozen=True, slots=True)
class Decision:
    status: str  # "pending" (try again at next_attempt_at) or "dead"
    next_attempt_at: datetime


def exponential_backoff(attempts: int, *, first: float, growth: float, cap: float, jitter: float,
                        rng: random.Random) -> float:
    """``first × growth^(attempts − 1)`` seconds, capped at ``cap``, times a factor drawn from ``1 ± jitter``;
    ``attempts`` counts the failure just seen (1 after the first). Shared by alert retries and feed polls."""
    base = min(first * growth ** max(attempts - 1, 0), cap)
    return base * rng.uniform(1 - jitter, 1 + jitter)


def backoff_seconds(attempts: int, rng: random.Random = _rng) -> float:
    """Delay after the ``attempts``-th failed attempt (1-based), jittered."""
    return exponential_backoff(attempts, first=FIRST_RETRY_SECONDS, growth=GROWTH, cap=MAX_RETRY_SECONDS,
                               jitter=JITTER, rng=rng)


def decide(*, attempts: int, transient: bool, retry_after: float | None, created_at: datetime, now: datetime,
           rng: random.Random = _rng) -> Decision:
    """What to do with an alert after its ``attempts``-th failed attempt."""
    if transient:
        if now - created_at >= GIVE_UP_AFTER:
            return Decision("dead", now)
        delay = backoff_seconds(attempts, rng)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return Decision("pending", now + timedelta(seconds=delay))
    if attempts >= PERMANENT_ATTEMPTS:
        return Decision("dead", now)
    return Decision("pending", now + timedelta(seconds=backoff_seconds(attempts, rng)))
