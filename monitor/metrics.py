"""Prometheus metrics: counters the daemon bumps as things happen, and gauges read from the database per scrape.

Everything lives in ``REGISTRY``, not prometheus-client's global default registry, so tests stay isolated and
process metrics (CPU, memory, open files) are opt-in (``enable_process_metrics``).

Labels are bounded: results, verdicts, claim states and outbox statuses are small fixed sets, and the
per-object labels are ``feed`` on the feed gauges and ``channel`` on the channel gauges, bounded by the config
(the operator names every feed and channel) and what makes "which feed is broken" answerable. Stories, claims' texts and alerts are never labels: they grow
without bound, and each label value is a time series Prometheus keeps.

Gauges that describe stored state (outbox depth, the oldest pending alert, failing feeds) are computed from the
database at scrape time by ``DatabaseCollector``, not tracked in memory, so they are right after a restart
and include work done by ``poll-once`` or ``outbox retry`` running beside the daemon.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor import store
from monitor.backlog import channel_health
from monitor.config.database import Database
from monitor.errors import MonitorError
from monitor.logs import kv, log
from monitor.store import outbox
from monitor.store.feeds import feed_health
from monitor.store.outbox import OUTBOX_STATUSES

REGISTRY = CollectorRegistry(auto_describe=True)

FETCH_RESULTS = ("ok", "not_modified", "unchanged", "error")
VERDICTS = ("confirmed", "delayed", "rejected", "pending")
CLAIM_STATES = VERDICTS
DELIVERY_RESULTS = ("sent", "failed", "dead", "disabled")
RELOAD_RESULTS = ("success", "failure")

FETCHES = Counter("news_monitor_fetches_total", "Feed polls, by result: ok (new stories), unchanged (a body with "
                  "no new story), not_modified (HTTP 304), error.", ["result"], registry=REGISTRY)
STORIES = Counter("news_monitor_stories_total", "New stories stored.", registry=REGISTRY)
HITS = Counter("news_monitor_hits_total", "Stories found relevant to a claim, by the verdict read in them.",
               ["verdict"], registry=REGISTRY)
STATE_CHANGES = Counter("news_monitor_claim_state_changes_total", "Claim state changes, by the new state.",
                        ["state"], registry=REGISTRY)
DELIVERIES = Counter("news_monitor_delivery_attempts_total", "Alert delivery attempts, by result: sent, failed "
                     "(will retry), dead (gave up), disabled (410 Gone disabled the channel).", ["result"],
                     registry=REGISTRY)
RELOADS = Counter("news_monitor_config_reloads_total", "Config reloads, by result.", ["result"],
                  registry=REGISTRY)
LAST_RELOAD_OK = Gauge("news_monitor_config_last_reload_success",
                       "1 if the config in use came from the last load attempt, 0 if that attempt failed.",
                       registry=REGISTRY)
LAST_RELOAD_AT = Gauge("news_monitor_config_last_reload_timestamp_seconds",
                       "When the config was last loaded or a reload was last attempted (Unix time).",
                       registry=REGISTRY)
LAST_TICK_AT = Gauge("news_monitor_scheduler_last_tick_timestamp_seconds",
                     "When the scheduler last ran its heartbeat job (Unix time).", registry=REGISTRY)

# Every known label value starts at 0, so rate() and alerts see a series before its first event.
for _counter, _values in ((FETCHES, FETCH_RESULTS), (HITS, VERDICTS), (STATE_CHANGES, CLAIM_STATES),
                          (DELIVERIES, DELIVERY_RESULTS), (RELOADS, RELOAD_RESULTS)):
    for _value in _values:
        _counter.labels(_value)

_last_tick: float | None = None


def fetch(result: str) -> None:
    """One feed poll ended with ``result`` (one of ``FETCH_RESULTS``)."""
    FETCHES.labels(result).inc()


def stories(n: int) -> None:
    """``n`` new stories were stored."""
    if n:
        STORIES.inc(n)


def hit(verdict: str, n: int = 1) -> None:
    """A story was stored as relevant to a claim (a hit) with this verdict."""
    HITS.labels(verdict).inc(n)


def state_change(state: str) -> None:
    """A claim moved to ``state``."""
    STATE_CHANGES.labels(state).inc()


def delivery(result: str, n: int = 1) -> None:
    """``n`` delivery attempts ended with ``result`` (one of ``DELIVERY_RESULTS``)."""
    if n:
        DELIVERIES.labels(result).inc(n)


def config_loaded(at: float) -> None:
    """The config was loaded at start-up: it is the one in use (not counted as a reload)."""
    LAST_RELOAD_OK.set(1)
    LAST_RELOAD_AT.set(at)


def reload(success: bool, at: float) -> None:
    """A reload was attempted at ``at`` (Unix time); after a failure the previous config stays in use."""
    RELOADS.labels("success" if success else "failure").inc()
    LAST_RELOAD_OK.set(1 if success else 0)
    LAST_RELOAD_AT.set(at)


def tick(at: float) -> None:
    """The scheduler is alive: its heartbeat job ran at ``at`` (Unix time). Read back by ``last_tick``."""
    global _last_tick
    _last_tick = at
    LAST_TICK_AT.set(at)


def last_tick() -> float | None:
    """When ``tick`` was last called (Unix time), None before the first; what ``HealthServer`` checks."""
    return _last_tick


def enable_process_metrics() -> None:
    """Add the standard ``process_*`` and ``python_*`` metrics (CPU, memory, file descriptors, GC)."""
    from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        try:
            REGISTRY.register(collector)
        except ValueError:  # already registered: calling this twice is harmless
            pass


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape, over a short-lived read-only connection.

    A database that cannot be read yields ``news_monitor_database_up 0`` and no other gauge, rather than a
    failed scrape: the counters are still worth having, and the health check says what is wrong.
    """

    def __init__(self, path: Database, feeds: Iterable[str] | None = None, clock: Callable[[], float] = time.time, *,
                 channels: Mapping[str, float] | None = None):
        self.path = path
        self.feeds = None if feeds is None else frozenset(feeds)
        self.channels = dict(channels or {})  # name -> seconds its oldest alert may wait (backlog.stuck_limits)
        self.clock = clock

    def describe(self) -> Iterator[Metric]:
        return iter(())  # the gauges come and go with the database; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("news_monitor_database_up", "1 if the database could be read for this scrape.")
        try:
            families = self._read()
        except (OSError, MonitorError, *store.DATABASE_ERRORS) as exc:
            log.warning("metrics cannot read the database %s", kv(database=self.path, error=exc))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> list[Metric]:
        with store.read_only(self.path) as conn:  # a scrape must never create, migrate or lock the database
            by_status = outbox.status_counts(conn)
            oldest = outbox.oldest_pending_at(conn)
            feed_rows = feed_health(conn)
            channels = channel_health(conn, self.channels, datetime.fromtimestamp(self.clock(), timezone.utc))

        depth = GaugeMetricFamily("news_monitor_outbox_alerts", "Alerts in the outbox, by status (one per alert "
                                  "and channel).", labels=["status"])
        for status in sorted(set(OUTBOX_STATUSES) | set(by_status)):
            depth.add_metric([status], by_status.get(status, 0))
        age = GaugeMetricFamily("news_monitor_outbox_oldest_pending_age_seconds",
                                "Age of the oldest alert not yet delivered; 0 when none is waiting.")
        age.add_metric([], max(0.0, self.clock() - oldest.timestamp()) if oldest else 0.0)

        if self.feeds is not None:  # feeds removed from the config keep their rows; don't report them forever
            feed_rows = [r for r in feed_rows if r[0] in self.feeds]
        failing = GaugeMetricFamily("news_monitor_feeds_failing", "Feeds whose last poll failed.")
        failing.add_metric([], sum(1 for _, errors, _ in feed_rows if errors))
        streak = GaugeMetricFamily("news_monitor_feed_consecutive_errors",
                                   "Polls of this feed that failed in a row (0 after a success).", labels=["feed"])
        last_ok = GaugeMetricFamily("news_monitor_feed_last_success_timestamp_seconds",
                                    "When this feed was last polled successfully (Unix time).", labels=["feed"])
        for name, errors, ok_at in sorted(feed_rows):
            streak.add_metric([name], errors)
            if ok_at:
                last_ok.add_metric([name], ok_at.timestamp())
        stuck = GaugeMetricFamily("news_monitor_channel_stuck", "1 if this channel's oldest undelivered alert has "
                                  "waited past delivery_stuck_seconds (disabled, held, paused or stuck), else 0.",
                                  labels=["channel"])
        waiting = GaugeMetricFamily("news_monitor_channel_oldest_pending_age_seconds",
                                    "Age of this channel's oldest alert not yet delivered; 0 when none is waiting.",
                                    labels=["channel"])
        for health in channels:
            stuck.add_metric([health.name], int(health.behind))
            waiting.add_metric([health.name], health.waiting_seconds)
        return [depth, age, failing, streak, last_ok, stuck, waiting]


_bound: DatabaseCollector | None = None
_bind_lock = threading.Lock()


def bind_database(path: Database, feeds: Iterable[str] | None = None, *,
                  channels: Mapping[str, float] | None = None) -> None:
    """Read the database gauges from ``path`` from now on; ``feeds`` (the configured names) limits the per-feed
    gauges to feeds still in the config, ``channels`` (name → stuck limit) gives the channel gauges. Call again
    after a reload: the previous binding is replaced."""
    global _bound
    with _bind_lock:
        if _bound is not None:
            REGISTRY.unregister(_bound)
        _bound = DatabaseCollector(path, feeds, channels=channels)
        REGISTRY.register(_bound)
