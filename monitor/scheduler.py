"""APScheduler wiring: one poll job per feed, one delivery job, one housekeeping job (claim deadlines), and a
clean stop on SIGTERM/SIGINT.

Every job opens its own database connection and closes it when done. A poll that queued alerts delivers them
right away (serialised with the periodic delivery job by a lock, so alerts of one claim keep their order); the
periodic job picks up retries.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import datetime, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .config import Config
from .errors import MonitorError
from .logs import kv, log
from .delivery import deliver_due
from .pipeline import Context, check_deadlines, poll_feed, utc_now
from .store import Store

MAX_WORKERS = 8
MAX_JITTER_SECONDS = 60
DELIVERY_JOB_ID = "deliver"
HOUSEKEEPING_JOB_ID = "housekeeping"
HOUSEKEEPING_INTERVAL_SECONDS = 3600


def feed_job_id(name: str) -> str:
    return f"feed:{name}"


class Daemon:
    """The running monitor: a scheduler plus the prepared config it polls and delivers with."""

    def __init__(self, config: Config, *, scheduler: BaseScheduler | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self.ctx = Context.build(config)
        self.clock = clock
        self.scheduler = scheduler or BlockingScheduler(timezone=timezone.utc)
        self.scheduler.configure(executors={"default": ThreadPoolExecutor(MAX_WORKERS)},
                                 job_defaults={"coalesce": True, "max_instances": 1}, timezone=timezone.utc)
        self._delivery_lock = threading.Lock()

    def schedule(self) -> None:
        """Add the jobs. Every feed is polled once right away, then on its interval (with jitter)."""
        start = datetime.now(timezone.utc)
        for feed in self.config.feeds:
            self.scheduler.add_job(
                self.poll, IntervalTrigger(seconds=feed.interval_seconds,
                                           jitter=min(feed.interval_seconds // 10, MAX_JITTER_SECONDS)),
                args=[feed.name], id=feed_job_id(feed.name), name=f"poll {feed.name}", next_run_time=start,
                # A poll late by less than one interval still runs; later than that, the next one will do.
                misfire_grace_time=feed.interval_seconds, replace_existing=True)
        interval = self.config.deliver_interval_seconds
        self.scheduler.add_job(self.deliver, IntervalTrigger(seconds=interval), id=DELIVERY_JOB_ID,
                               name="deliver", next_run_time=start, misfire_grace_time=interval,
                               replace_existing=True)
        self.scheduler.add_job(self.housekeeping, IntervalTrigger(seconds=HOUSEKEEPING_INTERVAL_SECONDS),
                               id=HOUSEKEEPING_JOB_ID, name="housekeeping", next_run_time=start,
                               misfire_grace_time=HOUSEKEEPING_INTERVAL_SECONDS, replace_existing=True)

    def poll(self, feed_name: str) -> None:
        """Job: poll one feed, then deliver what it queued."""
        feed = self.config.feed(feed_name)
        if feed is None:
            return
        try:
            with Store(self.config.database) as store:
                result = poll_feed(self.ctx, store, feed, self.clock())
                if result.alerts:
                    self._deliver(store)
        except MonitorError as exc:
            log.error("poll job failed %s", kv(feed=feed_name, error=exc))

    def deliver(self) -> None:
        """Job: send due alerts."""
        try:
            with Store(self.config.database) as store:
                self._deliver(store)
        except MonitorError as exc:
            log.error("delivery job failed %s", kv(error=exc))

    def housekeeping(self) -> None:
        """Job: raise "overdue" alerts for claims past their ``expect_by`` date, and send them."""
        try:
            with Store(self.config.database) as store:
                if check_deadlines(self.ctx, store, self.clock()):
                    self._deliver(store)
        except MonitorError as exc:
            log.error("housekeeping job failed %s", kv(error=exc))

    def _deliver(self, store: Store) -> None:
        with self._delivery_lock:
            deliver_due(self.ctx, store, self.clock)

    def run(self) -> None:
        """Schedule the jobs and block until SIGTERM or SIGINT; in-flight jobs finish before it returns."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self.schedule()
        log.info("daemon started %s", kv(feeds=len(self.config.feeds), claims=len(self.config.claims),
                                         channels=len(self.config.channels), database=self.config.database))
        self.scheduler.start()
        self.ctx.close()
        log.info("daemon stopped")

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("stopping %s", kv(signal=signal.Signals(signum).name))
        self.stop()

    def stop(self) -> None:
        """Stop scheduling new work and wait for running jobs (their writes are transactional)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
