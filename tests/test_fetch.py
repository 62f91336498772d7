"""monitor.feeds.fetch and monitor.net.guard against real loopback HTTP servers (no mocking of requests)."""

from __future__ import annotations

import gzip
import hashlib
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
import urllib3.response
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Response

from monitor.feeds import body as body_module
from monitor.net import guard as netguard
from monitor.errors import FetchError
from monitor.feeds.fetch import ACCEPT, ACCEPT_ENCODING, USER_AGENT, Fetcher, FetchResult, FetchStatusError

LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
MB = 1024 * 1024


@pytest.fixture
def fetcher():
    """A Fetcher that may reach loopback test servers; closed at teardown."""
    with Fetcher(allow_private_networks=True) as f:
        yield f


class StepClock:
    """A fake monotonic clock that advances ``step`` seconds every time it is read: no real waiting needed."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def raw_server():
    """Start a loopback TCP server whose connection behaviour is ``behaviour(conn, stop_event)``, called after
    the request head has been read. Returns the URL. All servers stop at teardown."""
    stop = threading.Event()
    servers = []

    def start(behaviour) -> str:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = self.request.recv(4096)
                    if not data:
                        return
                    head += data
                try:
                    behaviour(self.request, stop)
                except OSError:
                    pass  # the client hung up, which is what most of these tests expect

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/feed"

    yield start
    stop.set()
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


def drip(head: bytes, body: bytes, interval: float):
    def behaviour(conn, stop):
        conn.sendall(head)
        for i in range(len(body)):
            conn.sendall(body[i : i + 1])
            if stop.wait(interval):
                return
    return behaviour


# --- success, conditional GET -------------------------------------------------------------------------------


def test_200_returns_body_headers_and_validators(httpserver, fetcher):
    httpserver.expect_request("/feed", headers={"User-Agent": USER_AGENT, "Accept": ACCEPT}).respond_with_data(
        b"<rss/>", content_type="application/rss+xml", headers={"ETag": '"v1"', "Last-Modified": LAST_MODIFIED}
    )
    result = fetcher.fetch(httpserver.url_for("/feed"))
    assert isinstance(result, FetchResult)
    assert (result.status, result.body, result.not_modified) == (200, b"<rss/>", False)
    assert result.url == httpserver.url_for("/feed")
    assert result.headers["content-type"] == "application/rss+xml"
    assert (result.etag, result.last_modified) == ('"v1"', LAST_MODIFIED)
    assert "gzip" in httpserver.log[0][0].headers["Accept-Encoding"]


def test_gzip_body_is_decoded(httpserver, fetcher):
    body = gzip.compress(b"<feed/>")
    httpserver.expect_request("/feed").respond_with_data(body, headers={"Content-Encoding": "gzip"})
    assert fetcher.fetch(httpserver.url_for("/feed")).body == b"<feed/>"


def test_etag_and_last_modified_round_trip_to_304(httpserver, fetcher):
    def handler(request):
        if request.headers.get("If-None-Match") == '"v1"' and request.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return Response(status=304)
        return Response(b"<rss/>", headers={"ETag": '"v1"', "Last-Modified": LAST_MODIFIED})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    first = fetcher.fetch(httpserver.url_for("/feed"))
    second = fetcher.fetch(httpserver.url_for("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.status == 304 and second.body == b""
    # The server did not repeat the validators on 304: the ones sent are handed back.
    assert (second.etag, second.last_modified) == ('"v1"', LAST_MODIFIED)


# --- HTTP errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "text", "retry_after"),
    [
        (500, {}, "HTTP 500 Internal Server Error", None),
        (404, {}, "HTTP 404 Not Found", None),
        (429, {"Retry-After": "120"}, "HTTP 429 Too Many Requests", "120"),
        (503, {"Retry-After": LAST_MODIFIED}, "HTTP 503 Service Unavailable", LAST_MODIFIED),
    ],
)
def test_error_status_raises_with_status_and_retry_after(httpserver, fetcher, status, headers, text, retry_after):
    httpserver.expect_request("/feed").respond_with_data("nope", status=status, headers=headers)
    url = httpserver.url_for("/feed")
    with pytest.raises(FetchError) as info:
        fetcher.fetch(url)
    assert str(info.value) == f"{url}: {text}"
    assert (info.value.status, info.value.retry_after) == (status, retry_after)
    assert not info.value.timed_out  # an error status, however bad, does not back the host off


def test_credentials_are_stripped_from_messages(httpserver, fetcher):
    httpserver.expect_request("/feed").respond_with_data("nope", status=500)
    url = httpserver.url_for("/feed").replace("http://", "http://user:s3cret@")
    with pytest.raises(FetchError) as info:
        fetcher.fetch(url)
    assert "s3cret" not in str(info.value) and "user" not in str(info.value)
    assert str(info.value).startswith(httpserver.url_for("/feed").replace("http://", "http://***@") + ": HTTP 500")
    assert httpserver.log[0][0].authorization.password == "s3cret"  # still sent, as Basic auth


# --- timeouts, deadline, connection failures ---------------------------------------------------------------------


def test_connect_timeout(fetcher):
    # A listener with a full accept queue drops further SYNs, so connecting to it hangs: a loopback connect timeout.
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = listener.getsockname()[1]
    held = []
    try:
        for _ in range(16):
            probe = socket.socket()
            held.append(probe)
            probe.settimeout(0.1)
            try:
                probe.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        else:
            pytest.skip("could not fill the accept queue on this kernel")
        slow = Fetcher(allow_private_networks=True, connect_timeout_seconds=0.2)
        with pytest.raises(FetchError, match=r"timed out after 0\.2s connecting$") as info:
            slow.fetch(f"http://127.0.0.1:{port}/feed")
        assert info.value.status is None and info.value.__cause__ is not None
    finally:
        for s in held:
            s.close()
        listener.close()


def test_read_timeout_waiting_for_response(raw_server):
    url = raw_server(lambda conn, stop: stop.wait(5))
    with pytest.raises(FetchError, match=r"timed out after 0\.2s waiting for the response$") as info:
        Fetcher(allow_private_networks=True, read_timeout_seconds=0.2).fetch(url)
    assert info.value.__cause__ is not None
    assert info.value.timed_out  # the slowness that backs its host off


def test_read_timeout_in_the_body(raw_server):
    url = raw_server(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", b"x", 5))
    with pytest.raises(FetchError, match=r"timed out after 0\.2s reading the body$") as info:
        Fetcher(allow_private_networks=True, read_timeout_seconds=0.2).fetch(url)
    assert info.value.timed_out


def test_slow_drip_is_cut_by_the_deadline_fake_clock(raw_server):
    # Every read is well within the read timeout; the fake clock advances 1 s per reading, deadline 5 s.
    url = raw_server(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", b"x" * 1000, 0.005))
    clock = StepClock(1.0)
    with pytest.raises(FetchError, match=r"deadline of 5s exceeded$"):
        Fetcher(allow_private_networks=True, deadline_seconds=5, clock=clock).fetch(url)
    assert clock.now == 6.0  # read once at the start, then once per hop or chunk until 5 s had passed


def test_slow_drip_is_cut_by_the_deadline_real_clock(raw_server):
    url = raw_server(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", b"x" * 1000, 0.02))
    with pytest.raises(FetchError, match=r"deadline of 0\.3s exceeded$") as info:
        Fetcher(allow_private_networks=True, deadline_seconds=0.3, read_timeout_seconds=5).fetch(url)
    assert info.value.timed_out


def test_stall_near_the_deadline_is_cut_at_the_deadline_not_the_read_timeout(raw_server):
    url = raw_server(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", b"x", 30))
    with pytest.raises(FetchError, match=r"deadline of 0\.3s exceeded$"):
        Fetcher(allow_private_networks=True, deadline_seconds=0.3, read_timeout_seconds=30).fetch(url)


def test_connection_refused(fetcher):
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match=r"connection failed: connection refused$") as info:
        fetcher.fetch(f"http://127.0.0.1:{port}/feed")
    assert info.value.__cause__ is not None
    assert not info.value.timed_out  # a refusal is an answer, given at once


def test_connection_closed_without_response(raw_server, fetcher):
    url = raw_server(lambda conn, stop: None)
    with pytest.raises(FetchError, match=r"connection failed: .*closed connection without response"):
        fetcher.fetch(url)


def test_connection_dropped_mid_body(raw_server, fetcher):
    url = raw_server(lambda conn, stop: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789"))
    with pytest.raises(FetchError, match=r"connection broken while reading the body: .*IncompleteRead"):
        fetcher.fetch(url)


# --- size cap ----------------------------------------------------------------------------------------------------


def test_declared_content_length_over_cap_is_refused_before_reading(raw_server):
    url = raw_server(lambda conn, stop: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\nxx"))
    with pytest.raises(FetchError, match=r"body exceeds 1048576 bytes \(Content-Length 999999999\)$"):
        Fetcher(allow_private_networks=True, max_body_bytes=MB).fetch(url)


def test_body_over_cap_without_content_length(raw_server):
    def behaviour(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for _ in range(40):
            conn.sendall(b"x" * 64 * 1024)  # 2.5 MB in all, no length announced

    url = raw_server(behaviour)
    with pytest.raises(FetchError, match=r"body exceeds 1048576 bytes$"):
        Fetcher(allow_private_networks=True, max_body_bytes=MB).fetch(url)


def test_body_exactly_at_cap_is_accepted(httpserver):
    httpserver.expect_request("/feed").respond_with_data(b"x" * 1000)
    result = Fetcher(allow_private_networks=True, max_body_bytes=1000).fetch(httpserver.url_for("/feed"))
    assert len(result.body) == 1000


BOMB = gzip.compress(b"\0" * (20 * MB), compresslevel=9)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_gzip_bomb_is_cut_at_the_cap_without_inflating_it(raw_server, framing):
    assert len(BOMB) < 64 * 1024  # tiny on the wire, so the Content-Length check cannot catch it

    def behaviour(conn, stop):
        if framing == "chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
            conn.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(BOMB), BOMB))
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(BOMB) + BOMB)
        stop.wait(5)

    url = raw_server(behaviour)
    # Measured in a fresh interpreter: tracemalloc counts every thread, and servers left by other tests would
    # blur the peak of this one fetch.
    probe = textwrap.dedent(f"""
        import tracemalloc
        from monitor.errors import FetchError
        from monitor.feeds.fetch import Fetcher
        tracemalloc.start()
        try:
            Fetcher(allow_private_networks=True, max_body_bytes={MB}).fetch({url!r})
        except FetchError as exc:
            print(tracemalloc.get_traced_memory()[1], exc)
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30).stdout
    peak, _, message = out.strip().partition(" ")
    assert message.endswith("body exceeds 1048576 bytes"), out
    assert int(peak) < 6 * MB  # inflating the bomb would need 20 MB


# --- redirects and schemes --------------------------------------------------------------------------------------


def test_redirect_is_followed(httpserver, fetcher):
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data(b"<rss/>")
    result = fetcher.fetch(httpserver.url_for("/old"))
    assert (result.url, result.body) == (httpserver.url_for("/new"), b"<rss/>")


def test_redirect_body_is_not_read(raw_server, httpserver):
    # A redirect whose body never finishes: requests' Session.send would read it fully before returning.
    httpserver.expect_request("/new").respond_with_data(b"<rss/>")
    head = b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 100000\r\n\r\n" % httpserver.url_for("/new").encode()
    url = raw_server(drip(head, b"x", 30))
    assert Fetcher(allow_private_networks=True, read_timeout_seconds=0.5).fetch(url).body == b"<rss/>"


def test_redirect_loop_is_too_many_redirects(httpserver):
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=307, headers={"Location": "/a"})
    with pytest.raises(FetchError, match=r"too many redirects \(6\)$") as info:
        Fetcher(allow_private_networks=True, max_redirects=5).fetch(httpserver.url_for("/a"))
    assert len(httpserver.log) == 6
    assert info.value.status is None  # status is only for a final answer that was not 2xx/304


def test_ftp_scheme_is_refused(fetcher):
    with pytest.raises(FetchError, match=r"^ftp://\*\*\*@example\.com/feed: unsupported URL scheme 'ftp'$"):
        fetcher.fetch("ftp://user:pw@example.com/feed")


def test_redirect_to_ftp_is_refused(httpserver, fetcher):
    httpserver.expect_request("/feed").respond_with_data("", status=302, headers={"Location": "ftp://example.com/x"})
    with pytest.raises(FetchError, match=r"\(redirected to ftp://example\.com/x\): unsupported URL scheme 'ftp'$"):
        fetcher.fetch(httpserver.url_for("/feed"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http:///no-host", "http:///no-host: invalid request: Invalid URL 'http:///no-host': No host supplied"),
        ("http://[::1/feed", "http://[::1/feed: invalid URL: Invalid IPv6 URL"),
        ("example.com/rss", "example.com/rss: URL has no scheme; expected http:// or https://"),
    ],
)
def test_malformed_url(fetcher, url, message):
    with pytest.raises(FetchError) as info:
        fetcher.fetch(url)
    assert str(info.value) == message


# --- address policy, before connecting and on the connected socket --------------------------------------------------


@pytest.fixture
def second_server():
    """A pytest-httpserver bound to 127.0.0.1 explicitly (the shared one binds whatever "localhost" is)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_by_default_before_any_request(second_server, host):
    # "localhost" stands for any innocent-looking name that resolves (or rebinds) to a loopback address.
    second_server.expect_request("/feed").respond_with_data(b"secret")
    url = f"http://{host}:{second_server.port}/feed"
    with pytest.raises(FetchError) as info:
        Fetcher().fetch(url)
    assert str(info.value) == (
        f"{url}: refused: 127.0.0.1 is a loopback address; set allow_private_networks = true to allow it"
    )
    assert isinstance(info.value.__cause__, netguard.AddressRefused)
    assert second_server.log == []  # refused before connecting (tests/test_net.py counts the connects)


def test_every_redirect_hop_is_checked(httpserver, second_server):
    # The policy allows the first server's port only; the redirect target is a different port on 127.0.0.1.
    allowed = httpserver.port
    policy = lambda ip, port: None if port == allowed else f"{ip}:{port} is not allowed"  # noqa: E731
    target = second_server.url_for("/internal")
    second_server.expect_request("/internal").respond_with_data(b"metadata")
    httpserver.expect_request("/feed").respond_with_data("", status=302, headers={"Location": target})
    with pytest.raises(FetchError) as info:
        Fetcher(address_policy=policy).fetch(httpserver.url_for("/feed"))
    assert str(info.value) == (
        f"{httpserver.url_for('/feed')} (redirected to {target}): "
        f"refused: 127.0.0.1:{second_server.port} is not allowed"
    )
    assert len(httpserver.log) == 1 and second_server.log == []


# --- threads and lifecycle --------------------------------------------------------------------------------------


def test_fetch_from_several_threads(httpserver, fetcher):
    httpserver.expect_request("/feed").respond_with_data(b"<rss/>")
    url = httpserver.url_for("/feed")
    with ThreadPoolExecutor(max_workers=4) as pool:
        bodies = list(pool.map(lambda _: fetcher.fetch(url).body, range(12)))
    assert bodies == [b"<rss/>"] * 12


def test_fetch_after_close_raises(httpserver):
    httpserver.expect_request("/feed").respond_with_data(b"<rss/>")
    f = Fetcher(allow_private_networks=True)
    f.fetch(httpserver.url_for("/feed"))
    f.close()
    f.close()
    with pytest.raises(RuntimeError):
        f.fetch(httpserver.url_for("/feed"))


# --- what the scheduler reads off a result --------------------------------------------------------------------

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_result_has_cache_seconds_and_content_hash(httpserver, fetcher):
    httpserver.expect_request("/feed").respond_with_data(b"<rss/>", headers={"Cache-Control": "max-age=900",
                                                                            "ETag": '"v1"'})
    result = fetcher.fetch(httpserver.url_for("/feed"))
    assert result.cache_seconds == 900.0
    assert result.content_hash == hashlib.sha256(b"<rss/>").hexdigest()
    assert (result.redirects, result.permanent_url) == ((), None)


def test_not_modified_has_empty_content_hash_and_cache_seconds(httpserver, fetcher):
    not_modified = Response(status=304, headers={"Cache-Control": "max-age=60"})
    httpserver.expect_request("/feed").respond_with_response(not_modified)
    result = fetcher.fetch(httpserver.url_for("/feed"), etag='"v1"')
    assert (result.status, result.content_hash, result.cache_seconds) == (304, "", 60.0)


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0),
    ("Wed, 01 Jan 2025 00:10:00 GMT", 600.0),
    ("Tue, 31 Dec 2024 00:00:00 GMT", 0.0),  # in the past: now
    ("inf", None),
    ("1e999", None),
    ("soon", None),
])
def test_retry_after_seconds(httpserver, fetcher, header, seconds):
    httpserver.expect_request("/feed").respond_with_data("", status=503, headers={"Retry-After": header})
    with pytest.raises(FetchStatusError) as info:
        fetcher.fetch(httpserver.url_for("/feed"), now=NOW)
    assert (info.value.status, info.value.retry_after, info.value.retry_after_seconds) == (503, header, seconds)


def test_redirects_are_recorded_and_permanent_only_when_every_hop_is(httpserver, fetcher):
    httpserver.expect_request("/a").respond_with_data("", status=308, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=301, headers={"Location": "/c"})
    httpserver.expect_request("/c").respond_with_data(b"<rss/>")
    httpserver.expect_request("/t").respond_with_data("", status=307, headers={"Location": "/a"})
    moved = fetcher.fetch(httpserver.url_for("/a"))
    assert moved.redirects == ((308, httpserver.url_for("/b")), (301, httpserver.url_for("/c")))
    assert moved.permanent_url == httpserver.url_for("/c")
    temporary = fetcher.fetch(httpserver.url_for("/t"))
    assert [status for status, _ in temporary.redirects] == [307, 308, 301]
    assert temporary.permanent_url is None and temporary.url == httpserver.url_for("/c")


# --- content codings ------------------------------------------------------------------------------------------


def test_accept_encoding_lists_what_can_be_decoded(httpserver, fetcher):
    httpserver.expect_request("/feed").respond_with_data(b"<rss/>")
    fetcher.fetch(httpserver.url_for("/feed"))
    sent = httpserver.log[0][0].headers["Accept-Encoding"]
    assert sent == ACCEPT_ENCODING and sent.startswith("gzip, deflate")
    assert ("br" in sent.split(", ")) == (urllib3.response.brotli is not None)


@pytest.mark.parametrize("encoding", ["gzip, gzip", "deflate, gzip", "x-gzip"])
def test_chained_and_aliased_encodings_are_decoded(httpserver, fetcher, encoding):
    body = b"<rss>chained</rss>"
    for coding in (c.strip() for c in encoding.split(",")):
        body = zlib.compress(body) if coding == "deflate" else gzip.compress(body)
    httpserver.expect_request("/feed").respond_with_data(body, headers={"Content-Encoding": encoding})
    assert fetcher.fetch(httpserver.url_for("/feed")).body == b"<rss>chained</rss>"


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br"])
def test_codings_we_cannot_decode_are_an_error_not_garbage(httpserver, fetcher, monkeypatch, encoding):
    monkeypatch.setattr(body_module, "DECODABLE_ENCODINGS", ("gzip", "deflate"))  # as without brotli
    httpserver.expect_request("/feed").respond_with_data(b"\x8b\x00junk", headers={"Content-Encoding": encoding})
    with pytest.raises(FetchError, match=rf"cannot decode Content-Encoding '{encoding}'$"):
        fetcher.fetch(httpserver.url_for("/feed"))


def test_junk_content_encoding_is_ignored(httpserver, fetcher):
    # Seen in the wild: a charset or "none" in Content-Encoding. urllib3 leaves the body alone; so do we.
    httpserver.expect_request("/feed").respond_with_data(b"<rss/>", headers={"Content-Encoding": "UTF-8"})
    assert fetcher.fetch(httpserver.url_for("/feed")).body == b"<rss/>"


def test_corrupt_gzip_is_a_decode_error(httpserver, fetcher):
    httpserver.expect_request("/feed").respond_with_data(b"not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match=r"could not decode the gzip body$"):
        fetcher.fetch(httpserver.url_for("/feed"))


# --- the deadline watchdog -------------------------------------------------------------------------------------


def test_watchdog_cuts_a_response_head_that_never_ends(raw_server):
    # Each header byte arrives within the read timeout, so only the watchdog can stop http.client's readline.
    def behaviour(conn, stop):
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.02):
            conn.sendall(b"X")

    url = raw_server(behaviour)
    with pytest.raises(FetchError, match=r"deadline of 0\.3s exceeded$"):
        Fetcher(allow_private_networks=True, deadline_seconds=0.3, read_timeout_seconds=30).fetch(url)
