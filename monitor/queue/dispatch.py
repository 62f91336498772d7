"""Queueing the jobs, noticing dead workers, and the queue's health: what the scheduler does with the queue
(the workers defer jobs too: a poll that queued alerts, a poll or delivery to run again later).

A poll job has a queueing lock per feed (a feed due while its last poll still waits is not queued twice) and a
lock per share of its host (``poll_lock``): procrastinate runs no two jobs with one lock at once, in any
worker, so a host gets at most ``max_per_host`` requests in flight from all workers together (one when it has a
minimum spacing). A delivery job has a queueing lock and a lock per channel: one run of a channel at a time, in
the order they were queued, and one waiting behind it at most.

A worker stamps a heartbeat every ``HEARTBEAT_SECONDS``; one silent for ``STALLED_AFTER_SECONDS`` is dead (killed,
its machine lost), and ``requeue_stalled`` puts its running jobs back in the queue (or, when the same feed or
channel is queued again already, marks them failed: the queued job does their work).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from monitor.config import Config, FeedConfig
from monitor.config.database import PostgresDatabase
from monitor.feeds.politeness import host_of
from monitor.errors import StoreError
from monitor.logs import kv, log
from monitor.queue.app import DELIVER_TASK, POLL_TASK, build_app, ensure_schema, procrastinate_module
from monitor.runtime import host_spacing
from monitor.store import DATABASE_ERRORS
from monitor.store.postgres import PostgresSql

HEARTBEAT_SECONDS = 5.0
STALLED_AFTER_SECONDS = 20.0
# A job due this long without a worker taking it makes the scheduler "degraded" in /healthz.
WAITING_LIMIT_SECONDS = 300.0


def poll_lock(config: Config, feed: FeedConfig) -> str:
    """The lock of ``feed``'s poll jobs: its host, split into ``max_per_host`` shares by feed (one share for a
    host with a minimum spacing, whose requests must not overlap at all)."""
    host = host_of(feed.url)
    if config.max_per_host <= 1 or host in host_spacing(config):
        return f"host:{host}"
    return f"host:{host}:{zlib.crc32(feed.name.encode()) % config.max_per_host}"


class Jobs:
    """Queueing poll and delivery jobs on an opened app. A job queued for later is due by the database's clock,
    which the workers read (``measure_clock``), so another machine's clock, a little off, delays nothing."""

    def __init__(self, app, database: PostgresDatabase) -> None:
        self.app = app
        self.database = database
        self._offset = timedelta(0)  # the database's clock minus this process's

    def measure_clock(self) -> None:
        with PostgresSql(self.database, read_only=True, application_name="news-monitor queue") as sql:
            server = sql.execute("SELECT now()").fetchone()[0]
        self._offset = server - datetime.now(timezone.utc)

    def poll(self, config: Config, feed: FeedConfig, *, delay_seconds: float = 0.0) -> bool:
        """Queue a poll of ``feed`` (in ``delay_seconds``); False when one is waiting already."""
        return self._defer(POLL_TASK, f"poll:{feed.name}", poll_lock(config, feed), delay_seconds, feed=feed.name)

    def deliver(self, channels: Iterable[str], *, delay_seconds: float = 0.0) -> int:
        """Queue a delivery run of each channel (in ``delay_seconds``); returns how many were not waiting
        already."""
        return sum(self._defer(DELIVER_TASK, f"deliver:{channel}", f"channel:{channel}", delay_seconds,
                               channel=channel) for channel in channels)

    def _defer(self, task_name: str, queueing_lock: str, lock: str, delay_seconds: float, **kwargs: str) -> bool:
        at = datetime.now(timezone.utc) + self._offset + timedelta(seconds=delay_seconds) if delay_seconds > 0 \
            else None
        task = self.app.tasks[task_name].configure(queueing_lock=queueing_lock, lock=lock, schedule_at=at)
        try:
            task.defer(**kwargs)
        except procrastinate_module().exceptions.AlreadyEnqueued:
            return False
        return True


_STALLED = f"""
    SELECT j.id, j.task_name, j.args FROM procrastinate_jobs j
    LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
    WHERE j.status = 'doing'
      AND (w.id IS NULL OR w.last_heartbeat < now() - interval '{STALLED_AFTER_SECONDS:g} seconds')
    ORDER BY j.id"""


def requeue_stalled(app, database: PostgresDatabase) -> int:
    """Put the running jobs of dead workers back in the queue; returns how many were. Logged per job."""
    procrastinate = procrastinate_module()
    with PostgresSql(database, application_name="news-monitor scheduler") as sql:
        stalled = sql.execute(_STALLED).fetchall()
        now = sql.execute("SELECT now()").fetchone()[0]  # due at once by the database's clock, not this machine's
        for job_id, task_name, args in stalled:
            try:
                app.job_manager.retry_job_by_id(job_id, now)
                outcome = "queued again"
            except procrastinate.exceptions.UniqueViolation as exc:
                if exc.queueing_lock is None:
                    raise
                # The same feed or channel is queued already: that job does this one's work.
                app.connector.get_sync_connector().execute_query(
                    query=procrastinate.sql.queries["finish_job"], job_id=job_id, status="failed", delete_job=False)
                outcome = "dropped, queued already"
            except procrastinate.exceptions.ConnectorException as exc:
                # Most often the job ended meanwhile (its worker was slow, not dead): nothing to take back.
                log.info("job of a silent worker not taken back %s", kv(job=job_id, task=task_name, error=exc))
                continue
            log.warning("job of a dead worker %s", kv(job=job_id, task=task_name, outcome=outcome, **args))
    return len(stalled)


@dataclass(frozen=True, slots=True)
class QueueHealth:
    """The queue as ``/healthz`` shows it: live workers, jobs waiting, running, and the longest wait."""

    workers: int
    waiting: int
    running: int
    oldest_wait_seconds: float | None

    def problem(self) -> str | None:
        if self.workers == 0:
            return f"no worker is taking jobs ({self.waiting} waiting): start news-monitor worker"
        if self.oldest_wait_seconds is not None and self.oldest_wait_seconds > WAITING_LIMIT_SECONDS:
            return (f"a job has waited {self.oldest_wait_seconds:.0f} s for a worker "
                    f"({self.waiting} waiting, {self.workers} workers)")
        return None

    def as_json(self) -> dict:
        return {"workers": self.workers, "waiting": self.waiting, "running": self.running,
                "oldest_wait_seconds": None if self.oldest_wait_seconds is None
                else round(self.oldest_wait_seconds, 1)}


def queue_health(database: PostgresDatabase) -> QueueHealth:
    """Read the queue's health now."""
    with PostgresSql(database, read_only=True, application_name="news-monitor health") as sql:
        workers = sql.execute(
            f"""SELECT count(*) FROM procrastinate_workers
                WHERE last_heartbeat >= now() - interval '{STALLED_AFTER_SECONDS:g} seconds'""").fetchone()[0]
        waiting, running, oldest = sql.execute(
            """SELECT count(*) FILTER (WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())),
                      count(*) FILTER (WHERE status = 'doing'),
                      EXTRACT(EPOCH FROM now() - min(COALESCE(scheduled_at, e.at))
                              FILTER (WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())))
               FROM procrastinate_jobs j
               LEFT JOIN LATERAL (SELECT min(at) AS at FROM procrastinate_events
                                  WHERE job_id = j.id AND type = 'deferred') e ON true
               WHERE status IN ('todo', 'doing')""").fetchone()
    return QueueHealth(int(workers), int(waiting), int(running), None if oldest is None else float(oldest))


class Scheduling:
    """The scheduler's side of the queue: ``poll`` and the deliveries queue jobs instead of running them.
    ``open`` creates the queue's tables if needed; nothing here raises for a database that does not answer (the
    failure is logged, and the next period tries again)."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database
        self.app = build_app(database)
        self.jobs = Jobs(self.app, database)
        self._errors = (procrastinate_module().exceptions.ConnectorException, *DATABASE_ERRORS, StoreError)

    def open(self) -> None:
        ensure_schema(self.database)
        self.app.open()
        self.jobs.measure_clock()

    def close(self) -> None:
        self.app.close()

    def poll(self, config: Config, feed: FeedConfig) -> None:
        try:
            self.jobs.poll(config, feed)
        except self._errors as exc:
            log.error("cannot queue a poll %s", kv(feed=feed.name, error=exc))

    def deliver(self, channels: Iterable[str]) -> None:
        channels = list(channels)
        try:
            self.jobs.deliver(channels)
        except self._errors as exc:
            log.error("cannot queue deliveries %s", kv(channels=",".join(channels), error=exc))

    def requeue_stalled(self) -> None:
        try:
            requeue_stalled(self.app, self.database)
        except self._errors as exc:
            log.error("cannot look for dead workers' jobs %s", kv(error=exc))

    def prune(self, days: float) -> None:
        """Delete the finished jobs (failed, or dropped as queued already: done ones are deleted at once) with no
        event in the last ``days``, so the queue's tables stay small."""
        try:
            with PostgresSql(self.database, application_name="news-monitor scheduler") as sql:
                pruned = sql.execute(
                    f"""DELETE FROM procrastinate_jobs j WHERE status NOT IN ('todo', 'doing')
                        AND NOT EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id
                                        AND e.at >= now() - interval '{float(days):g} days')""").rowcount
        except self._errors as exc:
            log.error("cannot prune the job queue %s", kv(error=exc))
            return
        if pruned:
            log.info("finished jobs pruned %s", kv(count=pruned, days=days))

    def health(self) -> QueueHealth:
        return queue_health(self.database)


class QueuedDeliveries:
    """What the daemon's channel threads are (``deliverers.ChannelDeliverers``), for a scheduler: waking a
    channel queues a delivery job for it; the workers send."""

    def __init__(self, scheduling: Scheduling, channels: Callable[[], Iterable[str]]) -> None:
        self._scheduling = scheduling
        self._channels = channels

    def sync(self, names: Iterable[str]) -> None:
        """Nothing to start: the workers run the deliveries."""

    def wake(self, names: Iterable[str] | None = None) -> None:
        self._scheduling.deliver(self._channels() if names is None else names)

    def stop(self) -> None:
        """Nothing runs here to stop."""

    def join(self, seconds: float) -> bool:
        return True
