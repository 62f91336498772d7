"""Per-channel send rate limits: a minimum gap between messages and a cap per sliding window.

Chat services throttle webhooks (Slack about one message a second per webhook; Telegram about one a second per
chat and twenty a minute per group). Sending faster earns 429s; so alerts over the limit wait their turn —
nothing is dropped. Thread-safe: one limiter per channel is shared by every delivery thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable


class RateLimiter:
    """``reserve()`` books the next free slot and says how long to wait for it (0 when it is free now)."""

    def __init__(self, *, min_interval_seconds: float = 0.0, max_per_minute: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.min_interval = min_interval_seconds
        self.max_per_minute = max_per_minute
        self._clock = clock
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = self._clock()
            while self._sent and self._sent[0] <= now - 60:
                self._sent.popleft()
            slot = now
            if self._sent and self.min_interval:
                slot = max(slot, self._sent[-1] + self.min_interval)
            if self.max_per_minute and len(self._sent) >= self.max_per_minute:
                slot = max(slot, self._sent[-self.max_per_minute] + 60)
            self._sent.append(slot)
            return slot - now

    def replay(self, seconds_ago: Iterable[float]) -> None:
        """Start again from the sends made, by any process, ``seconds_ago`` (the channel's record in the outbox):
        how a channel's limits hold when its deliveries run in different processes, one at a time."""
        with self._lock:
            now = self._clock()
            # A send stamped later than now (another machine's clock ahead) counts as made just now.
            self._sent = deque(sorted(now - max(0.0, age) for age in seconds_ago if age < 60))

    def cancel(self) -> None:
        """Give back the slot just reserved (the alert was not sent after all)."""
        with self._lock:
            if self._sent:
                self._sent.pop()
