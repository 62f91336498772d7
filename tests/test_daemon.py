"""The daemon's real APScheduler wiring: jobs per feed, delivery, and a clean stop on SIGTERM."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler

import pytest

from conftest import REPO, rss, shipped_claims, write_config
from hostile import hostile_server  # noqa: F401 (a fixture)
from monitor.config import load_config
from monitor.daemon.scheduler import DELIVERY_JOB_ID, HOUSEKEEPING_JOB_ID, Daemon, feed_job_id
from monitor.store import Store

STORY = {"guid": "c2", "title": "Iraq, United States sign deal on coalition withdrawal",
         "summary": "Baghdad and Washington signed the agreement ending the anti-ISIS coalition mission in Iraq.",
         "link": "https://wire.example.com/c2"}


def daemon_config(tmp_path, httpserver, receiver, **feed_extra):
    document = {
        "monitor": {"database": "monitor.db", "allow_private_networks": True},
        # A short interval keeps the first run's jitter (a tenth of the interval) short too.
        "defaults": {"interval_seconds": 10},
        "feeds": [{"name": "wire", "url": httpserver.url_for("/wire.xml"), **feed_extra},
                  {"name": "broken", "url": httpserver.url_for("/broken.xml")}],
        "claims": [{**shipped_claims()[0], "channels": ["hook"]}],
        "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 5}],
    }
    return write_config(tmp_path, document)


def serve(httpserver):
    published = datetime.now(timezone.utc) - timedelta(minutes=10)
    httpserver.expect_request("/wire.xml").respond_with_data(rss([{**STORY, "published": published}]),
                                                             content_type="application/rss+xml")
    httpserver.expect_request("/broken.xml").respond_with_data("gone wrong", status=500)


def test_scheduler_polls_each_feed_and_delivers(tmp_path, httpserver, receiver):
    serve(httpserver)
    config = load_config(daemon_config(tmp_path, httpserver, receiver))
    daemon = Daemon(config, scheduler=BackgroundScheduler())
    daemon.schedule()
    daemon.scheduler.start(paused=True)  # jobs get their defaults when the scheduler starts
    jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    assert set(jobs) == {feed_job_id("wire"), feed_job_id("broken"), DELIVERY_JOB_ID, HOUSEKEEPING_JOB_ID,
                         "heartbeat", "watch-config"}
    wire = jobs[feed_job_id("wire")]
    assert wire.trigger.interval == timedelta(seconds=config.feed("wire").interval_seconds)
    assert wire.coalesce and wire.max_instances == 1 and wire.misfire_grace_time == config.feed("wire").interval_seconds

    broken_polled = threading.Event()
    daemon.scheduler.add_listener(lambda event: event.job_id == feed_job_id("broken") and broken_polled.set(),
                                  EVENT_JOB_EXECUTED)
    daemon.scheduler.resume()
    try:
        assert receiver.arrived.wait(timeout=20), "no alert reached the webhook"
        # Feeds on one host start a few seconds apart (politeness); the failing one still gets its turn.
        assert broken_polled.wait(timeout=20), "the second feed was never polled"
    finally:
        daemon.stop()
    assert receiver.received[0].body["story"]["title"] == STORY["title"]
    with Store(config.database) as store:
        assert store.feed_state("broken").error_count >= 1  # the failing feed did not stop the other
        assert store.feed_state("wire").last_ok_at is not None


def test_run_stops_cleanly_on_sigterm(tmp_path, httpserver, receiver):
    serve(httpserver)
    config = daemon_config(tmp_path, httpserver, receiver)
    process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert receiver.arrived.wait(timeout=30), "daemon delivered nothing"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "daemon stopped" in stderr
    with Store(tmp_path / "monitor.db") as store:
        assert store.db.execute("SELECT status FROM outbox").fetchall() == [("sent",)]


@pytest.mark.parametrize("path", ["/slow-drip", "/redos", "/endless-trickle"])
def test_a_hostile_feed_does_not_hold_up_the_others(tmp_path, httpserver, receiver, hostile_server, path):
    """One feed drips, hangs the parser or never ends; the healthy feed is still polled on its schedule."""
    serve(httpserver)
    document = {
        "monitor": {"database": "monitor.db", "allow_private_networks": True, "workers": 2},
        "feeds": [{"name": "wire", "url": httpserver.url_for("/wire.xml"), "interval_seconds": 10},
                  {"name": "hostile", "url": hostile_server.url(path), "interval_seconds": 10}],
        "claims": [{**shipped_claims()[0], "channels": ["hook"]}],
        "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 5}],
    }
    daemon = Daemon(load_config(write_config(tmp_path, document)), scheduler=BackgroundScheduler())
    wire_polls = threading.Semaphore(0)
    daemon.scheduler.add_listener(lambda event: event.job_id == feed_job_id("wire") and wire_polls.release(),
                                  EVENT_JOB_EXECUTED)
    daemon.schedule()
    daemon.scheduler.start()
    try:
        for _ in range(2):  # its first poll and the next one, an interval later
            assert wire_polls.acquire(timeout=25), "the healthy feed missed its schedule"
    finally:
        daemon.stopping.set()
        daemon.scheduler.shutdown(wait=False)
    assert receiver.arrived.is_set()
    assert path in hostile_server.log  # the hostile feed was polled all the while


T0 = datetime(2030, 3, 1, 12, 0, tzinfo=timezone.utc)  # the daemons' clock: no test reads today's date


def next_runs(daemon: Daemon) -> dict[str, float]:
    """Seconds from now (real time: APScheduler's) to each feed job's next run."""
    now = datetime.now(timezone.utc)
    return {job.id: (job.next_run_time - now).total_seconds() for job in daemon.scheduler.get_jobs()
            if job.id.startswith("feed:")}


def test_at_start_a_feed_polled_recently_waits_for_its_next_poll_and_says_when(tmp_path, httpserver, receiver,
                                                                               caplog):
    serve(httpserver)
    config = load_config(daemon_config(tmp_path, httpserver, receiver, interval_seconds=300))
    Daemon(config, scheduler=BackgroundScheduler(), clock=lambda: T0).poll("wire")  # as poll-once would
    later = Daemon(config, scheduler=BackgroundScheduler(), clock=lambda: T0 + timedelta(seconds=18))
    caplog.set_level(logging.INFO, logger="monitor")
    later.schedule()
    later.scheduler.start(paused=True)
    try:
        runs = next_runs(later)
    finally:
        later.scheduler.shutdown(wait=False)
    assert 280 <= runs[feed_job_id("wire")] <= 283  # its stored next poll, 4m42s away; not at once, not later
    assert runs[feed_job_id("broken")] <= 6  # never polled: polled at start
    assert "feed next poll feed=wire at=2030-03-01T12:05:00+00:00 due_in=4m42s reason=\"polled recently\"" in \
        caplog.text
    assert "feeds scheduled polled_now=1 later=1" in caplog.text


def test_a_shorter_interval_applies_at_once_from_the_last_poll(tmp_path, httpserver, receiver):
    serve(httpserver)
    path = daemon_config(tmp_path, httpserver, receiver, interval_seconds=300)
    now = [T0]
    daemon = Daemon(load_config(path), scheduler=BackgroundScheduler(), clock=lambda: now[0])
    daemon.poll("wire")
    daemon.schedule()
    polled = threading.Event()
    daemon.scheduler.add_listener(lambda event: event.job_id == feed_job_id("wire") and polled.set(),
                                  EVENT_JOB_EXECUTED)
    daemon.scheduler.start(paused=True)
    try:
        assert next_runs(daemon)[feed_job_id("wire")] > 250  # polled just now, due in 300 s
        now[0] = T0 + timedelta(seconds=60)  # a minute later the interval is cut to 30 s: the feed is overdue
        path.write_text(path.read_text().replace("interval_seconds = 300", "interval_seconds = 30"))
        assert daemon.reload()
        assert next_runs(daemon)[feed_job_id("wire")] <= 1
        daemon.scheduler.resume()
        assert polled.wait(20), "the feed was not polled after the reload"
    finally:
        daemon.stop()
    with Store(daemon.config.database) as store:
        assert store.feed_state("wire").last_ok_at == now[0]  # really polled, not skipped as "waiting"
