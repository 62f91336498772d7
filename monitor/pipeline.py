"""The only place the stages are composed: ``poll_feed`` (fetch → parse → new stories → match → store + outbox)
and ``deliver_due`` (outbox → notifiers).

Both take the moment to act as ``now`` so tests drive time explicitly. Both turn every failure of one feed or
one alert into data (an error on the feed's row, a retry on the outbox row) and return; they are the two
boundaries where an unexpected exception is caught, logged and recorded instead of stopping the daemon.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from . import match, outbox
from .config import ClaimConfig, Config, FeedConfig
from .errors import DeliveryError, MonitorError
from .fetch import Fetcher
from .logs import kv, log
from .models import Alert, Hit, Relevance, Story
from .notify import Notifier, build_notifiers
from .parse import parse_feed
from .store import Store


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class Context:
    """Everything prepared once per config load and shared by all jobs (thread-safe to read)."""

    config: Config
    claims: tuple[match.PreparedClaim, ...]
    fetcher: Fetcher
    notifiers: Mapping[str, Notifier]

    @classmethod
    def build(cls, config: Config) -> Context:
        claims = tuple(prepare(claim) for claim in config.claims)
        fetcher = Fetcher(allow_private_networks=config.allow_private_networks)
        notifiers = build_notifiers(config.channels, allow_private_networks=config.allow_private_networks)
        return cls(config=config, claims=claims, fetcher=fetcher, notifiers=notifiers)

    def close(self) -> None:
        self.fetcher.close()


def prepare(claim: ClaimConfig) -> match.PreparedClaim:
    return match.prepare_claim(claim.id, claim.text, aliases=claim.aliases, require_any=claim.require_any,
                               exclude=claim.exclude, min_score=claim.min_score)


@dataclass(frozen=True, slots=True)
class PollResult:
    feed: str
    status: str  # "ok", "not_modified" or "error"
    stories: int = 0
    new_stories: int = 0
    hits: int = 0
    alerts: int = 0
    error: str | None = None


def poll_feed(ctx: Context, store: Store, feed: FeedConfig, now: datetime) -> PollResult:
    """Poll one feed and record everything it produced in one transaction. Never raises for feed problems."""
    try:
        return _poll_feed(ctx, store, feed, now)
    except MonitorError as exc:
        error = str(exc)
    except Exception as exc:  # the poll boundary: a bug on one feed must not stop the others
        log.exception("poll crashed %s", kv(feed=feed.name))
        error = f"internal error: {type(exc).__name__}: {exc}"
    with store.transaction():
        store.record_feed_error(feed.name, feed.url, now, error)
    log.warning("poll failed %s", kv(feed=feed.name, error=error))
    return PollResult(feed=feed.name, status="error", error=error)


def _poll_feed(ctx: Context, store: Store, feed: FeedConfig, now: datetime) -> PollResult:
    state = store.feed_state(feed.name)
    # Validators belong to the URL they came from: after a URL change in the config, fetch unconditionally.
    known_url = state is not None and state.url == feed.url
    result = ctx.fetcher.fetch(feed.url, etag=state.etag if known_url else None,
                               last_modified=state.last_modified if known_url else None)
    if result.not_modified:
        with store.transaction():
            store.record_feed_ok(feed.name, feed.url, now,
                                 etag=result.etag or (state.etag if known_url else None),
                                 last_modified=result.last_modified or (state.last_modified if known_url else None))
        log.info("poll not modified %s", kv(feed=feed.name))
        return PollResult(feed=feed.name, status="not_modified")

    stories = parse_feed(result.body, feed_name=feed.name, headers=result.headers, url=result.url, now=now)
    known = store.known_story_ids(s.id for s in stories)
    new = [s for s in stories if s.id not in known]
    first_poll = state is None or state.first_ok_at is None
    hits: list[Hit] = []
    alerts: list[tuple[Alert, tuple[str, ...]]] = []
    for story in new:
        alerting = is_fresh(story, now, max_age_hours=feed.max_age_hours, first_poll=first_poll)
        for claim, relevance in match_story(ctx.claims, story):
            hits.append(Hit(story_id=story.id, claim_id=claim.id, score=relevance.score,
                            matched_terms=relevance.matched_terms))
            claim_config = ctx.config.claim(claim.id)
            if alerting and claim_config is not None and claim_config.channels:
                alerts.append((hit_alert(claim_config, story, relevance, now), claim_config.channels))

    with store.transaction():
        store.insert_stories(new, now)
        store.insert_hits(hits, now)
        queued = sum(outbox.enqueue(store, alert, channels, now) for alert, channels in alerts)
        store.record_feed_ok(feed.name, feed.url, now, etag=result.etag, last_modified=result.last_modified)
    log.info("poll ok %s", kv(feed=feed.name, stories=len(stories), new=len(new), hits=len(hits), queued=queued))
    return PollResult(feed=feed.name, status="ok", stories=len(stories), new_stories=len(new), hits=len(hits),
                      alerts=len(alerts))


def match_story(claims: Sequence[match.PreparedClaim], story: Story) -> list[tuple[match.PreparedClaim, Relevance]]:
    """The claims this story is relevant to, with the relevance of each."""
    found = []
    for claim in claims:
        relevance = match.match(claim, story.title, story.summary)
        if relevance is not None:
            found.append((claim, relevance))
    return found


def is_fresh(story: Story, now: datetime, *, max_age_hours: float, first_poll: bool) -> bool:
    """Whether a new story may alert.

    A dated story older than ``max_age_hours`` never alerts (it is stored and matched all the same), so adding
    a feed or a feed republishing its archive does not flood the channel. An undated story alerts, except on a
    feed's first successful poll, where nothing tells an old entry from a new one.
    """
    if story.published_at is None:
        return not first_poll
    return now - story.published_at <= timedelta(hours=max_age_hours)


def hit_alert(claim: ClaimConfig, story: Story, relevance: Relevance, now: datetime) -> Alert:
    """The alert for a new story relevant to a claim. Its id depends only on the claim and the story."""
    alert_id = hashlib.sha256(f"claim.hit\0{claim.id}\0{story.id}".encode()).hexdigest()[:32]
    payload = {
        "type": "claim.hit",
        "version": 1,
        "id": alert_id,
        "created_at": now.isoformat(timespec="seconds"),
        "claim": {"id": claim.id, "text": claim.text},
        "story": {"id": story.id, "title": story.title, "link": story.link, "outlet": story.feed,
                  "published_at": story.published_at.isoformat() if story.published_at else None},
        "score": round(relevance.score, 1),
        "matched_terms": list(relevance.matched_terms),
    }
    return Alert(id=alert_id, claim_id=claim.id, story_id=story.id, kind="claim.hit", payload=payload)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    waiting: int = 0


def deliver_due(ctx: Context, store: Store, now: datetime | Callable[[], datetime] = utc_now, *,
                ignore_backoff: bool = False) -> DeliveryResult:
    """Send every due outbox row once; record each outcome. Never raises for a channel's failure."""
    clock = now if callable(now) else (lambda: now)
    rows = outbox.claim_due(store, clock(), ignore_backoff=ignore_backoff)
    blocked: dict[tuple[str | None, str], datetime] = {}
    sent = failed = waiting = 0
    for row in rows:
        key = (row.claim_id, row.channel)
        if key in blocked:  # an earlier alert of this claim failed on this channel: keep the order
            outbox.release(store, [row], blocked[key])
            waiting += 1
            continue
        error = _send(ctx.notifiers.get(row.channel), row)
        if error is None:
            outbox.mark_sent(store, row, clock())
            sent += 1
            log.info("alert sent %s", kv(channel=row.channel, alert=row.alert_id, claim=row.claim_id))
        else:
            blocked[key] = outbox.mark_retry(store, row, clock(), error)
            failed += 1
            log.warning("alert not delivered %s", kv(channel=row.channel, alert=row.alert_id, error=error,
                                                     retry_at=blocked[key].isoformat(timespec="seconds")))
    return DeliveryResult(sent=sent, failed=failed, waiting=waiting)


def _send(notifier: Notifier | None, row: outbox.OutboxRow) -> str | None:
    """Send one row; return None on success, else the error message to record."""
    if notifier is None:
        return f"channel {row.channel!r} is not configured"
    try:
        notifier.send(row.alert_id, row.payload)
    except DeliveryError as exc:
        return str(exc)
    except Exception as exc:  # the delivery boundary: a notifier bug becomes a retry, not a crash
        log.exception("notifier crashed %s", kv(channel=row.channel))
        return f"internal error: {type(exc).__name__}: {exc}"
    return None
