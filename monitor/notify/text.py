"""Plain-text rendering of an alert payload, shared by the console and chat-style channels."""

from __future__ import annotations


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
        lines.append(f"  says:     \"{payload['sentence']}\"{cue}")
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
