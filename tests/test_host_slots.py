"""Per-host politeness without waiting: slots taken or refused at once, a host that times out backing off, and
polls (the daemon's and ``poll-once``'s) that never hold a worker on a busy host while another host's feed waits.

The scenario tests run a dripping host (127.0.0.2: one raw-socket server, one byte a second, both its feeds on
the same host:port) beside a healthy one (127.0.0.1) with ``max_per_host = 1`` and two workers, through the real
scheduler wiring, and assert on what each server received. Every wait is on an event, with a generous timeout.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.events import EVENT_JOB_ADDED
from apscheduler.schedulers.background import BackgroundScheduler
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from conftest import rss, write_config
from monitor.config import load_config
from monitor.daemon.retries import retry_job_id
from monitor.daemon.scheduler import Daemon, feed_job_id
from monitor.feeds.fetch import Fetcher
from monitor.feeds.politeness import HostBusy, HostSlots, Slot
from monitor.oneshot import poll_all
from monitor.runtime import Context
from monitor.store import Store

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=timezone.utc)  # the polls' clock: no test reads today's date
WAIT = 40  # seconds: generous; a dripping fetch left alone would run for its 60 s deadline
READ_TIMEOUT = 3  # the fetchers' per-read timeout: what ends a drip once it stalls
DRIP_FEEDS = ("drip-a", "drip-b")
HEALTHY_FEEDS = ("wire-1", "wire-2", "wire-3")


# --- HostSlots on an injected clock --------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_busy_host_is_refused_at_once_and_its_waiters_woken_when_a_slot_frees():
    slots = HostSlots(limit=1, clock=Clock())
    woken: list[str] = []
    first = slots.try_hold("https://example.com/a.xml")
    assert isinstance(first, Slot)
    busy = slots.try_hold("https://EXAMPLE.com/b.xml", waiter=lambda: woken.append("b"))
    assert busy == HostBusy("example.com") and not busy.backing_off
    assert isinstance(slots.try_hold("https://example.org/feed"), Slot)  # another host is not held up
    wake_c = lambda: woken.append("c")  # noqa: E731
    slots.try_hold("https://example.com/c.xml", waiter=wake_c)
    slots.try_hold("https://example.com/c.xml", waiter=wake_c)  # the same waiter waits once
    assert woken == []
    first.release()
    first.release()  # a slot is given back once
    assert woken == ["b", "c"]  # every waiter, in order, once
    again = slots.try_hold("https://example.com/b.xml")
    assert isinstance(again, Slot)
    assert isinstance(slots.try_hold("https://example.com/c.xml"), HostBusy)  # still one at a time
    again.release()
    assert woken == ["b", "c"]  # a waiter is called for one release only


def test_a_timeout_backs_the_host_off_growing_to_a_cap_and_a_success_resets_it():
    clock = Clock()
    slots = HostSlots(limit=2, clock=clock, first_backoff_seconds=30, max_backoff_seconds=900)
    url = "https://slow.example/feed"
    assert slots.timed_out(url, cap_seconds=3600) == 30
    refused = slots.try_hold("https://slow.example/other", waiter=lambda: None)
    assert refused == HostBusy("slow.example", retry_in_seconds=30)  # even with a slot free
    assert isinstance(slots.try_hold("https://fast.example/feed"), Slot)
    assert isinstance(slots.try_hold(url, ignore_backoff=True), Slot)  # poll-once asks anyway
    clock.now += 10
    assert slots.timed_out(url) == 20  # a fetch begun before the backoff does not grow it
    assert slots.backing_off(url) == 20
    clock.now += 20
    assert slots.backing_off(url) is None
    assert isinstance(slots.try_hold(url), Slot)
    waits = []
    for _ in range(7):
        waits.append(slots.timed_out(url, cap_seconds=3600))
        clock.now += waits[-1]
    assert waits == [60, 120, 240, 480, 900, 900, 900]  # doubling from the second, to 15 minutes
    slots.succeeded(url)
    assert slots.timed_out(url) == 30  # a success starts it again from the first
    slots.succeeded(url)
    assert slots.backing_off(url) is None  # and ends a backoff in progress
    assert slots.timed_out(url, cap_seconds=120) == 30
    clock.now += 30
    assert slots.timed_out(url, cap_seconds=120) == 60
    clock.now += 60
    assert slots.timed_out(url, cap_seconds=120) == 120
    clock.now += 120
    assert slots.timed_out(url, cap_seconds=120) == 120  # capped at the feed's interval
    clock.now += 120
    assert slots.timed_out(url, cap_seconds=10) == 30  # but never below the first backoff


# --- the scenario: a dripping host beside a healthy one ------------------------------------------------------


class DripServer:
    """A raw-socket HTTP server on 127.0.0.2 that answers 200 with a 100 kB Content-Length and then drips one
    byte a second; once ``stall`` is set, it sends nothing more (a read timeout ends the fetch). Records the
    path of every request (``paths``) and the requests whose client hung up (``ended``)."""

    def __init__(self) -> None:
        self.stall = threading.Event()
        self.paths: list[str] = []
        self.ended: list[str] = []
        self.connected = threading.Event()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
                path = head.split(b" ", 2)[1].decode()
                server.paths.append(path)
                server.connected.set()
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                                 b"Content-Length: 100000\r\n\r\n")
                    while not server.stall.wait(1):
                        conn.sendall(b" ")
                    conn.settimeout(WAIT)
                    while conn.recv(1024):  # until the client gives up and closes
                        pass
                except OSError:
                    pass
                server.ended.append(path)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.2", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.2:{self._server.server_address[1]}{path}"

    def close(self) -> None:
        self.stall.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


class HealthyServer:
    """Feeds on 127.0.0.1 that answer at once; ``fetched[name]`` is set when feed ``name`` was asked for."""

    def __init__(self) -> None:
        self.server = HTTPServer(host="127.0.0.1", port=0)
        self.server.start()
        self.fetched = {name: threading.Event() for name in HEALTHY_FEEDS}
        self.paths: list[str] = []
        for name in HEALTHY_FEEDS:
            self.server.expect_request(f"/{name}.xml").respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        name = request.path.strip("/").removesuffix(".xml")
        self.paths.append(request.path)
        self.fetched[name].set()
        body = rss([{"guid": f"{name}-1", "title": f"Weather for {name}", "published": T0 - timedelta(hours=1)}])
        return Response(body, content_type="application/rss+xml")

    def all_fetched(self, timeout: float) -> bool:
        return all(event.wait(timeout) for event in self.fetched.values())

    def close(self) -> None:
        self.server.clear()
        self.server.stop()


@pytest.fixture
def servers():
    drip, healthy = DripServer(), HealthyServer()
    yield drip, healthy
    drip.close()
    healthy.close()


class RecordingSlots(HostSlots):
    """The real HostSlots, recording every refusal of a host backing off (``backoff_refusals``: the URLs)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.backoff_refusals: list[str] = []

    def try_hold(self, url, **options):
        taken = super().try_hold(url, **options)
        if isinstance(taken, HostBusy) and taken.backing_off:
            self.backoff_refusals.append(url)
        return taken


def scenario_config(tmp_path, drip: DripServer, healthy: HealthyServer):
    document = {
        "monitor": {"database": "monitor.db", "allow_private_networks": True, "workers": 2, "max_per_host": 1},
        "defaults": {"interval_seconds": 600},
        "feeds": [*({"name": name, "url": drip.url(f"/{name}.xml")} for name in DRIP_FEEDS),
                  *({"name": name, "url": healthy.server.url_for(f"/{name}.xml")} for name in HEALTHY_FEEDS)],
        "claims": [],
        "channels": [],
    }
    return load_config(write_config(tmp_path, document))


def short_reads(ctx: Context, hosts: HostSlots) -> Context:
    """``ctx`` with a fetcher whose reads time out after READ_TIMEOUT s (the deadline stays 60 s)."""
    ctx.fetcher.close()
    return replace(ctx, fetcher=Fetcher(allow_private_networks=True, read_timeout_seconds=READ_TIMEOUT), hosts=hosts)


def test_a_dripping_host_holds_no_worker_and_backs_off_after_its_timeout(tmp_path, servers):
    drip, healthy = servers
    config = scenario_config(tmp_path, drip, healthy)
    daemon = Daemon(config, scheduler=BackgroundScheduler(), clock=lambda: T0)
    hosts = RecordingSlots(limit=1)
    daemon.ctx = short_reads(daemon.ctx, hosts)
    retries: dict[str, datetime] = {}
    backoff_retry = threading.Event()

    def on_added(event) -> None:
        for name in DRIP_FEEDS:
            if event.job_id == retry_job_id(name):
                retries[name] = daemon.scheduler.get_job(event.job_id).next_run_time
                if retries[name] > datetime.now(timezone.utc) + timedelta(seconds=10):
                    backoff_retry.set()  # a retry at the backoff's end, not at once

    daemon.schedule()
    daemon.scheduler.start(paused=True)
    daemon.scheduler.add_listener(on_added, EVENT_JOB_ADDED)
    # Both dripping feeds first, the healthy ones after them: without the fix the two workers are then both
    # held by the dripping host (one fetching, one waiting for its slot) and the healthy feeds get none.
    start = datetime.now(timezone.utc)
    for rank, name in enumerate(DRIP_FEEDS + HEALTHY_FEEDS):
        daemon.scheduler.modify_job(feed_job_id(name), next_run_time=start + timedelta(seconds=0.3 * rank))
    daemon.scheduler.resume()
    try:
        assert drip.connected.wait(WAIT)
        assert healthy.all_fetched(WAIT), "the healthy host's feeds waited for the dripping one"
        # All three polled while the dripping fetch was still running, long before its deadline.
        assert len(drip.paths) == 1 and drip.ended == []
        drip.stall.set()  # the drip stops: the fetch times out READ_TIMEOUT s later, and the host backs off
        assert backoff_retry.wait(WAIT), "the other dripping feed was not put off until the backoff ends"
    finally:
        daemon.stop()
        daemon.ctx.fetcher.close()
    polled, skipped = drip.paths[0].strip("/").removesuffix(".xml"), None
    [skipped] = [name for name in DRIP_FEEDS if name != polled]
    assert drip.paths == [f"/{polled}.xml"]  # the host's other feed was never fetched
    assert hosts.backoff_refusals == [drip.url(f"/{skipped}.xml")]
    assert sorted(healthy.paths) == sorted(f"/{name}.xml" for name in HEALTHY_FEEDS)  # each once
    with Store(config.database) as store:
        assert "timed out" in store.feed_state(polled).last_error
        assert store.feed_state(skipped) is None  # put off, not failed: nothing recorded against it


def test_poll_once_polls_every_feed_once_without_waiting_on_the_dripping_host(tmp_path, servers):
    drip, healthy = servers
    config = scenario_config(tmp_path, drip, healthy)
    ctx = short_reads(Context.build(config), HostSlots(limit=1))
    results: list = []
    finished = threading.Event()

    def run() -> None:
        results.extend(poll_all(ctx, config.feeds, workers=2, now=lambda: T0))
        finished.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert drip.connected.wait(WAIT)
        assert healthy.all_fetched(WAIT), "the healthy host's feeds waited for the dripping one"
        assert len(drip.paths) == 1 and drip.ended == []  # polled while the first drip still ran
        drip.stall.set()  # each dripping fetch now times out after READ_TIMEOUT s, one after the other
        assert finished.wait(WAIT)
    finally:
        ctx.close()
        thread.join(WAIT)
    assert [r.feed for r in results] == [f.name for f in config.feeds]
    assert {r.feed: r.status for r in results} == {**{name: "error" for name in DRIP_FEEDS},
                                                   **{name: "ok" for name in HEALTHY_FEEDS}}
    assert sorted(drip.paths) == [f"/{name}.xml" for name in DRIP_FEEDS]  # each once, never two at a time
    assert sorted(healthy.paths) == sorted(f"/{name}.xml" for name in HEALTHY_FEEDS)
