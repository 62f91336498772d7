"""A scheduler and workers on one PostgreSQL database, started for real, with faults injected: the scenarios of
``tests/test_workers.py``, which ``bench/delivery_faults.py --workers`` also runs many times.

``Cluster`` starts ``news-monitor scheduler`` and N ``news-monitor worker`` processes on one config; ``FeedFarm``
serves feeds on two loopback host names, each answer after a delay, counting requests in flight per host; and
``connected_to`` finds which worker holds a connection to a port now (from ``/proc``), so that a kill lands in
a poll or a send for certain rather than by luck.
"""

from __future__ import annotations

import os
import random
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from conftest import rss
from fault_scenarios import SIGNED_STORY, Outcome, config
from faults import (DaemonProcess, FaultyReceiver, Tally, expected_from_outbox, poll_until, queue_alerts,
                    seeded_delays, serve_http, stop_http, webhook_channel)
from monitor.config import load_config
from monitor.store import Store

# Generous bounds on conditions, never expected durations (a loaded 2-core CI machine must not flake). A dead
# worker is noticed STALLED_AFTER_SECONDS (20) after its last heartbeat, at the scheduler's next look (10 s).
RECOVERED = 120.0


class FeedFarm:
    """``feeds`` RSS feeds, half on ``127.0.0.1`` and half on ``localhost`` (two hosts to the politeness rules),
    each answering after ``delay`` seconds with one story of its own (and feed 0 with ``SIGNED_STORY``, which
    the shipped claim reads as confirmed). Counts requests per host in flight and the most seen at once."""

    def __init__(self, feeds: int, *, delay: float, published: datetime) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}
        self.most_at_once: dict[str, int] = {}
        self.requests: dict[str, int] = {}
        documents = {f"/feed-{n}.xml": rss([{**SIGNED_STORY, "published": published}] if n == 0 else [
            {"guid": f"farm-{n}", "title": f"Harbour report number {n}", "summary": f"Ships in port, day {n}.",
             "link": f"https://farm.example.com/{n}", "published": published}]) for n in range(feeds)}
        farm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                host = self.headers.get("Host", "").partition(":")[0]
                farm._enter(host, self.path)
                try:
                    threading.Event().wait(farm.delay)  # the answer's latency, which the kills land in
                    body = documents.get(self.path)
                    self.send_response(200 if body else 404)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(body or b"")))
                    self.end_headers()
                    self.wfile.write(body or b"")
                except OSError:
                    pass  # its poller was killed
                finally:
                    farm._leave(host)

            def log_message(self, *args: object) -> None:
                pass

        self._server = serve_http(Handler)
        self.port = self._server.server_address[1]
        self.urls = [f"http://{'127.0.0.1' if n % 2 == 0 else 'localhost'}:{self.port}/feed-{n}.xml"
                     for n in range(feeds)]

    def _enter(self, host: str, path: str) -> None:
        with self.lock:
            self.in_flight[host] = self.in_flight.get(host, 0) + 1
            self.most_at_once[host] = max(self.most_at_once.get(host, 0), self.in_flight[host])
            self.requests[path] = self.requests.get(path, 0) + 1

    def _leave(self, host: str) -> None:
        with self.lock:
            self.in_flight[host] -= 1

    def busy(self) -> bool:
        with self.lock:
            return any(self.in_flight.values())

    def stop(self) -> None:
        stop_http(self._server)


class Cluster:
    """``news-monitor scheduler`` and ``workers`` workers on ``config_path``, each logging beside it."""

    def __init__(self, config_path: Path, workers: int) -> None:
        self.config_path = config_path
        self.scheduler = DaemonProcess(config_path, command="scheduler", log_name="scheduler.log")
        self.workers = [DaemonProcess(config_path, command="worker", log_name=f"worker-{n}.log")
                        for n in range(workers)]
        self._extra = 0

    def start_worker(self) -> DaemonProcess:
        self._extra += 1
        worker = DaemonProcess(self.config_path, command="worker", log_name=f"worker-extra-{self._extra}.log")
        self.workers.append(worker)
        return worker

    def live_workers(self) -> list[DaemonProcess]:
        return [w for w in self.workers if w.process.poll() is None]

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in (self.scheduler, *self.workers):
            process.kill9()

    def logs(self) -> str:
        return "\n".join(f"--- {p.log_path.name}\n{p.log()[-3000:]}" for p in (self.scheduler, *self.workers))


def connected_to(port: int, processes: list[DaemonProcess]) -> DaemonProcess | None:
    """The process among ``processes`` holding an established TCP connection to local ``port`` now."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for fields in (line.split() for line in lines):
            if fields[2].endswith(f":{port:04X}") and fields[3] == "01":  # remote port, ESTABLISHED
                sockets.add(f"socket:[{fields[9]}]")
    for process in processes:
        if _open_files(process.process.pid) & sockets:
            return process
    return None


def _open_files(pid: int) -> set[str]:
    folder = f"/proc/{pid}/fd"
    try:
        names = os.listdir(folder)
    except OSError:
        return set()  # it has just exited
    links = set()
    for name in names:
        try:
            links.add(os.readlink(f"{folder}/{name}"))
        except OSError:
            pass  # closed meanwhile
    return links


def kill_workers_mid_poll_and_send(folder: Path, now: datetime, database: str, *, seed: int) -> Outcome:
    """Three workers and a scheduler; kill -9 a worker in the middle of a send and another in the middle of a
    poll (the first POST is held; each is found by its open connection, the poll at a seeded point), let the
    others carry on (one more started if only one is left), and check everything once every feed was polled.

    Figures: the channel's tally (lost, doubled, out of order; the send in flight at the kill may be posted
    again), ``all_delivered``, ``all_polled`` (every feed polled), ``stories_stored``, ``kills`` (what each
    killed worker was doing), ``requeued`` (jobs the scheduler took back from dead workers; ``queued_again``
    those queued again rather than dropped as queued already: the killed poll at least), ``stuck_jobs``
    (jobs still held by a dead worker at the end: none), ``most_per_host`` (requests in flight to one host at
    once, at most ``max_per_host``), ``recovered_s`` (from the last kill to the last alert answered)."""
    rng = random.Random(seed)
    receiver = FaultyReceiver()
    receiver.delay = seeded_delays(seed, 0.05, 0.1)
    farm = FeedFarm(12, delay=rng.uniform(1.5, 2.5), published=now - timedelta(minutes=10))
    # Feeds polled once an hour: the killed poll is done only if the scheduler queues it again.
    path = config(folder, [webhook_channel("hook", receiver.url, 2)],
                  feeds=[{"name": f"feed-{n}", "url": url} for n, url in enumerate(farm.urls)],
                  database=database, max_per_host=2, workers=4, interval_seconds=3600)
    database_setting = load_config(path).database
    queued = queue_alerts(database_setting, claims=10, per_claim=3, channels=["hook"], now=now)["hook"]
    extra: dict = {"kills": []}
    receiver.hold_next()  # the first POST waits: its sender is killed in the send
    in_flight: set[str] = set()
    try:
        with Cluster(path, workers=3) as cluster:
            # Mid-send: the first POST is held; its sender, found by its open connection, is killed in the send
            # (before the channel's 2 s deadline would end it).
            if receiver.held.wait(RECOVERED):
                sender = poll_until(lambda: connected_to(receiver._server.server_address[1],
                                                         cluster.live_workers()), 10, every=0.02)
                if sender:
                    in_flight = {receiver.posts[0].alert_id}
                    sender.kill9()
                    extra["kills"].append("send")
                    extra["send_open_at_kill"] = receiver.posts[0].outcome is None
            # Mid-poll: after a seeded number of farm requests, a worker holding one open is killed.
            wanted = rng.randint(1, 4)
            poller = poll_until(lambda: sum(farm.requests.values()) >= wanted and farm.busy()
                                and connected_to(farm.port, cluster.live_workers()), RECOVERED, every=0.05)
            if poller:
                poller.kill9()
                extra["kills"].append("poll")
            killed = time.monotonic()
            receiver.release()
            if len(cluster.live_workers()) < 2:
                cluster.start_worker()  # work to go on with, as an operator's restart policy would
            # Every feed polled first (a killed poll is retried some 30 s on), so that every alert is queued.
            extra["all_polled"] = bool(poll_until(lambda: _all_polled(database_setting, len(farm.urls)), RECOVERED))
            expected = queued + [e for e in expected_from_outbox(database_setting, "hook")
                                 if e.alert_id not in {q.alert_id for q in queued}]
            extra["all_delivered"] = receiver.wait_until(lambda: receiver.has_all(expected), RECOVERED)
            finished = [p.finished for p in receiver.posts if p.outcome == "ok" and p.finished]
            extra["recovered_s"] = round(max(finished) - killed, 1) if finished else None
            extra["requeued"] = cluster.scheduler.log().count("job of a dead worker")
            extra["queued_again"] = cluster.scheduler.log().count('outcome="queued again"')
            extra["stuck_jobs"] = _jobs_of_dead_workers(database_setting)
            extra["most_per_host"] = max(farm.most_at_once.values(), default=0)
            extra["stories_stored"] = _stories_stored(database_setting, len(farm.urls))
            if not (extra["all_delivered"] and extra["all_polled"]):
                extra["logs"] = cluster.logs()
        expected = queued + [e for e in expected_from_outbox(database_setting, "hook")
                             if e.alert_id not in {q.alert_id for q in queued}]
        return Outcome({"hook": Tally.of(expected, receiver.posts, allowed_resend=in_flight)}, extra)
    finally:
        receiver.stop()
        farm.stop()


def _all_polled(database, feeds: int) -> bool:
    with Store(database) as store:
        return sum(1 for s in store.feed_states() if s.last_ok_at is not None) == feeds


def _stories_stored(database, feeds: int) -> bool:
    """Every feed's one story stored, the killed poll's too."""
    with Store(database) as store:
        return store.sql.execute("SELECT count(*) FROM stories").fetchone()[0] == feeds


def _jobs_of_dead_workers(database) -> int:
    """Jobs still marked running by a worker that is gone (no heartbeat for the scheduler's whole round)."""
    with Store(database) as store:
        return store.sql.execute(
            """SELECT count(*) FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
               WHERE j.status = 'doing' AND (w.id IS NULL OR w.last_heartbeat < now() - interval '30 seconds')"""
        ).fetchone()[0]


def wait_logged(process: DaemonProcess, text: str, timeout: float, count: int = 1) -> bool:
    return bool(poll_until(lambda: process.log().count(text) >= count, timeout))


def reload_across_processes(folder: Path, now: datetime, database: str, *, listen_port: int) -> Outcome:
    """A scheduler and two workers: every feed polled and the alert its story raised delivered once; the
    scheduler's ``/healthz`` shows the two workers; then a feed is added to the config file, and both kinds of
    process reload it and poll it. Figures: ``health`` (the report), ``all_polled``, ``new_feed_polled``,
    ``reloaded`` (processes that logged the reload)."""
    from faults import fetch
    import json

    receiver = FaultyReceiver()
    farm = FeedFarm(5, delay=0.05, published=now - timedelta(minutes=10))
    feeds = [{"name": f"feed-{n}", "url": url} for n, url in enumerate(farm.urls)]
    path = config(folder, [webhook_channel("hook", receiver.url, 5)], feeds=feeds[:4], database=database,
                  listen=f"127.0.0.1:{listen_port}")
    database_setting = load_config(path).database
    extra: dict = {}
    try:
        with Cluster(path, workers=2) as cluster:
            extra["all_polled"] = bool(poll_until(lambda: _all_polled(database_setting, 4), RECOVERED))
            extra["delivered"] = receiver.wait_until(lambda: any(p.outcome == "ok" for p in receiver.posts),
                                                     RECOVERED)

            def healthy_with_two() -> dict | None:
                answer = fetch(f"http://127.0.0.1:{listen_port}/healthz")
                report = json.loads(answer[1]) if answer else None
                return report if report and (report.get("queue") or {}).get("workers") == 2 else None
            extra["health"] = poll_until(healthy_with_two, RECOVERED)
            config(folder, [webhook_channel("hook", receiver.url, 5)], feeds=feeds, database=database,
                   listen=f"127.0.0.1:{listen_port}")
            extra["reloaded"] = sum(wait_logged(p, "config reloaded", RECOVERED)
                                    for p in (cluster.scheduler, *cluster.workers))
            extra["new_feed_polled"] = bool(poll_until(lambda: _all_polled(database_setting, 5), RECOVERED))
            if not (extra["all_polled"] and extra["new_feed_polled"] and extra["health"]):
                extra["logs"] = cluster.logs()
        expected = expected_from_outbox(database_setting, "hook")
        return Outcome({"hook": Tally.of(expected, receiver.posts)}, extra)
    finally:
        receiver.stop()
        farm.stop()


def rate_limit_across_workers(folder: Path, now: datetime, database: str) -> Outcome:
    """A channel that takes two messages a minute: one worker sends two alerts and stops; a second worker,
    started afresh, is given two more at once and must hold them, since the minute of the first two has not
    passed. Figures: ``first_two`` (delivered by the first worker), ``held`` (the second logged the wait),
    ``posts_while_held`` (POSTs in the 10 s after the second pair was queued: none)."""
    receiver = FaultyReceiver()
    channel = {**webhook_channel("hook", receiver.url, 5), "max_per_minute": 2}
    path = config(folder, [channel], database=database)
    database_setting = load_config(path).database
    queue_alerts(database_setting, claims=2, per_claim=1, channels=["hook"], now=now, prefix="first")
    extra: dict = {}
    try:
        with Cluster(path, workers=1) as cluster:
            extra["first_two"] = receiver.wait_until(lambda: len(receiver.posts) == 2 and all(
                p.outcome == "ok" for p in receiver.posts), RECOVERED)
            first = cluster.workers[0]
            first.process.terminate()
            first.process.wait(30)
            second = cluster.start_worker()
            wait_logged(second, "worker started", RECOVERED)
            queue_alerts(database_setting, claims=2, per_claim=1, channels=["hook"], now=now, prefix="second")
            extra["held"] = wait_logged(second, "delivery waits for the rate limit", 30)
            # The experiment is that nothing arrives in these 10 s: a POST ends the wait at once.
            receiver.wait_until(lambda: len(receiver.posts) > 2, 10)
            extra["posts_while_held"] = len(receiver.posts) - 2
        return Outcome({}, extra)
    finally:
        receiver.stop()


def postgresql_restart_under_workers(folder: Path, now: datetime, url: str, restart) -> Outcome:
    """A scheduler and two workers on the database at ``url``; the server restarts (``restart()``) after the
    first alert was delivered; then a second feed's story raises another alert, which must be delivered, and
    every feed polled again. Figures: ``first``, ``second`` (delivered), ``polled_after`` (polls after the
    restart), ``workers_after`` (workers heartbeating at the end)."""
    from monitor.queue.dispatch import queue_health

    receiver = FaultyReceiver()
    farm = FeedFarm(2, delay=0.05, published=now - timedelta(minutes=10))
    path = config(folder, [webhook_channel("hook", receiver.url, 5)],
                  feeds=[{"name": "feed-0", "url": farm.urls[0]}], database=url)
    database_setting = load_config(path).database
    extra: dict = {}
    try:
        with Cluster(path, workers=2) as cluster:
            extra["first"] = receiver.wait_until(lambda: any(p.outcome == "ok" for p in receiver.posts), RECOVERED)
            restart()
            before = sum(farm.requests.values())
            queue_alerts(database_setting, claims=1, per_claim=1, channels=["hook"], now=now, prefix="after")
            extra["second"] = receiver.wait_until(
                lambda: len({p.alert_id for p in receiver.posts if p.outcome == "ok"}) >= 2, RECOVERED)
            extra["polled_after"] = bool(poll_until(lambda: sum(farm.requests.values()) > before + 2, RECOVERED))
            extra["workers_after"] = (poll_until(lambda: queue_health(database_setting).workers == 2, RECOVERED)
                                      and 2)
            if not (extra["second"] and extra["polled_after"] and extra["workers_after"]):
                extra["logs"] = cluster.logs()
        return Outcome({"hook": Tally.of(expected_from_outbox(database_setting, "hook"), receiver.posts)}, extra)
    finally:
        receiver.stop()
        farm.stop()
