"""The durable outbox: one row per (alert, channel), written with the poll that caused it, sent later.

Rows move ``pending`` → ``sent``; after a failure they stay ``pending`` with a later ``next_attempt_at``, or
become ``dead``, as the deliverer decided (``retry.decide``: this module only records the decision; ``requeue``
puts them back). Channels have state too: a 410 Gone
disables a channel (its alerts wait, nothing is lost) until its URL changes in the config; a 429 or an outage
pauses it until a given time, so one sick destination is not hammered alert by alert.
``claim_due`` leases the rows it returns (pushes their ``next_attempt_at`` forward) inside a transaction, so two
deliverers — the daemon and a ``poll-once`` run side by side — never send the same row at the same time, and a
deliverer that dies mid-send leaves rows that become due again when the lease ends (sent again with the same
alert id, which receivers can dedupe on).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.models import Alert
from monitor.store import Store
from monitor.store.schema import from_db_time, to_db_time

if TYPE_CHECKING:
    from monitor.retry import Decision

LEASE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One alert for one channel, every stored column (in table order). ``status``: pending, sent or dead."""

    id: str
    alert_id: str
    channel: str
    claim_id: str | None
    story_id: str | None
    kind: str
    payload: dict
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    requeued_at: datetime | None = None

    @property
    def budget_since(self) -> datetime:
        """When the row's retry budget started: when it was queued, or last put back in line."""
        return max(self.created_at, self.requeued_at or self.created_at)


def _outbox_row(r: dict) -> OutboxRow:
    return OutboxRow(
        id=r["id"], alert_id=r["alert_id"], channel=r["channel"], claim_id=r["claim_id"], story_id=r["story_id"],
        kind=r["kind"], payload=json.loads(r["payload"]), status=r["status"], attempts=r["attempts"],
        created_at=from_db_time(r["created_at"]), next_attempt_at=from_db_time(r["next_attempt_at"]),
        last_attempt_at=from_db_time(r["last_attempt_at"]), last_error=r["last_error"],
        sent_at=from_db_time(r["sent_at"]), requeued_at=from_db_time(r["requeued_at"]))


@dataclass(frozen=True, slots=True)
class ChannelState:
    """A channel's stored delivery state: disabled (by a 410, until its URL changes) or paused (until a time)."""

    name: str
    url_fingerprint: str | None
    disabled_reason: str | None
    disabled_at: datetime | None
    paused_until: datetime | None
    pause_reason: str | None


OUTBOX_STATUSES = ("pending", "sent", "dead")


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
                 AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.name = o.channel
                                 AND (c.disabled_reason IS NOT NULL OR c.paused_until > :now))
                 AND NOT EXISTS (SELECT 1 FROM outbox e
                                 WHERE e.status = 'pending' AND e.channel = o.channel
                                   AND e.claim_id IS o.claim_id AND e.rowid < o.rowid AND e.next_attempt_at > :due)
               ORDER BY o.rowid LIMIT :limit""",
            # --now ignores a channel's pause as well as each row's backoff; a disabled channel stays disabled.
            {"due": due_by, "now": due_by if ignore_backoff else to_db_time(now), "limit": limit}))
        lease_until = to_db_time(now + timedelta(seconds=LEASE_SECONDS))
        store.db.conn.executemany("UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
                             [(lease_until, r["id"]) for r in rows])
    return [_outbox_row(r) for r in rows]  # as read: next_attempt_at is when the row was due, not the lease


def mark_sent(store: Store, row: OutboxRow, now: datetime) -> None:
    """Record a delivery; the channel took it, so any pause it was under is over."""
    with store.transaction():
        store.db.execute(
            """UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_attempt_at = ?,
                   last_error = NULL WHERE id = ?""", [to_db_time(now), to_db_time(now), row.id])
        store.db.execute("""UPDATE channels SET paused_until = NULL, pause_reason = NULL
                            WHERE name = ? AND paused_until IS NOT NULL""", [row.channel])


def record_failure(store: Store, row: OutboxRow, now: datetime, error: str, decision: Decision) -> None:
    """Record a failed attempt and what the deliverer decided: try again at its ``next_attempt_at``, or give up
    (``dead``)."""
    with store.transaction():
        store.db.execute(
            """UPDATE outbox SET attempts = ?, last_attempt_at = ?, next_attempt_at = ?, last_error = ?, status = ?
               WHERE id = ? AND status = 'pending'""",  # another deliverer's success stands
            [row.attempts + 1, to_db_time(now), to_db_time(decision.next_attempt_at), error, decision.status,
             row.id])


def requeue(store: Store, now: datetime, *, row_ids: Iterable[str] = (), all_dead: bool = False) -> int:
    """Put dead (or backing-off) rows back to pending, due now, with a fresh retry budget. Returns rows changed."""
    stamp = to_db_time(now)
    with store.transaction():
        before = store.db.conn.total_changes
        if all_dead:
            store.db.execute("""UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?,
                                    requeued_at = ? WHERE status = 'dead'""", [stamp, stamp])
        for ident in row_ids:
            store.db.execute("""UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?,
                                    requeued_at = ? WHERE (id = ? OR alert_id = ?) AND status != 'sent'""",
                             [stamp, stamp, ident, ident])
        return store.db.conn.total_changes - before


def rows(store: Store, *, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
    """Outbox rows, newest first."""
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    return [_outbox_row(r) for r in store.db.query(f"SELECT * FROM outbox {where} ORDER BY rowid DESC LIMIT ?",
                                                   [*params, limit])]


# --- channels ----------------------------------------------------------------------------------------------


def disable_channel(store: Store, name: str, fingerprint: str, reason: str, now: datetime) -> None:
    with store.transaction():
        store.db.execute(
            """INSERT INTO channels (name, url_fingerprint, disabled_reason, disabled_at) VALUES (?, ?, ?, ?)
               ON CONFLICT(name) DO UPDATE SET url_fingerprint = excluded.url_fingerprint,
                   disabled_reason = excluded.disabled_reason, disabled_at = excluded.disabled_at""",
            [name, fingerprint, reason, to_db_time(now)])


def pause_channel(store: Store, name: str, until: datetime, reason: str) -> None:
    with store.transaction():
        store.db.execute(
            """INSERT INTO channels (name, paused_until, pause_reason) VALUES (?, ?, ?)
               ON CONFLICT(name) DO UPDATE SET paused_until = excluded.paused_until,
                   pause_reason = excluded.pause_reason""", [name, to_db_time(until), reason])


def enable_changed_channels(store: Store, fingerprints: dict[str, str]) -> list[str]:
    """Re-enable channels disabled for a URL that the config no longer uses; return their names."""
    changed = [r["name"] for r in store.db.query("SELECT name, url_fingerprint FROM channels "
                                                 "WHERE disabled_reason IS NOT NULL")
               if r["name"] in fingerprints and fingerprints[r["name"]] != r["url_fingerprint"]]
    if changed:
        with store.transaction():
            store.db.conn.executemany("UPDATE channels SET disabled_reason = NULL, disabled_at = NULL WHERE name = ?",
                                      [(n,) for n in changed])
    return changed


def channel_states(store: Store) -> dict[str, ChannelState]:
    return {r["name"]: ChannelState(name=r["name"], url_fingerprint=r["url_fingerprint"],
                                    disabled_reason=r["disabled_reason"], disabled_at=from_db_time(r["disabled_at"]),
                                    paused_until=from_db_time(r["paused_until"]), pause_reason=r["pause_reason"])
            for r in store.db.query("SELECT * FROM channels")}


def release(store: Store, rows: Iterable[OutboxRow], not_before: datetime) -> None:
    """Give leased rows back unsent, due again at ``not_before`` (used to keep per-claim order)."""
    with store.transaction():
        store.db.conn.executemany("UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
                             [(to_db_time(not_before), r.id) for r in rows])


def counts(store: Store) -> dict[str, int]:
    """Number of outbox rows by status (every status present, zero when empty)."""
    return status_counts(store.db.conn)


def status_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """``counts`` on a bare connection (the metrics' read-only one)."""
    result = dict.fromkeys(OUTBOX_STATUSES, 0)
    result.update(conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())
    return result


def oldest_pending_at(conn: sqlite3.Connection) -> datetime | None:
    """When the oldest row not yet delivered was queued; None when none is waiting."""
    (oldest,) = conn.execute("SELECT MIN(created_at) FROM outbox WHERE status = 'pending'").fetchone()
    return from_db_time(oldest)
