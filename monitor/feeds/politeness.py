"""Per-host politeness: at most ``limit`` requests in flight to one host, whatever the number of workers.

Feeds often share a host (a newspaper's twenty section feeds); a worker pool sized for throughput must not
open twenty connections to one server at once. Thread-safe; one instance is shared by every poll job.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class HostSlots:
    def __init__(self, limit: int = 1) -> None:
        self.limit = limit
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, url: str) -> Iterator[None]:
        """Block until the URL's host has a free slot; release it when the block ends."""
        host = host_of(url)
        with self._lock:
            slot = self._slots.setdefault(host, threading.BoundedSemaphore(self.limit))
        with slot:
            yield
