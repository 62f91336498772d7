"""The daemon: APScheduler jobs, live reload, health, and a clean stop.

Jobs: one poll job per feed (its interval with jitter; feeds on one host start a few seconds apart; a poll its
host cannot take yet ends at once and a one-off job, ``daemon.retries``, polls the feed when it can), one
delivery job (it wakes the channels' delivery threads, for retries falling due), one hourly housekeeping job
(claim deadlines, pruning old stories), a heartbeat (the scheduler's proof of life for ``/healthz`` and
systemd's watchdog) and a watcher that reloads the config when its file changes. Every job opens its own
database connection. Delivery runs beside the jobs, one thread per channel (``deliverers``): a poll that queued
alerts wakes them and returns, so a slow destination delays neither polling nor the other channels, and alerts
of one claim keep their order on each channel (``outbox``).

As ``news-monitor scheduler`` (``queue``: ``monitor.queue.dispatch.Scheduling``, on PostgreSQL) the same jobs run,
but a feed's poll and a channel's delivery are queued for worker processes instead of run here, and one more job
takes back the jobs of workers that stopped answering.

Reload (SIGHUP, or the file changing — in place, renamed into place, or a symlink swapped, debounced): a valid
config is applied in place (feed jobs added, removed, rescheduled; claims and channels swapped); an invalid one
is refused with every problem logged, and the old one keeps running. Stop (SIGTERM/SIGINT): no new work starts,
polls that have not begun writing give up, running writes finish, and the process exits within
``STOP_GRACE_SECONDS``; a second signal exits at once (the database stays consistent: writes are transactions).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor import dblock, metrics

from monitor.feeds import polling
from monitor.config import Config, FeedConfig
from monitor.backlog import ChannelHealth, channel_health, stuck_limits
from monitor.errors import ConfigError, MonitorError
from monitor.logs import kv, log
from monitor.pipeline import check_deadlines, poll_feed
from monitor import runtime
from monitor.runtime import Context, Loaded, TrackedClaim, utc_now
from monitor.feeds.politeness import host_of
from monitor.feeds.search import with_search_feeds
from monitor.daemon import earlysignals
from monitor.daemon.systemd import Notifier
from monitor.daemon.deliverers import ChannelDeliverers
from monitor.queue.dispatch import QueuedDeliveries, Scheduling
from monitor.daemon.health import HealthCheck, HealthServer
from monitor.daemon.retries import FeedRetries
from monitor.net.urls import parse_listen
from monitor.web.routes import StatusSite
from monitor.daemon.watch import WATCH_SECONDS, ConfigWatch, keep_restart_keys, log_refused, signature
from monitor.store import FeedState, Store, read_only

MAX_JITTER_SECONDS = 60
HOST_SPREAD_SECONDS = 5
DELIVERY_JOB_ID = "deliver"
HOUSEKEEPING_JOB_ID = "housekeeping"
HOUSEKEEPING_INTERVAL_SECONDS = 3600
HEARTBEAT_SECONDS = 10
REQUEUE_STALLED_SECONDS = 10  # how often a scheduler for workers looks for the jobs of dead workers
LOCK_RENEW_SECONDS = 15  # how often the daemon checks it still holds a PostgreSQL database's lock
MAX_TICK_AGE_SECONDS = 60
STOP_GRACE_SECONDS = 7  # under Docker's 10 s between SIGTERM and SIGKILL, with room to spare


def feed_job_id(name: str) -> str:
    return f"feed:{name}"


class Daemon:
    """The running monitor: a scheduler plus the prepared config it polls and delivers with.

    ``claims``: the config's claims as ``runtime.load`` compiled them (compiled here when not given). ``load``
    re-reads the config, claims compiled, for a reload (by default ``runtime.load`` of ``config.path``).
    """

    def __init__(self, config: Config, *, claims: Sequence[TrackedClaim] | None = None,
                 scheduler: BaseScheduler | None = None, clock: Callable[[], datetime] = utc_now,
                 load: Callable[[], Loaded] | None = None, queue: Scheduling | None = None) -> None:
        self.stopping = threading.Event()
        config = with_search_feeds(config)  # a config not read through runtime.load has them too
        self.config = config
        self.ctx = Context.build(config, claims=claims, stop=self.stopping)
        self.clock = clock
        self.reload_error: str | None = None
        self.notifier = Notifier()
        self.scheduler = scheduler or BlockingScheduler(timezone=timezone.utc)
        self.scheduler.configure(executors={"default": ThreadPoolExecutor(config.workers),
                                            # its own thread: a burst of slow polls must not look like a hang
                                            "heartbeat": ThreadPoolExecutor(1)},
                                 job_defaults={"coalesce": True, "max_instances": 1}, timezone=timezone.utc)
        self._load = load or (lambda: _load_like(self.config))
        self.queue = queue  # a scheduler for workers (``monitor.queue``): polls and sends are queued, not run
        self.deliverers = ChannelDeliverers(lambda: self.ctx, clock, self.stopping) if queue is None else \
            QueuedDeliveries(queue, lambda: [c.name for c in self.ctx.config.channels])
        self._reload_lock = threading.Lock()
        self._active = 0
        self._idle = threading.Condition()
        self._watch = ConfigWatch(config.path)
        self._held: dblock.Held | None = None  # the database's lock, while run() holds it
        self._lock_lost: dblock.DatabaseBusy | None = None
        self._lock_reachable = True
        self.retries = FeedRetries(self.scheduler, self._guarded(self.poll_job), self.stopping)

    # --- jobs -------------------------------------------------------------------------------------------------

    def schedule(self) -> None:
        """Add the jobs. Each feed is first polled when it is due: at once when it was never polled or its next
        poll time has passed (once, however long the daemon was down), else at its stored next poll time (it
        was polled recently, by ``poll-once`` or before a restart, or it is backing off), which is logged. Then
        on its interval. Feeds polled at once that share a host start a few seconds apart, so their polls stay
        spread out."""
        start, now = datetime.now(timezone.utc), self.clock()
        with Store(self.config.database) as store:
            states = {state.name: state for state in store.feed_states()}
        on_host: dict[str, int] = {}
        deferred = 0
        for feed in self.config.feeds:
            wait = self._wait_until_due(feed, states.get(feed.name), now)
            if wait is not None:
                deferred += 1
                self._add_feed_job(feed, start + wait, jitter=False)
                continue
            rank = on_host[host_of(feed.url)] = on_host.get(host_of(feed.url), -1) + 1
            self._add_feed_job(feed, start + timedelta(seconds=min(rank * HOST_SPREAD_SECONDS,
                                                                   feed.interval_seconds / 2)))
        log.info("feeds scheduled %s", kv(polled_now=len(self.config.feeds) - deferred, later=deferred))
        self.deliverers.sync(c.name for c in self.config.channels)
        self._add_job(self.deliver, DELIVERY_JOB_ID, self.config.deliver_interval_seconds, start)
        self._add_job(self.housekeeping, HOUSEKEEPING_JOB_ID, HOUSEKEEPING_INTERVAL_SECONDS, start)
        self._add_job(self.heartbeat, "heartbeat", HEARTBEAT_SECONDS, start, executor="heartbeat")
        self._add_job(self.watch_config, "watch-config", WATCH_SECONDS, start + timedelta(seconds=WATCH_SECONDS),
                      executor="heartbeat")
        if self.queue is not None:
            self._add_job(self.queue.requeue_stalled, "requeue-stalled", REQUEUE_STALLED_SECONDS,
                          start + timedelta(seconds=REQUEUE_STALLED_SECONDS))
        if isinstance(self._held, dblock.PostgresLock):
            self._add_job(self.renew_lock, "database-lock", LOCK_RENEW_SECONDS,
                          start + timedelta(seconds=LOCK_RENEW_SECONDS))

    def _add_job(self, func: Callable, job_id: str, seconds: float, first: datetime, **options: object) -> None:
        self.scheduler.add_job(self._guarded(func), IntervalTrigger(seconds=seconds), id=job_id, name=job_id,
                               next_run_time=first, misfire_grace_time=int(seconds), replace_existing=True,
                               **options)

    def _wait_until_due(self, feed: FeedConfig, state: FeedState | None, now: datetime) -> timedelta | None:
        """How long until ``feed`` is due by its stored state (logged), or None when it is due now."""
        if state is None or state.url != feed.url or state.disabled_reason:
            return None  # never polled, or a new URL (starts afresh), or disabled (its poll says so at once)
        due = state.next_poll_at
        if due is None or due <= now:
            return None
        wait = due - now
        log.info("feed next poll %s", kv(feed=feed.name, at=due.isoformat(timespec="seconds"), due_in=_span(wait),
                                         reason="backing off" if state.error_count else "polled recently"))
        return wait

    def _add_feed_job(self, feed: FeedConfig, first: datetime, *, jitter: bool = True) -> None:
        # The jitter is applied once, to the first run: APScheduler 3 adds a trigger's jitter to every run on top
        # of the last jittered one, so the gaps between polls would grow to interval + jitter. A feed waiting for
        # its stored next poll time needs none: the times of its own last polls spread it already.
        if jitter:
            first += timedelta(seconds=random.uniform(0, min(feed.interval_seconds / 10, MAX_JITTER_SECONDS)))
        self.scheduler.add_job(
            self._guarded(self.poll_job), IntervalTrigger(seconds=feed.interval_seconds, start_date=first),
            args=[feed.name], id=feed_job_id(feed.name), name=f"poll {feed.name}", next_run_time=first,
            # A poll late by less than one interval still runs; later than that, the next one will do.
            misfire_grace_time=feed.interval_seconds, replace_existing=True)

    def _guarded(self, func: Callable) -> Callable:
        """The job as run by the scheduler: skipped once stopping, counted while running (for a clean stop)."""
        def job(*args: object, **kwargs: object) -> None:
            if self.stopping.is_set():
                return
            with self._idle:
                self._active += 1
            try:
                func(*args, **kwargs)
            finally:
                with self._idle:
                    self._active -= 1
                    self._idle.notify_all()
        job.__name__ = job.__qualname__ = getattr(func, "__name__", "job")
        return job

    def poll_job(self, feed_name: str) -> None:
        """Job (a feed's interval, or a retry once its host is free): poll it, unless another job is polling it.
        A scheduler for workers queues a poll job instead (one at most waits per feed)."""
        if self.queue is not None:
            ctx = self.ctx
            feed = ctx.config.feed(feed_name)
            if feed is not None:
                self.queue.poll(ctx.config, feed)
            return
        with self.retries.polling(feed_name) as mine:
            if mine:
                self.poll(feed_name)

    def poll(self, feed_name: str) -> None:
        """Poll one feed, then wake the deliverers if it queued alerts. A feed whose host is busy or backing off
        is polled again by a retry job (``retries``) as soon as the host can take it."""
        ctx = self.ctx  # one read: a reload may swap it meanwhile; this poll keeps its own config and context
        config = ctx.config
        feed = config.feed(feed_name)
        if feed is None:
            return
        try:
            with Store(config.database) as store:
                result = poll_feed(ctx, store, feed, self.clock(), waiter=self.retries.waker(feed_name))
        except MonitorError as exc:
            log.error("poll job failed %s", kv(feed=feed_name, error=exc))
            return
        if result.retry_in_seconds is not None:  # the host is backing off: poll the feed when that ends
            self.retries.after(feed_name, result.retry_in_seconds)
        if result.alerts:
            self.deliverers.wake()
        if result.status in metrics.FETCH_RESULTS:
            metrics.fetch(result.status)
        metrics.stories(result.new_stories)
        for verdict in result.verdicts:
            metrics.hit(verdict)
        for state in result.state_changes:
            metrics.state_change(state)

    def deliver(self) -> None:
        """Job: have every channel look for alerts that fell due (retries); the sending is the channels' own."""
        self.deliverers.wake()

    def housekeeping(self) -> None:
        """Job: raise "overdue" alerts for claims past their ``expect_by`` date; prune old stories without hits."""
        ctx, now = self.ctx, self.clock()
        config = ctx.config
        try:
            with Store(config.database) as store:
                if check_deadlines(ctx, store, now):
                    self.deliverers.wake()
                with store.transaction():
                    pruned = store.prune_stories(now - timedelta(days=config.retention_days))
                if pruned:
                    log.info("stories pruned %s", kv(count=pruned, retention_days=config.retention_days))
            if self.queue is not None:
                self.queue.prune(config.retention_days)
        except MonitorError as exc:
            log.error("housekeeping job failed %s", kv(error=exc))

    def heartbeat(self) -> None:
        """Job: the scheduler is alive (read by ``/healthz`` and the systemd watchdog)."""
        metrics.tick(time.time())

    def renew_lock(self) -> None:
        """Job: keep the PostgreSQL database's lock through a server restart (which ends the session holding
        it); stop, as a second daemon would have been at start, when another process took it meanwhile."""
        try:
            state = self._held.renew()
        except dblock.DatabaseBusy as exc:
            log.error("database lock lost, stopping %s", kv(database=self.config.database, error=exc))
            self._lock_lost = exc
            self.stop()
            return
        if state == "retaken":
            log.info("database lock taken again %s", kv(database=self.config.database))
        elif state == "unreachable" and self._lock_reachable:
            log.warning("database unreachable, its lock will be taken again %s", kv(database=self.config.database))
        self._lock_reachable = state != "unreachable"

    def channel_health(self) -> list[ChannelHealth]:
        """Each configured channel's delivery health, read now (for ``/healthz``)."""
        config = self.config
        with read_only(config.database) as conn:
            return channel_health(conn, stuck_limits(config), self.clock())

    # --- reload -----------------------------------------------------------------------------------------------

    def watch_config(self) -> None:
        """Job: reload when the config file changed and has stayed the same for one more check (debounce)."""
        if self._watch.settled_change():
            self.reload(reason="file changed")

    def request_reload(self) -> None:
        """Reload soon, in a worker thread. Several requests in a burst run one reload (the job is replaced)."""
        # An explicit trigger: left to its default, APScheduler would import its date trigger here, inside a
        # signal handler that may have interrupted the main thread's own import of it.
        self.scheduler.add_job(self._guarded(self.reload), DateTrigger(), id="reload", name="reload",
                               replace_existing=True, kwargs={"reason": "SIGHUP"}, executor="heartbeat",
                               misfire_grace_time=None)  # however late it gets to run, a requested reload runs

    def reload(self, reason: str = "requested") -> bool:
        """Re-read the config; apply it if valid, else keep running the old one. Returns whether it applied."""
        with self._reload_lock:
            self.notifier.reloading()
            seen = signature(self.config.path)
            try:
                loaded = self._load()
            except ConfigError as exc:
                self._watch.read(seen)  # report a broken file once, not every 2 s
                self.reload_error = str(exc)
                metrics.reload(False, time.time())
                log_refused(exc, reason)
                self.notifier.ready("running the previous config: the new one is invalid")
                return False
            config = keep_restart_keys(loaded.config, self.config)
            old = self.config
            self.ctx = self.ctx.succeeded_by(loaded, config)  # jobs read config from ctx
            self.config = config
            changes = self._apply_jobs(old, config)
            self._watch.read(seen)
            self.reload_error = None
            metrics.reload(True, time.time())
            metrics.bind_database(config.database, [f.name for f in config.feeds], channels=stuck_limits(config))
            log.info("config reloaded %s", kv(reason=reason, **changes))
            self.notifier.ready(f"polling {len(config.feeds)} feeds")
            return True

    def _apply_jobs(self, old: Config, new: Config) -> dict[str, int]:
        before, after = {f.name: f for f in old.feeds}, {f.name: f for f in new.feeds}
        now = datetime.now(timezone.utc)
        for name in before.keys() - after.keys():
            self.scheduler.remove_job(feed_job_id(name))
        changed = 0
        retimed = [f for name, f in after.items() if name in before and f.url == before[name].url
                   and f.interval_seconds != before[name].interval_seconds]
        states = self._retime(retimed, old) if retimed else {}
        for name, feed in after.items():
            if name not in before or feed.url != before[name].url:
                changed += name in before
                self._add_feed_job(feed, now)  # a new feed, or a new URL: polled at once
            elif feed in retimed:
                changed += 1
                wait = self._wait_until_due(feed, states.get(name), self.clock())
                self._add_feed_job(feed, now + (wait or timedelta(0)), jitter=False)
            elif feed != before[name]:
                changed += 1  # the poll job reads the rest of the feed's settings from the config at each run
        self.deliverers.sync(c.name for c in new.channels)
        if new.deliver_interval_seconds != old.deliver_interval_seconds:
            self._add_job(self.deliver, DELIVERY_JOB_ID, new.deliver_interval_seconds, now)
        return {"feeds_added": len(after.keys() - before.keys()), "feeds_removed": len(before.keys() - after.keys()),
                "feeds_changed": changed, "claims": len(new.claims), "channels": len(new.channels)}

    def _retime(self, feeds: list[FeedConfig], old: Config) -> dict[str, FeedState]:
        """Store the next poll of feeds whose interval changed: the new interval from their last poll (see
        ``polling.after_interval_change``). Returns every feed's state, as updated."""
        with Store(self.config.database) as store:
            with store.transaction():
                states = {state.name: state for state in store.feed_states()}
                for feed in feeds:
                    state, before = states.get(feed.name), old.feed(feed.name)
                    if state is None or state.url != feed.url or state.next_poll_at is None or before is None:
                        continue
                    due = polling.after_interval_change(state.next_poll_at, state.last_ok_at, state.error_count,
                                                        before.interval_seconds, feed.interval_seconds)
                    store.reschedule_feed(feed.name, due)
                    states[feed.name] = replace(state, next_poll_at=due)
        return states

    # --- run and stop -----------------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT (SIGHUP reloads). Returns once running work has finished.

        Holds the database's lock (``dblock``) all the while: raises ``DatabaseBusy`` when another daemon (or a
        ``poll-once``) is using the database, or took it while a PostgreSQL server restarted."""
        role = "daemon" if self.queue is None else "scheduler"
        with dblock.hold(self.config.database, role) as self._held:
            self._serve()
        self._held = None
        if self._lock_lost is not None:
            raise self._lock_lost

    def _serve(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGHUP, lambda signum, frame: self.request_reload())
        early = earlysignals.take()  # what arrived before these handlers (see monitor.entry), replayed now
        early_stop = next((sig for sig in early if sig != signal.SIGHUP), None)
        if early_stop is not None:
            self._on_stop_signal(early_stop, None)
        Store(self.config.database).close()  # create and migrate the file before anyone checks its health
        if self.queue is not None:
            self.queue.open()
        metrics.bind_database(self.config.database, [f.name for f in self.config.feeds],
                              channels=stuck_limits(self.config))
        metrics.config_loaded(time.time())
        health = dict(database=self.config.database, last_tick=metrics.last_tick,
                      max_tick_age_seconds=MAX_TICK_AGE_SECONDS, config_error=lambda: self.reload_error,
                      channels=self.channel_health, queue=self.queue.health if self.queue else None)
        server = None
        if self.config.listen:
            site = StatusSite(listen_host=parse_listen(self.config.listen)[0], config=lambda: self.config,
                              database=self.config.database, config_error=lambda: self.reload_error)
            server = HealthServer(self.config.listen, **health, site=site)
        if server:
            server.start()
        keep_alive = threading.Event()
        self.notifier.keep_alive(HealthCheck(**health).scheduler_problem, keep_alive)
        self.schedule()
        self.notifier.ready(f"polling {len(self.config.feeds)} feeds")
        log.info("daemon started %s", kv(feeds=len(self.config.feeds), claims=len(self.config.claims),
                                         channels=len(self.config.channels), database=self.config.database,
                                         listen=self.config.listen))
        if not self.stopping.is_set():  # a signal during start-up: stop() found no scheduler running to stop
            if signal.SIGHUP in early:
                self.request_reload()  # one reload, however many came: it runs once the scheduler does
            self.scheduler.start()  # blocks until stop()
        keep_alive.set()
        if server:
            server.stop()
        started = time.monotonic()
        idle = self.deliverers.join(STOP_GRACE_SECONDS)
        if not (self._wait_idle(STOP_GRACE_SECONDS - (time.monotonic() - started)) and idle):
            log.warning("stopped with work in flight %s", kv(jobs=self._active, note="nothing half-written"))
            os._exit(0)  # the stuck jobs are network waits; every database write is a transaction
        if self.queue is not None:
            self.queue.close()  # after the jobs, which may be queueing
        log.info("daemon stopped")

    def _on_stop_signal(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if self.stopping.is_set():
            log.warning("second signal, exiting now %s", kv(signal=name))
            os._exit(1)
        self.stopping.set()  # before anything else, so a signal arriving during the next lines counts as second
        log.info("stopping %s", kv(signal=name))
        self.stop()

    def stop(self) -> None:
        """Start no new work; polls that have not begun writing give up; running writes finish."""
        self.stopping.set()
        self.notifier.stopping()
        self.deliverers.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _wait_idle(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        with self._idle:
            while self._active:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                # Short waits: a second signal may be delivered to another thread, and the main thread only
                # runs its handler when it wakes up.
                self._idle.wait(min(left, 0.1))
        return True


def _span(wait: timedelta) -> str:
    """A wait for people: ``4m42s``, ``2h05m``, ``45s``."""
    seconds = max(0, round(wait.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _load_like(current: Config) -> Loaded:
    loaded = runtime.load(current.path)
    return replace(loaded, config=_with(loaded.config, database=current.database))


def _with(config: Config, **changes: object) -> Config:
    return replace(config, **changes)
