"""A hostile feed server on loopback, one URL path per attack, for fetch/parse tests and daemon tests.

    with HostileServer() as server:            # or the ``hostile_server`` fixture (import it into a test module)
        fetcher.fetch(server.url("/gzip-bomb"))
        assert server.canary.hits == []         # nothing reached the "internal" service

It is a raw-socket server (``socketserver``), not a framework, so it can misbehave below HTTP: drip bytes, never
finish a chunked body, lie in headers. Every response closes its connection (``Connection: close``), so a client
never reuses a socket the server has walked away from. ``stop()`` (or leaving the ``with`` block) ends every
drip and endless stream at once and joins the server thread.

``finished`` receives (path, completed) as each response ends: completed is False when the client hung up
before the server had sent everything, which is how a test tells "cut by the client" from "waited it out".

``canary`` is a second listener on another loopback port standing for an internal service (a cloud metadata
endpoint, a database admin page): redirects and XML external entities point at it, and it records every
request it receives, so a test can assert that nothing ever reached it.

Paths (``server.cases`` maps each to its behaviour; ``server.log`` records each request's path in order):

    /feed                 a valid RSS 2.0 feed with two stories
    /gzip-bomb            BOMB_BYTES of zeros, gzip, ~1000x smaller on the wire (Content-Length given)
    /gzip-gzip            the valid feed with ``Content-Encoding: gzip, gzip``
    /gzip-gzip-bomb       BOMB_BYTES of zeros gzipped twice (a few hundred bytes on the wire)
    /brotli               the valid feed, ``Content-Encoding: br`` (404 when brotli is not installed)
    /brotli-bomb          BOMB_BYTES of zeros, brotli (404 when brotli is not installed)
    /slow-drip            200 with a 100 kB Content-Length, then one body byte every DRIP_SECONDS
    /slow-headers         the status line and headers one byte every DRIP_SECONDS (~3 s in all), then the feed
    /endless-chunked      a chunked body of 64 kB chunks that never ends (cut by a size cap)
    /endless-trickle      a chunked body of 16-byte chunks every DRIP_SECONDS, never ending (cut by a deadline)
    /redirect-loop        302 → /redirect-loop-b → 307 → /redirect-loop …
    /redirect-to-loopback 302 to the canary's /internal (another port on 127.0.0.1)
    /429                  429 Too Many Requests, Retry-After: 120
    /503-date             503 Service Unavailable, Retry-After: an HTTP date RETRY_AFTER_DATE
    /410                  410 Gone
    /301-chain            301 → /301-chain-b → 308 → /feed
    /302                  302 → /feed
    /301-then-302         301 → /302 → 302 → /feed
    /billion-laughs       RSS whose internal DTD nests entities 10 deep (10^9 "lol"s if expanded)
    /quadratic            RSS with one 20 kB entity referenced 20,000 times
    /xxe-file             RSS with an external entity on file:///etc/passwd
    /xxe-http             RSS with external entity, external DTD and parameter entity on the canary
    /redos                RSS whose <author> triggers feedparser's quadratic e-mail regex (see REDOS_AUTHOR)
    /huge-title           RSS with a 5 MB title
"""

from __future__ import annotations

import gzip
import queue
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from functools import cache

import pytest

try:
    import brotli
except ImportError:  # optional: urllib3 decodes br only with it
    brotli = None

BOMB_BYTES = 32 * 1024 * 1024
DRIP_SECONDS = 0.05
RETRY_AFTER_DATE = "Wed, 21 Oct 2037 07:28:00 GMT"
# feedparser's _sync_author_detail runs `(([a-zA-Z0-9\-]+\.)+)([a-zA-Z]{2,4}|[0-9]{1,3})` over <author> with
# re.search: every start position rescans the dotted run and the TLD never matches, so the cost is quadratic in
# the run's length (kurtmckee/feedparser#562). 16 kB takes ~1 s; this ~80 kB about 25 s.
REDOS_AUTHOR = "a" * 10 + "@" + "a." * 40_000 + "!"

FEED = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Hostile test feed</title>'
        b"<link>http://example.com/</link><description>ok</description>"
        b"<item><guid>h-1</guid><title>First story</title><link>http://example.com/1</link></item>"
        b"<item><guid>h-2</guid><title>Second story</title><link>http://example.com/2</link></item>"
        b"</channel></rss>")


def rss_with(prolog: str, title: str, extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel><title>x</title>'
            f"<item><guid>1</guid><title>{title}</title>{extra}</item></channel></rss>").encode()


_LOLS = "".join([' <!ENTITY lol "lol">'] + [
    f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)])
BILLION_LAUGHS = rss_with(f"<!DOCTYPE rss [{_LOLS}]>", "laughs &lol9;")
QUADRATIC = rss_with('<!DOCTYPE rss [<!ENTITY a "' + "A" * 20_000 + '">]>', "&a;" * 20_000)
XXE_FILE = rss_with('<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "file &xxe; end")
# "&nbsp;" is not XML: the body is not well-formed, so it is read by feedparser, whose regex is the hazard (a
# well-formed feed with this author takes the fast path and parses in milliseconds; tests/test_fastparse.py).
REDOS = rss_with("", "redos &nbsp;", f"<author>{REDOS_AUTHOR}</author>")


@cache
def _zeros(encoding: str) -> bytes:
    zeros = b"\0" * BOMB_BYTES
    if encoding == "gzip":
        return gzip.compress(zeros, compresslevel=9)
    if encoding == "gzip, gzip":
        return gzip.compress(gzip.compress(zeros, compresslevel=9), compresslevel=9)
    return brotli.compress(zeros, quality=5)  # quality 11 takes seconds on 32 MB; ratio is alike


class Canary:
    """A listener that records the first bytes of every connection that sends any, answers 404 and closes.

    A bare connect that sends nothing is not a hit either: netguard judges every address before connecting, and
    judges the connected peer again, so the payload a hit records is what matters, whatever the layer refusing."""

    def __init__(self) -> None:
        self.hits: list[bytes] = []
        self._lock = threading.Lock()
        canary = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(2)
                try:
                    data = self.request.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    return  # connected and closed unsent: not a request
                with canary._lock:
                    canary.hits.append(data)
                try:
                    self.request.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

        self._server = _serve(Handler)
        self.port = self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        _stop(self._server)


class HostileServer:
    """See the module docstring. ``url(path)`` gives a path's URL; ``log`` the request paths received."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.finished: queue.Queue[tuple[str, bool]] = queue.Queue()
        self.stopping = threading.Event()
        self.canary = Canary()
        hostile = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    data = self.request.recv(4096)
                    if not data:
                        return
                    head += data
                path = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else "/"
                with hostile._lock:
                    hostile.log.append(path)
                case = hostile.cases.get(path.split("?")[0], hostile._not_found)
                try:
                    case(self.request)
                except OSError:
                    hostile.finished.put((path, False))  # the client hung up: what most cases are waiting for
                else:
                    hostile.finished.put((path, not hostile.stopping.is_set()))

        self._lock = threading.Lock()
        self.cases: dict[str, Callable[[socket.socket], None]] = self._cases()
        self._server = _serve(Handler)
        self.port = self._server.server_address[1]

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.stopping.set()
        _stop(self._server)
        self.canary.stop()

    # --- building blocks ------------------------------------------------------------------------------------

    def _respond(self, conn: socket.socket, status: str, body: bytes = b"", **headers: str) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _redirect(self, status: str, target: str) -> Callable[[socket.socket], None]:
        return lambda conn: self._respond(conn, status, Location=target)

    def _feed(self, body: bytes, **headers: str) -> Callable[[socket.socket], None]:
        return lambda conn: self._respond(conn, "200 OK", body, Content_Type="application/rss+xml", **headers)

    def _not_found(self, conn: socket.socket) -> None:
        self._respond(conn, "404 Not Found")

    def _respond_rest(self, conn: socket.socket, body: bytes) -> None:
        if not self.stopping.is_set():
            conn.sendall(b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            conn.sendall(data[i:i + 1])
            if self.stopping.wait(DRIP_SECONDS):
                return

    def _chunked(self, conn: socket.socket, chunk: bytes, pause: float) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n")
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        while not self.stopping.wait(pause):
            conn.sendall(frame)

    def _cases(self) -> dict[str, Callable[[socket.socket], None]]:
        xxe_http = rss_with(
            f'<!DOCTYPE rss SYSTEM "{self.canary.url("/dtd")}" [<!ENTITY % p SYSTEM "{self.canary.url("/param")}">'
            f' %p; <!ENTITY xxe SYSTEM "{self.canary.url("/entity")}">]>', "http &xxe; end")
        cases = {
            "/feed": self._feed(FEED),
            "/gzip-bomb": self._feed(_zeros("gzip"), Content_Encoding="gzip"),
            "/gzip-gzip": self._feed(gzip.compress(gzip.compress(FEED)), Content_Encoding="gzip, gzip"),
            "/gzip-gzip-bomb": self._feed(_zeros("gzip, gzip"), Content_Encoding="gzip, gzip"),
            "/slow-drip": lambda conn: (conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n"
                                                     b"Connection: close\r\n\r\n"), self._drip(conn, FEED * 500)),
            "/slow-headers": lambda conn: (self._drip(conn, b"HTTP/1.1 200 OK\r\n" + b"X-Pad: 0\r\n" * 4),
                                           self._respond_rest(conn, FEED)),
            "/endless-chunked": lambda conn: self._chunked(conn, b"<!-- " + b"x" * 65_526 + b" -->", 0),
            "/endless-trickle": lambda conn: self._chunked(conn, b"<!-- padding -->", DRIP_SECONDS),
            "/redirect-loop": self._redirect("302 Found", "/redirect-loop-b"),
            "/redirect-loop-b": self._redirect("307 Temporary Redirect", "/redirect-loop"),
            "/redirect-to-loopback": self._redirect("302 Found", self.canary.url("/internal")),
            "/429": lambda conn: self._respond(conn, "429 Too Many Requests", b"slow down", Retry_After="120"),
            "/503-date": lambda conn: self._respond(conn, "503 Service Unavailable", Retry_After=RETRY_AFTER_DATE),
            "/410": lambda conn: self._respond(conn, "410 Gone", b"this feed is gone"),
            "/301-chain": self._redirect("301 Moved Permanently", "/301-chain-b"),
            "/301-chain-b": self._redirect("308 Permanent Redirect", "/feed"),
            "/302": self._redirect("302 Found", "/feed"),
            "/301-then-302": self._redirect("301 Moved Permanently", "/302"),
            "/billion-laughs": self._feed(BILLION_LAUGHS),
            "/quadratic": self._feed(QUADRATIC),
            "/xxe-file": self._feed(XXE_FILE),
            "/xxe-http": self._feed(xxe_http),
            "/redos": self._feed(REDOS),
            "/huge-title": self._feed(rss_with("", "word " * 1_000_000)),
        }
        if brotli is not None:
            cases["/brotli"] = self._feed(brotli.compress(FEED), Content_Encoding="br")
            cases["/brotli-bomb"] = self._feed(_zeros("br"), Content_Encoding="br")
        return cases


def _serve(handler: type[socketserver.BaseRequestHandler]) -> socketserver.ThreadingTCPServer:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.thread = thread  # type: ignore[attr-defined]
    return server


def _stop(server: socketserver.ThreadingTCPServer) -> None:
    server.shutdown()
    server.server_close()
    server.thread.join()  # type: ignore[attr-defined]


@pytest.fixture
def hostile_server() -> Iterator[HostileServer]:
    """A started HostileServer, stopped at teardown. Use it by importing it into the test module."""
    with HostileServer() as server:
        yield server
