"""Per-host politeness: at most ``limit`` requests in flight to one host, whatever the number of workers, and a
host that is too slow to answer left alone for a while.

Feeds often share a host (a newspaper's twenty section feeds); a worker pool sized for throughput must not
open twenty connections to one server at once. Nothing here blocks: ``try_hold`` either takes one of the
host's slots or says at once why not, so a poll worker is never parked on one host's queue while another
host's feed could use it.

- Busy (every slot taken): the caller's ``waiter`` (a callable, compared by equality, so one feed waits once) is
  called, in the releasing thread, as soon as a slot of that host frees. Every waiter of the host is woken, not
  one: a woken poll may find its feed removed, not due or already polling and never take the slot, and a single
  wake-up handed to it would strand the rest. One of them takes the slot and the others wait again.
- Spaced: a host given a minimum interval (``spacing``: GDELT's API takes one request every 5 s) is refused
  until that long has passed since the last request to it began, saying when to come back, as for a backoff;
  ``ignore_backoff`` does not lift it (the limit is the service's, not a guess of ours).
- Backing off: a fetch that timed out (connect, read, or the overall deadline cutting a drip) puts its host
  into a backoff at once, ``first_backoff_seconds`` doubling on each further timeout up to a cap; until it ends
  ``try_hold`` refuses the host, saying when to come back. A successful fetch from the host ends the backoff and
  resets its growth.

The clock is monotonic seconds (``time.monotonic`` unless one is injected). Thread-safe; one instance serves
every poll job of a process, and the daemon keeps it across reloads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from monitor.logs import kv, log

FIRST_BACKOFF_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 15 * 60.0


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@dataclass(frozen=True, slots=True)
class HostBusy:
    """``try_hold`` refused: the host's slots are all taken (``retry_in_seconds`` None: the waiter is called when
    one frees), or it is backing off for ``retry_in_seconds`` more."""

    host: str
    retry_in_seconds: float | None = None

    @property
    def backing_off(self) -> bool:
        return self.retry_in_seconds is not None


@dataclass(frozen=True, slots=True)
class SharedHost:
    """A host's politeness state as another process hands it over: timed-out fetches in a row (the backoff's
    growth), seconds left of its backoff (None: none), seconds since its last request began (None: never)."""

    timeouts: int = 0
    backoff_left: float | None = None
    since_last_start: float | None = None


@dataclass(slots=True)
class _Host:
    in_flight: int = 0
    timeouts: int = 0  # consecutive timed-out fetches: the backoff's growth
    backoff_until: float | None = None
    last_start: float | None = None  # when the last request to the host took its slot
    waiters: dict[Callable[[], object], None] = field(default_factory=dict)  # ordered, without duplicates


class Slot:
    """One request's place on its host, taken by ``HostSlots.try_hold``. ``release()`` (or leaving a ``with``
    block) gives it back once; record the fetch's outcome first (``HostSlots.timed_out`` / ``succeeded``), so
    that the polls it wakes see the host's backoff."""

    def __init__(self, slots: HostSlots, host: str) -> None:
        self._slots = slots
        self.host = host
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._slots._release(self.host)

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class HostSlots:
    def __init__(self, limit: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 first_backoff_seconds: float = FIRST_BACKOFF_SECONDS,
                 max_backoff_seconds: float = MAX_BACKOFF_SECONDS,
                 spacing: dict[str, float] | None = None) -> None:
        self.limit = limit
        self.spacing = dict(spacing or {})  # host -> minimum seconds between the starts of its requests
        self.first_backoff_seconds = first_backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._clock = clock
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def try_hold(self, url: str, *, waiter: Callable[[], object] | None = None,
                 ignore_backoff: bool = False) -> Slot | HostBusy:
        """Take a slot of the URL's host, or say at once why not (see the module docstring). ``waiter`` is
        remembered only when the host is busy; ``ignore_backoff`` takes a free slot of a host backing off."""
        host = host_of(url)
        with self._lock:
            state = self._hosts.setdefault(host, _Host())
            left = self._backoff_left(state)
            if left is not None and not ignore_backoff:
                return HostBusy(host, retry_in_seconds=left)
            if state.in_flight >= self.limit:
                if waiter is not None:
                    state.waiters[waiter] = None
                return HostBusy(host)
            now = self._clock()
            gap = self.spacing.get(host, 0.0)
            if gap and state.last_start is not None and now - state.last_start < gap:
                return HostBusy(host, retry_in_seconds=gap - (now - state.last_start))
            state.in_flight += 1
            state.last_start = now
            return Slot(self, host)

    def set_spacing(self, spacing: dict[str, float]) -> None:
        """Replace the hosts' minimum intervals (a reload); the time of each host's last request is kept."""
        with self._lock:
            self.spacing = dict(spacing)

    def timed_out(self, url: str, *, cap_seconds: float | None = None) -> float:
        """A fetch from the URL's host timed out: back the host off now (30 s, then doubling) and return for how
        long it is left alone. ``cap_seconds`` (a feed's interval) caps the growth below ``max_backoff_seconds``,
        never the first backoff. A timeout during a backoff (a fetch begun before it) does not grow it again.
        Logged once per backoff."""
        host = host_of(url)
        with self._lock:
            state = self._hosts.setdefault(host, _Host())
            left = self._backoff_left(state)
            if left is not None:
                return left
            state.timeouts += 1
            cap = self.max_backoff_seconds if cap_seconds is None else min(self.max_backoff_seconds, cap_seconds)
            wait = min(self.first_backoff_seconds * 2 ** (state.timeouts - 1), max(cap, self.first_backoff_seconds))
            state.backoff_until = self._clock() + wait
            timeouts = state.timeouts
        log.warning("host backing off after a timeout %s",
                    kv(host=host, seconds=round(wait), timeouts=timeouts, note="its other feeds wait for it"))
        return wait

    def succeeded(self, url: str) -> None:
        """A fetch from the URL's host succeeded: any backoff ends and its growth starts again from the first."""
        with self._lock:
            state = self._hosts.get(host_of(url))
            if state is not None:
                state.timeouts, state.backoff_until = 0, None

    def backing_off(self, url: str) -> float | None:
        """Seconds left of the URL's host's backoff, or None when it is not backing off."""
        with self._lock:
            state = self._hosts.get(host_of(url))
            return self._backoff_left(state) if state is not None else None

    def shared_state(self, url: str) -> SharedHost:
        """What other processes polling the URL's host need to know of it (see ``adopt``)."""
        with self._lock:
            state = self._hosts.get(host_of(url)) or _Host()
            now = self._clock()
            return SharedHost(state.timeouts, self._backoff_left(state),
                              None if state.last_start is None else now - state.last_start)

    def adopt(self, url: str, shared: SharedHost) -> None:
        """Take over the URL's host's backoff and last request from another process (``shared_state`` there):
        the later of its and this process's last request, and its backoff when it is the longer."""
        with self._lock:
            state = self._hosts.setdefault(host_of(url), _Host())
            now = self._clock()
            if shared.since_last_start is not None:
                theirs = now - shared.since_last_start
                state.last_start = theirs if state.last_start is None else max(state.last_start, theirs)
            mine = self._backoff_left(state)
            if shared.backoff_left is not None and (mine is None or shared.backoff_left > mine):
                state.backoff_until, state.timeouts = now + shared.backoff_left, shared.timeouts
            elif shared.backoff_left is None and mine is None:
                state.timeouts = shared.timeouts

    def _backoff_left(self, state: _Host) -> float | None:
        if state.backoff_until is None:
            return None
        left = state.backoff_until - self._clock()
        return left if left > 0 else None

    def _release(self, host: str) -> None:
        with self._lock:
            self._hosts[host].in_flight -= 1
        self._wake(host)

    def _wake(self, host: str) -> None:
        with self._lock:
            state = self._hosts[host]
            waiters, state.waiters = list(state.waiters), {}
        for waiter in waiters:  # outside the lock: a waiter may come straight back to try_hold
            try:
                waiter()
            except Exception:  # a waiter's failure is its own: the releasing fetch and the other waiters go on
                log.exception("host slot waiter failed %s", kv(host=host))
