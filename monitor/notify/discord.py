"""The ``discord`` channel: a Discord webhook, one message with one embed per alert.

Message shape (https://discord.com/developers/docs/resources/webhook#execute-webhook):
``{"content": headline, "embeds": [{"title": story headline, "url": story link, "description": claim and the
deciding sentence, "color": by state, "fields": [reported by, state, verdict, relevance, matched terms],
"footer": {"text": "alert <id>"}, "timestamp": created_at}], "allowed_mentions": {"parse": []}}``.
``allowed_mentions`` with an empty ``parse`` list means nothing in the message can ping anyone, whatever the
escaping missed.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from monitor.errors import one_line
from monitor.notify.http import notifier_session, post_chat_json, timeouts
from monitor.notify.render import (alert_headline, clip_payload, discord_escape, fit, format_alert_text, outlets_line,
                                   safe_link)

# Limits from https://discord.com/developers/docs/resources/message#embed-object-embed-limits
CONTENT_MAX = 2000  # message content
TITLE_MAX = 256  # embed title
DESCRIPTION_MAX = 4096  # embed description
FIELDS_MAX = 25  # fields per embed
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000  # title + description + field names and values + footer text + author name

COLORS = {"confirmed": 0x2ECC71, "delayed": 0xF39C12, "rejected": 0xE74C3C, "pending": 0x95A5A6}
OVERDUE_COLOR = 0xE67E22


class DiscordNotifier:
    """Posts one embed per alert to ``<webhook>?wait=true``; 200 (message returned) and 204 both count.

    Failures raise ``DeliveryError``: a 429 takes ``retry_after`` from Discord's JSON body (seconds, fractional),
    else from the ``Retry-After`` header, whether the limit is ``global`` or not; 3xx is not followed; a read
    timeout is ``maybe_delivered``; messages never contain the URL (it holds the webhook token).
    """

    def __init__(self, url: str, *, timeout_seconds: float, allow_private_networks: bool) -> None:
        self._url = _with_wait(url)
        self._timeout = timeouts(timeout_seconds)
        self._session = notifier_session(allow_private_networks)

    def send(self, alert_id: str, payload: dict) -> None:
        post_chat_json(self._session, self._url, discord_message(alert_id, payload), self._timeout,
                       what="discord", retry_after=_body_retry_after)


def discord_message(alert_id: str, payload: dict) -> dict:
    """The webhook body for one alert payload (any of the three types, or a digest of them); every text within
    Discord's limits."""
    if payload.get("type") == "digest":
        heading = f"news-monitor: {len(payload.get('alerts', []))} alerts"
        embed = {"title": heading, "description": fit(format_alert_text(payload), DESCRIPTION_MAX, discord_escape),
                 "footer": {"text": f"digest {one_line(alert_id)}"}}
        return {"content": heading, "embeds": [embed], "allowed_mentions": {"parse": []}}
    p = clip_payload(payload)
    story = p.get("story") or {}
    headline = alert_headline(p)
    embed: dict = {"title": fit(story.get("title") or headline, TITLE_MAX, discord_escape),
                   "color": _color(p),
                   "footer": {"text": fit(f"alert {one_line(alert_id)}", FOOTER_MAX, lambda s: s)}}
    if link := safe_link(story.get("link")):
        embed["url"] = link
    if stamp := _timestamp(p.get("created_at")):
        embed["timestamp"] = stamp
    fields = _fields(p)
    # The description gets what the total allows once the other parts are counted; 1000 is far more than
    # they can take after clip_payload, so the claim and sentence are never squeezed out.
    used = len(embed["title"]) + len(embed["footer"]["text"]) + sum(len(f["name"]) + len(f["value"]) for f in fields)
    embed["description"] = _description(p, min(DESCRIPTION_MAX, EMBED_TOTAL_MAX - used))
    if fields:
        embed["fields"] = fields[:FIELDS_MAX]
    return {"content": fit(headline, CONTENT_MAX, discord_escape), "embeds": [embed],
            "allowed_mentions": {"parse": []}}


def _description(p: dict, limit: int) -> str:
    claim = "**Claim:** " + fit(p["claim"]["text"], 1000, discord_escape)
    if not p.get("sentence"):
        return fit(claim, limit, lambda s: s)
    cue = f" (cue: *{discord_escape(p['cue'])}*)" if p.get("cue") else ""
    room = max(limit - len(claim) - len(cue) - 4, 0)  # "\n> “" … "”"
    return f"{claim}\n> “{fit(p['sentence'], room, discord_escape)}”{cue}"[:limit]


def _fields(p: dict) -> list[dict]:
    def field(name: str, value: str, inline: bool) -> dict:
        return {"name": name[:FIELD_NAME_MAX], "value": fit(value, FIELD_VALUE_MAX, discord_escape), "inline": inline}

    fields = []
    if p.get("story"):
        fields.append(field("Reported by", outlets_line(p), False))
    if p.get("type") == "claim.state_changed":
        fields.append(field("State", f"{p.get('previous_state')} → {str(p.get('state', '')).upper()}", True))
    elif p.get("type") == "claim.overdue":
        fields.append(field("Expected by", one_line(p.get("expect_by")), True))
        fields.append(field("State", one_line(p.get("state")), True))
    if p.get("verdict"):
        fields.append(field("Verdict", one_line(p["verdict"]), True))
    if "score" in p:
        fields.append(field("Relevance", f"{p['score']:.0f}", True))
    if p.get("matched_terms"):
        fields.append(field("Matched", ", ".join(p["matched_terms"]), False))
    return [f for f in fields if f["value"]]  # Discord rejects an empty field value


def _color(p: dict) -> int:
    if p.get("type") == "claim.overdue":
        return OVERDUE_COLOR
    state = p.get("state") if p.get("type") == "claim.state_changed" else p.get("verdict")
    return COLORS.get(str(state), COLORS["pending"])


def _timestamp(value: object) -> str | None:
    # An unparseable timestamp would make Discord reject the whole message (400): leave it out instead.
    try:
        return datetime.fromisoformat(str(value)).isoformat()
    except ValueError:
        return None


def _with_wait(url: str) -> str:
    """The URL with ``wait=true``, other query parameters (``thread_id``) kept: Discord then answers 200 with
    the created message instead of 204, confirming it was stored."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
    return urlunsplit(parts._replace(query=urlencode(query + [("wait", "true")])))


def _body_retry_after(response: requests.Response) -> float | None:
    """Discord's 429 body: ``{"retry_after": 1.5, "global": false, …}``; more precise than the header."""
    if response.status_code != 429:
        return None
    try:
        value = response.json().get("retry_after")
        return max(0.0, float(value)) if value is not None else None
    except (ValueError, AttributeError, TypeError):
        return None
