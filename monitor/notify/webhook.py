"""The ``webhook`` channel: POST the alert as JSON, signed per the Standard Webhooks spec; only a 2xx counts.

Headers (https://www.standardwebhooks.com): ``webhook-id`` — the alert id, identical on every retry, so a
receiver can drop duplicates; ``webhook-timestamp`` — Unix seconds of this attempt; ``webhook-signature`` —
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` for each configured ``whsec_…`` secret, space-separated, so a
receiver can rotate its secret without missing an alert (configure the new and the old secret side by side).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

import requests

from monitor import __version__
from monitor.errors import DeliveryError
from monitor.feeds.fetch import connection_failure
from monitor.net.guard import AddressRefused, default_policy, guarded_session
from monitor.net.headers import parse_retry_after


def sign(secret: str, alert_id: str, timestamp: int, body: bytes) -> str:
    """One Standard Webhooks signature (``v1,…``) of ``body`` with a ``whsec_`` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{alert_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookNotifier:
    """Posts alert payloads to one URL. Redirects are not followed: a 3xx is a failure to fix in the config."""

    def __init__(self, url: str, *, timeout_seconds: float, allow_private_networks: bool,
                 secrets: Sequence[str] = (), clock: Callable[[], float] = time.time) -> None:
        self._url = url
        self._timeout = (min(10.0, timeout_seconds), timeout_seconds)
        self._secrets = tuple(secrets)
        self._clock = clock
        # Same address policy as feeds: a webhook URL must not reach loopback, the LAN or cloud metadata
        # unless allow_private_networks is set.
        self._session = guarded_session(default_policy(allow_private_networks))
        self._session.headers.update({"User-Agent": f"news-monitor/{__version__}"})

    def send(self, alert_id: str, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        timestamp = int(self._clock())
        headers = {"Content-Type": "application/json", "webhook-id": alert_id,
                   "webhook-timestamp": str(timestamp)}
        if self._secrets:
            headers["webhook-signature"] = " ".join(sign(s, alert_id, timestamp, body) for s in self._secrets)
        post_json(self._session, self._url, body, headers, self._timeout, what="webhook")


def post_json(session: requests.Session, url: str, body: bytes, headers: dict, timeout: tuple[float, float], *,
              what: str) -> requests.Response:
    """POST ``body``; return the response when it is a 2xx, else raise ``DeliveryError`` saying why.

    Messages never include the URL's path or query (they usually carry the secret; a DNS failure names the
    host); a connection failure is described as a feed's is (``fetch.connection_failure``). A read timeout means the request was sent
    and may have been acted on, so the error says ``maybe_delivered``: the retry carries the same alert id.
    """
    try:
        response = session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except AddressRefused as exc:
        raise DeliveryError(f"{what} refused: {exc.reason}", transient=False) from exc
    except requests.ReadTimeout as exc:
        raise DeliveryError(f"{what} timed out after {timeout[1]:g}s waiting for an answer",
                            maybe_delivered=True) from exc
    except requests.Timeout as exc:
        raise DeliveryError(f"{what} timed out after {timeout[0]:g}s connecting") from exc
    except requests.ConnectionError as exc:  # refused, DNS, TLS, reset: worded as feed errors are
        raise DeliveryError(f"{what} connection failed: {connection_failure(exc, url)}") from exc
    except requests.RequestException as exc:  # an invalid URL and the like; its text may quote the URL
        raise DeliveryError(f"{what} request failed: {type(exc).__name__}") from exc
    with response:
        if 200 <= response.status_code < 300:
            return response
        retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(timezone.utc))
        reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
        if 300 <= response.status_code < 400:
            reason += " (redirects are not followed: put the final URL in the config)"
        raise DeliveryError(f"{what} answered {reason}", status=response.status_code, retry_after=retry_after)
