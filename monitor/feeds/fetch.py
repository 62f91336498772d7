"""HTTP GET for feeds: conditional GET, timeouts, an overall deadline, a body-size cap, checked redirects.

Everything that can go wrong is raised as one ``FetchError`` with a one-line message that names the URL
(credentials stripped) and says what happened. When the server answered with a status other than 2xx/304 the
error is a ``FetchStatusError``: ``status``, ``retry_after`` (the raw header) and ``retry_after_seconds``.

Limits hold while streaming (``monitor.feeds.body``): the decoded body is capped (gzip, deflate, brotli if installed, and chains such as
``gzip, gzip``, inflated one read's worth at a time), the fetch has a deadline that a watchdog enforces even
inside a socket read (``net.deadline``), and redirects are counted. A ``FetchResult`` also carries what the
scheduler needs: the redirect hops, the permanent new URL, the stated cache lifetime and a hash of the body.

Network safety lives in ``monitor.net.guard``: every connection, including each redirect hop, is checked against
the address policy on the socket actually connected, so DNS rebinding cannot slip past it.
"""

from __future__ import annotations

import hashlib
import http
import math
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from monitor import __version__

from monitor.net import guard as netguard
from monitor.net.deadline import Deadline, deadline
from monitor.net.urls import redact_url
from monitor.errors import FetchError
from monitor.feeds.body import ACCEPT_ENCODING, exception_line, read_body
from monitor.net.headers import cache_seconds, parse_retry_after

USER_AGENT = f"news-monitor/{__version__} (+https://github.com/news-monitor/news-monitor)"
MAX_BODY_BYTES = 10 * 1024 * 1024
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS = frozenset({301, 308})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful fetch. ``url`` is the final URL after redirects; ``headers`` has lowercased keys.

    On 304 ``body`` is b"" and ``etag`` / ``last_modified`` fall back to the validators that were sent when the
    server did not repeat them, so the caller can store them unconditionally.

    ``redirects``: (status, absolute target) of every hop followed, in order. ``permanent_url``: the final URL when
    there was at least one hop and every hop was 301 or 308, else None (a 302/303/307 anywhere means the old URL
    stays canonical). ``cache_seconds``: the lifetime the response states (Cache-Control max-age, else s-maxage,
    else Expires minus Date), 0 for an invalid or past Expires, None when it states none or says no-cache /
    no-store; not capped here beyond RFC 9111's 2^31. ``content_hash``: sha256 hex of the decoded body, "" on 304.
    """

    url: str
    status: int
    body: bytes
    headers: Mapping[str, str]
    etag: str | None
    last_modified: str | None
    redirects: tuple[tuple[int, str], ...] = ()
    permanent_url: str | None = None
    cache_seconds: float | None = None
    content_hash: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchStatusError(FetchError):
    """The server answered with a status other than 2xx/304 (after redirects). ``retry_after`` is the raw
    ``Retry-After`` header; ``retry_after_seconds`` that header parsed (delta-seconds, or an HTTP date relative to
    the fetch's ``now``), None when absent, unparseable or not finite; never negative, not capped here."""

    def __init__(self, message: str, *, status: int, retry_after: str | None,
                 retry_after_seconds: float | None) -> None:
        super().__init__(message, status=status, retry_after=retry_after)
        self.retry_after_seconds = retry_after_seconds


@dataclass(slots=True)
class _Attempt:
    """Per-fetch bookkeeping: when it started, its deadline watchdog, and the redirect hops so far."""

    start: float
    watch: Deadline
    hops: list[tuple[int, str]] = field(default_factory=list)


class Fetcher:
    """Fetches feed URLs. Safe to share between threads: each thread gets its own ``requests.Session``
    (sessions and their connection pools are not documented as thread-safe).

    Limits per ``fetch``: ``connect_timeout_seconds`` per connection attempt, ``read_timeout_seconds`` per socket
    read, ``deadline_seconds`` for the whole fetch (all hops, connects and reads; checked with ``clock`` between
    reads, and enforced on real time by a watchdog that shuts the socket down mid-read), ``max_body_bytes`` of
    decoded body, ``max_redirects`` hops. ``address_policy(ip, port)`` returns None to allow a connection or a
    reason to refuse it; by default it is ``netguard.default_policy(allow_private_networks)``.
    """

    def __init__(self, *, allow_private_networks: bool = False, connect_timeout_seconds: float = 10,
                 read_timeout_seconds: float = 30, deadline_seconds: float = 60, max_body_bytes: int = MAX_BODY_BYTES,
                 max_redirects: int = 5, user_agent: str = USER_AGENT, clock: Callable[[], float] = time.monotonic,
                 address_policy: netguard.AddressPolicy | None = None, accept: str = ACCEPT) -> None:
        self.connect_timeout_seconds = connect_timeout_seconds
        self.read_timeout_seconds = read_timeout_seconds
        self.deadline_seconds = deadline_seconds
        self.max_body_bytes = max_body_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self.accept = accept  # the Accept header: feed types by default (article pages ask for HTML)
        self._clock = clock
        self._policy = address_policy or netguard.default_policy(allow_private_networks)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[requests.Session] = []
        self._in_flight: set[Deadline] = set()
        self._closed = False

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Abandon the fetches in flight (their sockets are shut down, so each raises ``FetchError`` at once
        instead of waiting out its timeouts) and close every thread's session. Idempotent; ``fetch`` afterwards
        raises RuntimeError."""
        with self._lock:
            self._closed = True
            sessions, self._sessions = self._sessions, []
            in_flight = list(self._in_flight)
        for watch in in_flight:
            watch.fire()
        for session in sessions:
            session.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              now: datetime | None = None) -> FetchResult:
        """GET ``url``, following up to ``max_redirects`` redirects, each hop checked for scheme and address.

        Sends If-None-Match / If-Modified-Since when given (to every hop). Returns on 2xx or 304; raises
        FetchStatusError for any other status and FetchError for everything else. ``now`` (default: the current
        UTC time) is the moment HTTP dates in Retry-After and Expires are measured from.
        """
        with deadline(self.deadline_seconds) as watch:
            with self._lock:
                if self._closed:
                    raise RuntimeError("Fetcher is closed")
                self._in_flight.add(watch)
            try:
                return self._fetch(url, etag, last_modified, now, _Attempt(self._clock(), watch))
            finally:
                with self._lock:
                    self._in_flight.discard(watch)

    def _fetch(self, url: str, etag: str | None, last_modified: str | None, now: datetime | None,
               attempt: _Attempt) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        while True:
            where = redact_url(url) if current == url else f"{redact_url(url)} (redirected to {redact_url(current)})"
            resp = self._send(current, headers, attempt, where)
            try:
                status = resp.status_code
                if status in _REDIRECT_STATUSES and resp.headers.get("location"):
                    if len(attempt.hops) >= self.max_redirects:
                        raise FetchError(f"{where}: too many redirects ({len(attempt.hops) + 1})")
                    current = _location(resp, current, where)
                    attempt.hops.append((status, current))
                    continue
                result_headers = {k.lower(): v for k, v in resp.headers.items()}
                moment = now or datetime.now(timezone.utc)
                if not (200 <= status < 300 or status == 304):
                    raise _status_error(resp, where, moment)
                fresh = status != 304
                body = read_body(resp, where, max_bytes=self.max_body_bytes, read_timeout_seconds=self.read_timeout_seconds,
                                 time_left=lambda: self._remaining(attempt, where),
                                 failed=lambda what, timed_out=False: self._failed(attempt, where, what,
                                                                                 timed_out=timed_out)) if fresh else b""
                if fresh:
                    resp.raw.release_conn()  # fully read: the connection can be kept alive for the next poll
                hops = tuple(attempt.hops)
                return FetchResult(
                    current, status, body, result_headers,
                    result_headers.get("etag", None if fresh else etag),
                    result_headers.get("last-modified", None if fresh else last_modified), redirects=hops,
                    permanent_url=current if hops and all(s in _PERMANENT_REDIRECTS for s, _ in hops) else None,
                    cache_seconds=cache_seconds(result_headers, moment),
                    content_hash=hashlib.sha256(body).hexdigest() if fresh else "")
            finally:
                resp.close()  # unread bodies (errors, redirects, caps) are discarded with their connection

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = netguard.guarded_session(self._policy)
            session.headers.update({"User-Agent": self.user_agent, "Accept": self.accept,
                                    "Accept-Encoding": ACCEPT_ENCODING})
            with self._lock:
                if self._closed:
                    session.close()
                    raise RuntimeError("Fetcher is closed")
                self._sessions.append(session)
            self._local.session = session
        return session

    def _remaining(self, attempt: _Attempt, where: str) -> float:
        """Seconds left before the deadline; raises FetchError once it has passed (by the clock or watchdog)."""
        if self._closed:
            raise FetchError(f"{where}: abandoned: the fetcher was closed")
        left = self.deadline_seconds - (self._clock() - attempt.start)
        if left <= 0 or attempt.watch.fired:
            raise FetchError(f"{where}: deadline of {_secs(self.deadline_seconds)} exceeded", timed_out=True)
        return left

    def _failed(self, attempt: _Attempt, where: str, what: str, *, timed_out: bool = False) -> FetchError:
        # A read cut by the watchdog, or a timeout shortened to fit the deadline, is reported as the deadline.
        self._remaining(attempt, where)
        return FetchError(f"{where}: {what}", timed_out=timed_out)

    def _send(self, url: str, headers: dict[str, str], attempt: _Attempt, where: str) -> requests.Response:
        """Send one GET (no redirects) and return the streaming response once its headers have arrived."""
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError as exc:
            raise FetchError(f"{where}: invalid URL: {exception_line(exc)}") from exc
        if not scheme:
            raise FetchError(f"{where}: URL has no scheme; expected http:// or https://")
        if scheme not in ("http", "https"):
            raise FetchError(f"{where}: unsupported URL scheme {scheme!r}")
        left = self._remaining(attempt, where)
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
            raise self._failed(attempt, where, f"timed out after {_secs(self.connect_timeout_seconds)} "
                               "connecting", timed_out=True) from exc
        except requests.ReadTimeout as exc:
            raise self._failed(attempt, where, f"timed out after {_secs(self.read_timeout_seconds)} "
                               "waiting for the response", timed_out=True) from exc
        except requests.ConnectionError as exc:
            raise self._failed(attempt, where, f"connection failed: {connection_failure(exc, url)}") from exc
        except (requests.RequestException, ValueError) as exc:  # malformed URL and the like
            # requests quotes the URL in these messages (InvalidURL "Invalid URL '…': No host supplied").
            text = exception_line(str(exc).replace(url, redact_url(url)))
            raise self._failed(attempt, where, f"invalid request: {text}") from exc

def _status_error(resp: requests.Response, where: str, now: datetime) -> FetchStatusError:
    retry_after = resp.headers.get("retry-after")
    seconds = parse_retry_after(retry_after, now)
    return FetchStatusError(f"{where}: HTTP {resp.status_code} {_phrase(resp.status_code, resp.reason)}".rstrip(),
                            status=resp.status_code, retry_after=retry_after,
                            retry_after_seconds=seconds if seconds is not None and math.isfinite(seconds) else None)


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
        raise FetchError(f"{where}: invalid redirect Location {redact_url(location)!r}") from exc


def _phrase(status: int, reason: str | None) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return exception_line(reason or "")


def _secs(seconds: float) -> str:
    return f"{seconds:g}s"


def connection_failure(exc: requests.ConnectionError, url: str) -> str:
    """What went wrong with a connection, in a few words and without the URL's path or query: ``connection
    refused``, ``DNS lookup failed for host 'x' (…)``, ``TLS certificate verify failed: self-signed
    certificate``, ``TLS handshake failed: …``, or the cause urllib3 gives. Feeds and alert channels both say it."""
    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", None) or reason  # MaxRetryError.reason holds the real failure
    cause = reason.__cause__ if isinstance(reason, BaseException) else None
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        detail = f" ({cause.strerror})" if isinstance(cause, OSError) and cause.strerror else ""
        return f"DNS lookup failed for host {_host(url)!r}{detail}"
    if isinstance(reason, urllib3.exceptions.NewConnectionError) and isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    if isinstance(reason, urllib3.exceptions.SSLError) or isinstance(exc, requests.exceptions.SSLError):
        tls = next((a for a in getattr(reason, "args", ()) if isinstance(a, ssl.SSLError)), reason.__context__)
        if isinstance(tls, ssl.SSLCertVerificationError):
            return f"TLS certificate verify failed: {tls.verify_message or tls.reason}"
        if isinstance(tls, ssl.SSLError):
            return f"TLS handshake failed: {tls.reason or exception_line(tls)}"
        return f"TLS failed: {exception_line(reason)}"
    return exception_line(reason)


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None
