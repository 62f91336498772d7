"""The durable outbox: one row per (alert, channel), written with the poll that caused it, sent later.

Rows move ``pending`` → ``sent``, or stay ``pending`` with a later ``next_attempt_at`` after a failure.
``claim_due`` leases the rows it returns (pushes their ``next_attempt_at`` forward) inside a transaction, so two
deliverers — the daemon and a ``poll-once`` run side by side — never send the same row at the same time, and a
deliverer that dies mid-send leaves rows that become due again when the lease ends (sent again with the same
alert id, which receivers can dedupe on).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .models import Alert
from .store import Store, from_db_time, to_db_time

LEASE_SECONDS = 300
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: str
    alert_id: str
    channel: str
    claim_id: str | None
    story_id: str | None
    kind: str
    payload: dict
    attempts: int
    created_at: datetime


def row_id(alert_id: str, channel: str) -> str:
    return f"{alert_id}/{channel}"


def enqueue(store: Store, alert: Alert, channels: Iterable[str], now: datetime) -> int:
    """Add one pending row per channel; an alert already queued is left as it is. Returns rows added."""
    before = store.db.conn.total_changes
    store.db["outbox"].insert_all(
        ({"id": row_id(alert.id, channel), "alert_id": alert.id, "channel": channel, "claim_id": alert.claim_id,
          "story_id": alert.story_id, "kind": alert.kind, "payload": json.dumps(alert.payload, sort_keys=True),
          "status": "pending", "attempts": 0, "created_at": to_db_time(now), "next_attempt_at": to_db_time(now)}
         for channel in channels),
        ignore=True)
    return store.db.conn.total_changes - before


def claim_due(store: Store, now: datetime, *, limit: int = 100, ignore_backoff: bool = False) -> list[OutboxRow]:
    """Lease and return pending rows that are due, oldest first.

    A row waits while an older pending row of the same claim and channel is still backing off, so alerts about
    one claim reach a channel in the order they were raised.
    """
    due_by = "9999" if ignore_backoff else to_db_time(now)
    with store.transaction():
        rows = list(store.db.query(
            """SELECT o.rowid AS seq, o.* FROM outbox o
               WHERE o.status = 'pending' AND o.next_attempt_at <= :due
                 AND NOT EXISTS (SELECT 1 FROM outbox e
                                 WHERE e.status = 'pending' AND e.channel = o.channel
                                   AND e.claim_id IS o.claim_id AND e.rowid < o.rowid AND e.next_attempt_at > :due)
               ORDER BY o.rowid LIMIT :limit""",
            {"due": due_by, "limit": limit}))
        lease_until = to_db_time(now + timedelta(seconds=LEASE_SECONDS))
        store.db.conn.executemany("UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
                             [(lease_until, r["id"]) for r in rows])
    return [OutboxRow(id=r["id"], alert_id=r["alert_id"], channel=r["channel"], claim_id=r["claim_id"],
                      story_id=r["story_id"], kind=r["kind"], payload=json.loads(r["payload"]),
                      attempts=r["attempts"], created_at=from_db_time(r["created_at"])) for r in rows]


def mark_sent(store: Store, row: OutboxRow, now: datetime) -> None:
    with store.transaction():
        store.db.execute(
            """UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_attempt_at = ?,
                   last_error = NULL WHERE id = ?""", [to_db_time(now), to_db_time(now), row.id])


def mark_retry(store: Store, row: OutboxRow, now: datetime, error: str) -> datetime:
    """Record a failed attempt and schedule the next one with exponential backoff; return its time."""
    attempts = row.attempts + 1
    delay = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS)
    next_at = now + timedelta(seconds=delay)
    with store.transaction():
        store.db.execute(
            """UPDATE outbox SET attempts = ?, last_attempt_at = ?, next_attempt_at = ?, last_error = ?
               WHERE id = ?""", [attempts, to_db_time(now), to_db_time(next_at), error, row.id])
    return next_at


def release(store: Store, rows: Iterable[OutboxRow], not_before: datetime) -> None:
    """Give leased rows back unsent, due again at ``not_before`` (used to keep per-claim order)."""
    with store.transaction():
        store.db.conn.executemany("UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
                             [(to_db_time(not_before), r.id) for r in rows])


def counts(store: Store) -> dict[str, int]:
    """Number of outbox rows by status (every status present, zero when empty)."""
    result = {"pending": 0, "sent": 0, "dead": 0}
    for status, count in store.db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status"):
        result[status] = count
    return result
