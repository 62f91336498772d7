"""Alert payloads: what a channel is told, built from a claim, its hits and its state. Pure: it
depends on ``models`` only; what it shows of a feed URL is redacted by the caller.

Every alert has a content-derived id (the same inputs give the same id, so re-creating an alert is a no-op in
the outbox) and a versioned JSON body:

- ``claim.state_changed``: the claim moved (``previous_state`` → ``state``), with the sentence and cue that
  decided it and the ``evidence`` (every report supporting the new state; refreshed at delivery time so the
  alert names the outlets that reported it meanwhile);
- ``claim.hit``: a new relevant story group (claims with ``notify = "all"``);
- ``claim.overdue``: the claim's ``expect_by`` date passed while it was still pending or delayed;
- ``feed.failing`` / ``feed.recovered``: operator alerts about a source (``[monitor] operator_channels``).

Every timestamp in a payload (``created_at``, ``published_at``, ``evidence_since``, ``failing_since``) has one
format: RFC 3339 in UTC to the second with a ``Z`` (``2026-11-27T10:00:00Z``; ``timestamp``); ``expect_by`` is a
date (``2026-11-30``). ``evidence_since`` is null on a claim's first state change: there was no earlier state,
so all of the claim's evidence counts (a date such as 1970-01-01 would read as real data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Protocol

from monitor.models import Alert, Hit, Story

VERSION = 1
MAX_EVIDENCE = 25


class Claim(Protocol):
    """What an alert says of its claim (a ``config.ClaimConfig`` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def text(self) -> str: ...


def timestamp(moment: datetime | None) -> str | None:
    """The payload format of an aware moment: RFC 3339, UTC, whole seconds, ``Z``. None stays None."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def alert_id(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def story_ref(story: Story, verdict: str | None = None) -> dict:
    """How a story appears in an alert's ``story`` and ``evidence`` fields."""
    ref = {"id": story.id, "outlet": story.reported_by, "title": story.title, "link": story.link,
           "published_at": timestamp(story.published_at)}
    if verdict is not None:
        ref["verdict"] = verdict
    return ref


def _base(kind: str, ident: str, claim: Claim, now: datetime) -> dict:
    return {"type": kind, "version": VERSION, "id": ident, "created_at": timestamp(now),
            "claim": {"id": claim.id, "text": claim.text}}


def state_changed(claim: Claim, previous: str, state: str, hit: Hit, story: Story,
                  evidence: Iterable[dict], evidence_since: datetime | None, now: datetime) -> Alert:
    """The claim moved to ``state``; ``evidence`` supports it and ``hit`` on ``story`` is the report quoted.
    ``evidence_since``: when the claim entered ``previous`` (None: it never changed state before)."""
    ident = alert_id("claim.state_changed", claim.id, previous, state, hit.story_id)
    payload = {**_base("claim.state_changed", ident, claim, now),
               "previous_state": previous, "state": state, "verdict": str(hit.verdict),
               "cue": hit.cue, "sentence": hit.sentence, "sentence_source": hit.sentence_source or "feed",
               "story": story_ref(story),
               "score": round(hit.score, 1), "matched_terms": list(hit.matched_terms),
               "evidence": list(evidence)[:MAX_EVIDENCE], "evidence_since": timestamp(evidence_since)}
    return Alert(id=ident, claim_id=claim.id, story_id=hit.story_id, kind="claim.state_changed", payload=payload)


def new_story(claim: Claim, state: str, hit: Hit, story: Story, now: datetime) -> Alert:
    """A new relevant story group for a claim that asked for every one (``notify = "all"``)."""
    ident = alert_id("claim.hit", claim.id, hit.group_id or hit.story_id)
    payload = {**_base("claim.hit", ident, claim, now),
               "state": state, "verdict": str(hit.verdict), "cue": hit.cue, "sentence": hit.sentence,
               "sentence_source": hit.sentence_source or "feed", "story": story_ref(story),
               "score": round(hit.score, 1), "matched_terms": list(hit.matched_terms),
               "group_id": hit.group_id, "evidence": [story_ref(story, str(hit.verdict))]}
    return Alert(id=ident, claim_id=claim.id, story_id=hit.story_id, kind="claim.hit", payload=payload)


def overdue(claim: Claim, state: str, expect_by: date, now: datetime) -> Alert:
    """The claim was expected by ``expect_by`` and is still ``state`` (pending or delayed)."""
    ident = alert_id("claim.overdue", claim.id, expect_by.isoformat())
    payload = {**_base("claim.overdue", ident, claim, now), "state": state, "previous_state": state,
               "expect_by": expect_by.isoformat(), "evidence": []}
    return Alert(id=ident, claim_id=claim.id, story_id=None, kind="claim.overdue", payload=payload)


def with_evidence(payload: dict, evidence: Iterable[dict]) -> dict:
    """The payload with its evidence extended by reports recorded since it was queued (no duplicates)."""
    merged = list(payload.get("evidence", []))
    seen = {e["id"] for e in merged}
    for ref in evidence:
        if ref["id"] not in seen and len(merged) < MAX_EVIDENCE:
            merged.append(ref)
            seen.add(ref["id"])
    return {**payload, "evidence": merged}


def sample(claim_id: str, claim_text: str, now: datetime) -> Alert:
    """A made-up state change for ``test-alert``: the real shape, marked ``"test": true`` (every channel's text
    then says TEST), with a fresh id."""
    ident = alert_id("test", claim_id, now.isoformat())
    payload = {"type": "claim.state_changed", "version": VERSION, "id": ident, "test": True,
               "created_at": timestamp(now), "claim": {"id": claim_id, "text": claim_text},
               "previous_state": "pending", "state": "confirmed", "verdict": "confirmed", "cue": "signed",
               "sentence": "TEST ALERT from news-monitor: nothing happened to this claim.",
               "story": {"id": "test", "outlet": "news-monitor", "title": "TEST ALERT from news-monitor",
                         "link": None, "published_at": timestamp(now)},
               "score": 100.0, "matched_terms": [], "evidence": [], "evidence_since": None}
    return Alert(id=ident, claim_id=claim_id, story_id=None, kind="claim.state_changed", payload=payload)


def digest(payloads: list[dict]) -> dict:
    """Several alerts of one channel as one message. Its id derives from theirs; each keeps its own id, so a
    receiver can account for every alert (and drop ones it has already seen) whatever the digest's id."""
    ids = [p["id"] for p in payloads]
    return {"type": "digest", "version": VERSION, "id": alert_id("digest", *ids), "alert_ids": ids,
            "alerts": payloads}


def _feed(name: str, url: str, state, kind: str, headline: str, now: datetime, *parts: str) -> Alert:
    ident = alert_id(kind, name, *parts)
    payload = {"type": kind, "version": VERSION, "id": ident, "created_at": timestamp(now), "headline": headline,
               "feed": {"name": name, "url": url, "last_error": state.last_error,
                        "error_count": state.error_count, "disabled_reason": state.disabled_reason,
                        "failing_since": timestamp(state.failing_since)}}
    return Alert(id=ident, claim_id=None, story_id=None, kind=kind, payload=payload)


def feed_failing(name: str, state, now: datetime, *, url: str) -> Alert:
    """A source is sick: failing for longer than ``alert_after_hours``, or gone (410). ``url``: the one it is
    polled at, as it may be shown (redacted)."""
    what = "DISABLED" if state.disabled_reason else f"failing since {state.failing_since:%Y-%m-%d %H:%M} UTC"
    headline = f"feed {name}: {what} ({state.error_count} errors): {state.last_error}"
    return _feed(name, url, state, "feed.failing", headline, now, state.failing_since.isoformat())


def feed_recovered(name: str, before, now: datetime, *, url: str) -> Alert:
    """A source reported as failing serves its feed again. ``url``: as for ``feed_failing``."""
    headline = f"feed {name}: recovered after {before.error_count} failed polls"
    return _feed(name, url, before, "feed.recovered", headline, now, before.failing_since.isoformat(), "recovered")
