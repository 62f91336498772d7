"""The database schema: its append-only migrations and the text form of the values it stores.

Migrations are append-only: ``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1`` and the version is
kept in ``PRAGMA user_version``. Never edit a released migration; add a new one.

Moments are stored as UTC ISO-8601 text with microseconds (``to_db_time``), so that text order is time order and
other tools (sqlite-utils, Datasette) read them as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

import sqlite_utils

from monitor.errors import StoreError


def to_db_time(moment: datetime | None) -> str | None:
    """UTC ISO-8601 text with microseconds, so that text order is time order."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_db_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def from_db_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _migration_1(db: sqlite_utils.Database) -> None:
    db["feeds"].create({
        "name": str, "url": str, "etag": str, "last_modified": str,
        "first_ok_at": str, "last_polled_at": str, "last_ok_at": str,
        "last_error": str, "last_error_at": str, "error_count": int,
    }, pk="name", defaults={"error_count": 0}, not_null={"url", "error_count"})
    db["stories"].create({
        "id": str, "feed": str, "title": str, "summary": str, "link": str,
        "published_at": str, "seen_at": str,
    }, pk="id", not_null={"feed", "title", "seen_at"})
    db["stories"].create_index(["feed", "seen_at"])
    db["stories"].create_index(["link"])
    db["hits"].create({
        "story_id": str, "claim_id": str, "score": float, "matched_terms": str, "created_at": str,
    }, pk=("story_id", "claim_id"), foreign_keys=[("story_id", "stories", "id")],
        not_null={"score", "created_at"})
    db["hits"].create_index(["claim_id", "created_at"])
    db["hits"].create_index(["created_at"])
    db["outbox"].create({
        "id": str, "alert_id": str, "channel": str, "claim_id": str, "story_id": str, "kind": str,
        "payload": str, "status": str, "attempts": int, "created_at": str, "next_attempt_at": str,
        "last_attempt_at": str, "last_error": str, "sent_at": str,
    }, pk="id", defaults={"status": "pending", "attempts": 0},
        not_null={"alert_id", "channel", "payload", "status", "attempts", "created_at", "next_attempt_at"})
    db["outbox"].create_index(["status", "next_attempt_at"])
    db["outbox"].create_index(["alert_id"])


def _migration_2(db: sqlite_utils.Database) -> None:
    """Claim tracking: a verdict and story group per hit, claim state with its history."""
    hits = db["hits"]
    hits.add_column("verdict", str, not_null_default="pending")
    hits.add_column("cue", str)
    hits.add_column("sentence", str)
    hits.add_column("group_id", str)
    hits.add_column("headline_key", str)
    # 0 for a story too old to alert (max_age_hours): kept as a hit, but it neither alerts nor moves the claim.
    hits.add_column("fresh", int, not_null_default=1)
    hits.create_index(["claim_id", "verdict", "created_at"])
    hits.create_index(["claim_id", "group_id"])
    # reported_at: when the story that decided the current state was published; older news cannot undo it.
    db["claims"].create({"id": str, "state": str, "since_at": str, "reported_at": str, "updated_at": str,
                         "overdue_alerted_for": str}, pk="id", not_null={"state", "since_at"})
    db["claim_history"].create({"id": int, "claim_id": str, "previous_state": str, "state": str, "at": str,
                                "story_id": str, "evidence": str}, pk="id", not_null={"claim_id", "state", "at"})
    db["claim_history"].create_index(["claim_id", "at"])


def _migration_3(db: sqlite_utils.Database) -> None:
    """Delivery: per-channel state (disabled by a 410, paused by a 429 or an outage) and manual requeues."""
    db["channels"].create({"name": str, "url_fingerprint": str, "disabled_reason": str, "disabled_at": str,
                           "paused_until": str, "pause_reason": str}, pk="name")
    db["outbox"].add_column("requeued_at", str)
    db["outbox"].create_index(["channel", "status"])


def _migration_4(db: sqlite_utils.Database) -> None:
    """Polite, self-healing polling: next poll time, disabling, content hash, redirects, failure streaks."""
    feeds = db["feeds"]
    for column in ("fetch_url", "next_poll_at", "disabled_reason", "disabled_at", "content_hash",
                   "redirect_target", "failing_since", "failing_alerted_at"):
        feeds.add_column(column, str)
    feeds.add_column("redirect_count", int, not_null_default=0)


def _migration_5(db: sqlite_utils.Database) -> None:
    """Indexes for queries that would otherwise scan all history: pruning by age, a feed's known links."""
    db["stories"].create_index(["seen_at"])
    db["stories"].create_index(["feed", "link"])


def _migration_6(db: sqlite_utils.Database) -> None:
    """Indexes for the polling hot path. Grouping reads the headlines of a claim's recent hits at every poll that
    hits it: an index holding them answers from the index alone, about twice as fast as one row lookup per
    headline (same leading columns as the index it replaces, so every query that used that one uses this). And
    no query reads stories by feed and time any more (a feed's stories are looked up by link), so that index
    only cost every story insert and its share of the file."""
    db.execute("DROP INDEX IF EXISTS idx_hits_claim_id_verdict_created_at")
    db["hits"].create_index(["claim_id", "verdict", "created_at", "group_id", "headline_key"])
    db.execute("DROP INDEX IF EXISTS idx_stories_feed_seen_at")


def _migration_7(db: sqlite_utils.Database) -> None:
    """Per-row delivery leases: the row being sent is held by its deliverer (``lease_owner``) until ``lease_until``,
    apart from when it is due (``next_attempt_at``), so that a deliverer that dies mid-send holds one row for one
    send deadline, and every other process can tell a row in flight from a row waiting."""
    db["outbox"].add_column("lease_owner", str)
    db["outbox"].add_column("lease_until", str)
    db["outbox"].create_index(["channel", "claim_id", "status"])


def _migration_8(db: sqlite_utils.Database) -> None:
    """The article page's main text of a story (``full_text = "hits"``), or why it gave none: on the story row, so
    it is pruned with the story. And where a hit's quoted sentence comes from ("article"; NULL: the feed entry)."""
    db["stories"].add_column("article_text", str)
    db["stories"].add_column("article_error", str)
    db["hits"].add_column("sentence_source", str)


def _migration_9(db: sqlite_utils.Database) -> None:
    """Each story's outlet, the publisher (``Story.outlet``). Stories stored before have none (NULL): they are
    read as reported by their feed, as they were counted then."""
    db["stories"].add_column("outlet", str)


def _migration_10(db: sqlite_utils.Database) -> None:
    """Acting on a claim by hand: a mute (``muted_until``: no alerts for it until then) and history entries that
    are not moves decided by the news (``kind``: change, mute, unmute or reset; ``note``: why, as given)."""
    db["claims"].add_column("muted_until", str)
    db["claim_history"].add_column("kind", str, not_null_default="change")
    db["claim_history"].add_column("note", str)


def _migration_11(db: sqlite_utils.Database) -> None:
    """The earlier alerts of a claim on a channel, found through an index on either database: the delivery
    order check compares claims as ``COALESCE(claim_id, '')`` (NULL is an operator alert's; claim ids are never
    empty), which PostgreSQL can index and hash, unlike the null-safe ``IS`` it replaces. The index on that
    expression replaces the one on (channel, claim_id, status)."""
    db.execute("DROP INDEX IF EXISTS idx_outbox_channel_claim_id_status")
    db.execute("CREATE INDEX idx_outbox_channel_claim_status ON outbox (channel, COALESCE(claim_id, ''), status)")


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migration_1, _migration_2, _migration_3,
                                                                   _migration_4, _migration_5, _migration_6,
                                                                   _migration_7, _migration_8, _migration_9,
                                                                   _migration_10, _migration_11)


def upgrade(db: sqlite_utils.Database, path: str | Path) -> None:
    """Run the migrations the database has not had yet. Call inside a write transaction: the version is read
    under the write lock, so of several jobs opening a new file at once only the first migrates it."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(f"database {path} has schema version {version}, newer than this "
                         f"news-monitor understands ({len(MIGRATIONS)}); upgrade news-monitor")
    for number in range(version, len(MIGRATIONS)):
        MIGRATIONS[number](db)
        db.execute(f"PRAGMA user_version = {number + 1}")
