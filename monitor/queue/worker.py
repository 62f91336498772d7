"""``news-monitor worker``: takes poll and delivery jobs from the queue until SIGTERM or SIGINT.

Each worker has its config (read from its own file; SIGHUP or a change to the file reloads it, and a bad file
is refused with the old one kept, as in the daemon), its fetcher, parse processes, notifiers and rate limiters,
and runs up to ``[monitor] workers`` jobs at once. A job names its feed or channel; one the worker's config does
not have (a reload not yet seen here, or already) is skipped and logged.

- Poll: the host's shared state in (``hosts``), ``pipeline.poll_feed`` in one transaction as in the daemon, the
  host's state out; a feed whose host is backing off or spaced is queued again for when it may go, and alerts
  queued by the poll queue a delivery job for every channel.
- Deliver: the channel's rate limiter is started from the outbox's record of its recent sends, then
  ``delivery.deliver_due`` for that channel; a rate limit's wait queues the channel's next run for when it ends.

Stop: no new jobs are taken, polls that have not begun writing give up, running jobs finish within
``STOP_GRACE_SECONDS`` (then the process exits; every write is a transaction); a second signal exits at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from monitor.config import Config
from monitor.daemon.scheduler import STOP_GRACE_SECONDS
from monitor.daemon.watch import WATCH_SECONDS, ConfigWatch, keep_restart_keys, log_refused, signature
from monitor.delivery import deliver_due
from monitor.errors import ConfigError, MonitorError
from monitor.logs import kv, log
from monitor.pipeline import poll_feed
from monitor.queue.app import (DELIVER_TASK, POLL_TASK, QUEUE, build_app, ensure_schema, handle,
                               procrastinate_module)
from monitor.queue.dispatch import HEARTBEAT_SECONDS, STALLED_AFTER_SECONDS, Jobs
from monitor.queue.hosts import shared_host
from monitor.runtime import Context, Loaded, TrackedClaim, utc_now
from monitor.store import DATABASE_ERRORS, Store, outbox

RESTART_SECONDS = 5.0  # between a worker's loss of the database and its next try
# How often an idle worker asks for a job without being told of a new one. A job held back by its lock (the
# host's other polls, the channel's other runs) is not announced when the lock frees, so this is how soon a
# host's next poll starts after its last one ended: one cheap query per worker per interval.
FETCH_POLLING_SECONDS = 0.25


class Worker:
    """One worker process's jobs and life. ``load`` re-reads the config for a reload."""

    def __init__(self, config: Config, *, claims: tuple[TrackedClaim, ...], load: Callable[[], Loaded],
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.stopping = threading.Event()
        self.ctx = Context.build(config, claims=claims, stop=self.stopping)
        self.clock = clock
        self._load = load
        self._watch = ConfigWatch(config.path)
        self._reload_lock = threading.Lock()
        self.app = build_app(config.database)
        self.jobs = Jobs(self.app, config.database)
        self._run: asyncio.Task | None = None
        self._errors = (procrastinate_module().exceptions.ConnectorException, *DATABASE_ERRORS)
        self._local = threading.local()  # each job thread's Store
        self._active = 0  # jobs running now
        self._idle = threading.Lock()

    # --- jobs -------------------------------------------------------------------------------------------------

    def poll(self, feed: str) -> None:
        """A poll job: poll the feed once (see the module docstring)."""
        ctx = self.ctx  # one read: a reload may swap it meanwhile
        config = ctx.config
        settings = config.feed(feed)
        if settings is None:
            log.info("poll job skipped %s", kv(feed=feed, reason="not in this worker's config"))
            return
        # The host's slot is free in this process when the job runs (the job holds the host's lock) unless an
        # article page of another feed is being read from it: then the feed is queued again when the slot frees.
        again = lambda: self.jobs.poll(config, settings)  # noqa: E731
        store = self._store()
        with shared_host(store.sql, ctx.hosts, settings.url):
            result = poll_feed(ctx, store, settings, self.clock(), waiter=again)
        if result.retry_in_seconds is not None:
            self.jobs.poll(config, settings, delay_seconds=result.retry_in_seconds)
        elif result.status == "stopped":
            self.jobs.poll(config, settings)  # given up by this worker's stop: another worker takes it now
        if result.alerts:
            self.jobs.deliver([c.name for c in config.channels])
        log.debug("poll job done %s", kv(feed=feed, status=result.status, new=result.new_stories))

    def deliver(self, channel: str) -> None:
        """A delivery job: send the channel's due alerts (see the module docstring)."""
        ctx = self.ctx
        if ctx.config.channel(channel) is None:
            log.info("delivery job skipped %s", kv(channel=channel, reason="not in this worker's config"))
            return
        store = self._store()
        limiter = ctx.limiters.get(channel)
        if limiter is not None:
            now = self.clock()
            limiter.replay((now - at).total_seconds()
                           for at in outbox.recent_attempts(store, channel, now - timedelta(seconds=60)))
        result = deliver_due(ctx, store, self.clock, channel=channel)
        if result.again_in is not None:
            log.info("delivery waits for the rate limit %s", kv(channel=channel, seconds=round(result.again_in, 1),
                                                                waiting=result.waiting))
            self.jobs.deliver([channel], delay_seconds=result.again_in)

    def _drop_store(self) -> None:
        store, self._local.store = getattr(self._local, "store", None), None
        if store is not None:
            store.close()

    def _store(self) -> Store:
        """This job thread's connection to the database, kept from job to job (a connection per job would cost
        a server process per poll); opened again when the last one broke (the server restarted)."""
        store = getattr(self._local, "store", None)
        if store is None or not store.sql.usable:
            if store is not None:
                store.close()
            store = self._local.store = Store(self.ctx.config.database)
        return store

    # --- reload -----------------------------------------------------------------------------------------------

    def reload(self, reason: str = "requested") -> bool:
        """Re-read the config; apply it if valid, else keep the old one. Returns whether it applied. The
        database stays the one the worker started on."""
        with self._reload_lock:
            seen = signature(self.ctx.config.path)
            try:
                loaded = self._load()
            except ConfigError as exc:
                self._watch.read(seen)
                log_refused(exc, reason)
                return False
            config = keep_restart_keys(loaded.config, self.ctx.config)
            self.ctx = self.ctx.succeeded_by(loaded, config)
            self._watch.read(seen)
            log.info("config reloaded %s", kv(reason=reason, feeds=len(config.feeds), channels=len(config.channels)))
            return True

    # --- run and stop -----------------------------------------------------------------------------------------

    def run(self) -> None:
        """Take jobs until SIGTERM or SIGINT (SIGHUP reloads). Returns once running jobs have finished."""
        database = self.ctx.config.database
        Store(database).close()  # the store's tables, created or migrated
        ensure_schema(database)
        self.jobs.measure_clock()
        handle(POLL_TASK, self._guarded(self.poll))
        handle(DELIVER_TASK, self._guarded(self.deliver))
        asyncio.run(self._serve())
        log.info("worker stopped")

    def _guarded(self, job: Callable[[str], None]) -> Callable[..., None]:
        """A job as the queue runs it: a database failure runs it once more on a new connection, then is logged,
        and the job ends (the feed is polled on its next interval, a send retried by the outbox's schedule); a
        bug fails the job, logged by procrastinate with its traceback."""
        def run(**kwargs: str) -> None:
            with self._idle:
                self._active += 1
            try:
                try:
                    job(**kwargs)
                except (MonitorError, *self._errors):
                    # A kept connection is only found broken (a server restart) when used: once more on a new
                    # one. Both jobs may run twice: a poll is one transaction, a send is leased.
                    self._drop_store()
                    job(**kwargs)
            except (MonitorError, *self._errors) as exc:  # the database failing: the next period tries again
                log.error("job failed %s", kv(job=job.__name__, error=exc, **kwargs))
                self._drop_store()
            finally:
                with self._idle:
                    self._active -= 1
        return run

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        workers = self.ctx.config.workers
        # procrastinate runs each synchronous job on the loop's default executor, which also serves reloads and
        # name lookups: room for the jobs at once and for those.
        loop.set_default_executor(ThreadPoolExecutor(workers + 4, thread_name_prefix="job"))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, self.reload, "SIGHUP"))
        watcher = asyncio.create_task(self._watch_config())
        async with self.app.open_async():
            log.info("worker started %s", kv(database=self.ctx.config.database, jobs_at_once=workers,
                                             feeds=len(self.ctx.config.feeds)))
            while not self.stopping.is_set():
                await self._take_jobs(workers)
                if not self.stopping.is_set():
                    # procrastinate stops its worker when the database fails under it (a server restart ends
                    # every session): start again once the server answers, as the daemon does.
                    log.warning("worker lost the database, taking jobs again soon %s",
                                kv(database=self.ctx.config.database, seconds=RESTART_SECONDS))
                    await asyncio.sleep(RESTART_SECONDS)
            watcher.cancel()
        self._leave_if_stuck()

    async def _take_jobs(self, workers: int) -> None:
        self._run = asyncio.create_task(self.app.run_worker_async(
            queues=[QUEUE], concurrency=workers, install_signal_handlers=False, listen_notify=True,
            fetch_job_polling_interval=FETCH_POLLING_SECONDS, update_heartbeat_interval=HEARTBEAT_SECONDS,
            stalled_worker_timeout=STALLED_AFTER_SECONDS,
            shutdown_graceful_timeout=STOP_GRACE_SECONDS, delete_jobs="successful"))
        try:
            await self._run
        except asyncio.CancelledError:
            pass  # a stop signal
        except Exception as exc:  # noqa: BLE001 - the database failing under procrastinate, retried above
            log.error("worker stopped taking jobs %s", kv(error=f"{type(exc).__name__}: {exc}"))

    async def _watch_config(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            if self._watch.settled_change():
                await loop.run_in_executor(None, self.reload, "file changed")

    def _on_stop_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self.stopping.is_set():
            log.warning("second signal, exiting now %s", kv(signal=name))
            os._exit(1)
        self.stopping.set()
        log.info("stopping %s", kv(signal=name))
        # procrastinate cannot interrupt a synchronous job and would wait for it however long it takes: past the
        # grace the process leaves (every write is a transaction; the scheduler queues the job again).
        deadline = threading.Timer(STOP_GRACE_SECONDS, self._leave_if_stuck)
        deadline.daemon = True
        deadline.start()
        if self._run is not None:
            self._run.cancel()  # procrastinate takes no new job and waits for the running ones

    def _leave_if_stuck(self) -> None:
        """Past the stop's grace, jobs still running are network waits: exit without them."""
        with self._idle:
            busy = self._active
        if busy:
            log.warning("stopped with work in flight %s", kv(jobs=busy, note="nothing half-written"))
            os._exit(0)
