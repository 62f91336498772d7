"""The delivery fault scenarios, each one run end to end against the real daemon and CLI, returning its figures.

``tests/test_delivery_faults.py`` runs each a few times and asserts on the figures; ``bench/delivery_faults.py``
runs them many times and prints them. Each takes a fresh folder (the config and database go there) and cleans
up every process and server it started, whatever happens.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from conftest import REPO, rss, shipped_claims, write_config
from faults import (DaemonProcess, Expected, FaultyReceiver, Tally, dead_rows, expected_from_outbox, fetch,
                    free_port, monitor_command, poll_until, queue_alerts, seeded_delays, serve_http, stop_http,
                    webhook_channel)
from monitor.config import load_config

# A story the shipped claim reads as "confirmed": a real poll of the feed below raises one state change.
SIGNED_STORY = {"guid": "fault-1", "title": "Iraq, United States sign deal on coalition withdrawal",
                "summary": "Baghdad and Washington signed the agreement ending the anti-ISIS coalition mission "
                           "in Iraq.",
                "link": "https://wire.example.com/fault-1"}
# Generous bounds on conditions, never expected durations: a loaded 2-core CI machine must not flake.
PROMPTLY = 30.0
SHIPPED_CLAIM = shipped_claims()[0]["id"]
SLOW_GRACE = 20.0


@dataclass
class Outcome:
    """A scenario's figures: one tally per channel, and the scenario's own measures (``extra``)."""

    tallies: dict[str, Tally]
    extra: dict = field(default_factory=dict)

    def describe(self) -> str:
        lines = [f"{name}: {tally.line()}" for name, tally in self.tallies.items()]
        return "; ".join(lines + [f"{k}={v}" for k, v in self.extra.items()])


def config(folder: Path, channels: list[dict], *, feeds: list[dict] = (), interval_seconds: int = 10,
           **monitor: object) -> Path:
    """A daemon config over ``folder/monitor.db`` (or the ``database`` given): delivery every second (unless
    ``deliver_interval_seconds`` says otherwise), feeds every ``interval_seconds``, the shipped claim on every
    channel."""
    document = {"monitor": {"database": "monitor.db", "allow_private_networks": True,
                            "deliver_interval_seconds": 1, **monitor},
                "defaults": {"interval_seconds": interval_seconds},
                "feeds": list(feeds),
                "claims": [{**shipped_claims()[0], "channels": [c["name"] for c in channels]}],
                "channels": channels}
    return write_config(folder, document)


def cli(config_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(monitor_command(config_path, *args), cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


class FeedServer:
    """One RSS document on loopback, for scenarios driven by real polls."""

    def __init__(self, document: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(document)))
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *args: object) -> None:
                pass

        self._server = serve_http(Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/wire.xml"

    def stop(self) -> None:
        stop_http(self._server)


# --- 1. a dripping endpoint beside a healthy one -----------------------------------------------------------


def dripping_beside_healthy(folder: Path, now: datetime) -> Outcome:
    """Channel ``a`` drips its answer one byte a second; ``b`` answers at once. Alerts come from a real poll
    (the shipped claim confirmed) and from 12 state changes over 4 claims queued before the start. Figures:
    ``b_all_delivered`` (within PROMPTLY while ``a`` drips), ``a_cuts`` (sends the drip server saw hung up),
    then, after ``a`` recovers, both channels' tallies."""
    drip, healthy = FaultyReceiver(), FaultyReceiver()
    drip.drip = True
    published = now - timedelta(minutes=10)
    feed = FeedServer(rss([{**SIGNED_STORY, "published": published}]))
    path = config(folder, [webhook_channel("a", drip.url, 2), webhook_channel("b", healthy.url, 5)],
                  feeds=[{"name": "wire", "url": feed.url}])
    database = folder / "monitor.db"
    queued = queue_alerts(database, claims=4, per_claim=3, channels=["a", "b"], now=now)
    extra: dict = {}
    try:
        with DaemonProcess(path):
            # Everything queued beforehand, and the alert the poll raised (the shipped claim's).
            extra["b_all_delivered"] = healthy.wait_until(
                lambda: healthy.has_all(queued["b"]) and any(
                    p.claim_id == SHIPPED_CLAIM and p.outcome == "ok" for p in healthy.posts), PROMPTLY)
            extra["a_cut"] = drip.wait_until(lambda: drip.cuts >= 1, PROMPTLY)
            extra["a_cuts"] = drip.cuts
            drip.drip = False  # the endpoint recovers: the retried sends must now all go through
            expected_a = expected_from_outbox(database, "a")
            extra["a_all_delivered"] = drip.wait_until(lambda: drip.has_all(expected_a), 60)
        tallies = {name: Tally.of(expected_from_outbox(database, name), receiver.posts)
                   for name, receiver in (("a", drip), ("b", healthy))}
    finally:
        drip.stop()
        healthy.stop()
        feed.stop()
    return Outcome(tallies, extra)


def stuck_channel_health(folder: Path, now: datetime) -> Outcome:
    """As above without the feed, with ``/healthz`` and ``/metrics`` served and ``delivery_stuck_seconds = 5``.
    Figures: the first degraded ``/healthz`` answer seen (``degraded``), ``stuck_metric`` (the ``/metrics``
    lines for each channel), and after ``a`` recovers, ``recovered`` (the next ``ok`` answer)."""
    drip, healthy = FaultyReceiver(), FaultyReceiver()
    drip.drip = True
    port = free_port()
    path = config(folder, [webhook_channel("a", drip.url, 2), webhook_channel("b", healthy.url, 5)],
                  listen=f"127.0.0.1:{port}", delivery_stuck_seconds=5)
    database = folder / "monitor.db"
    queued = queue_alerts(database, claims=4, per_claim=3, channels=["a", "b"], now=now)
    base = f"http://127.0.0.1:{port}"
    extra: dict = {}

    def health(status: str):
        answer = fetch(f"{base}/healthz")
        if answer is None:
            return None
        code, body = answer
        try:
            report = json.loads(body)
        except ValueError:
            return None
        return (code, report) if report.get("status") == status else None

    try:
        with DaemonProcess(path) as daemon:
            extra["started"] = poll_until(lambda: fetch(f"{base}/healthz"), PROMPTLY) is not None
            extra["degraded"] = poll_until(lambda: health("degraded"), PROMPTLY)
            metrics = fetch(f"{base}/metrics")
            extra["stuck_metric"] = [line for line in (metrics[1] if metrics else "").splitlines()
                                     if line.startswith("news_monitor_channel_stuck")]
            extra["b_all_delivered"] = healthy.wait_until(lambda: healthy.has_all(queued["b"]), PROMPTLY)
            drip.drip = False
            extra["a_all_delivered"] = drip.wait_until(lambda: drip.has_all(queued["a"]), 60)
            extra["recovered"] = poll_until(lambda: health("ok"), PROMPTLY)
            metrics = fetch(f"{base}/metrics")
            extra["stuck_metric_after"] = [line for line in (metrics[1] if metrics else "").splitlines()
                                           if line.startswith("news_monitor_channel_stuck")]
            extra["log_tail"] = daemon.log()[-2000:] if not extra["started"] else ""
        tallies = {name: Tally.of(queued[name], receiver.posts) for name, receiver in (("a", drip), ("b", healthy))}
    finally:
        drip.stop()
        healthy.stop()
    return Outcome(tallies, extra)


# --- 2. a daemon and deliver --now side by side ------------------------------------------------------------


def side_by_side(folder: Path, now: datetime, *, seed: int = 0, deliver_runs: int = 4,
                 database: str = "monitor.db") -> Outcome:
    """72 alerts over 24 claims queued; the receiver takes 50–100 ms per POST; ``deliver --now`` runs
    ``deliver_runs`` times, one after another, while the daemon delivers. Every id must arrive exactly once.
    ``database``: the config's (a file in ``folder``, or a PostgreSQL URL)."""
    receiver = FaultyReceiver()
    receiver.delay = seeded_delays(seed, 0.05, 0.1)
    path = config(folder, [webhook_channel("hook", receiver.url, 5)], database=database)
    queued = queue_alerts(load_config(path).database, claims=24, per_claim=3, channels=["hook"], now=now)["hook"]
    try:
        with DaemonProcess(path):
            receiver.wait_until(lambda: len(receiver.posts) >= 1, PROMPTLY)  # the daemon is delivering
            runs = [cli(path, "deliver", "--now").returncode for _ in range(deliver_runs)]
            delivered = receiver.wait_until(lambda: receiver.has_all(queued), 60)
            # Any post still being answered must finish before counting (a late double would be missed).
            receiver.wait_until(lambda: all(p.outcome for p in receiver.posts), 10)
        return Outcome({"hook": Tally.of(queued, receiver.posts)},
                       {"all_delivered": delivered, "deliver_exit_codes": runs})
    finally:
        receiver.stop()


# --- 3. a 404 outage with requeue ---------------------------------------------------------------------------


def outage_404(folder: Path, now: datetime, *, attempts_during: int = 4) -> Outcome:
    """The receiver answers 404 (its own deploy). Wave 1 (24 alerts, 2 state changes for each of 12 claims) is
    attempted ``attempts_during`` times by ``deliver --now``; a poll then raises wave 2 (each claim's newest
    state), attempted once more in the outage. The receiver comes back: ``deliver --now``, then ``outbox retry
    --all-dead`` and ``deliver --now``. Figures: dead rows when the outage ended (``dead_after_outage``), each
    claim's end state (``stale_end``), lost, doubled."""
    receiver = FaultyReceiver()
    receiver.status = 404
    path = config(folder, [webhook_channel("hook", receiver.url, 5)])
    database = folder / "monitor.db"
    try:
        wave1 = queue_alerts(database, claims=12, per_claim=2, channels=["hook"], now=now)["hook"]
        for _ in range(attempts_during):
            cli(path, "deliver", "--now")
        wave2 = queue_alerts(database, claims=12, per_claim=1, first_state=2, channels=["hook"],
                             now=now + timedelta(seconds=1))["hook"]
        cli(path, "deliver", "--now")
        receiver.status = 200
        dead_after_outage = dead_rows(database)
        cli(path, "deliver", "--now")
        requeued = cli(path, "outbox", "retry", "--all-dead").stdout.strip()
        cli(path, "deliver", "--now")
        expected = [Expected(e.alert_id, e.claim_id, e.state, i) for i, e in enumerate(wave1 + wave2)]
        return Outcome({"hook": Tally.of(expected, receiver.posts)},
                       {"dead_after_outage": dead_after_outage, "dead_at_end": dead_rows(database),
                        "requeue": requeued, "refused_posts": sum(p.outcome == "refused" for p in receiver.posts)})
    finally:
        receiver.stop()


# --- 4. kill -9 during a send, then restart -----------------------------------------------------------------

KILL_TIMEOUT_SECONDS = 2
KILL_DELIVER_INTERVAL = 1
# The contract: a killed holder's row is due again when its lease (timeout_seconds + 5 s) ends.
RESTART_BOUND = KILL_TIMEOUT_SECONDS + 5 + KILL_DELIVER_INTERVAL + SLOW_GRACE


def kill_during_send(folder: Path, now: datetime, *, seed: int | None = None,
                     database: str = "monitor.db") -> Outcome:
    """kill -9 the daemon mid-send, restart it, and time how long until every alert has arrived.

    ``seed`` None: the receiver holds the first POST, so the kill lands exactly in a send (18 alerts, 6 claims).
    A seed: the receiver takes 50–100 ms per POST and the kill comes a seeded random 0–2 s after the first
    POST arrived (30 alerts, 10 claims), wherever delivery then is. Either way the one send in flight at the
    kill may be posted again (its answer may never have been read); any other repost is a double. Figures:
    ``restart_to_last`` (seconds from the restart to the last alert answered), ``delivered_before_kill``."""
    receiver = FaultyReceiver()
    if seed is None:
        receiver.hold_next()
        claims, per_claim = 6, 3
    else:
        claims, per_claim = 10, 3
        receiver.delay = seeded_delays(seed, 0.05, 0.1)
        kill_after = random.Random(seed * 7919).uniform(0.0, 2.0)
    path = config(folder, [webhook_channel("hook", receiver.url, KILL_TIMEOUT_SECONDS)],
                  deliver_interval_seconds=KILL_DELIVER_INTERVAL, database=database)
    queued = queue_alerts(load_config(path).database, claims=claims, per_claim=per_claim, channels=["hook"],
                          now=now)["hook"]
    extra: dict = {}
    try:
        with DaemonProcess(path) as first:
            if seed is None:
                extra["held"] = receiver.held.wait(PROMPTLY)
            else:
                receiver.wait_until(lambda: len(receiver.posts) >= 1, PROMPTLY)
                threading.Event().wait(kill_after)  # the kill point itself is the experiment, not a wait for work
                extra["kill_after"] = round(kill_after, 2)
            killed = first.kill9()
        before = [p for p in receiver.posts if p.arrived <= killed]
        in_flight = {before[-1].alert_id} if before else set()
        extra["delivered_before_kill"] = len({p.alert_id for p in before if p.outcome == "ok"})
        receiver.release()
        with DaemonProcess(path, log_name="daemon-restarted.log") as second:
            restarted = second.started
            extra["all_delivered"] = receiver.wait_until(lambda: receiver.has_all(queued), RESTART_BOUND)
            receiver.wait_until(lambda: all(p.outcome for p in receiver.posts), 10)
        finished = [p.finished for p in receiver.posts if p.outcome == "ok" and p.finished]
        extra["restart_to_last"] = round(max(finished) - restarted, 2) if finished and extra["all_delivered"] \
            else None
        tally = Tally.of(queued, receiver.posts, allowed_resend=in_flight)
        extra["resent_ids_in_flight"] = all(
            p.alert_id in in_flight for p in receiver.posts[len(before):] if p.alert_id in {b.alert_id for b in before})
        return Outcome({"hook": tally}, extra)
    finally:
        receiver.stop()


def utc_now() -> datetime:
    """The daemons' clock is the real one (they are separate processes): alerts are queued as of it, so they
    are due at once and their retry window starts now, on any date (the suite also runs 400 days ahead)."""
    return datetime.now(timezone.utc)
