"""Stories and hits: what each feed showed, which claims each story hit, and the hits grouping compares with."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter

from monitor.models import Hit, Story, Verdict
from monitor.store.schema import from_db_time, to_db_time
from monitor.store.sql import Queries, in_lists

GROUP_CANDIDATES_LIMIT = 2000  # the newest hits a story is compared with for grouping, per claim and verdict
_moment_and_row = itemgetter(0, 1)  # (created_at, rowid) of a group_candidates row
_group_and_key = itemgetter(2, 3)


@dataclass(frozen=True, slots=True)
class StoredStory:
    """A stored story with when it was first seen (``summary`` None: the feed gave none; ``outlet`` None: stored
    before outlets were, so its feed is its outlet)."""

    id: str
    feed: str
    title: str
    summary: str | None
    link: str | None
    published_at: datetime | None
    seen_at: datetime
    article_text: str | None = None  # the article page's main text (full_text = "hits")
    article_error: str | None = None  # why the article page gave no text
    outlet: str | None = None

    @property
    def reported_by(self) -> str:
        return self.outlet or self.feed


@dataclass(frozen=True, slots=True)
class HitRecord:
    """A stored hit joined with its story. ``fresh`` is False for a story too old to alert when it was seen
    (``max_age_hours``)."""

    claim_id: str
    story_id: str
    score: float
    matched_terms: tuple[str, ...]
    verdict: Verdict
    cue: str | None
    sentence: str | None
    group_id: str | None
    fresh: bool
    created_at: datetime
    feed: str
    title: str
    link: str | None
    published_at: datetime | None
    outlet: str  # the publisher; the feed for a story stored before outlets were
    sentence_source: str | None = None  # "article": the sentence is quoted from the article page


class StoryQueries(Queries):
    """The ``stories`` and ``hits`` tables."""

    def known_story_ids(self, ids: Iterable[str]) -> set[str]:
        known: set[str] = set()
        for chunk, marks in in_lists(list(ids)):
            known.update(r[0] for r in self.sql.execute(f"SELECT id FROM stories WHERE id IN ({marks})", chunk))
        return known

    def ids_with_known_links(self, feed: str, stories: Iterable[Story]) -> set[str]:
        """Ids of ``stories`` whose link this feed has already shown under another id."""
        by_link = {s.link: s.id for s in stories if s.link}
        links = list(by_link)
        found: set[str] = set()
        for chunk, marks in in_lists(links):
            found.update(by_link[row[0]] for row in self.sql.execute(
                f"SELECT link FROM stories WHERE feed = ? AND link IN ({marks})", [feed, *chunk]))
        return found

    # The two bulk inserts of a poll use executemany: sqlite-utils' insert_all inspects every row in Python, which
    # cost more than the inserts themselves in a cold cycle.
    def insert_stories(self, stories: Iterable[Story], now: datetime) -> None:
        seen_at = to_db_time(now)
        self.sql.executemany(
            "INSERT INTO stories (id, feed, title, summary, link, published_at, seen_at, article_text, "
            "article_error, outlet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(s.id, s.feed, s.title, s.summary, s.link, to_db_time(s.published_at), seen_at, s.article,
              s.article_error, s.outlet or None) for s in stories])

    def insert_hits(self, hits: Iterable[Hit], now: datetime) -> None:
        created_at = to_db_time(now)
        self.sql.executemany(
            "INSERT INTO hits (story_id, claim_id, score, matched_terms, created_at, verdict, cue, sentence, "
            "group_id, headline_key, fresh, sentence_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(h.story_id, h.claim_id, h.score, json.dumps(list(h.matched_terms)), created_at, str(h.verdict), h.cue,
              h.sentence, h.group_id, h.headline_key, int(h.fresh), h.sentence_source) for h in hits])

    def group_candidates(self, claim_id: str, verdict: Verdict, since: datetime) -> list[tuple[str, str]]:
        """(group id, headline key) of the claim's hits with this verdict since ``since``, newest first, at most
        GROUP_CANDIDATES_LIMIT of them; of hits stored at the same moment (one poll's), the last stored first:
        grouping prefers the first of equally close headlines."""
        # Read in the covering index's order (time, then group and headline) and put each moment's hits in the
        # order they were stored here, in C: asking SQLite for that order made it sort every row, at twice the
        # cost of the read. (Where the limit cuts through one moment's hits, the index decides which are kept.)
        rows = self.sql.execute(
            """SELECT created_at, rowid, group_id, headline_key FROM hits
               WHERE claim_id = ? AND verdict = ? AND created_at >= ? AND group_id IS NOT NULL
               ORDER BY created_at DESC LIMIT ?""",
            [claim_id, verdict, to_db_time(since), GROUP_CANDIDATES_LIMIT]).fetchall()
        rows.sort(key=_moment_and_row, reverse=True)
        return list(map(_group_and_key, rows))

    def stories_since(self, since: datetime) -> Iterator[Story]:
        """Stored stories first seen since ``since``, oldest first (streamed, not loaded at once)."""
        for row in self._dicts("SELECT * FROM stories WHERE seen_at >= ? ORDER BY seen_at", [to_db_time(since)]):
            yield Story(id=row["id"], feed=row["feed"], title=row["title"], summary=row["summary"] or "",
                        link=row["link"], published_at=from_db_time(row["published_at"]),
                        article=row["article_text"], article_error=row["article_error"], outlet=row["outlet"] or "")

    def prune_stories(self, before: datetime) -> int:
        """Delete stories first seen before ``before`` that no claim matched; hits, their stories, claim history
        and the outbox are kept. Returns how many were deleted."""
        cursor = self.sql.execute("""DELETE FROM stories WHERE seen_at < ?
                                    AND NOT EXISTS (SELECT 1 FROM hits h WHERE h.story_id = stories.id)""",
                                 [to_db_time(before)])
        return cursor.rowcount

    def stories_by_link(self, link: str) -> list[StoredStory]:
        return [_stored_story(row) for row in self._dicts("SELECT * FROM stories WHERE link = ? ORDER BY seen_at",
                                                          [link])]

    def hits(self, *, since: datetime | None = None, claim_id: str | None = None,
             story_id: str | None = None) -> list[HitRecord]:
        """Hits joined with their stories, newest first."""
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
                       h.fresh, h.created_at, s.feed, s.title, s.link, s.published_at,
                       COALESCE(s.outlet, s.feed) AS outlet, h.sentence_source
                FROM hits h JOIN stories s ON s.id = h.story_id
                WHERE {' AND '.join(where)} ORDER BY h.created_at DESC, s.published_at DESC NULLS LAST,
                         h.rowid DESC""", params)
        return [HitRecord(**{**row, "matched_terms": tuple(json.loads(row["matched_terms"] or "[]")),
                             "verdict": Verdict(row["verdict"]), "fresh": bool(row["fresh"]),
                             "created_at": from_db_time(row["created_at"]),
                             "published_at": from_db_time(row["published_at"])})
                for row in rows]

    def story(self, story_id: str) -> StoredStory | None:
        rows = list(self._dicts("SELECT * FROM stories WHERE id = ?", [story_id]))
        return _stored_story(rows[0]) if rows else None


def _stored_story(row: dict) -> StoredStory:
    return StoredStory(**{**row, "published_at": from_db_time(row["published_at"]),
                          "seen_at": from_db_time(row["seen_at"])})
