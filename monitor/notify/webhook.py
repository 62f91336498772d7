"""The ``webhook`` channel: POST the alert as JSON; only a 2xx answer counts as delivered."""

from __future__ import annotations

import json

import requests

from .. import __version__
from ..errors import DeliveryError
from ..netguard import AddressRefused, default_policy, guarded_session


class WebhookNotifier:
    """Posts alert payloads to one URL. Redirects are not followed: a 3xx is a failure to fix in the config."""

    def __init__(self, url: str, *, timeout_seconds: float, allow_private_networks: bool) -> None:
        self._url = url
        self._timeout = (min(10.0, timeout_seconds), timeout_seconds)
        # Same address policy as feeds: a webhook URL must not reach loopback, the LAN or cloud metadata
        # unless allow_private_networks is set.
        self._session = guarded_session(default_policy(allow_private_networks))
        self._session.headers.update({"User-Agent": f"news-monitor/{__version__}",
                                      "Content-Type": "application/json"})

    def send(self, alert_id: str, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        try:
            response = self._session.post(self._url, data=body, timeout=self._timeout, allow_redirects=False,
                                          headers={"Idempotency-Key": alert_id})
        except AddressRefused as exc:
            raise DeliveryError(f"webhook refused: {exc.reason}") from exc
        except requests.Timeout as exc:
            raise DeliveryError(f"webhook timed out after {self._timeout[1]:g}s") from exc
        except requests.RequestException as exc:
            # The exception text can echo the URL, which holds the secret: report only its kind.
            raise DeliveryError(f"webhook request failed: {type(exc).__name__}") from exc
        with response:
            if not 200 <= response.status_code < 300:
                raise DeliveryError(f"webhook answered HTTP {response.status_code} {response.reason or ''}".strip(),
                                    status=response.status_code)
