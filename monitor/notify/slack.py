"""The ``slack`` channel: a Slack incoming webhook (Mattermost and Rocket.Chat accept the same ``text`` field).

Message shape (https://api.slack.com/messaging/webhooks, Block Kit reference):
``{"text": fallback, "blocks": [header, section, (section), context]}`` — the header names the claim and its
move, the first section quotes the claim and the deciding sentence, the second links the headline and names the
outlets and score, the context carries the alert id. ``text`` is the whole alert as mrkdwn: Slack shows it in
notifications, and Mattermost/Rocket.Chat, which ignore blocks, show it as the message.
"""

from __future__ import annotations

from monitor.errors import one_line
from monitor.notify.http import notifier_session, post_chat_json, timeouts
from monitor.notify.render import (alert_headline, clip_payload, fit, format_alert_text, outlets_line, safe_link,
                                   slack_escape, truncate)

HEADER_MAX = 150  # Block Kit: header block text, plain_text, max 150 characters
BLOCK_TEXT_MAX = 3000  # Block Kit: section text and context element text, max 3000 characters each
TEXT_MAX = 4000  # chat.postMessage: "keep text under 4,000 characters" (truncated by Slack past 40,000)


class SlackNotifier:
    """Posts one Block Kit message per alert; only a 2xx answer (Slack: 200 ``ok``) counts as delivered.

    Failures raise ``DeliveryError``: 429 carries ``Retry-After`` as ``retry_after``, 3xx is not followed, a read
    timeout is ``maybe_delivered``; messages never contain the URL (its path is the secret).
    """

    def __init__(self, url: str, *, timeout_seconds: float, allow_private_networks: bool) -> None:
        self._url = url
        self._timeout = timeouts(timeout_seconds)
        self._session = notifier_session(allow_private_networks)

    def send(self, alert_id: str, payload: dict) -> None:
        post_chat_json(self._session, self._url, slack_message(alert_id, payload), self._timeout, what="slack")


def slack_message(alert_id: str, payload: dict) -> dict:
    """The webhook body for one alert payload (any of the three types, or a digest of them); every text within
    Slack's limits."""
    if payload.get("type") == "digest":
        text = format_alert_text(payload)
        heading = f"news-monitor: {len(payload.get('alerts', []))} alerts"
        return {"text": fit(text, TEXT_MAX, slack_escape),
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": truncate(heading, HEADER_MAX)}},
                           _section(fit(text, BLOCK_TEXT_MAX, slack_escape)),
                           {"type": "context", "elements": [{"type": "mrkdwn",
                                                              "text": f"digest `{one_line(alert_id)}`"}]}]}
    p = clip_payload(payload)
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(alert_headline(p), HEADER_MAX),
                                    "emoji": True}},
        _section(_claim_text(p)),
    ]
    if p.get("story"):
        blocks.append(_section(_story_text(p)))
    context = f"alert `{one_line(alert_id)}` · {one_line(p.get('type'))} · {one_line(p.get('created_at'))}"
    blocks.append({"type": "context",
                   "elements": [{"type": "mrkdwn", "text": fit(context, BLOCK_TEXT_MAX, lambda s: s)}]})
    return {"text": fit(format_alert_text(p), TEXT_MAX, slack_escape), "blocks": blocks}


def _section(mrkdwn: str) -> dict:
    # Each part is fitted to its own budget below, so this cut is only a backstop for the block limit.
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(mrkdwn, BLOCK_TEXT_MAX)}}


# Budgets (escaped characters) of the parts of each section, summing to under BLOCK_TEXT_MAX.
_CLAIM, _SENTENCE, _TITLE, _LINK, _OUTLETS, _TERMS = 900, 1800, 600, 1200, 600, 300


def _claim_text(p: dict) -> str:
    lines = [f"*Claim:* {fit(p['claim']['text'], _CLAIM, slack_escape)}"]
    if p.get("sentence"):
        cue = f" (cue: _{fit(p['cue'], 100, slack_escape)}_)" if p.get("cue") else ""
        lines.append(f"> “{fit(p['sentence'], _SENTENCE, slack_escape)}”{cue}")
    if p.get("type") == "claim.overdue":
        lines.append(f"Expected by *{fit(one_line(p.get('expect_by')), 40, slack_escape)}*; "
                     f"still *{fit(one_line(p.get('state')), 40, slack_escape)}*.")
    return "\n".join(lines)


def _story_text(p: dict) -> str:
    title = fit(p["story"].get("title") or "(untitled)", _TITLE, slack_escape)
    link = safe_link(p["story"].get("link"))
    if link:
        # Slack's link syntax <url|label>: & < > as entities and | percent-encoded so the URL cannot end early.
        url = link.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
        title = f"<{url}|{title}>" if len(url) <= _LINK else title  # a cut URL would lead elsewhere: drop it
    lines = [f"*{title}*", fit(outlets_line(p), _OUTLETS, slack_escape)]
    if "score" in p:
        terms = fit(", ".join(p.get("matched_terms", [])), _TERMS, slack_escape)
        lines.append(f"Relevance {p['score']:.0f}" + (f" · matched: {terms}" if terms else ""))
    return "\n".join(lines)
