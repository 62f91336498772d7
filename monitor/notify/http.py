"""HTTP for the channels that POST JSON (webhook, Slack, Discord): their session, and one POST whose failures
become ``DeliveryError`` worded without the URL's secret parts."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone

import requests

from monitor import __version__
from monitor.errors import DeliveryError, one_line
from monitor.feeds.fetch import connection_failure
from monitor.net.deadline import deadline
from monitor.net.guard import AddressRefused, default_policy, guarded_session
from monitor.notify.render import truncate
from monitor.net.headers import parse_retry_after


def notifier_session(allow_private_networks: bool) -> requests.Session:
    """A session under the same address policy as feeds (a channel URL must not reach loopback, the LAN or cloud
    metadata unless ``allow_private_networks``), sending news-monitor's User-Agent."""
    session = guarded_session(default_policy(allow_private_networks))
    session.headers.update({"User-Agent": f"news-monitor/{__version__}"})
    return session


# The whole send may take this much longer than one read may wait, so that a peer that says nothing at all is
# reported as the read timeout it is, and the deadline cuts only a peer that keeps talking too slowly.
DEADLINE_GRACE_SECONDS = 1.0


def timeouts(timeout_seconds: float) -> tuple[float, float]:
    """(connect, read) timeouts for a channel's ``timeout_seconds``: connecting never waits more than 10 s.
    The whole send has a deadline too: ``send_deadline``."""
    return (min(10.0, timeout_seconds), timeout_seconds)


def send_deadline(timeout_seconds: float) -> float:
    """Seconds one whole send may take for a channel's ``timeout_seconds``."""
    return timeout_seconds + DEADLINE_GRACE_SECONDS


def post_json(session: requests.Session, url: str, body: bytes, headers: dict, timeout: tuple[float, float], *,
              what: str) -> requests.Response:
    """POST ``body``; return the response when it is a 2xx, else raise ``DeliveryError`` saying why.

    The whole send — connecting, TLS, the request and the complete answer — has a deadline
    (``send_deadline`` of the channel's ``timeout_seconds``, ``timeout[1]``), enforced by shutting its socket down (``net.deadline``): the
    per-read timeout alone would let an endpoint that answers one byte at a time hold a send, and with it the
    channel, indefinitely. A send cut by its deadline may have been acted on, so it is ``maybe_delivered``.

    Messages never include the URL's path or query (they usually carry the secret; a DNS failure names the
    host); a connection failure is described as a feed's is (``fetch.connection_failure``). A read timeout means the request was sent
    and may have been acted on, so the error says ``maybe_delivered``: the retry carries the same alert id.
    """
    try:
        limit = send_deadline(timeout[1])
        with deadline(limit) as watch:
            try:
                response = session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
            except requests.RequestException:
                if not watch.fired:
                    raise
            # A cut answer may still parse as a response (headers ended by the shutdown's EOF): not a real one.
            if watch.fired:
                raise DeliveryError(f"{what} cut at its deadline of {limit:g}s: the answer did not arrive in time",
                                    maybe_delivered=True)
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


class _KeepResponse:
    """Lets ``post_json`` own the POST and its error mapping while the caller keeps the response to read the
    service's error body (requests has already read it when ``post`` returns)."""

    def __init__(self, session: requests.Session) -> None:
        self.session = session
        self.response: requests.Response | None = None

    def post(self, *args, **kwargs) -> requests.Response:  # type: ignore[no-untyped-def]
        self.response = self.session.post(*args, **kwargs)
        return self.response


def post_chat_json(session: requests.Session, url: str, message: dict, timeout: tuple[float, float], *, what: str,
                   retry_after: Callable[[requests.Response], float | None] | None = None) -> None:
    """POST ``message`` as JSON like the webhook channel (2xx or ``DeliveryError``; no redirects; the URL never in a
    message), adding the service's own short error text (``invalid_blocks``, ``Invalid Form Body (50035)``) and
    letting ``retry_after(response)`` supply a delay the service gives in its body."""
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    keep = _KeepResponse(session)
    try:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        post_json(keep, url, body, headers, timeout, what=what)  # type: ignore[arg-type]
    except DeliveryError as exc:
        response = keep.response
        if response is None or exc.status is None:
            raise
        detail = error_detail(response)
        delay = retry_after(response) if retry_after else None
        raise DeliveryError(f"{exc}: {detail}" if detail else str(exc), status=exc.status,
                            retry_after=exc.retry_after if delay is None else delay,
                            transient=exc.transient, maybe_delivered=exc.maybe_delivered) from exc


def error_detail(response: requests.Response) -> str:
    """The service's short explanation from a JSON ``message``/``error`` (with ``code``) or a plain-text body;
    HTML error pages and anything else give ""."""
    kind = response.headers.get("Content-Type", "")
    try:
        if "json" in kind:
            data = response.json()
            if not isinstance(data, dict):
                return ""
            text = str(data.get("message") or data.get("error") or "")
            if text and data.get("code") is not None:
                text += f" ({data['code']})"
        elif kind.startswith("text/plain"):
            text = response.text
        else:
            return ""
    except ValueError:
        return ""
    return truncate(one_line(text), 160)
