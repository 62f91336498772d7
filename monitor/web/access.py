"""Who may read the status pages: anyone on a loopback address; elsewhere, a client that presents the token.

``/healthz`` and ``/metrics`` are not decided here: they stay open, as container and scraper probes expect. The
token is compared in constant time, and a page never shows it.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from urllib.parse import parse_qs


def is_loopback_host(host: str) -> bool:
    """Whether a ``listen`` host binds loopback only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def presented_token(headers: Mapping[str, str], query: str) -> str | None:
    """The token a request carries: ``Authorization: Bearer …``, else ``?token=…``."""
    authorization = headers.get("Authorization") or ""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    values = parse_qs(query).get("token")
    return values[0] if values else None


def refusal(listen_host: str, token: str | None, headers: Mapping[str, str], query: str) -> tuple[int, str] | None:
    """None when the request may read the pages; else (HTTP status, why) with nothing secret in it."""
    if is_loopback_host(listen_host):
        return None
    if not token:
        return 403, ("the status pages are served off loopback only with a token: set [monitor] status_token_env "
                     "to the name of an environment variable holding one")
    given = presented_token(headers, query)
    if given is None:
        return 401, "a token is needed: send Authorization: Bearer <token> or add ?token=<token>"
    if not hmac.compare_digest(given.encode(), token.encode()):
        return 401, "the token is not the one configured"
    return None
