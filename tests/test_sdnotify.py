"""systemd notify protocol against a real unix datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

import pytest

from monitor.daemon.systemd import Notifier


@pytest.fixture
def systemd(tmp_path: Path):
    """A bound datagram socket like systemd's notify socket; yields (its path, a receive function)."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)

    def receive() -> str:
        return sock.recv(4096).decode()

    yield str(path), receive
    sock.close()


def test_messages_arrive(systemd):
    path, receive = systemd
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready()
    assert receive() == "READY=1"
    assert notifier.watchdog()
    assert receive() == "WATCHDOG=1"
    assert notifier.status("polling 5 feeds")
    assert receive() == "STATUS=polling 5 feeds"
    assert notifier.stopping()
    assert receive() == "STOPPING=1"


def test_ready_with_status_and_reloading(systemd):
    path, receive = systemd
    notifier = Notifier({"NOTIFY_SOCKET": path})
    notifier.ready("running\nwith a newline")
    assert receive() == "READY=1\nSTATUS=running with a newline"  # one assignment per line, never split
    notifier.reloading()
    lines = receive().split("\n")
    assert lines[0] == "RELOADING=1" and lines[1].startswith("MONOTONIC_USEC=") and lines[1][15:].isdigit()


def test_abstract_socket_address():
    name = f"news-monitor-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": f"@{name}"}).ready()
        assert sock.recv(4096) == b"READY=1"


@pytest.mark.parametrize("environ", [{}, {"NOTIFY_SOCKET": ""}, {"NOTIFY_SOCKET": "vsock:2:1234"},
                                     {"NOTIFY_SOCKET": "@"}])
def test_no_socket_is_a_no_op(environ):
    notifier = Notifier(environ)
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False


def test_reads_the_real_environment_by_default(systemd, monkeypatch):
    path, receive = systemd
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    Notifier().stopping()
    assert receive() == "STOPPING=1"


def test_a_vanished_socket_does_not_raise(tmp_path, caplog):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert len([r for r in caplog.records if "cannot notify systemd" in r.getMessage()]) == 1  # warned once


@pytest.mark.parametrize(("environ", "expected"), [
    ({"WATCHDOG_USEC": "60000000"}, 60.0),
    ({"WATCHDOG_USEC": "500000"}, 0.5),
    ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}, 60.0),
    ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),  # inherited: another process's watchdog
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "-5"}, None),
    ({"WATCHDOG_USEC": "soon"}, None),
    ({}, None),
])
def test_watchdog_interval(environ, expected):
    assert Notifier(environ).watchdog_interval() == expected


def test_keep_alive_pings_only_while_healthy(systemd):
    path, receive = systemd
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"})  # a ping every 10 ms
    problems = iter([None, "scheduler last ticked 90 s ago (limit 60 s)", None])
    stop = threading.Event()
    thread = notifier.keep_alive(lambda: next(problems, None), stop)
    assert thread is not None
    try:
        assert receive() == "WATCHDOG=1"
        assert receive() == "STATUS=unhealthy: scheduler last ticked 90 s ago (limit 60 s)"  # and no ping
        assert receive() == "WATCHDOG=1"
        assert receive() == "STATUS=running"
        assert receive() == "WATCHDOG=1"
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_keep_alive_treats_a_crashing_check_as_unhealthy(systemd):
    path, receive = systemd
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"})

    def broken() -> str | None:
        raise RuntimeError("boom")

    stop = threading.Event()
    thread = notifier.keep_alive(broken, stop)
    try:
        assert receive() == "STATUS=unhealthy: health check failed: RuntimeError: boom"
    finally:
        stop.set()
        thread.join(timeout=5)


def test_keep_alive_without_a_watchdog_starts_nothing(systemd):
    path, _ = systemd
    assert Notifier({"NOTIFY_SOCKET": path}).keep_alive(lambda: None, threading.Event()) is None
    assert Notifier({"WATCHDOG_USEC": "20000"}).keep_alive(lambda: None, threading.Event()) is None
