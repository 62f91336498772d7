"""The store on its own: write transactions, migrations, bound-list chunking and the typed records it returns."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlite_utils

from conftest import utc
from monitor.errors import StoreError
from monitor.models import Hit, Story, Verdict
from monitor.reading import grouping
from monitor.store import MIGRATIONS, Store
from monitor.store.sql import in_lists


def test_a_nested_write_fails_at_once_instead_of_waiting_for_its_own_lock(tmp_path):
    store = Store(tmp_path / "nested.db")
    with store.transaction():
        with pytest.raises(StoreError, match="inside another transaction"):
            with store.transaction():
                pass
    with store.transaction():  # the lock was released: writing works again
        pass


def test_claim_states_reads_every_asked_claim_across_parameter_chunks(tmp_path):
    store = Store(tmp_path / "states.db")
    moved = {f"claim-{i}" for i in range(0, 1200, 7)}
    with store.transaction():
        for claim_id in sorted(moved):
            store.record_transition(claim_id, "pending", "confirmed", utc(2026, 11, 27), "s1", utc(2026, 11, 27), [])
    states = store.claim_states(f"claim-{i}" for i in range(1200))  # more ids than one IN list may bind
    assert set(states) == moved
    assert all(row.state == "confirmed" and row.id == claim_id for claim_id, row in states.items())


def test_an_upgraded_database_answers_grouping_from_an_index_alone(tmp_path):
    """Migration 6 replaces the (claim, verdict, time) index with one that also holds the group and headline, and
    drops the unused (feed, seen_at) index on stories."""
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    for migration in MIGRATIONS[:5]:
        migration(db)
    db.execute("PRAGMA user_version = 5")
    db["stories"].insert({"id": "s1", "feed": "a", "title": "t", "seen_at": "2026-11-27T00:00:00+00:00"})
    db["hits"].insert({"story_id": "s1", "claim_id": "c", "score": 50.0, "created_at": "2026-11-27T00:00:00+00:00",
                       "verdict": "confirmed", "group_id": "s1", "headline_key": "iraq sign deal"})
    db.conn.commit()
    before = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"idx_hits_claim_id_verdict_created_at", "idx_stories_feed_seen_at"} <= before
    db.close()

    store = Store(path)
    assert store.group_candidates("c", "confirmed", utc(2026, 11, 26)) == [("s1", "iraq sign deal")]
    plan = " ".join(str(row) for row in store.db.execute(
        "EXPLAIN QUERY PLAN SELECT group_id, headline_key FROM hits WHERE claim_id = ? AND verdict = ? "
        "AND created_at >= ? AND group_id IS NOT NULL ORDER BY created_at DESC", ["c", "confirmed", "x"]))
    assert "COVERING INDEX" in plan
    indexes = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "idx_hits_claim_id_verdict_created_at" not in indexes and "idx_stories_feed_seen_at" not in indexes
    assert {"idx_stories_feed_link", "idx_stories_seen_at", "idx_stories_link"} <= indexes  # the ones queries use


def test_id_lists_take_few_statement_shapes_and_lose_no_id():
    """Each connection keeps a prepared statement per distinct SQL text: IN lists come in a few lengths only."""
    shapes = set()
    for n in range(0, 1300, 7):
        values = [f"id-{i}" for i in range(n)]
        chunks = list(in_lists(values))
        shapes.update(marks for _, marks in chunks)
        assert [v for chunk, _ in chunks for v in chunk if v is not None] == values
        assert all(len(chunk) == marks.count("?") for chunk, marks in chunks)
    assert len(shapes) <= 4


def test_of_hits_stored_at_the_same_moment_grouping_prefers_the_last_stored(tmp_path):
    """Two hits of one poll share their stamp; a later headline as close to both joins the later one's group,
    whatever the group ids (an index holding them must not order the tie by group id)."""
    store = Store(tmp_path / "ties.db")
    at = utc(2026, 11, 27, 12)
    with store.transaction():
        store.insert_stories([Story("s1", "f", "t1", ""), Story("s2", "f", "t2", "")], at)
        store.insert_hits([
            Hit("s1", "c", 50.0, (), Verdict.CONFIRMED, None, None, "zzz", "iraq us sign troop deal baghdad vote"),
            Hit("s2", "c", 50.0, (), Verdict.CONFIRMED, None, None, "aaa", "iraq us sign troop deal pentagon budget"),
        ], at)
    rows = store.group_candidates("c", "confirmed", at - timedelta(hours=1))
    assert [group for group, _ in rows] == ["aaa", "zzz"]
    assert grouping.find_group("iraq us sign troop deal", grouping.Candidates(rows), 80.0) == "aaa"
