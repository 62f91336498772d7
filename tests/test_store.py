"""The store on its own: write transactions, migrations, bound-list chunking and the typed records it returns.

Tests taking ``database`` run on SQLite and on PostgreSQL (see conftest.database_setting)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlite_utils

from conftest import utc
from monitor.errors import StoreError
from monitor.models import Alert, Hit, Story, Verdict
from monitor.reading import grouping
from monitor.retry import Decision
from monitor.store import (MIGRATIONS, ClaimRecord, EvidenceRecord, HitRecord, Store, StoredStory, from_db_time,
                           outbox, to_db_time)
from monitor.store.sql import in_lists


def test_a_nested_write_fails_at_once_instead_of_waiting_for_its_own_lock(database):
    store = Store(database)
    with store.transaction():
        with pytest.raises(StoreError, match="inside another transaction"):
            with store.transaction():
                pass
    with store.transaction():  # the lock was released: writing works again
        pass


def test_claim_states_reads_every_asked_claim_across_parameter_chunks(database):
    store = Store(database)
    moved = {f"claim-{i}" for i in range(0, 1200, 7)}
    with store.transaction():
        for claim_id in sorted(moved):
            store.record_transition(claim_id, "pending", "confirmed", utc(2026, 11, 27), "s1", utc(2026, 11, 27), [])
    states = store.claim_states(f"claim-{i}" for i in range(1200))  # more ids than one IN list may bind
    assert set(states) == moved
    assert all(row.state == "confirmed" and row.id == claim_id for claim_id, row in states.items())


def test_a_new_database_gets_every_migration_once_and_a_newer_one_is_refused(tmp_path):
    path = tmp_path / "fresh.db"
    Store(path).close()
    db = sqlite_utils.Database(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert {"feeds", "stories", "hits", "outbox", "claims", "claim_history", "channels"} <= set(db.table_names())
    db.close()
    Store(path).close()  # reopening migrates nothing (a re-run of migration 1 would fail: its tables exist)
    db = sqlite_utils.Database(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match=f"schema version {len(MIGRATIONS) + 1}, newer than this news-monitor"):
        Store(path)


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


def test_of_hits_stored_at_the_same_moment_grouping_prefers_the_last_stored(database):
    """Two hits of one poll share their stamp; a later headline as close to both joins the later one's group,
    whatever the group ids (an index holding them must not order the tie by group id)."""
    store = Store(database)
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


def test_claim_state_history_and_evidence_come_back_typed(database):
    """Stored text is the store's business: callers get Verdicts, aware datetimes, dates and tuples."""
    store = Store(database)
    at, published = utc(2026, 11, 27, 12), utc(2026, 11, 27, 10, 30)
    with store.transaction():
        store.insert_stories([Story("s1", "wire", "Deal signed", "body", "https://w.example/s1", published),
                              Story("s2", "desk", "Deal signed, again", "", None, None)], at)
        store.insert_hits([Hit("s1", "deal", 81.5, ("deal", "sign"), Verdict.CONFIRMED, "signed", "It was signed.",
                               "s1", "deal signed"),
                           Hit("s2", "deal", 60.0, ("deal",), Verdict.PENDING, None, None, "s1", "deal signed",
                               fresh=False)], at)
        store.record_transition("deal", Verdict.PENDING, Verdict.CONFIRMED, at, "s1", published, [{"id": "s1"}])
        store.mark_overdue_alerted("deal", utc(2026, 12, 1).date(), at + timedelta(days=5))

    record = store.claim_state("deal")
    assert record == ClaimRecord(id="deal", state=Verdict.CONFIRMED, since_at=at, reported_at=published,
                                 updated_at=at, overdue_alerted_for=utc(2026, 12, 1).date())
    assert type(record.state) is Verdict and record.since_at.tzinfo is not None
    assert store.claim_states(["deal", "other"]) == {"deal": record}
    [change] = store.claim_history("deal")
    assert (change.previous_state, change.state, change.at, change.story_id, change.evidence) == \
        (Verdict.PENDING, Verdict.CONFIRMED, at, "s1", ({"id": "s1"},))

    second, first = store.claim_evidence("deal")  # stored at the same moment: by publication, undated first
    assert isinstance(first, EvidenceRecord)
    assert (first.verdict, first.matched_terms, first.created_at, first.published_at, first.fresh) == \
        (Verdict.CONFIRMED, ("deal", "sign"), at, published, True)
    assert first.reported_at == published and second.reported_at == at  # undated: when it was first seen
    assert first.story == Story("s1", "wire", "Deal signed", "", "https://w.example/s1", published)
    assert first.hit == Hit("s1", "deal", 81.5, ("deal", "sign"), Verdict.CONFIRMED, "signed", "It was signed.",
                            "s1", None, True)
    assert (second.verdict, second.fresh, second.link) == (Verdict.PENDING, False, None)
    assert store.claim_evidence("deal", decisive_only=True) == [first]
    assert store.claim_evidence("deal", verdict=Verdict.PENDING) == [second]
    assert store.claim_evidence("deal", fresh_only=True, since=at + timedelta(seconds=1)) == []

    summary = store.claim_summaries()["deal"]
    assert summary.hits == {Verdict.CONFIRMED: 1, Verdict.PENDING: 1} and summary.last_hit_at == at

    stored = store.story("s1")
    assert stored == StoredStory("s1", "wire", "Deal signed", "body", "https://w.example/s1", published, at)
    assert store.stories_by_link("https://w.example/s1") == [stored] and store.story("nope") is None
    listed = store.hits(claim_id="deal")
    assert [type(h) for h in listed] == [HitRecord, HitRecord]
    assert [(h.story_id, h.verdict, h.fresh, h.created_at, h.published_at) for h in listed] == \
        [("s1", Verdict.CONFIRMED, True, at, published), ("s2", Verdict.PENDING, False, at, None)]


def test_outbox_rows_and_channels_come_back_typed(database):
    store = Store(database)
    at = utc(2026, 11, 27, 12)
    outbox.enqueue(store, Alert("a1", "deal", "s1", "claim.state_changed",
                                {"state": "confirmed", "story": {"title": "Deal signed"}}), ["hook"], at)
    [row] = outbox.due(store, at)
    assert isinstance(row, outbox.OutboxRow) and row.created_at == at and row.budget_since == at
    assert row.payload == {"state": "confirmed", "story": {"title": "Deal signed"}}
    assert outbox.lease(store, [row], "elsewhere:1:t", at, 15) == [row]
    outbox.pause_channel(store, "hook", at + timedelta(hours=1), "HTTP 429")
    [entry] = outbox.rows(store)
    assert entry == outbox.OutboxRow(
        id="a1/hook", alert_id="a1", channel="hook", claim_id="deal", story_id="s1", kind="claim.state_changed",
        payload={"state": "confirmed", "story": {"title": "Deal signed"}}, status="pending", attempts=0,
        created_at=at, next_attempt_at=at, last_attempt_at=None, last_error=None, sent_at=None, requeued_at=None,
        lease_owner="elsewhere:1:t", lease_until=at + timedelta(seconds=15))
    assert outbox.channel_states(store) == {"hook": outbox.ChannelState(
        name="hook", url_fingerprint=None, disabled_reason=None, disabled_at=None,
        paused_until=at + timedelta(hours=1), pause_reason="HTTP 429")}

    later = at + timedelta(hours=2)
    assert outbox.requeue(store, later, row_ids=["a1"]) == 1
    [requeued] = outbox.due(store, later)
    assert requeued.requeued_at == later and requeued.budget_since == later  # a fresh retry budget


def test_the_outbox_records_the_retry_decision_it_is_given(database):
    """Delivery decides (retry.decide); the store writes down exactly that, whatever the attempt count."""
    store = Store(database)
    at = utc(2026, 11, 27, 12)
    outbox.enqueue(store, Alert("a1", "deal", None, "claim.overdue", {}), ["hook"], at)
    [row] = outbox.due(store, at)
    retry_at = at + timedelta(days=30)  # far past anything retry.decide would choose
    outbox.record_failure(store, row, at, "HTTP 503", Decision(status="pending", next_attempt_at=retry_at))
    [entry] = outbox.rows(store)
    assert (entry.status, entry.attempts, entry.next_attempt_at, entry.last_error) == \
        ("pending", 1, retry_at, "HTTP 503")
    [again] = outbox.due(store, retry_at)
    outbox.record_failure(store, again, retry_at, "HTTP 400", Decision(status="dead", next_attempt_at=retry_at))
    assert outbox.counts(store) == {"pending": 0, "sent": 0, "dead": 1}


def test_stored_moments_are_utc_text_in_time_order_and_read_back_equal():
    from datetime import timezone as tz

    east = datetime(2026, 11, 27, 14, 0, 0, 5, tzinfo=tz(timedelta(hours=2)))
    assert to_db_time(east) == "2026-11-27T12:00:00.000005+00:00"
    assert from_db_time(to_db_time(east)) == east and to_db_time(None) is None and from_db_time(None) is None
    assert to_db_time(east) < to_db_time(east + timedelta(microseconds=1))
