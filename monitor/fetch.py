"""HTTP GET for feeds: conditional GET, timeouts, an overall deadline, a body-size cap, checked redirects.

Everything that can go wrong is raised as one ``FetchError`` with a one-line message that names the URL
(credentials stripped) and says what happened; ``status`` and ``retry_after`` are set when the server answered.

Network safety lives in ``monitor.netguard``: every connection, including each redirect hop, is checked against
the address policy on the socket actually connected, so DNS rebinding cannot slip past it.
"""

from __future__ import annotations

import http
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from monitor import __version__, netguard
from monitor.errors import FetchError

USER_AGENT = f"news-monitor/{__version__} (+https://github.com/news-monitor/news-monitor)"
MAX_BODY_BYTES = 10 * 1024 * 1024
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)

_CHUNK_BYTES = 64 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful fetch. ``url`` is the final URL after redirects; ``headers`` has lowercased keys.

    On 304 ``body`` is b"" and ``etag`` / ``last_modified`` fall back to the validators that were sent when the
    server did not repeat them, so the caller can store them unconditionally.
    """

    url: str
    status: int
    body: bytes
    headers: Mapping[str, str]
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def redact_url(url: str) -> str:
    """``url`` without ``user:password@``, fit for messages and logs."""
    return _USERINFO.sub(r"\1", url)


class Fetcher:
    """Fetches feed URLs. Safe to share between threads: each thread gets its own ``requests.Session``
    (sessions and their connection pools are not documented as thread-safe).

    Limits per ``fetch``: ``connect_timeout_seconds`` per connection attempt, ``read_timeout_seconds`` per socket
    read, ``deadline_seconds`` for the whole fetch (all hops, connects and reads, measured with ``clock``),
    ``max_body_bytes`` of decoded body, ``max_redirects`` hops. ``address_policy(ip, port)`` returns None to
    allow a connection or a reason to refuse it; by default it is ``netguard.default_policy(allow_private_networks)``.
    """

    def __init__(
        self,
        *,
        allow_private_networks: bool = False,
        connect_timeout_seconds: float = 10,
        read_timeout_seconds: float = 30,
        deadline_seconds: float = 60,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_redirects: int = 5,
        user_agent: str = USER_AGENT,
        clock: Callable[[], float] = time.monotonic,
        address_policy: netguard.AddressPolicy | None = None,
    ) -> None:
        self.connect_timeout_seconds = connect_timeout_seconds
        self.read_timeout_seconds = read_timeout_seconds
        self.deadline_seconds = deadline_seconds
        self.max_body_bytes = max_body_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self._clock = clock
        self._policy = address_policy or netguard.default_policy(allow_private_networks)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[requests.Session] = []
        self._closed = False

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every thread's session. Idempotent; ``fetch`` afterwards raises RuntimeError."""
        with self._lock:
            self._closed = True
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET ``url``, following up to ``max_redirects`` redirects, each hop checked for scheme and address.

        Sends If-None-Match / If-Modified-Since when given (to every hop). Returns on 2xx or 304; raises
        FetchError for anything else.
        """
        if self._closed:
            raise RuntimeError("Fetcher is closed")
        start = self._clock()
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, redirects = url, 0
        while True:
            where = redact_url(url) if current == url else f"{redact_url(url)} (redirected to {redact_url(current)})"
            resp = self._send(current, headers, start, where)
            try:
                status = resp.status_code
                if status in _REDIRECT_STATUSES and resp.headers.get("location"):
                    redirects += 1
                    if redirects > self.max_redirects:
                        raise FetchError(f"{where}: too many redirects ({redirects})")
                    current = _location(resp, current, where)
                    continue
                result_headers = {k.lower(): v for k, v in resp.headers.items()}
                if status == 304:
                    return FetchResult(current, 304, b"", result_headers, result_headers.get("etag", etag),
                                       result_headers.get("last-modified", last_modified))
                if not 200 <= status < 300:
                    raise FetchError(f"{where}: HTTP {status} {_phrase(status, resp.reason)}".rstrip(),
                                     status=status, retry_after=resp.headers.get("retry-after"))
                body = self._read_body(resp, start, where)
                resp.raw.release_conn()  # fully read: the connection can be kept alive for the next poll
                return FetchResult(current, status, body, result_headers, result_headers.get("etag"),
                                   result_headers.get("last-modified"))
            finally:
                resp.close()  # unread bodies (errors, redirects, caps) are discarded with their connection

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = netguard.guarded_session(self._policy)
            session.headers.update({"User-Agent": self.user_agent, "Accept": ACCEPT,
                                    "Accept-Encoding": "gzip, deflate"})
            with self._lock:
                if self._closed:
                    session.close()
                    raise RuntimeError("Fetcher is closed")
                self._sessions.append(session)
            self._local.session = session
        return session

    def _remaining(self, start: float, where: str) -> float:
        """Seconds left before the deadline; raises FetchError once it has passed."""
        left = self.deadline_seconds - (self._clock() - start)
        if left <= 0:
            raise FetchError(f"{where}: deadline of {_secs(self.deadline_seconds)} exceeded")
        return left

    def _timed_out(self, start: float, where: str, what: str) -> FetchError:
        self._remaining(start, where)  # a timeout shortened to fit the deadline is reported as the deadline
        return FetchError(f"{where}: {what}")

    def _send(self, url: str, headers: dict[str, str], start: float, where: str) -> requests.Response:
        """Send one GET (no redirects) and return the streaming response once its headers have arrived."""
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError as exc:
            raise FetchError(f"{where}: invalid URL: {_one_line(exc)}") from exc
        if not scheme:
            raise FetchError(f"{where}: URL has no scheme; expected http:// or https://")
        if scheme not in ("http", "https"):
            raise FetchError(f"{where}: unsupported URL scheme {scheme!r}")
        left = self._remaining(start, where)
        timeout = (min(self.connect_timeout_seconds, left), min(self.read_timeout_seconds, left))
        session = self._session()
        try:
            prepared = session.prepare_request(requests.Request("GET", url, headers=headers))
            # The adapter, not Session.send: with allow_redirects=False, Session.send still reads a redirect's
            # whole body (unbounded, no deadline) to precompute Response.next. We follow redirects ourselves.
            return session.get_adapter(prepared.url).send(prepared, stream=True, timeout=timeout)
        except netguard.AddressRefused as exc:
            raise FetchError(f"{where}: refused: {exc.reason}") from exc
        except requests.ConnectTimeout as exc:
            raise self._timed_out(start, where, f"timed out after {_secs(self.connect_timeout_seconds)} "
                                  "connecting") from exc
        except requests.ReadTimeout as exc:
            raise self._timed_out(start, where, f"timed out after {_secs(self.read_timeout_seconds)} "
                                  "waiting for the response") from exc
        except requests.ConnectionError as exc:
            raise FetchError(f"{where}: connection failed: {_connection_reason(exc, url)}") from exc
        except (requests.RequestException, ValueError) as exc:  # malformed URL and the like
            raise FetchError(f"{where}: invalid request: {_one_line(exc)}") from exc

    def _read_body(self, resp: requests.Response, start: float, where: str) -> bytes:
        """Read the decoded body, enforcing the size cap and the deadline between socket reads."""
        too_big = f"{where}: body exceeds {self.max_body_bytes} bytes"
        declared = resp.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise FetchError(f"{too_big} (Content-Length {declared})")
        raw = resp.raw
        # read1 returns after at most one socket read, so a server dripping bytes cannot hold us inside one call
        # (read(n) would block until n bytes arrive); urllib3 >= 2.6 also inflates at most n bytes per call, so a
        # compression bomb is cut at the cap. Shrinking the socket timeout to the time left cuts a late stall.
        sock = getattr(raw.connection, "sock", None)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                left = self._remaining(start, where)
                if sock is not None:
                    sock.settimeout(min(self.read_timeout_seconds, left))
                chunk = raw.read1(_CHUNK_BYTES, decode_content=True)
                if not chunk:
                    return b"".join(chunks)
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise FetchError(too_big)
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise self._timed_out(start, where, f"timed out after {_secs(self.read_timeout_seconds)} "
                                  "reading the body") from exc
        except urllib3.exceptions.DecodeError as exc:
            encoding = resp.headers.get("content-encoding", "")
            raise FetchError(f"{where}: could not decode the {encoding} body") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # ProtocolError: reset, truncated, bad chunking
            raise FetchError(f"{where}: connection broken while reading the body: {_one_line(exc)}") from exc


def _location(resp: requests.Response, base: str, where: str) -> str:
    """The absolute redirect target."""
    location = resp.headers["location"]
    try:  # servers send UTF-8, which http.client decoded as Latin-1; undo that as requests does
        location = location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    try:
        return urljoin(base, location)
    except ValueError as exc:
        raise FetchError(f"{where}: invalid redirect Location {location!r}") from exc


def _phrase(status: int, reason: str | None) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return _one_line(reason or "")


def _secs(seconds: float) -> str:
    return f"{seconds:g}s"


def _one_line(exc: object, limit: int = 200) -> str:
    if isinstance(exc, BaseException) and len(exc.args) == 2 and isinstance(exc.args[0], str):
        text = f"{exc.args[0].rstrip('.: ')}: {exc.args[1]}"  # urllib3 ProtocolError("Connection broken", cause)
    else:
        text = str(exc)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _connection_reason(exc: requests.ConnectionError, url: str) -> str:
    """A short cause for a failed connection, from the urllib3 exception requests wraps."""
    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", None) or reason  # MaxRetryError.reason holds the real failure
    cause = reason.__cause__ if isinstance(reason, BaseException) else None
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        detail = f" ({cause.strerror})" if isinstance(cause, OSError) and cause.strerror else ""
        return f"cannot resolve host {urlsplit(url).hostname!r}{detail}"
    if isinstance(reason, urllib3.exceptions.NewConnectionError) and isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    return _one_line(reason)
