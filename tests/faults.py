"""The fault-injection harness: a misbehaving webhook receiver, alerts queued ahead of a daemon, the real daemon
in a subprocess, and the tally of what reached the receiver against what was raised.

Shared by ``tests/test_delivery_faults.py`` (a few runs of each scenario) and ``bench/delivery_faults.py`` (many
runs, one table). Everything is real: loopback HTTP servers, the SQLite file, ``python -m monitor`` processes.

    receiver = FaultyReceiver()                   # answers 200; .status, .delay, .drip and .hold_next change that
    expected = queue_alerts(db, claims=6, per_claim=3, channels=["hook"], now=now)
    with DaemonProcess(config) as daemon:         # killed (SIGKILL) on leaving the block if still running
        receiver.wait_until(lambda: receiver.has_all(expected["hook"]), timeout=30)
    tally = Tally.of(expected["hook"], receiver.posts)   # lost, doubled, out of order, stale end …
"""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from conftest import REPO
from monitor import alerts
from monitor.models import Hit, Story, Verdict
from monitor.store import Store
from monitor.store.outbox import enqueue

# A claim's states in the order its alerts are raised: each differs from the one before, so the receiver's last
# state_changed alert tells which state it ended on.
STATE_CYCLE = ("confirmed", "rejected", "delayed", "confirmed", "rejected")


# --- the receiver ------------------------------------------------------------------------------------------


def serve_http(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A threaded HTTP server on a free loopback port, serving on a daemon thread until ``stop_http``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.thread = thread  # type: ignore[attr-defined]
    return server


def stop_http(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()
    server.thread.join()  # type: ignore[attr-defined]


def seeded_delays(seed: int | None, low: float, high: float) -> Callable[[], float]:
    """A receiver ``delay``: seconds drawn from [low, high] by a seeded generator (handler threads share it)."""
    rng, lock = random.Random(seed), threading.Lock()

    def delay() -> float:
        with lock:
            return rng.uniform(low, high)
    return delay


@dataclass
class Post:
    """One POST the receiver read in full. ``outcome``: None while it is being answered, then ``ok`` (a 2xx
    written out), ``refused`` (another status written out), ``cut`` (the sender hung up first), ``unanswered``
    (a drip turned off while the sender still waited: the connection closes with no answer) or ``held`` (held,
    and released after its sender may have died: nobody knows whether the answer was read)."""

    alert_id: str
    claim_id: str | None
    kind: str
    state: str | None
    arrived: float  # time.monotonic()
    outcome: str | None = None
    finished: float | None = None


class DripEnded(Exception):
    """A drip was turned off while its sender still waited."""


@dataclass(frozen=True)
class Expected:
    """An alert raised for one channel, in raise order within its claim (``seq``: the outbox row's order)."""

    alert_id: str
    claim_id: str | None
    state: str | None
    seq: int


class FaultyReceiver:
    """A webhook endpoint on 127.0.0.1 that records every POST and misbehaves on demand.

    ``status``: the answer (200 by default; 404 for an outage). ``delay``: seconds before answering, or a
    callable giving them. ``drip``: after reading the request, send the answer one byte every ``drip_seconds``,
    forever (until the sender hangs up, which ``cuts`` counts, or ``drip`` is turned off). ``hold_next()``: the
    next POST waits until ``release()``. Attributes may be changed while it runs."""

    def __init__(self, *, drip_seconds: float = 1.0) -> None:
        self.status = 200
        self.delay: float | Callable[[], float] = 0.0
        self.drip = False
        self.drip_seconds = drip_seconds
        self.posts: list[Post] = []
        self.cuts = 0
        self.changed = threading.Condition()
        self._stopping = threading.Event()
        self._hold: threading.Event | None = None
        self._hold_armed = False
        self.held = threading.Event()  # set when a held POST has arrived
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                receiver._answer(self, body)

            def log_message(self, *args: object) -> None:  # quiet
                pass

        self._server = serve_http(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def hold_next(self) -> None:
        self._hold, self._hold_armed = threading.Event(), True
        self.held.clear()

    def release(self) -> None:
        if self._hold is not None:
            self._hold.set()

    def stop(self) -> None:
        self._stopping.set()
        self.release()
        stop_http(self._server)

    def __enter__(self) -> FaultyReceiver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        post = Post(alert_id=handler.headers.get("webhook-id") or body.get("id"),
                    claim_id=(body.get("claim") or {}).get("id"), kind=body.get("type"), state=body.get("state"),
                    arrived=time.monotonic())
        with self.changed:
            self.posts.append(post)
            hold, self._hold_armed = (self._hold if self._hold_armed else None), False
            self.changed.notify_all()
        if hold is not None:
            self.held.set()
            hold.wait(timeout=120)
        delay = self.delay() if callable(self.delay) else self.delay
        if delay:
            self._stopping.wait(delay)
        try:
            if self.drip:
                self._drip(handler)
            status = self.status
            handler.send_response(status)
            handler.send_header("Content-Length", "2")
            handler.end_headers()
            handler.wfile.write(b"ok" if status < 300 else b"no")
            handler.wfile.flush()
            outcome = "held" if hold is not None else "ok" if 200 <= status < 300 else "refused"
        except DripEnded:
            outcome = "unanswered"
        except OSError:
            outcome = "cut"
        with self.changed:
            post.outcome, post.finished = outcome, time.monotonic()
            if outcome == "cut":
                self.cuts += 1
            self.changed.notify_all()

    def _drip(self, handler: BaseHTTPRequestHandler) -> None:
        """One byte of a status line that never ends, every ``drip_seconds``, while ``drip`` is on. A write
        after the sender hung up fails (the first may still be buffered; the next meets the reset)."""
        filler = b"HTTP/1.1 200 OK\r\nX-Drip: " + b"." * 1_000_000
        for i in range(len(filler)):
            if not self.drip or self._stopping.is_set():
                raise DripEnded  # the sender waited it out: not a cut, and never answered
            handler.wfile.write(filler[i:i + 1])
            handler.wfile.flush()
            self._stopping.wait(self.drip_seconds)

    # --- waiting and reading ---------------------------------------------------------------------------------

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait (on the receiver's condition, woken by every POST and answer) until ``predicate()`` holds."""
        with self.changed:
            return self.changed.wait_for(predicate, timeout=timeout)

    def delivered_ids(self) -> set[str]:
        return {p.alert_id for p in list(self.posts) if p.outcome == "ok"}

    def has_all(self, expected: list[Expected]) -> bool:
        return {e.alert_id for e in expected} <= self.delivered_ids()


# --- alerts queued ahead of a daemon -----------------------------------------------------------------------


@dataclass(frozen=True)
class FaultClaim:
    id: str
    text: str


def queue_alerts(database: Path, *, claims: int, per_claim: int, channels: list[str], now: datetime,
                 first_state: int = 0, prefix: str = "fault") -> dict[str, list[Expected]]:
    """Queue ``per_claim`` state changes for each of ``claims`` claims, interleaved across claims as polls would
    raise them, on each channel; return each channel's alerts in raise order. ``first_state``: where in
    ``STATE_CYCLE`` the claims start (a second wave continues where a first stopped)."""
    raised: list[tuple[alerts.Alert, str]] = []
    for step in range(first_state, first_state + per_claim):
        for n in range(claims):
            claim = FaultClaim(f"{prefix}-claim-{n:02d}", f"Fault-test claim number {n}")
            previous = "pending" if step == 0 else STATE_CYCLE[(step - 1) % len(STATE_CYCLE)]
            state = STATE_CYCLE[step % len(STATE_CYCLE)]
            story = Story(id=f"{claim.id}-story-{step}", feed="faults", title=f"Claim {n} is now {state}",
                          summary=f"Report {step} on claim {n}.", link=f"https://faults.example/{n}/{step}",
                          published_at=now)
            hit = Hit(story_id=story.id, claim_id=claim.id, score=90.0, matched_terms=("claim",),
                      verdict=Verdict(state), cue=state, sentence=story.summary)
            raised.append((alerts.state_changed(claim, previous, state, hit, story, [], None, now), state))
    with Store(database) as store:
        with store.transaction():
            for alert, _ in raised:
                enqueue(store, alert, channels, now)
    return {channel: [Expected(a.id, a.claim_id, state, i) for i, (a, state) in enumerate(raised)]
            for channel in channels}


def expected_from_outbox(database: Path, channel: str) -> list[Expected]:
    """A channel's alerts as the daemon queued them (polls raised them), in raise order."""
    with Store(database) as store:
        rows = store.sql.execute("SELECT alert_id, claim_id, payload FROM outbox WHERE channel = ? ORDER BY rowid",
                                 [channel]).fetchall()
    return [Expected(alert_id, claim_id, json.loads(payload).get("state"), i)
            for i, (alert_id, claim_id, payload) in enumerate(rows)]


def dead_rows(database: Path) -> int:
    with Store(database) as store:
        return store.sql.execute("SELECT COUNT(*) FROM outbox WHERE status = 'dead'").fetchone()[0]


# --- the tally ---------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one channel's receiver got against what was raised for it.

    ``lost``: raised, never answered 2xx. ``doubled``: posted again after a 2xx answer had been written out (a
    resend after a refused, cut or held attempt is not a double but ``resent``, as is one of ``allowed_resend``:
    the send in flight when its sender was killed, whose answer may have been written to a dead socket).
    ``out_of_order``: claims whose alerts were first delivered in another order than raised. ``stale_end``: claims whose last delivered state is not the newest."""

    expected: int
    delivered: int
    lost: int
    doubled: int
    resent: int
    out_of_order: int
    stale_end: int
    posts: int = 0
    doubled_ids: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, expected: list[Expected], posts: list[Post], allowed_resend: set[str] = frozenset()) -> Tally:
        by_id = {e.alert_id: e for e in expected}
        mine = [p for p in posts if p.alert_id in by_id]
        answered: set[str] = set()
        doubled: list[str] = []
        resent = 0
        first_ok: list[Expected] = []
        last_ok_state: dict[str | None, Expected] = {}
        seen: set[str] = set()
        for post in mine:  # arrival order
            if post.alert_id in answered and post.alert_id not in allowed_resend:
                doubled.append(post.alert_id)
            elif post.alert_id in seen:
                resent += 1  # after a cut, refused or killed attempt: at-least-once, allowed
            seen.add(post.alert_id)
            if post.outcome == "ok":
                if post.alert_id not in answered:
                    first_ok.append(by_id[post.alert_id])
                answered.add(post.alert_id)
                last_ok_state[post.claim_id] = by_id[post.alert_id]
        out_of_order = set()
        last_seq: dict[str | None, int] = {}
        for e in first_ok:
            if e.seq < last_seq.get(e.claim_id, -1):
                out_of_order.add(e.claim_id)
            last_seq[e.claim_id] = max(e.seq, last_seq.get(e.claim_id, -1))
        newest = {e.claim_id: e for e in expected}  # the last raised per claim
        stale = {c for c, e in newest.items() if c in last_ok_state and last_ok_state[c].alert_id != e.alert_id}
        return cls(expected=len(by_id), delivered=len(answered), lost=len(set(by_id) - answered),
                   doubled=len(doubled), resent=resent, out_of_order=len(out_of_order), stale_end=len(stale),
                   posts=len(mine), doubled_ids=doubled)

    def line(self) -> str:
        return (f"expected {self.expected}, delivered {self.delivered}, lost {self.lost}, doubled {self.doubled}, "
                f"resent after an unanswered send {self.resent}, out of order {self.out_of_order} claims, "
                f"ended stale {self.stale_end} claims ({self.posts} posts)")


# --- the daemon and the CLI --------------------------------------------------------------------------------


def monitor_command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", "--config", str(config), *args]


class DaemonProcess:
    """``news-monitor run`` (or ``command``: ``scheduler``, ``worker``) in a subprocess, its stderr in a log file
    beside the config. Leaving the ``with`` block kills it (SIGKILL) if it is still running; ``kill9`` does it on
    purpose."""

    def __init__(self, config: Path, *, log_name: str = "daemon.log", command: str = "run") -> None:
        self.log_path = config.parent / log_name
        self._log = self.log_path.open("a", encoding="utf-8")
        self.started = time.monotonic()
        self.process = subprocess.Popen(monitor_command(config, command), cwd=REPO, stdout=subprocess.DEVNULL,
                                        stderr=self._log, text=True)

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill9()

    def kill9(self) -> float:
        """SIGKILL the daemon and reap it; returns the moment (monotonic) it was killed."""
        killed = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=15)
        self._log.close()
        return killed

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    """A loopback port nothing listens on now (for a daemon's ``listen``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str, timeout: float = 5) -> tuple[int, str] | None:
    """(status, body) of a GET, or None when nothing answers (yet)."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (loopback only)
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")
    except OSError:
        return None


def poll_until(probe: Callable[[], object], timeout: float, every: float = 0.25) -> object:
    """Call ``probe`` until it returns something truthy (returned) or ``timeout`` passes (None). For state that
    only answers when asked (an HTTP endpoint, the database)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found or None
        pause.wait(every)


def webhook_channel(name: str, url: str, timeout_seconds: int) -> dict:
    return {"name": name, "kind": "webhook", "url": url, "timeout_seconds": timeout_seconds}
