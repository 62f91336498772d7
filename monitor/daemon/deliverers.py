"""One delivery thread per channel, so that a slow or stuck destination delays only its own alerts.

Each configured channel has a thread that sleeps until it is woken — by a poll or housekeeping run that queued
alerts, by the delivery job's period (retries falling due), or by a rate limit's wait ending — and then sends that
channel's due alerts (``delivery.deliver_due(channel=…)``). Waking never blocks: a poll sets an event and goes
on, so polling never waits on delivery. A wake while a run is going makes one more run right after it, so no
alert waits for the next period because it was queued a moment too late. Sends have deadlines (``notify.http``),
so a run ends; the threads stop when the daemon stops, or when their channel leaves the config.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from monitor.delivery import deliver_due
from monitor.errors import MonitorError
from monitor.logs import kv, log
from monitor.runtime import Context
from monitor.store import Store


class _ChannelThread:
    def __init__(self, name: str, owner: ChannelDeliverers) -> None:
        self.name = name
        self.wake = threading.Event()
        self.retired = False
        self._owner = owner
        self.thread = threading.Thread(target=self._run, name=f"deliver-{name}", daemon=True)

    def _run(self) -> None:
        wait: float | None = None
        while not (self.retired or self._owner.stopping.is_set()):  # checked first: a stop may predate the thread
            self.wake.wait(wait)
            self.wake.clear()
            if self.retired or self._owner.stopping.is_set():
                return
            wait = self._deliver()

    def _deliver(self) -> float | None:
        """One run over the channel's due alerts; returns when to run again unwoken (a rate limit's wait)."""
        ctx = self._owner.context()  # read once: a reload may swap it while this run goes on
        try:
            with Store(ctx.config.database) as store:
                return deliver_due(ctx, store, self._owner.clock, channel=self.name).again_in
        except MonitorError as exc:
            log.error("delivery failed %s", kv(channel=self.name, error=exc))
        except Exception:  # a bug here must not end the channel's deliveries for the life of the daemon
            log.exception("delivery crashed %s", kv(channel=self.name))
        return None


class ChannelDeliverers:
    """The delivery threads of a daemon: ``sync`` them with the configured channels, ``wake`` them, ``stop``."""

    def __init__(self, context: Callable[[], Context], clock: Callable[[], datetime],
                 stopping: threading.Event) -> None:
        self.context = context
        self.clock = clock
        self.stopping = stopping
        self._threads: dict[str, _ChannelThread] = {}
        self._lock = threading.Lock()

    def sync(self, names: Iterable[str]) -> None:
        """Run one thread per channel in ``names``: start the new ones, retire those no longer named."""
        wanted = set() if self.stopping.is_set() else set(names)  # stopping: start none, end the others
        with self._lock:
            for name in self._threads.keys() - wanted:
                gone = self._threads.pop(name)
                gone.retired = True
                gone.wake.set()
            for name in sorted(wanted - self._threads.keys()):
                self._threads[name] = _ChannelThread(name, self)
                self._threads[name].thread.start()

    def wake(self, names: Iterable[str] | None = None) -> None:
        """Have the named channels (all when None) look for due alerts now. Never blocks."""
        with self._lock:
            threads = list(self._threads.values()) if names is None else \
                [self._threads[n] for n in names if n in self._threads]
        for channel in threads:
            channel.wake.set()

    def stop(self) -> None:
        """End every thread after its current send (``stopping`` must be set: runs give their rows back)."""
        self.wake()

    def join(self, seconds: float) -> bool:
        """Wait up to ``seconds`` in all for the threads to end; return whether they all did."""
        with self._lock:
            threads = [t.thread for t in self._threads.values()]
        deadline = time.monotonic() + seconds
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)
