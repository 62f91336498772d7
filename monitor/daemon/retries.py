"""Polls put off because the feed's host was busy or backing off, run again as soon as the host can take them.

A poll never waits in a worker thread for its host (``pipeline.poll_feed`` returns "host_busy" or
"host_backoff" at once), so something must poll the feed again:

- host busy: the poll left ``waker(name)`` with the host's slots; the release of a slot calls it, which adds a
  one-off job ``feed-retry:<name>`` due now;
- host backing off: ``after(name, seconds)`` adds the same job at the end of the backoff.

A one-off APScheduler job rather than a poll run in the releasing thread: that thread is another feed's poll,
which must end promptly (it may be the one holding the stop up), and the job runs on the workers like any
poll. One id per feed with ``replace_existing``, so however many wake-ups arrive, one retry is pending.

``polling(name)`` keeps one poll of a feed at a time across its interval job and its retry job: a second one
returns at once, and one more poll follows the running one, so that a wake-up landing while the feed's previous
poll was still returning is not lost (the follow-up usually finds the feed not due and does nothing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger

# Instances of one feed's retry job that may run at once: a retry adding its successor while it still runs must
# not be skipped by APScheduler as "maximum number of running instances reached"; ``polling`` keeps the polls
# themselves one at a time.
RETRY_INSTANCES = 8


def retry_job_id(name: str) -> str:
    return f"feed-retry:{name}"


class FeedRetries:
    """``job(name)`` is what a retry runs (the daemon's guarded poll job); ``stopping`` set: nothing is added."""

    def __init__(self, scheduler: BaseScheduler, job: Callable[[str], None], stopping: threading.Event) -> None:
        self._scheduler = scheduler
        self._job = job
        self._stopping = stopping
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._again: set[str] = set()

    def waker(self, name: str) -> _Wake:
        """The waiter to leave with a busy host for feed ``name`` (equal for equal names: one wait per feed)."""
        return _Wake(self, name)

    def after(self, name: str, seconds: float = 0.0) -> None:
        """Poll feed ``name`` once, ``seconds`` from now (real time: the scheduler's)."""
        if self._stopping.is_set():
            return
        when = datetime.now(timezone.utc) + timedelta(seconds=max(0.0, seconds))
        # No misfire limit: a retry late because every worker was busy must still run, or the feed would wait
        # for its next interval.
        self._scheduler.add_job(self._job, DateTrigger(run_date=when), args=[name], id=retry_job_id(name),
                                name=f"retry {name}", replace_existing=True, misfire_grace_time=None,
                                max_instances=RETRY_INSTANCES)

    @contextmanager
    def polling(self, name: str) -> Iterator[bool]:
        """Within the block, feed ``name`` is being polled by this job: yields False when another job is polling
        it already (do nothing; one more poll follows that one)."""
        with self._lock:
            if name in self._running:
                self._again.add(name)
                first = False
            else:
                self._running.add(name)
                first = True
        if not first:
            yield False
            return
        try:
            yield True
        finally:
            with self._lock:
                self._running.discard(name)
                again = name in self._again
                self._again.discard(name)
            if again:
                self.after(name)


@dataclass(frozen=True, slots=True)
class _Wake:
    retries: FeedRetries
    name: str

    def __call__(self) -> None:
        self.retries.after(self.name)
