"""Claim state, its history, and the evidence (hits joined with their stories) state changes are decided on."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from monitor.models import Hit, Story, Verdict
from monitor.store.schema import from_db_date, from_db_time, to_db_time
from monitor.store.sql import Queries, in_lists


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """A claim's stored state. ``since_at``: when it entered ``state``; ``reported_at``: when the story that
    decided it was published (older news cannot undo it; None for a claim never moved); ``overdue_alerted_for``:
    the ``expect_by`` date an overdue alert was queued for."""

    id: str
    state: Verdict
    since_at: datetime
    reported_at: datetime | None = None
    updated_at: datetime | None = None
    overdue_alerted_for: date | None = None
    muted_until: datetime | None = None

    def muted(self, now: datetime) -> bool:
        """Whether the claim's alerts are suppressed at ``now`` (``claims mute``)."""
        return self.muted_until is not None and self.muted_until > now


@dataclass(frozen=True, slots=True)
class ClaimChange:
    """One entry of a claim's history: the move from ``previous_state`` to ``state`` at ``at``, the story that
    caused it, and the evidence (alert story references) that supported it."""

    id: int
    claim_id: str
    previous_state: Verdict | None
    state: Verdict
    at: datetime
    story_id: str | None
    evidence: tuple[dict, ...] = ()
    kind: str = "change"  # change (the news moved it), mute, unmute or reset (by hand)
    note: str | None = None  # for an entry made by hand: why, or until when


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """A stored hit of a claim joined with its story: what the claim's state is decided on."""

    claim_id: str
    story_id: str
    group_id: str | None
    verdict: Verdict
    cue: str | None
    sentence: str | None
    score: float
    matched_terms: tuple[str, ...]
    created_at: datetime
    fresh: bool
    outlet: str  # the publisher; the feed for a story stored before outlets were
    feed: str
    title: str
    link: str | None
    published_at: datetime | None
    sentence_source: str | None = None

    @property
    def reported_at(self) -> datetime:
        """When the story was published (when it was first seen, if undated)."""
        return self.published_at or self.created_at

    @property
    def story(self) -> Story:
        """The story as an alert quotes it (its summary is not part of the evidence)."""
        return Story(id=self.story_id, feed=self.feed, title=self.title, summary="", link=self.link,
                     published_at=self.published_at, outlet="" if self.outlet == self.feed else self.outlet)

    @property
    def hit(self) -> Hit:
        return Hit(story_id=self.story_id, claim_id=self.claim_id, score=self.score,
                   matched_terms=self.matched_terms, verdict=self.verdict, cue=self.cue, sentence=self.sentence,
                   group_id=self.group_id, fresh=self.fresh, sentence_source=self.sentence_source)


@dataclass(frozen=True, slots=True)
class ClaimSummary:
    """A claim's hit counts by verdict and the time of its last hit."""

    hits: dict[Verdict, int] = field(default_factory=dict)
    last_hit_at: datetime | None = None


def _claim_record(row: dict) -> ClaimRecord:
    return ClaimRecord(id=row["id"], state=Verdict(row["state"]), since_at=from_db_time(row["since_at"]),
                       reported_at=from_db_time(row["reported_at"]), updated_at=from_db_time(row["updated_at"]),
                       overdue_alerted_for=from_db_date(row["overdue_alerted_for"]),
                       muted_until=from_db_time(row.get("muted_until")))


def _evidence_record(row: dict) -> EvidenceRecord:
    return EvidenceRecord(
        claim_id=row["claim_id"], story_id=row["story_id"], group_id=row["group_id"], verdict=Verdict(row["verdict"]),
        cue=row["cue"], sentence=row["sentence"], score=row["score"],
        matched_terms=tuple(json.loads(row["matched_terms"] or "[]")), created_at=from_db_time(row["created_at"]),
        fresh=bool(row["fresh"]), outlet=row["outlet"], feed=row["feed"], title=row["title"], link=row["link"],
        published_at=from_db_time(row["published_at"]), sentence_source=row["sentence_source"])


# A claim's evidence: its hits joined with their stories, the outlet being the publisher (the feed for a story
# stored before outlets were).
_EVIDENCE_COLUMNS = """h.claim_id, h.story_id, h.group_id, h.verdict, h.cue, h.sentence, h.score, h.matched_terms,
       h.created_at, h.fresh, COALESCE(s.outlet, s.feed) AS outlet, s.feed, s.title, s.link, s.published_at,
       h.sentence_source"""


class ClaimQueries(Queries):
    """The ``claims`` and ``claim_history`` tables, and the hits read as a claim's evidence."""

    def claim_state(self, claim_id: str) -> ClaimRecord | None:
        rows = list(self._dicts("SELECT * FROM claims WHERE id = ?", [claim_id]))
        return _claim_record(rows[0]) if rows else None

    def claim_states(self, claim_ids: Iterable[str]) -> dict[str, ClaimRecord]:
        """The stored states of these claims by id; a claim without one (no hit yet) is left out."""
        found: dict[str, ClaimRecord] = {}
        for chunk, marks in in_lists(list(claim_ids)):
            found.update((row["id"], _claim_record(row))
                         for row in self._dicts(f"SELECT * FROM claims WHERE id IN ({marks})", chunk))
        return found

    def record_transition(self, claim_id: str, previous: Verdict, state: Verdict, at: datetime, story_id: str,
                          reported_at: datetime, evidence: list[dict]) -> None:
        """Move a claim to ``state`` and append the change, with its evidence, to the claim's history."""
        stamp = to_db_time(at)
        self.sql.execute(
            """INSERT INTO claims (id, state, since_at, reported_at, updated_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET state = excluded.state, since_at = excluded.since_at,
                   reported_at = excluded.reported_at, updated_at = excluded.updated_at""",
            [claim_id, str(state), stamp, to_db_time(reported_at), stamp])
        self._history(claim_id, previous, state, stamp, story_id, json.dumps(evidence), "change", None)

    def mark_overdue_alerted(self, claim_id: str, expect_by: date, now: datetime) -> None:
        stamp = to_db_time(now)
        self.sql.execute(
            """INSERT INTO claims (id, state, since_at, updated_at, overdue_alerted_for)
               VALUES (?, 'pending', ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET overdue_alerted_for = excluded.overdue_alerted_for""",
            [claim_id, stamp, stamp, expect_by.isoformat()])

    def mute_claim(self, claim_id: str, until: datetime, now: datetime) -> ClaimRecord:
        """Suppress the claim's alerts until ``until`` (its state is still tracked), recorded in its history."""
        with self.transaction():
            record = self._ensure_claim(claim_id, now)
            self.sql.execute("UPDATE claims SET muted_until = ?, updated_at = ? WHERE id = ?",
                             [to_db_time(until), to_db_time(now), claim_id])
            self._note(claim_id, record.state, record.state, now, "mute", f"until {to_db_time(until)}")
        return self.claim_state(claim_id)

    def unmute_claim(self, claim_id: str, now: datetime) -> bool:
        """End the claim's mute; False (nothing recorded) when it was not muted at ``now``."""
        with self.transaction():
            record = self.claim_state(claim_id)
            if record is None or not record.muted(now):
                return False
            self.sql.execute("UPDATE claims SET muted_until = NULL, updated_at = ? WHERE id = ?",
                             [to_db_time(now), claim_id])
            self._note(claim_id, record.state, record.state, now, "unmute", None)
        return True

    def reset_claim(self, claim_id: str, state: Verdict, now: datetime, why: str) -> Verdict:
        """Put the claim in ``state`` from ``now`` (to undo a wrong move), recorded with ``why``; returns the state
        it left. Evidence stored before ``now`` no longer counts (it is read since ``since_at``), and
        ``reported_at`` is cleared, so news seen after the reset moves the claim again as for a claim never moved."""
        with self.transaction():
            record = self._ensure_claim(claim_id, now)
            stamp = to_db_time(now)
            self.sql.execute("UPDATE claims SET state = ?, since_at = ?, reported_at = NULL, updated_at = ?, "
                             "overdue_alerted_for = NULL WHERE id = ?", [str(state), stamp, stamp, claim_id])
            self._note(claim_id, record.state, state, now, "reset", why)
        return record.state

    def _ensure_claim(self, claim_id: str, now: datetime) -> ClaimRecord:
        stamp = to_db_time(now)
        self.sql.execute("INSERT INTO claims (id, state, since_at, updated_at) VALUES (?, 'pending', ?, ?) "
                         "ON CONFLICT DO NOTHING", [claim_id, stamp, stamp])
        return self.claim_state(claim_id)

    def _note(self, claim_id: str, previous: Verdict, state: Verdict, now: datetime, kind: str,
              note: str | None) -> None:
        self._history(claim_id, previous, state, to_db_time(now), None, "[]", kind, note)

    def _history(self, claim_id: str, previous: Verdict, state: Verdict, at: str, story_id: str | None,
                 evidence: str, kind: str, note: str | None) -> None:
        self.sql.execute("""INSERT INTO claim_history (claim_id, previous_state, state, at, story_id, evidence, kind,
                                                       note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                         [claim_id, str(previous), str(state), at, story_id, evidence, kind, note])

    def latest_evidence(self, claim_id: str, *, limit: int, offset: int = 0) -> list[EvidenceRecord]:
        """A page of the claim's hits with their stories, newest first (read along the claim and time index)."""
        rows = self._dicts(
            f"""SELECT {_EVIDENCE_COLUMNS}
               FROM hits h JOIN stories s ON s.id = h.story_id
               WHERE h.claim_id = ? ORDER BY h.created_at DESC, h.rowid DESC LIMIT ? OFFSET ?""",
            [claim_id, limit, offset])
        return [_evidence_record(row) for row in rows]

    def claim_history(self, claim_id: str) -> list[ClaimChange]:
        return [ClaimChange(id=r["id"], claim_id=r["claim_id"],
                            previous_state=Verdict(r["previous_state"]) if r["previous_state"] else None,
                            state=Verdict(r["state"]), at=from_db_time(r["at"]), story_id=r["story_id"],
                            evidence=tuple(json.loads(r["evidence"] or "[]")), kind=r.get("kind") or "change",
                            note=r.get("note"))
                for r in self._dicts("SELECT * FROM claim_history WHERE claim_id = ? ORDER BY id", [claim_id])]

    def claim_ids(self) -> set[str]:
        """The ids of every claim the database holds a state or a hit for (configured or not any more)."""
        return {row[0] for row in self.sql.execute("SELECT id FROM claims UNION SELECT claim_id FROM hits")}

    def claim_summaries(self) -> dict[str, ClaimSummary]:
        """Per claim id: hit counts by verdict and the time of the last hit."""
        counts: dict[str, dict[Verdict, int]] = {}
        last: dict[str, str] = {}
        for claim_id, verdict, count, newest in self.sql.execute(
                "SELECT claim_id, verdict, COUNT(*), MAX(created_at) FROM hits GROUP BY claim_id, verdict"):
            counts.setdefault(claim_id, {})[Verdict(verdict)] = count
            last[claim_id] = max(filter(None, (last.get(claim_id), newest)), default=None)
        return {claim_id: ClaimSummary(hits, from_db_time(last[claim_id])) for claim_id, hits in counts.items()}

    def claim_evidence(self, claim_id: str, *, since: datetime | None = None, verdict: Verdict | None = None,
                       group_id: str | None = None, fresh_only: bool = False,
                       decisive_only: bool = False) -> list[EvidenceRecord]:
        """The claim's hits joined with their stories, oldest first, optionally narrowed (``decisive_only``:
        verdicts other than pending)."""
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
            f"""SELECT {_EVIDENCE_COLUMNS}
                FROM hits h JOIN stories s ON s.id = h.story_id
                WHERE {' AND '.join(where)} ORDER BY h.created_at, s.published_at NULLS FIRST, h.rowid""", params)
        return [_evidence_record(row) for row in rows]
