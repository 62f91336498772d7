"""``/healthz`` and ``/metrics`` over HTTP, and the check behind ``news-monitor healthcheck``.

The daemon is healthy when its scheduler has ticked recently (a heartbeat job stamps ``metrics.tick``) and its
database takes a write lock. A config reload that failed is reported (``config_error``) but is not unhealthy:
the daemon keeps running on the previous config, and restarting it would not fix the file. A channel that is
behind with its alerts (``backlog``: disabled, held behind a dead alert, paused or stuck past
``delivery_stuck_seconds``) makes the daemon ``degraded``: still HTTP 200, since a restart cures none of those,
with the channel and why in ``reason`` and ``channels``. A scheduler for workers (``monitor.queue``) also reports
its queue (``queue``: live workers, jobs waiting and running), and is degraded without a live worker or with a
job waiting too long for one.

The server is a stdlib ``ThreadingHTTPServer`` on a daemon thread: read-only endpoints need no framework. Every
other path goes to the status pages (``monitor.web``) when the daemon gives a ``site``; those check their own
access (a token off loopback), while ``/healthz`` and ``/metrics`` stay open to probes and scrapers.
Requests are logged at debug level only, so a scraper every few seconds does not fill the log.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import socketserver
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from monitor import metrics
from monitor.backlog import ChannelHealth
from monitor.config.database import Database, PostgresDatabase
from monitor.errors import StoreError
from monitor.logs import kv, log
from monitor.net.urls import parse_listen
from monitor.store import DATABASE_ERRORS
from monitor.store.postgres import WRITER_LOCK_KEY, PostgresSql, error_message

if TYPE_CHECKING:
    from monitor.queue.dispatch import QueueHealth
    from monitor.web.routes import StatusSite

# How long the write probe waits for a writer holding the lock. Poll transactions are short, so a lock held
# this long means a stuck writer; it is well under Docker's and systemd's check timeouts.
LOCK_TIMEOUT_SECONDS = 5.0
CLIENT_TIMEOUT_SECONDS = 5.0
# How often the serving thread looks for a stop request: stop() waits up to this long.
STOP_POLL_SECONDS = 0.1


def database_problem(database: Database, *, timeout: float = LOCK_TIMEOUT_SECONDS) -> str | None:
    """None if the database exists and takes a write lock; otherwise why not.

    The probe is a real write: ``BEGIN IMMEDIATE`` takes SQLite's write lock (so it fails on a read-only file,
    directory or file system, and when another writer has held the lock for ``timeout``), then ``ROLLBACK``
    writes nothing. ``mode=rw`` never creates a missing file: a missing database is a fault (wrong volume), not
    something a health probe should paper over. On PostgreSQL the probe takes the writers' lock the same way
    (see ``postgres_problem``).
    """
    if isinstance(database, PostgresDatabase):
        return postgres_problem(database, timeout=timeout)
    path = Path(database)
    if not path.is_file():
        return f"database {path} does not exist" if not path.exists() else f"database {path} is not a file"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=timeout,
                               isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"database {path} is not writable: {exc}"
    return None


def postgres_problem(database: PostgresDatabase, *, timeout: float = LOCK_TIMEOUT_SECONDS) -> str | None:
    """``database_problem`` on PostgreSQL: the server answers, the tables exist, and a transaction that may write
    takes the writers' advisory lock within ``timeout`` (a standby, or a writer stuck holding it, fails)."""
    try:
        sql = PostgresSql(database)
    except StoreError as exc:
        return str(exc)
    try:
        with sql.conn.transaction(force_rollback=True):
            sql.execute(f"SET LOCAL lock_timeout = {int(timeout * 1000)}")
            if sql.execute("SELECT to_regclass('news_monitor_schema') IS NULL").fetchone()[0]:
                return f"database {database} holds no news-monitor tables"
            if sql.execute("SELECT current_setting('transaction_read_only') = 'on'").fetchone()[0]:
                return f"database {database} is not writable: the server is read-only"
            sql.execute("SELECT pg_advisory_xact_lock(?)", [WRITER_LOCK_KEY])
    except DATABASE_ERRORS as exc:
        return f"database {database} is not writable: {error_message(exc)}"
    finally:
        sql.close()
    return None


class HealthCheck:
    """The daemon's health: the scheduler's last tick and the database's writability.

    ``scheduler_problem`` alone is what the systemd watchdog should be fed (a restart cures a stuck scheduler,
    not a read-only disk); ``report`` is what ``/healthz`` serves.
    """

    def __init__(self, *, database: Database, last_tick: Callable[[], float | None], max_tick_age_seconds: float,
                 config_error: Callable[[], str | None] = lambda: None,
                 channels: Callable[[], list[ChannelHealth]] = list,
                 queue: Callable[[], QueueHealth] | None = None,
                 clock: Callable[[], float] = time.time, lock_timeout_seconds: float = LOCK_TIMEOUT_SECONDS) -> None:
        self.database = database
        self.queue = queue
        self.channels = channels
        self.lock_timeout_seconds = lock_timeout_seconds
        self.last_tick = last_tick
        self.max_tick_age_seconds = max_tick_age_seconds
        self.config_error = config_error
        self.clock = clock
        self.started_at = clock()  # before the first tick, the grace period runs from here

    def tick_age(self) -> float | None:
        tick = self.last_tick()
        return None if tick is None else max(0.0, self.clock() - tick)

    def scheduler_problem(self) -> str | None:
        """None while the scheduler has ticked within ``max_tick_age_seconds`` (or is still starting)."""
        age = self.tick_age()
        if age is None:
            waited = self.clock() - self.started_at
            if waited > self.max_tick_age_seconds:
                return f"scheduler has not ticked since start-up {waited:.0f} s ago"
            return None
        if age > self.max_tick_age_seconds:
            return f"scheduler last ticked {age:.0f} s ago (limit {self.max_tick_age_seconds:g} s)"
        return None

    def report(self) -> tuple[bool, dict]:
        """(healthy, JSON-ready details): ``status`` (ok, degraded or unhealthy), ``reason`` unless ok, tick
        age, ``config_error``, and each channel's delivery health (``channels``)."""
        database = database_problem(self.database, timeout=self.lock_timeout_seconds)
        problems = [p for p in (self.scheduler_problem(), database) if p]
        try:
            channels = self.channels() if database is None else []
        except (OSError, *DATABASE_ERRORS) as exc:
            channels, problems = [], [*problems, f"cannot read the outbox: {exc}"]
        behind = [f"delivery behind on {'; '.join(c.summary() for c in channels if c.behind)}"] \
            if any(c.behind for c in channels) else []
        queue = None
        if self.queue is not None and database is None:
            try:
                queue = self.queue()
            except (StoreError, *DATABASE_ERRORS) as exc:
                problems.append(f"cannot read the job queue: {error_message(exc)}")
            else:
                waiting = queue.problem()
                behind += [waiting] if waiting else []
        age = self.tick_age()
        details = {"status": "unhealthy" if problems else "degraded" if behind else "ok",
                   "last_tick_age_seconds": None if age is None else round(age, 3),
                   "config_error": self.config_error(),
                   "channels": {c.name: c.as_json() for c in channels}}
        if queue is not None:
            details["queue"] = queue.as_json()
        if problems or behind:
            details["reason"] = "; ".join(problems or behind)
        return not problems, details


class HealthServer:
    """Serves ``GET /healthz`` (200 or 503, JSON) and ``GET /metrics`` (``metrics.REGISTRY``) on ``listen``."""

    def __init__(self, listen: str, *, database: Database, last_tick: Callable[[], float | None],
                 max_tick_age_seconds: float, config_error: Callable[[], str | None] = lambda: None,
                 channels: Callable[[], list[ChannelHealth]] = list,
                 queue: Callable[[], QueueHealth] | None = None,
                 clock: Callable[[], float] = time.time, lock_timeout_seconds: float = LOCK_TIMEOUT_SECONDS,
                 site: StatusSite | None = None) -> None:
        self.host, self._port = parse_listen(listen)
        self.site = site
        self.health = HealthCheck(database=database, last_tick=last_tick, max_tick_age_seconds=max_tick_age_seconds,
                                  config_error=config_error, channels=channels, queue=queue, clock=clock,
                                  lock_timeout_seconds=lock_timeout_seconds)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the one the system chose when ``listen`` asked for port 0)."""
        return self._server.server_address[1] if self._server else self._port

    def start(self) -> None:
        """Bind and serve on a daemon thread. Raises OSError if the address is taken or not available."""
        health, site = self.health, self.site

        class Handler(_Handler):
            check = health
            status_site = site

        server_class = _IPv6Server if ":" in self.host else _Server
        self._server = server_class((self.host, self._port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-server", daemon=True,
                                        kwargs={"poll_interval": STOP_POLL_SECONDS})
        self._thread.start()
        log.info("health server listening %s", kv(address=f"{self.host}:{self.port}"))

    def stop(self) -> None:
        """Stop serving and release the port; waits for the serving thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN (a reverse DNS query that can stall start-up for
        # seconds where DNS is broken) only to fill in server_name, which nothing here uses.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    check: HealthCheck
    status_site: StatusSite | None = None
    timeout = 10  # a client that sends nothing must not hold a thread forever
    server_version = "news-monitor"

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        path = urlsplit(self.path).path
        if path == "/healthz":
            healthy, details = self.check.report()
            self._send(200 if healthy else 503, "application/json", json.dumps(details).encode())
        elif path == "/metrics":
            from prometheus_client.exposition import choose_encoder  # only a daemon's scrape needs it

            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._send(200, content_type, encoder(metrics.REGISTRY))
        elif self.status_site is not None:
            answer = self.status_site.answer(path, urlsplit(self.path).query, self.headers)
            self._send(answer.status, answer.content_type, answer.body)
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # The pages are read-only text: no script runs, nothing loads from elsewhere, no page frames them.
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                                                    "frame-ancestors 'none'")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's signature)
        log.debug("http %s", format % args)


def healthz_url(listen: str) -> str:
    """The URL a local client should use for ``listen``: a wildcard address is reached through loopback."""
    host, port = parse_listen(listen)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"


def check_health(url: str | None, database: Database) -> tuple[bool, str]:
    """What ``news-monitor healthcheck`` reports: (healthy, one-line reason).

    With ``url`` (the running daemon's ``/healthz``; loopback only, since the answer is trusted): healthy on a
    200, and the daemon's own reason on a 503. Without it (no ``listen`` configured): only whether the database
    exists and is writable, which is all that can be known from outside the process.
    """
    if url is None:
        problem = database_problem(database)
        return (problem is None, problem or f"database {database} is writable")
    host = urlsplit(url).hostname or ""
    if not _is_loopback(host):
        return False, f"refusing to check {url}: not a loopback address"
    # No proxies: HTTP_PROXY in the environment must not route a loopback check elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=CLIENT_TIMEOUT_SECONDS) as response:
            return True, _reason(response.read(), "ok")
    except urllib.error.HTTPError as exc:
        return False, _reason(exc.read(), f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        return False, f"cannot reach {url}: {getattr(exc, 'reason', exc)}"


def _reason(body: bytes, fallback: str) -> str:
    try:
        details = json.loads(body)
    except ValueError:
        return fallback
    if not isinstance(details, dict):
        return fallback
    reason = details.get("reason") or details.get("status") or fallback
    if details.get("config_error"):
        reason += f" (config reload failed: {details['config_error']})"
    return str(reason)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
