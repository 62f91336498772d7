"""Running it for months: the real daemon in a subprocess — live reload, clean stop, health and metrics.

Every wait here is on a condition (a request arriving, a log line, a process exiting) with a timeout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from werkzeug import Request, Response

from conftest import REPO, rss, toml_document
from monitor.config.database import PostgresDatabase
from monitor.daemon import earlysignals
from monitor.store.postgres import WRITER_LOCK_KEY, PostgresSql

ITEM = {"title": "Acme and Globex sign merger agreement", "summary": "The companies signed the deal on Monday."}


class Daemon:
    """``news-monitor run`` in a subprocess, its stderr collected line by line."""

    def __init__(self, config: Path, *, blocked: frozenset[signal.Signals] = frozenset(),
                 script: bool = False) -> None:
        """``blocked``: signals the process starts with blocked (as a parent's mask is inherited across exec);
        ``script``: run the installed ``news-monitor`` console script instead of ``python -m monitor``."""
        self.lines: list[str] = []
        self.changed = threading.Condition()
        block = (lambda: signal.pthread_sigmask(signal.SIG_BLOCK, blocked)) if blocked else None
        command = [str(Path(sys.executable).parent / "news-monitor")] if script else [sys.executable, "-m", "monitor"]
        self.process = subprocess.Popen([*command, "--config", str(config), "-v", "run"],
                                        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        preexec_fn=block)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def wait_for(self, text: str, timeout: float = 30, count: int = 1) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: sum(text in l for l in self.lines) >= count, timeout):
                raise AssertionError(f"never logged {text!r}:\n{''.join(self.lines[-30:])}")

    def stop(self, timeout: float = 15) -> tuple[int, float]:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def daemons():
    started: list[Daemon] = []

    def start(config: Path, **options) -> Daemon:
        started.append(Daemon(config, **options))
        return started[-1]

    yield start
    for daemon in started:
        daemon.kill()


def feed_document(tmp_path, httpserver, hook_url, feeds, **monitor) -> dict:
    return {"monitor": {"database": "monitor.db", "allow_private_networks": True, **monitor},
            "defaults": {"interval_seconds": 10},
            "feeds": [{"name": name, "url": httpserver.url_for(f"/{name}.xml")} for name in feeds],
            "claims": [{"id": "deal", "text": "Acme and Globex sign the merger agreement", "channels": ["hook"]}],
            "channels": [{"name": "hook", "kind": "webhook", "url": hook_url, "timeout_seconds": 5}]}


def serve_feed(httpserver, name, guid, **handler):
    published = datetime.now(timezone.utc) - timedelta(minutes=5)
    body = rss([{**ITEM, "guid": guid, "link": f"https://{name}.example.com/{guid}", "published": published}])
    httpserver.expect_request(f"/{name}.xml").respond_with_data(body, content_type="application/rss+xml")


def requests_for(httpserver, name) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == f"/{name}.xml")


def replace_config(path: Path, document: dict) -> None:
    """An editor's save: write a temporary file and rename it into place."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(toml_document(document), encoding="utf-8")
    os.replace(temporary, path)


def test_reload_applies_a_valid_edit_and_refuses_a_broken_one(tmp_path, httpserver, receiver, daemons):
    for name in ("alpha", "beta", "gamma"):
        serve_feed(httpserver, name, f"{name}-1")
    config = tmp_path / "monitor.toml"
    document = feed_document(tmp_path, httpserver, receiver.url, ["alpha", "beta"])
    config.write_text(toml_document(document), encoding="utf-8")
    daemon = daemons(config)
    daemon.wait_for("poll ok feed=beta")

    # A valid edit, renamed into place: gamma is added, beta removed.
    replace_config(config, feed_document(tmp_path, httpserver, receiver.url, ["alpha", "gamma"]))
    daemon.wait_for("config reloaded reason=\"file changed\" feeds_added=1 feeds_removed=1")
    daemon.wait_for("poll ok feed=gamma")
    beta_polls = requests_for(httpserver, "beta")
    daemon.wait_for("poll unchanged feed=gamma")  # gamma's next poll, an interval later
    assert requests_for(httpserver, "beta") == beta_polls  # beta is no longer polled

    # A broken edit is refused with every problem; the old config keeps running and alerting.
    config.write_text('[monitor]\ndatabase = 5\n[[feeds]]\nname = "x"\n', encoding="utf-8")
    daemon.wait_for("config reload refused")
    daemon.wait_for("config problem problem=\"monitor.database: must be a non-empty string\"")
    daemon.wait_for("config problem problem=\"feeds[0].url: is required\"")
    httpserver.clear()
    serve_feed(httpserver, "alpha", "alpha-2")
    serve_feed(httpserver, "gamma", "gamma-1")
    daemon.wait_for("alert sent", count=1, timeout=40)
    assert any(r.body["type"] == "claim.state_changed" for r in receiver.received)

    # A burst of SIGHUPs after fixing the file: reloaded, still running.
    config.write_text(toml_document(feed_document(tmp_path, httpserver, receiver.url, ["alpha"])), encoding="utf-8")
    for _ in range(5):
        daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for("config reloaded")
    assert daemon.process.poll() is None
    code, took = daemon.stop()
    assert code == 0 and took < 8, "".join(daemon.lines[-15:])


def test_reload_follows_a_symlink_swap(tmp_path, httpserver, receiver, daemons):
    for name in ("alpha", "beta"):
        serve_feed(httpserver, name, f"{name}-1")
    versions = tmp_path / "v1", tmp_path / "v2"
    for folder, feeds in zip(versions, (["alpha"], ["alpha", "beta"])):
        folder.mkdir()
        document = feed_document(tmp_path, httpserver, receiver.url, feeds)
        document["monitor"]["database"] = str(tmp_path / "monitor.db")
        (folder / "monitor.toml").write_text(toml_document(document), encoding="utf-8")
    link = tmp_path / "monitor.toml"
    link.symlink_to(versions[0] / "monitor.toml")
    daemon = daemons(link)
    daemon.wait_for("poll ok feed=alpha")
    swap = tmp_path / "next"  # as Kubernetes updates a ConfigMap: a new link renamed over the old one
    swap.symlink_to(versions[1] / "monitor.toml")
    os.replace(swap, link)
    daemon.wait_for("config reloaded reason=\"file changed\" feeds_added=1")
    daemon.wait_for("poll ok feed=beta")


def test_sigterm_during_a_poll_exits_promptly_and_loses_nothing(tmp_path, httpserver, receiver, daemons):
    release = threading.Event()
    arrived = threading.Event()
    published = datetime.now(timezone.utc) - timedelta(minutes=5)
    body = rss([{**ITEM, "guid": "slow-1", "link": "https://slow.example.com/1", "published": published}])

    def slow(request: Request) -> Response:
        arrived.set()
        release.wait(20)
        return Response(body, content_type="application/rss+xml")

    httpserver.expect_request("/slow.xml").respond_with_handler(slow)
    config = tmp_path / "monitor.toml"
    config.write_text(toml_document(feed_document(tmp_path, httpserver, receiver.url, ["slow"])), encoding="utf-8")
    daemon = daemons(config)
    assert arrived.wait(30)
    code, took = daemon.stop()
    release.set()
    assert code == 0 and took < 8
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        assert db.execute("SELECT COUNT(*) FROM stories").fetchone() == (0,)  # nothing half-written

    httpserver.clear()
    httpserver.expect_request("/slow.xml").respond_with_data(body, content_type="application/rss+xml")
    again = daemons(config)
    again.wait_for("alert sent")
    code, _ = again.stop()
    assert code == 0 and len(receiver.received) == 1


def test_sigterm_during_delivery_exits_promptly_and_the_resend_has_the_same_id(tmp_path, httpserver, receiver,
                                                                               daemons):
    serve_feed(httpserver, "alpha", "alpha-1")
    receiver.hold = threading.Event()
    config = tmp_path / "monitor.toml"
    config.write_text(toml_document(feed_document(tmp_path, httpserver, receiver.url, ["alpha"])), encoding="utf-8")
    daemon = daemons(config)
    assert receiver.arrived.wait(30)
    code, took = daemon.stop()
    assert code == 0 and took < 8
    receiver.hold.set()

    receiver.hold = None
    again = daemons(config)
    again.wait_for("daemon started")
    # The interrupted send is leased for a while; `deliver --now` sends it again right away, same id.
    result = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "deliver", "--now"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    ids = receiver.ids()
    assert len(ids) >= 2 and len(set(ids)) == 1  # one alert, resent under its own id: receivers dedupe
    again.stop()


def test_health_and_metrics_endpoints(tmp_path, httpserver, receiver, daemons, database_setting, database):
    serve_feed(httpserver, "alpha", "alpha-1")
    with socket.socket() as probe:  # a port that is free now, for the daemon to listen on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "monitor.toml"
    document = feed_document(tmp_path, httpserver, receiver.url, ["alpha"], listen=f"127.0.0.1:{port}",
                             database=database_setting)
    config.write_text(toml_document(document), encoding="utf-8")
    daemon = daemons(config)
    daemon.wait_for("alert sent")
    base = f"http://127.0.0.1:{port}"
    health = requests.get(f"{base}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = requests.get(f"{base}/metrics", timeout=5).text
    for name in ('news_monitor_fetches_total{result="ok"} 1.0', 'news_monitor_hits_total{verdict="confirmed"} 1.0',
                 'news_monitor_claim_state_changes_total{state="confirmed"} 1.0',
                 'news_monitor_delivery_attempts_total{result="sent"} 1.0', 'news_monitor_outbox_alerts{status="sent"} 1.0',
                 "news_monitor_outbox_oldest_pending_age_seconds", "news_monitor_config_last_reload_success 1.0",
                 "news_monitor_feeds_failing 0.0"):
        assert name in metrics, name
    check = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "healthcheck"], cwd=REPO,
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr

    # A writer that never lets go: the database takes no writes, and /healthz says so.
    stuck = hold_the_writers_lock(database)
    try:
        unhealthy = requests.get(f"{base}/healthz", timeout=30)
        assert unhealthy.status_code == 503 and "database" in unhealthy.json()["reason"]
        check = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "healthcheck"], cwd=REPO,
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 1
    finally:
        stuck.execute("ROLLBACK")
        stuck.close()
    assert requests.get(f"{base}/healthz", timeout=30).status_code == 200


def hold_the_writers_lock(database):
    """A connection inside a write transaction that keeps the database's write lock until rolled back."""
    if isinstance(database, PostgresDatabase):
        stuck = PostgresSql(database).conn
        stuck.execute("BEGIN")
        stuck.execute("SELECT pg_advisory_xact_lock(%s)", [WRITER_LOCK_KEY])
        return stuck
    stuck = sqlite3.connect(database, isolation_level=None)
    stuck.execute("BEGIN IMMEDIATE")
    return stuck


def test_json_logs_carry_the_fields(tmp_path, httpserver, receiver, daemons):
    serve_feed(httpserver, "alpha", "alpha-1")
    config = tmp_path / "monitor.toml"
    document = feed_document(tmp_path, httpserver, receiver.url, ["alpha"], log_format="json")
    config.write_text(toml_document(document), encoding="utf-8")
    daemon = daemons(config)
    daemon.wait_for('"event": "poll ok"')
    events = [json.loads(line) for line in daemon.lines if line.startswith("{")]
    poll = next(e for e in events if e["event"] == "poll ok")
    assert poll["feed"] == "alpha" and poll["new"] == 1 and poll["level"] == "info"
    assert receiver.url not in "".join(daemon.lines)  # a channel URL never reaches the logs


def test_a_second_signal_exits_at_once(tmp_path, httpserver, receiver, daemons):
    release, arrived = threading.Event(), threading.Event()

    def stuck(request: Request) -> Response:
        arrived.set()
        release.wait(30)
        return Response("late", status=503)

    httpserver.expect_request("/stuck.xml").respond_with_handler(stuck)
    config = tmp_path / "monitor.toml"
    config.write_text(toml_document(feed_document(tmp_path, httpserver, receiver.url, ["stuck"])), encoding="utf-8")
    daemon = daemons(config)
    assert arrived.wait(30)
    started = time.monotonic()
    daemon.process.send_signal(signal.SIGTERM)
    daemon.wait_for("stopping signal=SIGTERM")
    daemon.process.send_signal(signal.SIGTERM)
    code = daemon.process.wait(10)
    release.set()
    assert code == 1 and time.monotonic() - started < 5, "".join(daemon.lines[-12:])  # no waiting out the grace
    daemon.wait_for("second signal, exiting now")


# --- signals from the first moment ------------------------------------------------------------------------------
# The child starts with the signal blocked and is sent it at once: it stays pending until the entry point unblocks
# it, so it arrives while the CLI is still importing, every run, however loaded the machine.


@pytest.mark.parametrize("script", [False, True], ids=["python -m monitor", "news-monitor"])
def test_a_sighup_right_after_start_reloads_once_and_the_daemon_lives(tmp_path, httpserver, receiver, daemons,
                                                                       script):
    serve_feed(httpserver, "alpha", "alpha-1")
    config = tmp_path / "monitor.toml"
    config.write_text(toml_document(feed_document(tmp_path, httpserver, receiver.url, ["alpha"])), encoding="utf-8")
    daemon = daemons(config, blocked=frozenset({signal.SIGHUP}), script=script)
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_for("config reloaded reason=SIGHUP")
    assert daemon.process.poll() is None
    code, _ = daemon.stop()
    daemon.wait_for("daemon stopped")
    log = "".join(daemon.lines)
    assert code == 0, log
    assert log.count("config reloaded") == 1 and log.index("daemon started") < log.index("config reloaded"), log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_right_after_start_stops_cleanly(tmp_path, httpserver, receiver, daemons, sig):
    config = tmp_path / "monitor.toml"
    config.write_text(toml_document(feed_document(tmp_path, httpserver, receiver.url, ["alpha"])), encoding="utf-8")
    daemon = daemons(config, blocked=frozenset({sig}))
    daemon.process.send_signal(sig)
    code = daemon.process.wait(30)
    daemon.wait_for("daemon stopped")
    log = "".join(daemon.lines)
    assert code == 0 and f"stopping signal={sig.name}" in log and "Traceback" not in log, log


def test_early_signals_are_recorded_and_taken_by_the_daemon():
    before = {sig: signal.getsignal(sig) for sig in earlysignals.SIGNALS}
    try:
        earlysignals.install()
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGTERM)
        assert earlysignals.take() == [signal.SIGHUP, signal.SIGTERM]
        assert earlysignals.take() == []
        earlysignals.release()  # taken: nothing to give back, the daemon's handlers (here: the recorder) stay
        assert signal.getsignal(signal.SIGHUP) is not before[signal.SIGHUP]
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_other_commands_get_their_signal_handling_back_and_an_early_ctrl_c_interrupts():
    before = {sig: signal.getsignal(sig) for sig in earlysignals.SIGNALS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        # As an interactive start has it: a run started in the background inherits SIGINT ignored, and release()
        # rightly keeps an ignored signal ignored.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        expected = {sig: signal.getsignal(sig) for sig in earlysignals.SIGNALS}
        earlysignals.install()
        os.kill(os.getpid(), signal.SIGINT)  # recorded, not acted on
        with pytest.raises(KeyboardInterrupt):
            earlysignals.release()
        assert {sig: signal.getsignal(sig) for sig in earlysignals.SIGNALS} == expected
        assert signal.pthread_sigmask(signal.SIG_BLOCK, ()) == mask
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_after_downtime_each_feed_is_polled_once_and_old_stories_stay_quiet(tmp_path, httpserver, receiver,
                                                                           daemons):
    serve_feed(httpserver, "alpha", "alpha-1")
    config = tmp_path / "monitor.toml"
    config.write_text(toml_document(feed_document(tmp_path, httpserver, receiver.url, ["alpha"])), encoding="utf-8")
    first = daemons(config)
    first.wait_for("alert sent")
    assert first.stop()[0] == 0
    # Pretend the daemon was down for a day: every stored time is a day older.
    with sqlite3.connect(tmp_path / "monitor.db") as db:
        db.execute("UPDATE feeds SET next_poll_at = '2026-01-01T00:00:00.000000+00:00'")
    polls = requests_for(httpserver, "alpha")
    again = daemons(config)
    again.wait_for("poll unchanged feed=alpha")
    assert requests_for(httpserver, "alpha") == polls + 1  # once, not once per missed interval
    assert again.stop()[0] == 0
    assert len(receiver.received) == 1  # the story seen before the stop did not alert again


def test_a_second_daemon_on_one_database_is_refused_and_a_killed_one_leaves_no_lock(tmp_path, httpserver,
                                                                                  receiver, daemons, database_setting,
                                                                                  database):
    from conftest import run_cli

    serve_feed(httpserver, "alpha", "alpha-1")
    config = tmp_path / "monitor.toml"
    config.write_text(toml_document(feed_document(tmp_path, httpserver, receiver.url, ["alpha"],
                                                  database=database_setting)), encoding="utf-8")
    first = daemons(config)
    first.wait_for("daemon started")
    holder = f"{first.process.pid} on {socket.gethostname()}" if isinstance(database, PostgresDatabase) \
        else first.process.pid  # PostgreSQL's lock is held from any machine
    busy = f"another news-monitor daemon is running on {database} (pid {holder})"
    second = run_cli("run", config=config, timeout=30)
    assert second.returncode == 2 and busy in second.stderr, second.stderr
    beside = run_cli("poll-once", config=config, timeout=30)  # it would race the daemon's polls of each feed
    assert beside.returncode == 2 and busy in beside.stderr, beside.stderr
    first.process.kill()  # kill -9: no clean-up ran, and the lock file stays behind
    first.process.wait(10)
    assert isinstance(database, PostgresDatabase) or (tmp_path / "monitor.db.lock").exists()
    third = daemons(config)
    third.wait_for("poll unchanged feed=alpha")
    assert third.stop()[0] == 0


def own_cluster_missing() -> str | None:
    """Why this machine cannot start a PostgreSQL cluster of a test's own (to restart it), or None."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        return "no PostgreSQL server binaries under /usr/lib/postgresql to start a cluster of the test's own"
    return None


@pytest.mark.postgres
def test_a_postgresql_restart_mid_run_is_survived_and_the_lock_taken_again(httpserver, receiver, daemons):
    """The server restarts under a running daemon: every session ends, the daemon's lock with it. Polls and
    deliveries carry on on new connections, the lock is taken again, and a second daemon is still refused."""
    import tempfile

    import psycopg
    from conftest import run_cli
    from pgserver import url as database_url

    if own_cluster_missing():
        pytest.skip(own_cluster_missing())
    folder = Path(tempfile.mkdtemp(prefix="nm-pg-"))  # not under pytest's root-only tmp: the server's user reads it
    cluster = [str(REPO / ".ci" / "postgres"), "start", str(folder)]
    conninfo = subprocess.run(cluster, capture_output=True, text=True, check=True, timeout=120).stdout.strip()
    try:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("CREATE DATABASE news")
        url = database_url(conninfo, "news")
        config = folder / "monitor.toml"
        config.write_text(toml_document(feed_document(folder, httpserver, receiver.url, ["alpha"], database=url)),
                          encoding="utf-8")
        serve_feed(httpserver, "alpha", "alpha-1")
        daemon = daemons(config)
        daemon.wait_for("alert sent")

        subprocess.run([cluster[0], "restart", str(folder)], check=True, timeout=120)
        httpserver.clear()
        httpserver.expect_request("/alpha.xml").respond_with_data(rss([
            {"guid": "alpha-2", "title": "Acme and Globex call off the merger agreement",
             "summary": "The companies abandoned the deal on Friday.", "link": "https://alpha.example.com/alpha-2",
             "published": datetime.now(timezone.utc) - timedelta(minutes=1)}]), content_type="application/rss+xml")
        daemon.wait_for("alert sent", timeout=60, count=2)  # the claim moved: confirmed, then rejected
        daemon.wait_for("database lock taken again", timeout=60)
        second = run_cli("run", config=config, timeout=30)
        assert second.returncode == 2 and "another news-monitor daemon is running" in second.stderr, second.stderr
        assert daemon.stop()[0] == 0
        assert len({r.body["id"] for r in receiver.received}) == 2
    finally:
        subprocess.run([cluster[0], "stop", str(folder)], timeout=120)
        subprocess.run(["rm", "-rf", str(folder)], timeout=60)
