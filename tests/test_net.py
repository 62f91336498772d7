"""net/: the address policy and guarded sessions, fetch deadlines, URL text and HTTP header values."""

from __future__ import annotations

import ipaddress
import socket
from datetime import datetime, timezone

import pytest
from pytest_httpserver import HTTPServer

from monitor.errors import DeliveryError, FetchError
from monitor.feeds.fetch import Fetcher
from monitor.net import deadline as netdeadline
from monitor.net import guard as netguard
from monitor.net.headers import cache_seconds, parse_retry_after
from monitor.net.urls import is_http_url, parse_listen, redact_url
from monitor.notify.webhook import WebhookNotifier

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
RETRY_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


# --- address policy and guarded sessions -----------------------------------------------------------------------


def test_guarded_session_is_reusable_for_webhooks(httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    with netguard.guarded_session(netguard.default_policy()) as session:
        with pytest.raises(netguard.AddressRefused) as info:
            session.post(httpserver.url_for("/hook"), json={"a": 1}, timeout=2)
    assert (info.value.ip, info.value.port) == ("127.0.0.1", httpserver.port)
    with netguard.guarded_session(netguard.default_policy(allow_private_networks=True)) as session:
        assert session.post(httpserver.url_for("/hook"), json={"a": 1}, timeout=2).text == "ok"


@pytest.mark.parametrize(
    ("ip", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2001:4860::8888", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("127.0.0.1", False),
        ("127.9.9.9", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("172.31.255.255", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("0.0.0.0", False),
        ("0.1.2.3", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
        ("::1", False),
        ("::", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("2001:db8::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("64:ff9b::7f00:1", False),
        ("2002:a00:1::1", False),
    ],
)
def test_is_public_address(ip, public):
    assert netguard.is_public_address(ip) is public
    assert netguard.is_public_address(ipaddress.ip_address(ip)) is public


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("100.64.0.1", "100.64.0.1 is a shared (CGNAT) address"),
        ("192.168.0.10", "192.168.0.10 is a private address"),
        ("fd00::1", "fd00::1 is a private address"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1 embeds 10.0.0.1, a private address"),
        ("8.8.8.8", None),
    ],
)
def test_refusal_reason(ip, reason):
    assert netguard.refusal_reason(ip) == reason


def test_refusal_reason_rejects_non_addresses():
    with pytest.raises(ValueError):
        netguard.refusal_reason("example.com")


# --- nothing connects to a refused address ------------------------------------------------------------------


class Listener:
    """A listening TCP socket that nobody accepts on: ``connections()`` drains the kernel's accept queue and
    counts every TCP connection ever made to it (a handshake completes into that queue without ``accept``)."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self._accepted = 0

    def connections(self) -> int:
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return self._accepted
            conn.close()
            self._accepted += 1


@pytest.fixture
def listener():
    server = Listener("127.0.0.1")
    yield server
    server.sock.close()


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 that is bound but not listening: a connect to it is refused (RST)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def _refusal(call, port: int) -> str:
    """The error text ``call`` raises, with its port number taken out so that two ports' texts compare."""
    try:
        call()
    except Exception as exc:  # noqa: BLE001 -- the comparison is the point: whatever it is, it must be alike
        return f"{type(exc).__name__}: {exc}".replace(str(port), "<port>")
    raise AssertionError("no error raised")


LOOPBACK_REFUSED = "127.0.0.1 is a loopback address; set allow_private_networks = true to allow it"


def test_a_refused_address_is_never_connected_and_open_and_closed_ports_look_alike(listener, closed_port):
    with netguard.guarded_session(netguard.default_policy()) as session:
        texts = {port: _refusal(lambda: session.get(f"http://127.0.0.1:{port}/x", timeout=5), port)
                 for port in (listener.port, closed_port)}
    assert texts[listener.port] == texts[closed_port] == f"AddressRefused: {LOOPBACK_REFUSED}"
    assert listener.connections() == 0


@pytest.mark.parametrize("channel", ["feed", "webhook"])
def test_feeds_and_webhooks_report_the_refusal_without_connecting(listener, closed_port, channel):
    def attempt(port: int):
        url = f"http://127.0.0.1:{port}/hook"
        if channel == "feed":
            return lambda: Fetcher().fetch(url)
        notifier = WebhookNotifier(url, timeout_seconds=5, allow_private_networks=False)
        return lambda: notifier.send("alert-1", {"a": 1})

    texts = {port: _refusal(attempt(port), port) for port in (listener.port, closed_port)}
    error = "FetchError: http://127.0.0.1:<port>/hook: refused: " if channel == "feed" else \
        "DeliveryError: webhook refused: "
    assert texts[listener.port] == texts[closed_port] == error + LOOPBACK_REFUSED
    assert listener.connections() == 0


@pytest.fixture
def two_address_name(monkeypatch):
    """``multi.test`` resolves to 127.0.0.2 first, then 127.0.0.1 (a resolver answer, as for a real name)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "multi.test":
            return real(host, port, *args, **kwargs)
        return [info for ip in ("127.0.0.2", "127.0.0.1") for info in real(ip, port, *args, **kwargs)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return "multi.test"


def _refuse_127_0_0_2(ip: str, port: int) -> str | None:
    return "127.0.0.2 is refused here" if ip == "127.0.0.2" else None


def test_every_resolved_address_is_judged_before_any_connect(two_address_name):
    allowed, refused = netguard.checked_addresses(two_address_name, 8080, _refuse_127_0_0_2)
    assert [info[4][:2] for info in allowed] == [("127.0.0.1", 8080)]
    assert [(r.ip, r.port, r.reason) for r in refused] == [("127.0.0.2", 8080, "127.0.0.2 is refused here")]


def test_a_name_with_a_refused_address_connects_only_to_the_allowed_one(two_address_name):
    decoy = Listener("127.0.0.2")  # listening on the refused address, on the same port as the real server
    server = HTTPServer(host="127.0.0.1", port=decoy.port)
    server.expect_request("/feed").respond_with_data("ok")
    server.start()
    try:
        with netguard.guarded_session(_refuse_127_0_0_2) as session:
            response = session.get(f"http://{two_address_name}:{decoy.port}/feed", timeout=5)
        assert response.text == "ok"
        assert server.log[0][0].headers["Host"] == f"{two_address_name}:{decoy.port}"  # still by name
        assert decoy.connections() == 0
    finally:
        server.stop()
        decoy.sock.close()


def test_a_name_whose_every_address_is_refused_reports_the_first(two_address_name, listener):
    policy = netguard.default_policy()
    with netguard.guarded_session(policy) as session:
        with pytest.raises(netguard.AddressRefused) as info:
            session.get(f"http://{two_address_name}:{listener.port}/", timeout=5)
    assert str(info.value) == "127.0.0.2 is a loopback address; set allow_private_networks = true to allow it"
    assert listener.connections() == 0


def test_an_allowed_address_that_refuses_the_connection_is_urllib3s_error(closed_port):
    with pytest.raises(FetchError, match=r"connection failed: connection refused$"):
        Fetcher(address_policy=lambda ip, port: None).fetch(f"http://127.0.0.1:{closed_port}/feed")


# --- deadlines ------------------------------------------------------------------------------------------------


def test_deadline_shuts_down_a_socket_blocked_in_recv():
    left, right = socket.socketpair()
    with left, right, netdeadline.deadline(0.2) as watch:
        watch.watch(left)
        left.settimeout(30)
        assert left.recv(10) == b""  # EOF from the shutdown, long before the 30 s timeout
        assert watch.fired


def test_deadline_closes_its_handles_and_ignores_late_sockets():
    left, right = socket.socketpair()
    with left, right:
        with netdeadline.deadline(60) as watch:
            watch.watch(left)
        assert watch.closed and not watch.fired
        watch.fire()  # after the block: a no-op, never a shutdown of whatever the descriptor is now
        watch.watch(left)
        right.sendall(b"x")
        assert left.recv(1) == b"x"


def test_deadlines_nest_and_restore():
    with netdeadline.deadline(60) as outer:
        with netdeadline.deadline(60) as inner:
            assert netdeadline._local.deadline is inner
        assert netdeadline._local.deadline is outer
    assert netdeadline._local.deadline is None


# --- URL text ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pa@ss@example.com/x?a=b", "https://***@example.com/x?a=***"),
        ("http://token@example.com", "http://***@example.com"),
        ("http://example.com/a@b", "http://example.com/a@b"),
        ("https://example.com/rss?key=k3y&token=t0k&page=2", "https://example.com/rss?key=***&token=***&page=***"),
        ("https://example.com/rss?s3cret&a=", "https://example.com/rss?***&a=***"),  # a bare token may be a key
        ("https://example.com/cb#access_token=t0k", "https://example.com/cb#access_token=***"),
        ("http://[::1/x?key=k3y", "http://[::1/x?key=***"),  # not even a valid URL: still redacted, no error
        ("https://example.com/plain/path", "https://example.com/plain/path"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize(("listen", "expected"), [
    ("127.0.0.1:9464", ("127.0.0.1", 9464)),
    ("localhost:80", ("localhost", 80)),
    (":9464", ("0.0.0.0", 9464)),
    ("[::1]:9464", ("::1", 9464)),
    ("0.0.0.0:0", ("0.0.0.0", 0)),
])
def test_parse_listen(listen, expected):
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["9464", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "::1:9464"])
def test_parse_listen_rejects(listen):
    with pytest.raises(ValueError):
        parse_listen(listen)


# --- HTTP header values -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "seconds"), [
    ({}, None),
    ({"cache-control": "max-age=600"}, 600.0),
    ({"cache-control": "public, max-age=\"90\", must-revalidate"}, 90.0),
    ({"cache-control": "s-maxage=300"}, 300.0),
    ({"cache-control": "s-maxage=300, max-age=60"}, 60.0),  # we are a private cache: max-age wins
    ({"cache-control": "max-age=" + "9" * 5000}, float(2**31)),  # RFC 9111: huge means 2^31; no int() blow-up
    ({"cache-control": "no-cache, max-age=600"}, None),
    ({"cache-control": "no-store"}, None),
    ({"cache-control": "max-age=600", "expires": "Wed, 01 Jan 2025 01:00:00 GMT"}, 600.0),
    ({"expires": "Wed, 01 Jan 2025 01:00:00 GMT"}, 3600.0),  # against now: no Date header
    ({"expires": "Wed, 01 Jan 2025 01:00:00 GMT", "date": "Wed, 01 Jan 2025 00:30:00 GMT"}, 1800.0),
    ({"expires": "Tue, 31 Dec 2024 00:00:00 GMT"}, 0.0),
    ({"expires": "0"}, 0.0),
    ({"expires": "-1"}, 0.0),
], ids=lambda v: repr(v)[:40])
def test_cache_seconds(headers, seconds):
    assert cache_seconds(headers, NOW) == seconds


@pytest.mark.parametrize("value,expected", [
    ("120", 120.0), (" 5 ", 5.0), ("-3", 0.0), ("Fri, 27 Nov 2026 12:10:00 GMT", 600.0),
    ("Fri, 27 Nov 2026 11:00:00 GMT", 0.0), ("soon", None), (None, None), ("", None),
])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, RETRY_NOW) == expected


@pytest.mark.parametrize(("url", "valid"), [
    ("https://example.com/feed", True),
    ("HTTP://example.com", True),  # schemes are case-insensitive
    ("http://127.0.0.1:8080/x", True),
    ("ftp://example.com/feed", False),
    ("file:///etc/passwd", False),
    ("https:///no-host", False),
    ("example.com/feed", False),
    ("http://[::1", False),  # unparseable
    ("http://example.com:99999/", False),  # port out of range
    ("", False),
])
def test_is_http_url(url, valid):
    assert is_http_url(url) is valid
