"""SQLite storage: schema, migrations, and every read and write of feeds, stories and hits.

The database is a plain SQLite file (WAL journal, ``synchronous=FULL``) that other tools such as sqlite-utils
or Datasette can open. Every connection is private to one thread; each scheduler job opens its own.
Writes that belong together run inside ``Store.transaction()`` (``BEGIN IMMEDIATE`` … ``COMMIT``), so a crash
leaves either all of a poll's rows or none of them. Ids are content-derived and inserts ignore duplicates, so
repeating a poll changes nothing.

Migrations are append-only: ``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1`` and the version is
kept in ``PRAGMA user_version``. Never edit a released migration; add a new one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path

import sqlite_utils

from monitor.errors import NoDatabaseError, StoreError
from monitor.models import Hit, Story


def to_db_time(moment: datetime | None) -> str | None:
    """UTC ISO-8601 text with microseconds, so that text order is time order."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_db_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


_IN_LIST_SIZES = (8, 32, 128, 512)  # the lengths of the ``IN (?, …)`` lists queries use


def _in_lists(values: list[str]) -> Iterator[tuple[list[str | None], str]]:
    """``values`` in chunks small enough for SQLite's bound-parameter limit, each with its ``?,?,…`` list,
    padded with NULLs (which match nothing) to one of a few lengths: every connection keeps its prepared
    statements, and one per list length seen (each poll has its own number of stories and claims) held
    megabytes across the polling threads."""
    size = _IN_LIST_SIZES[-1]
    for start in range(0, len(values), size):
        chunk: list[str | None] = list(values[start:start + size])
        padded = next(n for n in _IN_LIST_SIZES if n >= len(chunk))
        chunk += [None] * (padded - len(chunk))
        yield chunk, ",".join("?" * padded)


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


MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migration_1, _migration_2, _migration_3,
                                                                   _migration_4, _migration_5, _migration_6)


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


PAGE_CACHE_KIB = 256  # SQLite page cache per connection
GROUP_CANDIDATES_LIMIT = 2000  # the newest hits a story is compared with for grouping, per claim and verdict
_moment_and_row = itemgetter(0, 1)  # (created_at, rowid) of a group_candidates row
_group_and_key = itemgetter(2, 3)

# Seconds a writer waits for the write lock (another thread's in this process, then another process's) before
# the write fails with StoreError.
WRITE_WAIT_SECONDS = 30.0

_writer_locks: dict[str, threading.Lock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(path: str | Path) -> threading.Lock:
    """The one lock that writers to this database file in this process queue on.

    SQLite's own busy handler makes a waiting writer sleep and retry with growing pauses: under many polling
    threads, writers wake late, the lock sits idle between them, and some time out ("database is locked") while
    the disk is free. Threads waiting on a Python lock are woken the moment it is released. SQLite's lock still
    arbitrates between processes (a daemon and a ``poll-once`` side by side).
    """
    if str(path) == ":memory:":
        return threading.Lock()  # every connection is its own database
    key = os.path.realpath(path)
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, threading.Lock())


class Store:
    """One connection to the database file, migrated to the current schema on open.

    The file (and its folder) is created when missing, unless ``create`` is False: then a missing file raises
    ``NoDatabaseError`` and nothing is written to disk (the read commands, so that a mistyped path says so).
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and str(path) != ":memory:" and not self.path.is_file():
            raise NoDatabaseError(str(path))
        self._writer = _writer_lock(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
            self.db = sqlite_utils.Database(conn)
            self.db.execute("PRAGMA busy_timeout = 30000")
            if str(path) != ":memory:":
                self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = FULL")
            # Every polling thread has its own connection: SQLite's default 2 MB page cache each was a third of
            # the daemon's memory at 32 threads. The OS caches the file anyway; polls read few, indexed rows.
            self.db.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _migrate(self) -> None:
        # The version is read inside the write transaction: several jobs may open a new file at once, and only
        # the first may run the migrations.
        with self.transaction():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StoreError(f"database {self.path} has schema version {version}, newer than this "
                                 f"news-monitor understands ({len(MIGRATIONS)}); upgrade news-monitor")
            for number in range(version, len(MIGRATIONS)):
                MIGRATIONS[number](self.db)
                self.db.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """Run the block as one write transaction; roll back everything if it raises.

        Writers in this process queue on one lock per file (see ``_writer_lock``); ``BEGIN IMMEDIATE`` then takes
        SQLite's write lock up front, so concurrent jobs wait instead of failing half-way when a read turns into a
        write. Raises StoreError when the lock is not free within ``WRITE_WAIT_SECONDS``.
        """
        if self.db.conn.in_transaction:  # a nested transaction would wait for the lock this thread holds
            raise StoreError(f"database write on {self.path} started inside another transaction")
        if not self._writer.acquire(timeout=WRITE_WAIT_SECONDS):
            raise StoreError(f"cannot write to the database {self.path}: busy with other writes for "
                             f"{WRITE_WAIT_SECONDS:g} s")
        try:
            yield from self._transaction()
        finally:
            self._writer.release()

    def _transaction(self) -> Iterator[sqlite_utils.Database]:
        try:
            self.db.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:  # locked past the busy timeout, disk full, read-only …
            raise StoreError(f"cannot write to the database {self.path}: {exc}") from exc
        try:
            yield self.db
        except sqlite3.Error as exc:
            self.db.conn.rollback()
            raise StoreError(f"database write failed ({self.path}): {exc}") from exc
        except BaseException:
            self.db.conn.rollback()
            raise
        else:
            try:
                self.db.conn.commit()
            except sqlite3.Error as exc:
                self.db.conn.rollback()
                raise StoreError(f"database commit failed ({self.path}): {exc}") from exc

    def _dicts(self, sql: str, params: Sequence[object] = ()) -> Iterator[dict]:
        """The rows of a query as dicts keyed by column name: what sqlite-utils' ``query`` gives, without its
        per-call parsing of the statement (claim tracking runs several queries for every claim a poll hits)."""
        cursor = self.db.conn.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        return (dict(zip(columns, row)) for row in cursor)

    # --- feeds -------------------------------------------------------------------------------------------

    def feed_state(self, name: str) -> FeedState | None:
        rows = list(self._dicts("SELECT * FROM feeds WHERE name = ?", [name]))
        return _feed_state(rows[0]) if rows else None

    def feed_states(self) -> list[FeedState]:
        return [_feed_state(row) for row in self.db["feeds"].rows_where(order_by="name")]

    def record_feed_ok(self, name: str, url: str, now: datetime, *, etag: str | None, last_modified: str | None,
                       next_poll_at: datetime | None = None, fetch_url: str | None = None,
                       content_hash: str | None = None, redirect: tuple[str | None, int] = (None, 0)) -> None:
        """A poll succeeded (a new body, an unchanged one, or a 304): end the error streak, keep the validators.

        ``content_hash`` None keeps the stored hash (a 304 says nothing new about the body).
        """
        at = to_db_time(now)
        self.db.execute(
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
        self.db.execute(
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
        self.db.execute("UPDATE feeds SET next_poll_at = ? WHERE name = ?", [to_db_time(next_poll_at), name])

    def mark_feed_failing_alerted(self, name: str, now: datetime) -> None:
        self.db.execute("UPDATE feeds SET failing_alerted_at = ? WHERE name = ?", [to_db_time(now), name])

    # --- stories and hits --------------------------------------------------------------------------------

    def known_story_ids(self, ids: Iterable[str]) -> set[str]:
        known: set[str] = set()
        for chunk, marks in _in_lists(list(ids)):
            known.update(r[0] for r in self.db.execute(f"SELECT id FROM stories WHERE id IN ({marks})", chunk))
        return known

    def ids_with_known_links(self, feed: str, stories: Iterable[Story]) -> set[str]:
        """Ids of ``stories`` whose link this feed has already shown under another id."""
        by_link = {s.link: s.id for s in stories if s.link}
        links = list(by_link)
        found: set[str] = set()
        for chunk, marks in _in_lists(links):
            found.update(by_link[row[0]] for row in self.db.execute(
                f"SELECT link FROM stories WHERE feed = ? AND link IN ({marks})", [feed, *chunk]))
        return found

    # The two bulk inserts of a poll use executemany: sqlite-utils' insert_all inspects every row in Python, which
    # cost more than the inserts themselves in a cold cycle.
    def insert_stories(self, stories: Iterable[Story], now: datetime) -> None:
        seen_at = to_db_time(now)
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO stories (id, feed, title, summary, link, published_at, seen_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(s.id, s.feed, s.title, s.summary, s.link, to_db_time(s.published_at), seen_at) for s in stories])

    def insert_hits(self, hits: Iterable[Hit], now: datetime) -> None:
        created_at = to_db_time(now)
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO hits (story_id, claim_id, score, matched_terms, created_at, verdict, cue, "
            "sentence, group_id, headline_key, fresh) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(h.story_id, h.claim_id, h.score, json.dumps(list(h.matched_terms)), created_at, str(h.verdict), h.cue,
              h.sentence, h.group_id, h.headline_key, int(h.fresh)) for h in hits])

    def group_candidates(self, claim_id: str, verdict: str, since: datetime) -> list[tuple[str, str]]:
        """(group id, headline key) of the claim's hits with this verdict since ``since``, newest first, at most
        GROUP_CANDIDATES_LIMIT of them; of hits stored at the same moment (one poll's), the last stored first:
        grouping prefers the first of equally close headlines."""
        # Read in the covering index's order (time, then group and headline) and put each moment's hits in the
        # order they were stored here, in C: asking SQLite for that order made it sort every row, at twice the
        # cost of the read. (Where the limit cuts through one moment's hits, the index decides which are kept.)
        rows = self.db.execute(
            """SELECT created_at, rowid, group_id, headline_key FROM hits
               WHERE claim_id = ? AND verdict = ? AND created_at >= ? AND group_id IS NOT NULL
               ORDER BY created_at DESC LIMIT ?""",
            [claim_id, verdict, to_db_time(since), GROUP_CANDIDATES_LIMIT]).fetchall()
        rows.sort(key=_moment_and_row, reverse=True)
        return list(map(_group_and_key, rows))

    def claim_evidence(self, claim_id: str, *, since: datetime | None = None, verdict: str | None = None,
                       group_id: str | None = None, fresh_only: bool = False,
                       decisive_only: bool = False) -> list[dict]:
        """The claim's hits joined with their stories (``matched_terms`` as a list), oldest first, optionally
        narrowed (``decisive_only``: verdicts other than pending)."""
        where, params = ["h.claim_id = ?"], [claim_id]
        if fresh_only:
            where.append("h.fresh = 1")
        if decisive_only:
            where.append("h.verdict != 'pending'")
        for clause, value in (("h.created_at >= ?", to_db_time(since)), ("h.verdict = ?", verdict),
                              ("h.group_id = ?", group_id)):
            if value is not None:
                where.append(clause)
                params.append(value)
        rows = self._dicts(
            f"""SELECT h.story_id, h.group_id, h.verdict, h.cue, h.sentence, h.score, h.matched_terms, h.created_at,
                       h.fresh, s.feed AS outlet, s.title, s.link, s.published_at
                FROM hits h JOIN stories s ON s.id = h.story_id
                WHERE {' AND '.join(where)} ORDER BY h.created_at, s.published_at""", params)
        return [{**row, "matched_terms": json.loads(row["matched_terms"] or "[]")} for row in rows]

    # --- claims ------------------------------------------------------------------------------------------

    def claim_state(self, claim_id: str) -> dict | None:
        rows = list(self._dicts("SELECT * FROM claims WHERE id = ?", [claim_id]))
        return rows[0] if rows else None

    def claim_states(self, claim_ids: Iterable[str]) -> dict[str, dict]:
        """The stored rows of these claims by id; a claim without one (no hit yet) is left out."""
        found: dict[str, dict] = {}
        for chunk, marks in _in_lists(list(claim_ids)):
            found.update((row["id"], row) for row in self._dicts(f"SELECT * FROM claims WHERE id IN ({marks})",
                                                                  chunk))
        return found

    def record_transition(self, claim_id: str, previous: str, state: str, at: datetime, story_id: str,
                          reported_at: datetime, evidence: list[dict]) -> None:
        """Move a claim to ``state`` and append the change, with its evidence, to the claim's history."""
        stamp = to_db_time(at)
        self.db.execute(
            """INSERT INTO claims (id, state, since_at, reported_at, updated_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET state = excluded.state, since_at = excluded.since_at,
                   reported_at = excluded.reported_at, updated_at = excluded.updated_at""",
            [claim_id, state, stamp, to_db_time(reported_at), stamp])
        self.db["claim_history"].insert({"claim_id": claim_id, "previous_state": previous, "state": state,
                                         "at": stamp, "story_id": story_id, "evidence": json.dumps(evidence)})

    def mark_overdue_alerted(self, claim_id: str, expect_by: str, now: datetime) -> None:
        stamp = to_db_time(now)
        self.db.execute(
            """INSERT INTO claims (id, state, since_at, updated_at, overdue_alerted_for)
               VALUES (?, 'pending', ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET overdue_alerted_for = excluded.overdue_alerted_for""",
            [claim_id, stamp, stamp, expect_by])

    def claim_history(self, claim_id: str) -> list[dict]:
        return [{**r, "evidence": json.loads(r["evidence"] or "[]")} for r in self._dicts(
            "SELECT * FROM claim_history WHERE claim_id = ? ORDER BY id", [claim_id])]

    def claim_ids(self) -> set[str]:
        """The ids of every claim the database holds a state or a hit for (configured or not any more)."""
        return {row[0] for row in self.db.execute("SELECT id FROM claims UNION SELECT claim_id FROM hits")}

    def claim_summaries(self) -> dict[str, dict]:
        """Per claim id: hit counts by verdict and the time of the last hit."""
        out: dict[str, dict] = {}
        for claim_id, verdict, count, last in self.db.execute(
                "SELECT claim_id, verdict, COUNT(*), MAX(created_at) FROM hits GROUP BY claim_id, verdict"):
            entry = out.setdefault(claim_id, {"hits": {}, "last_hit_at": None})
            entry["hits"][verdict] = count
            entry["last_hit_at"] = max(filter(None, (entry["last_hit_at"], last)), default=None)
        return out

    def stories_since(self, since: datetime) -> Iterator[Story]:
        """Stored stories first seen since ``since``, oldest first (streamed, not loaded at once)."""
        for row in self._dicts("SELECT * FROM stories WHERE seen_at >= ? ORDER BY seen_at", [to_db_time(since)]):
            yield Story(id=row["id"], feed=row["feed"], title=row["title"], summary=row["summary"] or "",
                        link=row["link"], published_at=from_db_time(row["published_at"]))

    def prune_stories(self, before: datetime) -> int:
        """Delete stories first seen before ``before`` that no claim matched; hits, their stories, claim history
        and the outbox are kept. Returns how many were deleted."""
        cursor = self.db.execute("""DELETE FROM stories WHERE seen_at < ?
                                    AND NOT EXISTS (SELECT 1 FROM hits h WHERE h.story_id = stories.id)""",
                                 [to_db_time(before)])
        return cursor.rowcount

    def stories_by_link(self, link: str) -> list[dict]:
        return list(self._dicts("SELECT * FROM stories WHERE link = ? ORDER BY seen_at", [link]))

    def hits(self, *, since: datetime | None = None, claim_id: str | None = None,
             story_id: str | None = None) -> list[dict]:
        """Hits joined with their stories, newest first. ``fresh`` is False for a story too old to alert when it
        was seen (``max_age_hours``)."""
        where, params = ["1 = 1"], []
        if story_id is not None:
            where.append("h.story_id = ?")
            params.append(story_id)
        if since is not None:
            where.append("h.created_at >= ?")
            params.append(to_db_time(since))
        if claim_id is not None:
            where.append("h.claim_id = ?")
            params.append(claim_id)
        rows = self._dicts(
            f"""SELECT h.claim_id, h.story_id, h.score, h.matched_terms, h.verdict, h.cue, h.sentence, h.group_id,
                       h.fresh, h.created_at, s.feed, s.title, s.link, s.published_at
                FROM hits h JOIN stories s ON s.id = h.story_id
                WHERE {' AND '.join(where)} ORDER BY h.created_at DESC, s.published_at DESC""", params)
        return [{**row, "matched_terms": json.loads(row["matched_terms"] or "[]"), "fresh": bool(row["fresh"])}
                for row in rows]

    def story(self, story_id: str) -> dict | None:
        rows = list(self._dicts("SELECT * FROM stories WHERE id = ?", [story_id]))
        return rows[0] if rows else None


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
