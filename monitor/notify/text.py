"""Plain-text rendering of an alert payload, shared by the console and chat-style channels."""

from __future__ import annotations


def format_alert_text(payload: dict) -> str:
    """A short block: what happened to which claim, the headline, where and when, why it matched."""
    claim = payload.get("claim", {})
    story = payload.get("story", {})
    lines = [f"[news-monitor] {claim.get('id', '?')}: new story (score {payload.get('score', 0):.0f})",
             f"  claim:   {claim.get('text', '')}",
             f"  story:   {story.get('title', '')}"]
    source = story.get("outlet", "")
    if story.get("published_at"):
        source = f"{source}, published {story['published_at']}"
    lines.append(f"  source:  {source}")
    if story.get("link"):
        lines.append(f"  link:    {story['link']}")
    if payload.get("matched_terms"):
        lines.append(f"  matched: {', '.join(payload['matched_terms'])}")
    lines.append(f"  alert:   {payload.get('id', '')}")
    return "\n".join(lines)
