"""``news-monitor poll-once`` as a user runs it: Ctrl-C, progress on a terminal, the summary lines, the lock.

Every process is real (``python -m monitor``), every feed is served on 127.0.0.1, and every wait is on a
condition (a request arriving, a process exiting) with a timeout.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import REPO, rss, run_cli, shipped_claims, write_config
from monitor.store import Store

STORY = {"title": "Iraq, United States sign deal on coalition withdrawal",
         "summary": "Baghdad and Washington signed the agreement ending the anti-ISIS coalition mission in Iraq.",
         "link": "https://wire.example.com/c2"}


class FeedServer:
    """Loopback feeds: ``/fast.xml`` answers at once; ``/slow.xml`` never answers until ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.arrived = {"fast": threading.Event(), "slow": threading.Event()}
        published = datetime.now(timezone.utc) - timedelta(minutes=10)
        self.fast_body = rss([{**STORY, "guid": "f1", "published": published},
                              {"guid": "f2", "title": "Weather: rain in the north", "published": published}])
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                name = self.path.strip("/").removesuffix(".xml")
                if name == "slow":
                    server.arrived["slow"].set()
                    server.release.wait(60)
                body = server.fast_body
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the client gave up (it was interrupted)
                    return
                if name == "fast":
                    server.arrived["fast"].set()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}.xml"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feeds():
    server = FeedServer()
    yield server
    server.close()


def config_for(tmp_path, feeds, names, channels=None):
    channels = channels or [{"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook"}]
    return write_config(tmp_path, {
        "monitor": {"database": "monitor.db", "allow_private_networks": True, "workers": 2,
                    "max_per_host": 2},  # both feeds are on one host
        "feeds": [{"name": name, "url": feeds.url(name)} for name in names],
        "claims": [{**shipped_claims()[0], "channels": [c["name"] for c in channels]}],
        "channels": channels,
    })


def start_poll_once(config, *args, **popen):
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "poll-once", *args],
                            cwd=REPO, text=True, **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen})


def test_ctrl_c_stops_at_once_and_records_no_failure(tmp_path, feeds):
    config = config_for(tmp_path, feeds, ["fast", "slow"])
    process = start_poll_once(config, "--no-deliver")
    try:
        assert feeds.arrived["slow"].wait(30) and feeds.arrived["fast"].wait(30), "the feeds were never fetched"
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
        took = time.monotonic() - interrupted
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert took < 5, f"took {took:.1f} s to stop"
    assert "Traceback" not in stderr and "internal error" not in stderr + stdout
    assert "interrupted" in stderr
    with Store(tmp_path / "monitor.db") as store:
        slow = store.feed_state("slow")
        assert slow is None or (slow.error_count == 0 and slow.last_error is None)  # no false failure
        fast = store.feed_state("fast")
        stored = store.db.execute("SELECT COUNT(*) FROM stories WHERE feed = 'fast'").fetchone()[0]
    # The fast feed's poll is one transaction: its stories and its feed row are there together, or neither is.
    assert (stored, fast is not None and fast.last_ok_at is not None) in ((2, True), (0, False))


def test_a_second_ctrl_c_exits_at_once(tmp_path, feeds):
    config = config_for(tmp_path, feeds, ["slow"])
    process = start_poll_once(config, "--no-deliver")
    try:
        assert feeds.arrived["slow"].wait(30)
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        took = time.monotonic() - interrupted
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and took < 5


def test_progress_is_shown_on_a_terminal_only(tmp_path, feeds):
    feeds.release.set()  # the slow feed answers at once here
    config = config_for(tmp_path, feeds, ["fast", "slow"])
    piped = run_cli("poll-once", "--no-deliver", config=config)
    assert piped.returncode == 0, piped.stderr
    assert "polled " not in piped.stderr  # a log file or a cron mail gets no progress line

    controller, terminal = pty.openpty()
    process = start_poll_once(config, "--no-deliver", stderr=terminal)
    os.close(terminal)
    shown = b""
    try:
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the process closed the terminal's last end
                break
            if not chunk:
                break
            shown += chunk
        process.communicate(timeout=30)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert b"polled 2/2 feeds" in shown


def test_the_summary_counts_an_alert_once_and_pluralises(tmp_path, feeds):
    config = config_for(tmp_path, feeds, ["fast"],
                        channels=[{"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook"},
                                  {"name": "screen", "kind": "console"}])
    result = run_cli("poll-once", "--no-deliver", config=config)
    assert result.returncode == 0, result.stderr
    # One story hit the claim; its alert goes to two channels: one alert, two deliveries.
    assert "fast: ok (2 stories, 2 new, 1 hit, 1 alert (2 deliveries))" in result.stdout.splitlines()
    again = run_cli("poll-once", "--no-deliver", config=config)
    assert "fast: unchanged (0 stories, 0 new, 0 hits, 0 alerts)" in again.stdout.splitlines()


def test_poll_once_is_refused_while_another_holds_the_database(tmp_path, feeds):
    config = config_for(tmp_path, feeds, ["slow"])
    first = start_poll_once(config, "--no-deliver")
    try:
        assert feeds.arrived["slow"].wait(30)
        second = run_cli("poll-once", "--no-deliver", config=config)
    finally:
        first.kill()
        first.communicate(timeout=30)
    assert second.returncode == 2
    assert (f"news-monitor: a news-monitor poll-once is already polling {tmp_path / 'monitor.db'} "
            f"(pid {first.pid})") in second.stderr
