"""Alert text for people: the plain-text block (console, chat fallbacks) and the helpers the chat channels
(Slack, Discord, Apprise) use to make untrusted text safe and cut it to size. Pure.

Story titles, sentences and outlet names come from feeds, so anyone who controls a feed controls that text. In
a chat message it must not ping people (``@everyone``, ``<!channel>``), fake a link or a mention, or change the
formatting around it; and a long field must never get an alert rejected: it is truncated with a visible marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from monitor.errors import one_line
from monitor.net.urls import is_http_url

ZWSP = "\u200b"  # zero-width space: splits a trigger such as "@everyone" without visibly changing the text
MARKER = "…"
MAX_LINK = 2000  # longer story links are left out rather than cut: a cut URL points somewhere else

# Per-field budgets applied before any channel formats the alert (clip_payload); the channels' own, stricter
# limits are then enforced on the formatted text.
_CLIP = {"claim": 500, "sentence": 1000, "title": 300, "outlet": 100, "cue": 100, "term": 60}
_MAX_TERMS = 20

_DISCORD_MASS = re.compile(r"@(everyone|here)\b", re.IGNORECASE)
_DISCORD_TAG = re.compile(r"<(@[!&]?|#)")  # <@user>, <@!user>, <@&role>, <#channel>
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>\[\]#])")  # [ ] kill masked links, # headings and "-#" subtext
# Mass mentions across Slack, Mattermost (@all, @channel, @here), Rocket.Chat (@all, @here) and Apprise targets.
_MASS = re.compile(r"@(everyone|here|channel|all|room)\b", re.IGNORECASE)
# "](" opens a Markdown inline link (Mattermost, Rocket.Chat), "][" a reference link: a U+200B after "]" breaks
# both without showing, while a lone "[" or "]" stays as typed.
_LINK_JOIN = re.compile(r"\](?=[(\[])")
_PLAIN_TAG = re.compile(r"<([@!#])")


def slack_escape(text: str) -> str:
    """Text for Slack mrkdwn and the services that take the same webhook (Mattermost, Rocket.Chat): ``& < >`` as
    entities (Slack's documented escaping, which disarms ``<!channel>``, ``<@U123>``, ``<#C1>`` and
    ``<url|label>``) with U+200B after each ``&lt;`` (Rocket.Chat also reads ``&lt;url|label&gt;`` as a link);
    mass mentions ``@all``/``@here``/``@channel``/``@everyone``/``@room`` split with U+200B; and ``](``/``][``
    split with U+200B so ``[label](url)`` cannot form a Markdown link."""
    text = text.replace("&", "&amp;").replace("<", "&lt;" + ZWSP).replace(">", "&gt;")
    text = _MASS.sub("@" + ZWSP + r"\1", text)
    return _LINK_JOIN.sub("]" + ZWSP, text)


def discord_escape(text: str) -> str:
    """Text for Discord markdown: mentions (``@everyone``, ``@here``, ``<@id>``, ``<@&id>``, ``<#id>``) split with
    U+200B, and the markdown characters ``\\ * _ ~ ` | > [ ] #`` backslash-escaped so they show as typed."""
    text = _DISCORD_MASS.sub("@" + ZWSP + r"\1", text)
    text = _DISCORD_TAG.sub(lambda m: "<" + m.group(1) + ZWSP, text)
    return _DISCORD_MARKDOWN.sub(r"\\\1", text)


def plain_safe(text: str) -> str:
    """Plain text for services reached through Apprise: mass mentions and ``<@…>``/``<!…>``/``<#…>`` tags split
    with U+200B; Apprise itself escapes for the target format (HTML for Telegram, for instance)."""
    text = _MASS.sub("@" + ZWSP + r"\1", text)
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
    return url if is_http_url(url) else None


def format_alert_text(payload: dict) -> str:
    """A short block: what happened to which claim, the sentence that says so, the headline, who reported it.
    A digest is its alerts' blocks under one line saying how many there are."""
    if payload.get("type") == "digest":
        blocks = [format_alert_text(p) for p in payload.get("alerts", [])]
        return "\n\n".join([f"[news-monitor] digest of {len(blocks)} alerts ({payload.get('id', '')})", *blocks])
    if str(payload.get("type", "")).startswith("feed."):  # operator alerts about a source
        return f"[news-monitor] {payload.get('headline', '')}\n  alert:    {payload.get('id', '')}"
    claim = payload.get("claim", {})
    kind = payload.get("type")
    if kind == "claim.state_changed":
        headline = f"{payload.get('previous_state')} → {str(payload.get('state', '')).upper()}"
    elif kind == "claim.overdue":
        headline = f"OVERDUE: expected by {payload.get('expect_by')}, still {payload.get('state')}"
    else:
        headline = f"new story ({payload.get('verdict', 'pending')})"
    lines = [f"[news-monitor] {test_mark(payload)}{claim.get('id', '?')}: {headline}",
             f"  claim:    {claim.get('text', '')}"]
    if payload.get("sentence"):
        cue = f" (cue: {payload['cue']})" if payload.get("cue") else ""
        where = " (from the article page)" if payload.get("sentence_source") == "article" else ""
        lines.append(f"  says:     \"{payload['sentence']}\"{cue}{where}")
    story = payload.get("story")
    if story:
        lines.append(f"  story:    {story.get('title', '')}")
        if story.get("link"):
            lines.append(f"  link:     {story['link']}")
        lines.append(f"  outlets:  {outlets_line(payload)}")
    if "score" in payload:
        terms = ", ".join(payload.get("matched_terms", []))
        lines.append(f"  score:    {payload['score']:.0f}" + (f" (matched: {terms})" if terms else ""))
    lines.append(f"  alert:    {payload.get('id', '')}")
    return "\n".join(lines)


def test_mark(payload: dict) -> str:
    """``"TEST ALERT: "`` for a ``test-alert`` sample (``"test": true``), else ""; every channel puts it first
    in its headline so a sample can never be taken for a real state change."""
    return "TEST ALERT: " if payload.get("test") else ""


def outlets_line(payload: dict) -> str:
    """``first-outlet (published …); also reported by a, b, c`` from the story and its evidence."""
    story = payload.get("story") or {}
    first = story.get("outlet", "")
    if story.get("published_at"):
        first = f"{first} (published {story['published_at']})"
    others = []
    for ref in payload.get("evidence", []):
        outlet = ref.get("outlet")
        if outlet and outlet != story.get("outlet") and outlet not in others:
            others.append(outlet)
    return f"{first}; also reported by {', '.join(others)}" if others else first
