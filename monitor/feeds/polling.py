"""When to poll a feed next, and when to believe that it moved. Pure.

- After a success the feed's interval applies; a ``Cache-Control: max-age`` or ``Expires`` longer than the
  interval lengthens it (a server asking to be polled less is obeyed), up to ``MAX_CACHE_STRETCH`` intervals so
  a day-long max-age cannot make a news feed go quiet. A server never shortens the interval.
- After a failure the wait grows exponentially from the interval (1, 2, 4, 8 … intervals) with jitter, capped
  at ``max_backoff_seconds`` (a day by default), so a dead server is asked less and less often but never
  forgotten; a ``Retry-After`` on 429/503 is honoured (capped the same way). The next success resets it.
- A permanent redirect (301/308 on every hop) is adopted once the same target has been seen on
  ``REDIRECT_CONFIRMATIONS`` consecutive polls that served a valid feed; a temporary one (302/307) never is.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from monitor.retry import exponential_backoff

MAX_CACHE_STRETCH = 4
DEFAULT_MAX_BACKOFF_SECONDS = 24 * 3600
REDIRECT_CONFIRMATIONS = 3
JITTER = 0.1

_rng = random.Random()


def after_success(now: datetime, interval_seconds: float, cache_seconds: float | None) -> datetime:
    wait = interval_seconds
    if cache_seconds is not None and cache_seconds > interval_seconds:
        wait = min(cache_seconds, interval_seconds * MAX_CACHE_STRETCH)
    return now + timedelta(seconds=wait)


def after_error(now: datetime, interval_seconds: float, error_count: int, *, retry_after_seconds: float | None = None,
                max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS, rng: random.Random = _rng) -> datetime:
    """``error_count`` counts this failure (1 after the first)."""
    wait = exponential_backoff(error_count, first=interval_seconds, growth=2, cap=max_backoff_seconds,
                               jitter=JITTER, rng=rng)
    if retry_after_seconds is not None:
        wait = max(wait, min(retry_after_seconds, max_backoff_seconds))
    return now + timedelta(seconds=min(wait, max_backoff_seconds))


def redirect_seen(previous_target: str | None, previous_count: int, permanent_url: str | None,
                  polled_url: str) -> tuple[str | None, int]:
    """The (target, consecutive sightings) after a poll whose permanent redirect target was ``permanent_url``."""
    if not permanent_url or permanent_url == polled_url:
        return None, 0
    if permanent_url == previous_target:
        return permanent_url, previous_count + 1
    return permanent_url, 1



def after_interval_change(next_poll_at: datetime, last_ok_at: datetime | None, error_count: int,
                          old_interval_seconds: float, new_interval_seconds: float) -> datetime:
    """A feed's next poll once its interval changed: a healthy feed's wait is measured again from its last
    poll, as ``after_success`` would have with the new interval (a stored wait longer than the old interval was
    the server's cache lifetime, and still counts); so a shorter interval applies now, not once the old one has
    run out (at once, if the new one has passed already). A failing feed keeps its backoff (or ``Retry-After``)."""
    if error_count or last_ok_at is None:
        return next_poll_at
    stated = (next_poll_at - last_ok_at).total_seconds()
    return after_success(last_ok_at, new_interval_seconds, stated if stated > old_interval_seconds else None)
