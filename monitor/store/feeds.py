"""Feed state: validators, poll schedule, error streaks, redirects and disabling, one row per configured feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.store.schema import from_db_time, to_db_time
from monitor.store.sql import Queries


@dataclass(frozen=True, slots=True)
class FeedState:
    name: str
    url: str
    etag: str | None
    last_modified: str | None
    first_ok_at: datetime | None
    last_polled_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    error_count: int
    fetch_url: str | None = None  # where the feed is polled, when a permanent redirect moved it from ``url``
    next_poll_at: datetime | None = None
    disabled_reason: str | None = None
    content_hash: str | None = None
    redirect_target: str | None = None
    redirect_count: int = 0
    failing_since: datetime | None = None
    failing_alerted_at: datetime | None = None


class FeedQueries(Queries):
    """The ``feeds`` table."""

    def feed_state(self, name: str) -> FeedState | None:
        rows = list(self._dicts("SELECT * FROM feeds WHERE name = ?", [name]))
        return _feed_state(rows[0]) if rows else None

    def feed_states(self) -> list[FeedState]:
        return [_feed_state(row) for row in self._dicts("SELECT * FROM feeds ORDER BY name")]

    def record_feed_ok(self, name: str, url: str, now: datetime, *, etag: str | None, last_modified: str | None,
                       next_poll_at: datetime | None = None, fetch_url: str | None = None,
                       content_hash: str | None = None, redirect: tuple[str | None, int] = (None, 0)) -> None:
        """A poll succeeded (a new body, an unchanged one, or a 304): end the error streak, keep the validators.

        ``content_hash`` None keeps the stored hash (a 304 says nothing new about the body).
        """
        at = to_db_time(now)
        self.sql.execute(
            """INSERT INTO feeds (name, url, etag, last_modified, first_ok_at, last_polled_at, last_ok_at,
                                  last_error, last_error_at, error_count, next_poll_at, fetch_url, content_hash,
                                  redirect_target, redirect_count, failing_since, failing_alerted_at,
                                  disabled_reason, disabled_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL)
               ON CONFLICT(name) DO UPDATE SET url = excluded.url, etag = excluded.etag,
                   last_modified = excluded.last_modified, last_polled_at = excluded.last_polled_at,
                   last_ok_at = excluded.last_ok_at, last_error = NULL, error_count = 0,
                   first_ok_at = COALESCE(feeds.first_ok_at, excluded.first_ok_at),
                   next_poll_at = excluded.next_poll_at, fetch_url = excluded.fetch_url,
                   content_hash = CASE WHEN feeds.url = excluded.url
                                       THEN COALESCE(excluded.content_hash, feeds.content_hash)
                                       ELSE excluded.content_hash END,
                   redirect_target = excluded.redirect_target, redirect_count = excluded.redirect_count,
                   failing_since = NULL, failing_alerted_at = NULL, disabled_reason = NULL, disabled_at = NULL""",
            [name, url, etag, last_modified, at, at, at, to_db_time(next_poll_at), fetch_url, content_hash,
             redirect[0], redirect[1]])

    def record_feed_error(self, name: str, url: str, now: datetime, error: str, *,
                          next_poll_at: datetime | None = None, disabled_reason: str | None = None) -> None:
        """A poll failed: remember the message, count the streak (and when it began); validators are kept."""
        at = to_db_time(now)
        self.sql.execute(
            """INSERT INTO feeds (name, url, last_polled_at, last_error, last_error_at, error_count, next_poll_at,
                                  failing_since, disabled_reason, disabled_at)
               VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, CASE WHEN ? IS NULL THEN NULL ELSE ? END)
               ON CONFLICT(name) DO UPDATE SET url = excluded.url, last_polled_at = excluded.last_polled_at,
                   last_error = excluded.last_error, last_error_at = excluded.last_error_at,
                   next_poll_at = excluded.next_poll_at,
                   disabled_reason = excluded.disabled_reason, disabled_at = excluded.disabled_at,
                   -- A new URL in the config starts afresh: nothing learnt about the old address applies.
                   error_count = CASE WHEN feeds.url = excluded.url THEN feeds.error_count + 1 ELSE 1 END,
                   failing_since = CASE WHEN feeds.url = excluded.url
                                        THEN COALESCE(feeds.failing_since, excluded.failing_since)
                                        ELSE excluded.failing_since END,
                   failing_alerted_at = CASE WHEN feeds.url = excluded.url THEN feeds.failing_alerted_at END,
                   fetch_url = CASE WHEN feeds.url = excluded.url THEN feeds.fetch_url END,
                   etag = CASE WHEN feeds.url = excluded.url THEN feeds.etag END,
                   last_modified = CASE WHEN feeds.url = excluded.url THEN feeds.last_modified END,
                   content_hash = CASE WHEN feeds.url = excluded.url THEN feeds.content_hash END,
                   redirect_target = CASE WHEN feeds.url = excluded.url THEN feeds.redirect_target END,
                   redirect_count = CASE WHEN feeds.url = excluded.url THEN feeds.redirect_count ELSE 0 END""",
            [name, url, at, error, at, to_db_time(next_poll_at), at, disabled_reason, disabled_reason, at])

    def reschedule_feed(self, name: str, next_poll_at: datetime) -> None:
        """Move a feed's next poll (its interval changed in the config)."""
        self.sql.execute("UPDATE feeds SET next_poll_at = ? WHERE name = ?", [to_db_time(next_poll_at), name])

    def mark_feed_failing_alerted(self, name: str, now: datetime) -> None:
        self.sql.execute("UPDATE feeds SET failing_alerted_at = ? WHERE name = ?", [to_db_time(now), name])


def _feed_state(row: dict) -> FeedState:
    return FeedState(
        name=row["name"], url=row["url"], etag=row["etag"], last_modified=row["last_modified"],
        first_ok_at=from_db_time(row["first_ok_at"]), last_polled_at=from_db_time(row["last_polled_at"]),
        last_ok_at=from_db_time(row["last_ok_at"]), last_error=row["last_error"],
        last_error_at=from_db_time(row["last_error_at"]), error_count=row["error_count"] or 0,
        fetch_url=row.get("fetch_url"), next_poll_at=from_db_time(row.get("next_poll_at")),
        disabled_reason=row.get("disabled_reason"), content_hash=row.get("content_hash"),
        redirect_target=row.get("redirect_target"), redirect_count=row.get("redirect_count") or 0,
        failing_since=from_db_time(row.get("failing_since")),
        failing_alerted_at=from_db_time(row.get("failing_alerted_at")))


def feed_health(conn) -> list[tuple[str, int, datetime | None]]:
    """(name, error streak, last success) of every stored feed, on a bare connection (the metrics' read-only
    one)."""
    return [(name, errors or 0, from_db_time(ok_at))
            for name, errors, ok_at in conn.execute("SELECT name, error_count, last_ok_at FROM feeds")]
