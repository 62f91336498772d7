"""The queue's parts one by one: shared host state, rate limits started from the outbox, poll locks, dead
workers' jobs taken back, the queue's health, its tables' version, and the commands' refusal of SQLite."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from conftest import run_cli, write_config
from monitor.config import load_config
from monitor.feeds.politeness import HostSlots, SharedHost
from monitor.ratelimit import RateLimiter


class Clock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


URL = "https://news.example.com/feed.xml"


def test_a_hosts_backoff_and_last_request_pass_from_one_process_to_another():
    first_clock, second_clock = Clock(), Clock(50_000.0)  # monotonic clocks of two processes: unrelated
    first = HostSlots(clock=first_clock)
    first.try_hold(URL).release()
    first.timed_out(URL)  # 30 s backoff
    first_clock.now += 10
    handed = first.shared_state(URL)
    assert handed.timeouts == 1 and handed.backoff_left == pytest.approx(20) and handed.since_last_start == 10
    second = HostSlots(clock=second_clock)
    second.adopt(URL, handed)
    assert second.backing_off(URL) == pytest.approx(20)
    second_clock.now += 21
    assert second.backing_off(URL) is None
    second.timed_out(URL)  # the growth went along: the second timeout in a row backs off 60 s
    assert second.backing_off(URL) == pytest.approx(60)


def test_a_hosts_spacing_counts_from_the_last_request_of_any_process():
    clock = Clock()
    slots = HostSlots(clock=clock, spacing={"news.example.com": 5.0})
    slots.adopt(URL, SharedHost(since_last_start=2.0))  # another worker asked 2 s ago
    refused = slots.try_hold(URL)
    assert refused.retry_in_seconds == pytest.approx(3.0)
    clock.now += 3
    assert not hasattr(slots.try_hold(URL), "retry_in_seconds")


def test_a_shorter_backoff_handed_over_does_not_cut_a_longer_one_short():
    clock = Clock()
    slots = HostSlots(clock=clock)
    slots.timed_out(URL)
    slots.adopt(URL, SharedHost(timeouts=1, backoff_left=5.0))
    assert slots.backing_off(URL) == pytest.approx(30)


def test_a_rate_limiter_started_from_sends_elsewhere_waits_for_them():
    clock = Clock()
    limiter = RateLimiter(max_per_minute=2, clock=clock)
    limiter.replay([50.0, 20.0, 90.0])  # two sends in the last minute; one older, which no longer counts
    assert limiter.reserve() == pytest.approx(10.0)  # the older of the two leaves the window in 10 s
    spaced = RateLimiter(min_interval_seconds=3.0, clock=clock)
    spaced.replay([1.0])
    assert spaced.reserve() == pytest.approx(2.0)


def poll_config(tmp_path, **monitor):
    path = write_config(tmp_path, {"monitor": {"database": "monitor.db", **monitor},
                                   "feeds": [{"name": f"f{n}", "url": f"https://news.example.com/{n}.xml"}
                                             for n in range(40)] + [{"name": "other", "url": "https://b.example/x"}],
                                   "claims": [{"id": "c", "text": "Acme and Globex sign the merger agreement"}]})
    return load_config(path)


def test_poll_locks_split_a_host_into_max_per_host_shares(tmp_path):
    from monitor.queue.dispatch import poll_lock

    one = poll_config(tmp_path)
    assert {poll_lock(one, f) for f in one.feeds} == {"host:news.example.com", "host:b.example"}
    three = poll_config(tmp_path, max_per_host=3)
    shares = {poll_lock(three, f) for f in three.feeds if f.name != "other"}
    assert shares == {f"host:news.example.com:{n}" for n in range(3)}


@pytest.mark.parametrize("command", ["scheduler", "worker"])
def test_scheduler_and_worker_refuse_a_sqlite_database_naming_the_key(tmp_path, command):
    path = write_config(tmp_path, {"monitor": {"database": "monitor.db"},
                                   "claims": [{"id": "c", "text": "Acme and Globex sign the merger agreement"}]})
    result = run_cli(command, config=path, timeout=60)
    assert result.returncode != 0
    assert f"monitor.database: {command} needs a PostgreSQL database" in result.stderr, result.stderr
    assert not (tmp_path / "monitor.db").exists()  # refused before anything was created


# --- on PostgreSQL ---------------------------------------------------------------------------------------


@pytest.fixture
def queue_database(postgres_url):
    from monitor.config.database import PostgresDatabase
    from monitor.queue.app import ensure_schema
    from monitor.store import Store

    database = PostgresDatabase(postgres_url)
    Store(database).close()
    ensure_schema(database)
    return database


@pytest.mark.postgres
def test_the_shared_host_state_goes_through_the_database(queue_database):
    from monitor.queue.hosts import shared_host
    from monitor.store.postgres import PostgresSql

    with PostgresSql(queue_database) as sql:
        first = HostSlots(clock=Clock())
        with shared_host(sql, first, URL):
            first.try_hold(URL).release()
            first.timed_out(URL)  # 30 s, from the database's now
        second = HostSlots(clock=Clock(7.0))  # another process, its own clock
        with shared_host(sql, second, URL):
            assert 25 < second.backing_off(URL) <= 30
        sql.execute("UPDATE news_monitor_hosts SET backoff_until = now() - interval '1 second'")
        third = HostSlots(clock=Clock(7.0))
        with shared_host(sql, third, URL):
            assert third.backing_off(URL) is None
            third.try_hold(URL).release()
            third.succeeded(URL)
        assert sql.execute("SELECT timeouts, backoff_until FROM news_monitor_hosts").fetchone() == (0, None)


@pytest.mark.postgres
def test_ensure_schema_is_idempotent_and_refuses_another_procrastinate_minor(queue_database):
    from monitor.errors import StoreError
    from monitor.queue.app import ensure_schema
    from monitor.store.postgres import PostgresSql

    ensure_schema(queue_database)  # again: nothing to do
    with PostgresSql(queue_database) as sql:
        sql.execute("UPDATE news_monitor_queue SET procrastinate_version = '2.9'")
    with pytest.raises(StoreError, match=r"made by procrastinate 2\.9, and procrastinate 3\.\d+ is installed"):
        ensure_schema(queue_database)


def _dead_worker_job(app, sql, *, feed: str) -> int:
    """A poll job marked running by a worker whose last heartbeat was a minute ago."""
    worker = sql.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '60 seconds') "
                         "RETURNING id").fetchone()[0]
    job = app.tasks["poll"].configure(queueing_lock=f"poll:{feed}", lock=f"host:{feed}").defer(feed=feed)
    sql.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = ? WHERE id = ?", [worker, job])
    return job


@pytest.mark.postgres
def test_the_jobs_of_a_dead_worker_are_queued_again_or_dropped_when_queued_already(queue_database):
    from monitor.queue.app import build_app
    from monitor.queue.dispatch import Scheduling, queue_health, requeue_stalled
    from monitor.store.postgres import PostgresSql

    app = build_app(queue_database)
    with app.open(), PostgresSql(queue_database) as sql:
        lone = _dead_worker_job(app, sql, feed="alpha")
        twice = _dead_worker_job(app, sql, feed="beta")
        app.tasks["poll"].configure(queueing_lock="poll:beta", lock="host:beta").defer(feed="beta")  # queued again
        health = queue_health(queue_database)
        assert health.workers == 0 and health.running == 2 and health.waiting == 1
        assert "no worker is taking jobs" in health.problem()
        alive = sql.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now()) RETURNING id")
        assert alive.fetchone()
        assert requeue_stalled(app, queue_database) == 2
        status = dict(sql.execute("SELECT id, status::text FROM procrastinate_jobs WHERE id IN (?, ?)",
                                  [lone, twice]).fetchall())
        assert status == {lone: "todo", twice: "failed"}
        assert requeue_stalled(app, queue_database) == 0
        assert queue_health(queue_database).problem() is None  # one live worker, nothing waiting long
        scheduling = Scheduling(queue_database)
        scheduling.prune(7)
        assert sql.execute("SELECT count(*) FROM procrastinate_jobs WHERE id = ?", [twice]).fetchone()[0] == 1
        sql.execute("UPDATE procrastinate_events SET at = now() - interval '8 days' WHERE job_id = ?", [twice])
        scheduling.prune(7)
        left = {row[0] for row in sql.execute("SELECT id FROM procrastinate_jobs").fetchall()}
        assert twice not in left and lone in left  # the failed job went; the one queued again stays
