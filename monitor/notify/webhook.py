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

from monitor.notify.http import notifier_session, post_json, timeouts


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
        self._timeout = timeouts(timeout_seconds)
        self._secrets = tuple(secrets)
        self._clock = clock
        self._session = notifier_session(allow_private_networks)

    def send(self, alert_id: str, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        timestamp = int(self._clock())
        headers = {"Content-Type": "application/json", "webhook-id": alert_id,
                   "webhook-timestamp": str(timestamp)}
        if self._secrets:
            headers["webhook-signature"] = " ".join(sign(s, alert_id, timestamp, body) for s in self._secrets)
        post_json(self._session, self._url, body, headers, self._timeout, what="webhook")
