"""The ``apprise`` channel: any service Apprise supports (Telegram, Teams, Matrix, ntfy, Gotify, email …) by URL.

Apprise makes its own connections (its own ``requests`` calls, smtplib …), so the netguard check on the
connected socket cannot be applied. Instead, before each send, the host the service will connect to is resolved
here and every address it resolves to must pass ``default_policy`` (unless ``allow_private_networks``); Apprise's
redirect following is switched off so a public endpoint cannot bounce the request inward. Residual gaps, stated
honestly: Apprise resolves the name again when it connects, so a DNS-rebinding name (public when checked, private
when used) gets through; proxies from the environment (``HTTPS_PROXY``) are honoured by Apprise; services whose
endpoint is not in the URL (Bluesky's handle resolution) are not checked. Only the host is checked for services
whose URL names it (``json://``, ``ntfy://host``, ``matrix://``, ``mailto://`` with its SMTP server …); vendor
APIs at fixed public addresses (``tgram://``, ``discord://`` …) carry tokens, not hosts, in that place.
"""

from __future__ import annotations

import logging
import re
import socket
import textwrap
import threading
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from monitor.errors import DeliveryError
from monitor.net.guard import default_policy
from monitor.notify.render import alert_headline, clip_payload, fit, format_alert_text, plain_safe, truncate

# A service may need several requests (Matrix logs in, then sends), so the whole call gets a few read timeouts.
DEADLINE_FACTOR = 3.0
_URLISH = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


class _RedactApprise(logging.Filter):
    """Apprise logs service URLs (with their tokens) on some errors and, at DEBUG, request URLs, payloads and
    socket errors quoting the request path. On the ``apprise`` logger: drop records below WARNING, replace
    anything URL-shaped and every long piece of a configured Apprise URL, and drop tracebacks."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.secrets: tuple[str, ...] = ()

    def add_url(self, url: str) -> None:
        """Remember the pieces of ``url`` worth hiding: all but its scheme and host name (a host, or an id that
        is not the secret part: Telegram's bot id, Discord's webhook id), so hosts stay readable in messages."""
        try:
            keep = (urlsplit(url).hostname or "").lower()
        except ValueError:
            keep = ""
        pieces = re.split(r"[/:@?&=#,;+]", url.partition("://")[2])
        found = {p for piece in pieces for p in (piece, unquote(piece)) if len(p) >= 6 and p.lower() != keep}
        with self._lock:  # readers use the tuple without locking; it is replaced, never mutated
            self.secrets = tuple(sorted(set(self.secrets) | found, key=len, reverse=True))

    def redact(self, text: str) -> str:
        text = _URLISH.sub("<url>", text)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        record.msg, record.args = self.redact(record.getMessage()), None
        record.exc_info, record.exc_text = None, None
        return True


_REDACT = _RedactApprise()
logging.getLogger("apprise").addFilter(_REDACT)


def is_apprise_url(url: str) -> bool:
    """Whether Apprise can load ``url``; makes no request, so config validation can call it."""
    return apprise.Apprise.instantiate(url) is not None


class AppriseNotifier:
    """Sends each alert as a plain-text title and body through one Apprise URL.

    Apprise reports only success or failure per service, not an HTTP status, so every failure is a
    ``DeliveryError`` with ``status`` None (transient), carrying Apprise's last warning, redacted; a call past
    its deadline is also ``maybe_delivered`` (Apprise stops waiting, the request may still complete). An URL
    Apprise cannot load and a refused address are permanent. Timeouts: ``cto``/``rto`` (connect/read) are set
    from ``timeout_seconds`` unless the URL sets them, and the whole call is bounded by
    ``DEADLINE_FACTOR × timeout_seconds``.
    """

    def __init__(self, url: str, *, timeout_seconds: float, allow_private_networks: bool) -> None:
        self._policy = None if allow_private_networks else default_policy(False)
        asset = apprise.AppriseAsset(http_redirects=False, service_timeout=DEADLINE_FACTOR * timeout_seconds,
                                     storage_mode=apprise.PersistentStoreMode.MEMORY)
        self._apprise = apprise.Apprise(asset=asset)
        _REDACT.add_url(url)  # before add(): Apprise logs parts of an URL it cannot load
        self._service = self._apprise[0] if self._apprise.add(url) else None
        if self._service is None:
            return
        self._service.redirects = False  # a redirect would lead to an address never checked (even if ?redirect=yes)
        try:
            given = {k.lower() for k, _ in parse_qsl(urlsplit(url).query)}
        except ValueError:
            given = set()
        if "cto" not in given:
            self._service.socket_connect_timeout = min(10.0, timeout_seconds)
        if "rto" not in given:
            self._service.socket_read_timeout = timeout_seconds

    def send(self, alert_id: str, payload: dict) -> None:
        if self._service is None:
            raise DeliveryError("apprise: not a valid Apprise URL", transient=False)
        name = f"apprise ({self._service.service_name})"
        self._check_address(name)
        title, body = self._texts(alert_id, payload)
        result = self._apprise.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
        if result:
            return
        if getattr(result, "status", None) == apprise.AppriseResultStatus.TIMEOUT:
            raise DeliveryError(f"{name} did not finish in time", maybe_delivered=True)
        # No status code: Apprise says only that the service failed; its last warning says why.
        warnings = [e.message for e in getattr(result, "logs", lambda: [])() if e.level in ("WARNING", "ERROR")]
        detail = f": {truncate(_REDACT.redact(' '.join(warnings[-1].split())), 200)}" if warnings else ""
        raise DeliveryError(f"{name} delivery failed{detail}")

    def _check_address(self, name: str) -> None:
        host = _network_host(self._service)
        if self._policy is None or host is None:
            return
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:
            detail = getattr(exc, "strerror", None) or exc
            raise DeliveryError(f"{name} connection failed: DNS lookup failed for host {host!r} ({detail})") from exc
        for info in infos:
            reason = self._policy(str(info[4][0]), 0)
            if reason is not None:
                raise DeliveryError(f"{name} refused: {reason}", transient=False)

    def _texts(self, alert_id: str, payload: dict) -> tuple[str, str]:
        """Title and body within the service's limits; the alert id always survives at the end of the body."""
        p = clip_payload(payload)
        service = self._service
        title = fit(alert_headline(p), service.title_maxlen, plain_safe) if service.title_maxlen > 0 \
            else plain_safe(alert_headline(p))
        lines = format_alert_text(p).split("\n")
        if lines and lines[0].startswith("[news-monitor]"):
            lines = lines[1:]  # the title says it already
        main = textwrap.dedent("\n".join(line for line in lines if not line.strip().startswith("alert:")))
        tail = f"\nalert:    {alert_id}"
        # A service without a title field gets "title\r\nbody" from Apprise; some count the title in the body.
        merged = service.title_maxlen <= 0 or getattr(service, "overflow_amalgamate_title", False)
        room = service.body_maxlen - len(tail) - (len(title) + 2 if merged else 0)
        return title, fit(main, max(room, 0), plain_safe) + tail


def _network_host(service: object) -> str | None:
    """The host the service connects to when its URL names one (plugins declaring a ``host`` token; the SMTP
    server for email); None for vendor APIs whose URL carries ids and tokens in the host position."""
    if "host" not in getattr(service, "template_tokens", {}):
        return None
    host = getattr(service, "smtp_host", None) or getattr(service, "host", None)
    return str(host).strip("[]") if host else None  # json://[::1]:8080 gives "[::1]"
