"""Atom feeds (RFC 4287) of the alerts, so that any feed reader can follow them. Built with ElementTree, which
escapes every text and attribute: a story's title or link cannot add markup to the feed."""

from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from monitor.store.outbox import OutboxRow

ATOM = "http://www.w3.org/2005/Atom"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _title(row: OutboxRow) -> str:
    payload = row.payload
    story = payload.get("story") or {}
    if row.kind == "claim.state_changed":
        head = f"{row.claim_id}: {payload.get('previous_state')} → {payload.get('state')}"
    elif row.kind == "claim.overdue":
        head = f"{row.claim_id}: overdue ({payload.get('state')})"
    elif row.kind == "claim.hit":
        head = f"{row.claim_id}: new story ({payload.get('verdict')})"
    else:
        head = payload.get("headline") or row.kind
    return f"{head}: {story['title']}" if story.get("title") else str(head)


def _safe_link(link: object) -> str | None:
    return link if isinstance(link, str) and link.lower().startswith(("http://", "https://")) else None


def feed(rows: list[OutboxRow], *, feed_id: str, title: str, self_url: str, page_url: str,
         now: datetime) -> bytes:
    """The feed of ``rows`` (newest first). ``updated`` is the newest alert's time, ``now`` when there is none."""
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(root, f"{{{ATOM}}}id").text = feed_id
    ET.SubElement(root, f"{{{ATOM}}}title").text = title
    ET.SubElement(root, f"{{{ATOM}}}updated").text = _stamp(rows[0].created_at if rows else now)
    ET.SubElement(ET.SubElement(root, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "news-monitor"
    ET.SubElement(root, f"{{{ATOM}}}link", rel="self", href=self_url)
    ET.SubElement(root, f"{{{ATOM}}}link", rel="alternate", href=page_url)
    for row in rows:
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:news-monitor:alert:{row.alert_id}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = _title(row)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _stamp(row.created_at)
        story = row.payload.get("story") or {}
        link = _safe_link(story.get("link"))
        if link:
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=link)
        lines = [f"kind: {row.kind}"]
        for label, key in (("verdict", "verdict"), ("cue", "cue"), ("sentence", "sentence")):
            if row.payload.get(key):
                lines.append(f"{label}: {row.payload[key]}")
        if story.get("outlet") or story.get("feed"):
            lines.append(f"outlet: {story.get('outlet') or story.get('feed')}")
        ET.SubElement(entry, f"{{{ATOM}}}summary", type="text").text = "\n".join(lines)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
