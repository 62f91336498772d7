"""When to try a failed alert again, and when to give up. Pure.

Every failure — a timeout, a connection error, any non-2xx answer, a refused address — is retried on one schedule
of about three days: 10 s, 30 s, 90 s, 4.5 min … growing threefold to at most 6 h between attempts, with ±20 %
jitter so that many alerts do not retry in lockstep; an alert still failing three days after it was raised (or
put back in line) is ``dead``. A 404 or 403 is usually a receiver in the middle of its own deploy, or a URL the
operator is fixing: giving up after a few minutes would lose alerts that a retry an hour later delivers (Standard
Webhooks and Svix retry on any failure too). A 410 Gone is the exception, handled by the deliverer: it disables
the channel. A ``Retry-After`` the destination sends is honoured (capped at a day, so a typo on the other side
cannot park alerts for a year). ``dead`` rows stay in the outbox, visible and retryable.
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


def decide(*, attempts: int, retry_after: float | None, created_at: datetime, now: datetime,
           rng: random.Random = _rng) -> Decision:
    """What to do with an alert after its ``attempts``-th failed attempt; ``created_at``: when its retry budget
    started."""
    if now - created_at >= GIVE_UP_AFTER:
        return Decision("dead", now)
    delay = backoff_seconds(attempts, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return Decision("pending", now + timedelta(seconds=delay))
