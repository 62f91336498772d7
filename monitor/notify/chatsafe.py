"""Helpers shared by the chat channels (Slack, Discord, Apprise): untrusted text made safe, cut to size, posted.

Story titles, sentences and outlet names come from feeds, so anyone who controls a feed controls that text. In
a chat message it must not ping people (``@everyone``, ``<!channel>``), fake a link or a mention, or change the
formatting around it; and a long field must never get an alert rejected: it is truncated with a visible marker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from monitor.errors import DeliveryError, one_line
from monitor.notify.text import test_mark
from monitor.notify.webhook import post_json

ZWSP = "\u200b"  # zero-width space: splits a trigger such as "@everyone" without visibly changing the text
MARKER = "…"
MAX_LINK = 2000  # longer story links are left out rather than cut: a cut URL points somewhere else

# Per-field budgets applied before any channel formats the alert (clip_payload); the channels' own, stricter
# limits are then enforced on the formatted text.
_CLIP = {"claim": 500, "sentence": 1000, "title": 300, "outlet": 100, "cue": 100, "term": 60}
_MAX_TERMS = 20

_SLACK_MASS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_DISCORD_MASS = re.compile(r"@(everyone|here)\b", re.IGNORECASE)
_DISCORD_TAG = re.compile(r"<(@[!&]?|#)")  # <@user>, <@!user>, <@&role>, <#channel>
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>\[\]#])")  # [ ] kill masked links, # headings and "-#" subtext
_PLAIN_MASS = re.compile(r"@(everyone|here|channel|all|room)\b", re.IGNORECASE)
_PLAIN_TAG = re.compile(r"<([@!#])")


def slack_escape(text: str) -> str:
    """Text for Slack mrkdwn: ``& < >`` as entities (Slack's documented escaping, which disarms ``<!channel>``,
    ``<@U123>``, ``<#C1>`` and ``<url|label>``), and bare ``@channel``/``@here``/``@everyone`` split with U+200B."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SLACK_MASS.sub("@" + ZWSP + r"\1", text)


def discord_escape(text: str) -> str:
    """Text for Discord markdown: mentions (``@everyone``, ``@here``, ``<@id>``, ``<@&id>``, ``<#id>``) split with
    U+200B, and the markdown characters ``\\ * _ ~ ` | > [ ] #`` backslash-escaped so they show as typed."""
    text = _DISCORD_MASS.sub("@" + ZWSP + r"\1", text)
    text = _DISCORD_TAG.sub(lambda m: "<" + m.group(1) + ZWSP, text)
    return _DISCORD_MARKDOWN.sub(r"\\\1", text)


def plain_safe(text: str) -> str:
    """Plain text for services reached through Apprise: mass mentions and ``<@…>``/``<!…>``/``<#…>`` tags split
    with U+200B; Apprise itself escapes for the target format (HTML for Telegram, for instance)."""
    text = _PLAIN_MASS.sub("@" + ZWSP + r"\1", text)
    return _PLAIN_TAG.sub(lambda m: "<" + m.group(1) + ZWSP, text)


def truncate(text: str, limit: int, marker: str = MARKER) -> str:
    """``text`` if it fits in ``limit`` characters, else its start plus ``marker``, ``limit`` characters at most.
    Cuts between code points (never inside one); whitespace before the marker is dropped."""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return text[:max(limit, 0)]
    return text[:limit - len(marker)].rstrip() + marker


def fit(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """``escape(text)`` cut to at most ``limit`` characters. The raw text is truncated before escaping, so the cut
    never splits an entity or escape sequence (``&amp;``, ``\\*``) and the marker stays visible."""
    out = escape(text)
    if len(out) <= limit:
        return out
    # Binary search for the longest raw cut that fits; escaping only ever adds characters, so no cut longer
    # than ``limit`` can fit.
    best, low, high = "", 0, min(len(text), limit)
    while low <= high:
        size = (low + high) // 2
        out = escape(truncate(text, size))
        if len(out) <= limit:
            best, low = out, size + 1
        else:
            high = size - 1
    return best


def clip_payload(payload: dict) -> dict:
    """A copy of an alert payload with its feed-supplied text fields on one line and within sane budgets."""
    def clip(value: object, budget: str) -> str:
        return truncate(one_line(value), _CLIP[budget])

    out = dict(payload)
    claim = dict(payload.get("claim") or {})
    claim["text"] = clip(claim.get("text"), "claim")
    out["claim"] = claim
    for key, budget in (("sentence", "sentence"), ("cue", "cue")):
        if payload.get(key):
            out[key] = clip(payload[key], budget)
    if payload.get("story"):
        story = dict(payload["story"])
        story["title"], story["outlet"] = clip(story.get("title"), "title"), clip(story.get("outlet"), "outlet")
        out["story"] = story
    out["evidence"] = [{**ref, "outlet": clip(ref.get("outlet"), "outlet")} for ref in payload.get("evidence", [])]
    if payload.get("matched_terms"):
        out["matched_terms"] = [clip(t, "term") for t in payload["matched_terms"][:_MAX_TERMS]]
    return out


def alert_headline(payload: dict) -> str:
    """One line naming the claim and what happened, e.g. ``iraq-us-coalition-signing: delayed → CONFIRMED``."""
    if str(payload.get("type", "")).startswith("feed."):  # operator alerts carry their own headline
        return one_line(payload.get("headline", ""))
    claim_id = test_mark(payload) + one_line((payload.get("claim") or {}).get("id", "?"))
    kind = payload.get("type")
    if kind == "claim.state_changed":
        return f"{claim_id}: {payload.get('previous_state')} → {str(payload.get('state', '')).upper()}"
    if kind == "claim.overdue":
        return f"{claim_id}: OVERDUE (expected by {payload.get('expect_by')}, still {payload.get('state')})"
    return f"{claim_id}: new story ({payload.get('verdict', 'pending')})"


def safe_link(url: object) -> str | None:
    """``url`` if it is a plausible http(s) link of sane length (a chat service may reject the whole message for
    a bad one), else None."""
    if not isinstance(url, str) or len(url) > MAX_LINK or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


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
