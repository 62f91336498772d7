"""One pass over the feeds, for ``poll-once``: polls on worker threads, progress, and a prompt Ctrl-C.

``poll_all`` polls each feed once on ``workers`` daemon threads (a Store each) and returns the results in the
feeds' order. ``interruptible`` makes SIGINT/SIGTERM stop such a pass at once: the first signal sets the
context's stop event (queued feeds are not started; polls that have not begun writing give up and record
nothing), shuts the sockets of the fetches in flight, and raises ``KeyboardInterrupt`` in the main thread; the
caller then gives the running polls ``STOP_GRACE_SECONDS`` to end (a write in progress is a short
transaction) and exits 130. A second signal exits at once. Either way the database holds each poll whole or not
at all: every poll's writes are one transaction, and the worker threads are daemon threads, so a thread still
waiting on the network does not hold up the exit.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from monitor.config import FeedConfig
from monitor.pipeline import PollResult, poll_feed
from monitor.runtime import Context
from monitor.store import Store

STOP_GRACE_SECONDS = 1.5  # with the signal's own handling, within the 2 s a Ctrl-C may take
INTERRUPTED_EXIT = 130  # 128 + SIGINT, as shells report it


class Interrupted(Exception):
    """A pass stopped by a signal: ``results`` holds the polls that finished, in the feeds' order."""

    def __init__(self, results: list[PollResult], total: int) -> None:
        super().__init__(f"interrupted after {len(results)} of {total} feeds")
        self.results = results
        self.total = total


def poll_all(ctx: Context, feeds: Sequence[FeedConfig], *, workers: int, now: Callable[[], datetime],
             on_progress: Callable[[int, int], None] | None = None) -> list[PollResult]:
    """Poll every feed once (``force``: the feeds' and hosts' backoff ignored), ``workers`` at a time, never more
    than ``max_per_host`` on one host; results in the feeds' order. A thread takes the next feed whose host has
    a free slot, so one slow host holds one thread, not all of them.

    ``on_progress(done, total)`` is called in this thread after each poll. On ``KeyboardInterrupt`` (see
    ``interruptible``) the running polls get ``STOP_GRACE_SECONDS`` to end, and ``Interrupted`` is raised with
    the results of those that finished.
    """
    # Created and migrated once, before the threads: several connections opening a new file at once race to
    # switch it to WAL, and SQLite answers the losers "database is locked" without waiting (the daemon does the
    # same before its first job).
    Store(ctx.config.database).close()
    todo = _Todo(feeds)
    done: queue.SimpleQueue[tuple[int, PollResult | BaseException]] = queue.SimpleQueue()

    def work() -> None:
        try:
            with Store(ctx.config.database) as store:
                while (item := todo.take(ctx.stop)) is not None:
                    index, feed, wakeups = item
                    result = poll_feed(ctx, store, feed, now(), force=True, waiter=todo.wake)
                    if result.status == "host_busy":  # not polled: back in line, behind the hosts that are free
                        todo.put_back(index, feed, wakeups)
                    elif result.status == "host_backoff":  # forced, so a host's minimum interval: wait it out
                        ctx.stop.wait(result.retry_in_seconds or 0)
                        todo.put_back(index, feed, wakeups, set_aside=False)
                    else:
                        done.put((index, result))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            done.put((-1, exc))

    threads = [threading.Thread(target=work, name=f"poll-{n}", daemon=True)
               for n in range(max(1, min(workers, len(feeds))))]
    for thread in threads:
        thread.start()
    results: dict[int, PollResult] = {}
    try:
        while len(results) < len(feeds):
            try:
                index, outcome = done.get(timeout=0.2)  # a timeout, so that a signal is handled promptly
            except queue.Empty:
                if not any(t.is_alive() for t in threads) and done.empty():
                    raise RuntimeError("poll threads ended before every feed was polled")
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            results[index] = outcome
            if on_progress is not None:
                on_progress(len(results), len(feeds))
    except KeyboardInterrupt:
        ctx.stop.set()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        while not done.empty():
            index, outcome = done.get()
            if isinstance(outcome, PollResult):
                results[index] = outcome
        finished = [results[i] for i in sorted(results) if results[i].status != "stopped"]
        raise Interrupted(finished, len(feeds)) from None
    return [results[i] for i in range(len(feeds))]


class _Todo:
    """The feeds of a pass not polled yet, handed out so that no thread waits on a busy host while another
    host's feed is waiting: a feed whose host turned out busy is set aside until a slot of any host frees
    (``wake``, the hosts' waiter), and a thread waits only when every feed left is set aside."""

    def __init__(self, feeds: Sequence[FeedConfig]) -> None:
        self._pending = dict(enumerate(feeds))  # in the feeds' order
        self._set_aside: set[int] = set()
        self._wakeups = 0
        self._cond = threading.Condition()

    def take(self, stop: threading.Event) -> tuple[int, FeedConfig, int] | None:
        """The first feed not set aside (index, feed, wake-ups so far), waiting while there is none; None once
        every feed has been taken or ``stop`` is set."""
        with self._cond:
            while not stop.is_set() and self._pending:
                index = next((i for i in self._pending if i not in self._set_aside), None)
                if index is not None:
                    return index, self._pending.pop(index), self._wakeups
                self._cond.wait(0.2)  # a timeout, so that a stop is seen promptly
            return None

    def put_back(self, index: int, feed: FeedConfig, wakeups: int, *, set_aside: bool = True) -> None:
        """``feed`` found its host busy: set it aside until the next wake-up, unless one came while it tried
        (``set_aside`` False: back in line at once, as after waiting out its host's minimum interval)."""
        with self._cond:
            self._pending[index] = feed
            if set_aside and wakeups == self._wakeups:
                self._set_aside.add(index)
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._wakeups += 1
            self._set_aside.clear()
            self._cond.notify_all()


@contextmanager
def interruptible(ctx: Context) -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM stops the pass (see the module docstring) and raises
    ``KeyboardInterrupt``; a second one exits the process at once with status 130."""
    def on_signal(signum: int, _frame: object) -> None:
        if ctx.stop.is_set():
            sys.stderr.write("\ninterrupted again: exiting now\n")
            sys.stderr.flush()
            os._exit(INTERRUPTED_EXIT)
        ctx.stop.set()  # first, so that a signal arriving during the next lines counts as the second
        ctx.fetcher.close()  # the fetches in flight end now instead of at their timeouts
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        # Once stopped, the process is on its way out: a signal from here to the exit is a second one, so the
        # handler stays (restored, the default would raise KeyboardInterrupt during wind-down).
        if not ctx.stop.is_set():
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class Progress:
    """"polled 12/40 feeds" on one updating line of a terminal; nothing at all when ``stream`` is not one."""

    def __init__(self, stream, *, min_interval_seconds: float = 0.1) -> None:
        self._stream = stream
        self.enabled = bool(getattr(stream, "isatty", lambda: False)())
        self._min_interval = min_interval_seconds
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        moment = time.monotonic()
        if done < total and moment - self._last < self._min_interval:
            return  # a thousand quick 304s need not repaint the line a thousand times
        self._last = moment
        self._stream.write(f"\rpolled {done}/{total} feeds")
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the line, so that what is printed next starts on a clean one."""
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False
