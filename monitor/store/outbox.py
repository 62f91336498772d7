"""The durable outbox: one row per (alert, channel), written with the poll that caused it, sent later.

Rows move ``pending`` → ``sent``; after a failure they stay ``pending`` with a later ``next_attempt_at``, or
become ``dead``, as the deliverer decided (``retry.decide``: this module only records the decision; ``requeue``
puts them back). Channels have state too: a 410 Gone disables a channel (its alerts wait, nothing is lost) until
its URL changes in the config; a failure that is the destination's, not one message's, pauses it until a given
time, so one sick destination is not hammered alert by alert.

Order: the alerts of one claim reach a channel one after the other, in the order they were raised. Only the
oldest unsent row of a (claim, channel) may be sent; a row failing, backing off, in flight or dead holds back
the rows after it (a dead one until ``requeue`` puts it back in line).

Leases: a deliverer leases a row just before sending it, for about one send deadline, and every write that
records the outcome ends the lease. Leasing is one UPDATE that re-checks the row is still due, unleased and the
first of its claim on its channel, so two deliverers — the daemon's per-channel threads, ``deliver --now`` or
``poll-once`` beside it — never send one row at once nor overtake each other within a claim. A deliverer that dies
mid-send holds that one row until its lease ends — or, on the same host, only until the next deliverer sees that
its process is gone — then it is due again (sent again with the same alert id, which receivers can dedupe on).
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.models import Alert
from monitor.store import Store
from monitor.store.schema import from_db_time, to_db_time

if TYPE_CHECKING:
    from monitor.retry import Decision

# A lease outlives the send it covers by this much: the send's own deadline is enforced on the socket, and the
# outcome is recorded right after it.
LEASE_MARGIN_SECONDS = 5.0


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
    lease_owner: str | None = None
    lease_until: datetime | None = None

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
        sent_at=from_db_time(r["sent_at"]), requeued_at=from_db_time(r["requeued_at"]),
        lease_owner=r.get("lease_owner"), lease_until=from_db_time(r.get("lease_until")))


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
    payload, stamp = json.dumps(alert.payload, sort_keys=True), to_db_time(now)
    return store.sql.executemany(
        """INSERT INTO outbox (id, alert_id, channel, claim_id, story_id, kind, payload, status, attempts, created_at,
                               next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
           ON CONFLICT DO NOTHING""",
        [(row_id(alert.id, channel), alert.id, channel, alert.claim_id, alert.story_id, alert.kind, payload, stamp,
          stamp) for channel in channels])


def new_holder() -> str:
    """A lease holder's name: this host and process, and a token unique to the caller (one per delivery run)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_is_gone(holder: str) -> bool:
    """Whether ``holder`` names a process of this host that no longer runs (killed mid-send). A holder on another
    host, or a process that runs (or whose number was reused), is taken to be alive: its lease runs out by itself."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, as another user's process
        return False
    return False


def end_leases_of_gone_holders(store: Store, now: datetime) -> int:
    """End the leases held by processes of this host that died (kill -9, OOM) so their rows are due at once, not
    when the lease would have run out. Returns rows freed."""
    holders = [r["lease_owner"] for r in store.sql.query(
        "SELECT DISTINCT lease_owner FROM outbox WHERE status = 'pending' AND lease_until > ?", [to_db_time(now)])]
    gone = [h for h in holders if h and _holder_is_gone(h)]
    if not gone:
        return 0
    with store.transaction():
        return store.sql.executemany("""UPDATE outbox SET lease_owner = NULL, lease_until = NULL
                                        WHERE lease_owner = ? AND status = 'pending'""", [(h,) for h in gone])


# A row may go out when it is pending, due, not leased by a live holder, its channel is neither disabled nor
# paused, and every earlier row of its claim on its channel is sent (or in this holder's own lease: a digest).
# "Of its claim" compares claim ids with NULL (an operator alert) equal to NULL, written as COALESCE equality
# (claim ids are never empty): PostgreSQL can hash-join on that, not on IS NOT DISTINCT FROM, which made the
# check compare every pair of one channel's rows (1.7 s for 20,000 rows).
_SENDABLE = """o.status = 'pending' AND o.next_attempt_at <= :due
    AND (o.lease_until IS NULL OR o.lease_until <= :now)
    AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.name = o.channel
                    AND (c.disabled_reason IS NOT NULL OR c.paused_until > :paused_by))
    AND NOT EXISTS (SELECT 1 FROM outbox e
                    WHERE e.channel = o.channel AND COALESCE(e.claim_id, '') = COALESCE(o.claim_id, '')
                      AND e.rowid < o.rowid
                      AND (e.status = 'dead' OR (e.status = 'pending'
                           AND NOT (e.lease_owner IS :holder AND e.lease_until > :now))))"""


def _when(now: datetime, ignore_backoff: bool, holder: str | None = None) -> dict:
    # --now ignores each row's backoff and a channel's pause; a disabled channel stays disabled, and a lease held
    # by another process always counts.
    stamp = to_db_time(now)
    return {"due": "9999" if ignore_backoff else stamp, "paused_by": "9999" if ignore_backoff else stamp,
            "now": stamp, "holder": holder}


def due(store: Store, now: datetime, *, channel: str | None = None, limit: int = 100,
        ignore_backoff: bool = False) -> list[OutboxRow]:
    """Pending rows that may be sent now (see ``_SENDABLE``), oldest first; of one channel when named. Nothing is
    leased: a deliverer leases each row just before it sends it."""
    end_leases_of_gone_holders(store, now)
    where = _SENDABLE + (" AND o.channel = :channel" if channel is not None else "")
    query = f"SELECT o.* FROM outbox o WHERE {where} ORDER BY o.rowid LIMIT :limit"
    return [_outbox_row(r) for r in store.sql.query(query, {**_when(now, ignore_backoff), "channel": channel,
                                                            "limit": limit})]


def lease(store: Store, rows: Sequence[OutboxRow], holder: str, now: datetime, seconds: float, *,
          ignore_backoff: bool = False) -> list[OutboxRow]:
    """Lease ``rows`` (in order) to ``holder`` for ``seconds``; return those leased. A row is leased only if it is
    still sendable at this moment — not sent or leased by another deliverer since it was read, and the first of its
    claim on its channel, or preceded only by rows of this lease — so a row another process holds is never taken.
    """
    until = to_db_time(now + timedelta(seconds=seconds))
    params = _when(now, ignore_backoff, holder)
    leased = []
    with store.transaction():
        for row in rows:
            cursor = store.sql.execute(
                f"UPDATE outbox AS o SET lease_owner = :holder, lease_until = :until WHERE o.id = :id AND {_SENDABLE}",
                {**params, "until": until, "id": row.id})
            if cursor.rowcount == 1:
                leased.append(row)
    return leased


def mark_sent(store: Store, row: OutboxRow, now: datetime) -> None:
    """Record a delivery; the channel took it, so any pause it was under is over."""
    with store.transaction():
        store.sql.execute(
            """UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_attempt_at = ?,
                   last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ?""",
            [to_db_time(now), to_db_time(now), row.id])
        store.sql.execute("""UPDATE channels SET paused_until = NULL, pause_reason = NULL
                            WHERE name = ? AND paused_until IS NOT NULL""", [row.channel])


def recent_attempts(store: Store, channel: str, since: datetime) -> list[datetime]:
    """When the channel's alerts were last tried (sent or not) since ``since``: one time per alert, its latest."""
    return [from_db_time(r["last_attempt_at"]) for r in store.sql.query(
        "SELECT last_attempt_at FROM outbox WHERE channel = ? AND last_attempt_at >= ? ORDER BY last_attempt_at",
        [channel, to_db_time(since)])]


def record_failure(store: Store, row: OutboxRow, now: datetime, error: str, decision: Decision) -> None:
    """Record a failed attempt and what the deliverer decided: try again at its ``next_attempt_at``, or give up
    (``dead``)."""
    with store.transaction():
        store.sql.execute(
            """UPDATE outbox SET attempts = ?, last_attempt_at = ?, next_attempt_at = ?, last_error = ?, status = ?,
                   lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = 'pending'""",  # another deliverer's success stands
            [row.attempts + 1, to_db_time(now), to_db_time(decision.next_attempt_at), error, decision.status,
             row.id])


def requeue(store: Store, now: datetime, *, row_ids: Iterable[str] = (), all_dead: bool = False) -> int:
    """Put dead (or backing-off) rows back to pending, due now, with a fresh retry budget. Returns rows changed."""
    stamp = to_db_time(now)
    with store.transaction():
        changed = 0
        if all_dead:
            changed += store.sql.execute("""UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?,
                                    requeued_at = ?, lease_owner = NULL, lease_until = NULL
                                WHERE status = 'dead'""", [stamp, stamp]).rowcount
        for ident in row_ids:
            # A row in flight keeps its lease: requeuing changes when it is due, not who is sending it.
            changed += store.sql.execute("""UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?,
                                               requeued_at = ? WHERE (id = ? OR alert_id = ?) AND status != 'sent'""",
                                         [stamp, stamp, ident, ident]).rowcount
        return changed


def held_behind_dead(store: Store) -> dict[str, str]:
    """Pending rows waiting behind a dead row of their claim on their channel: row id → the dead row's alert id
    (the oldest such). ``requeue`` of that alert lets them go, in order."""
    return dict(store.sql.execute(
        """SELECT id, dead FROM (
               SELECT o.id, (SELECT e.alert_id FROM outbox e WHERE e.channel = o.channel
                             AND COALESCE(e.claim_id, '') = COALESCE(o.claim_id, '')
                             AND e.rowid < o.rowid AND e.status = 'dead' ORDER BY e.rowid LIMIT 1) AS dead
               FROM outbox o WHERE o.status = 'pending') AS held
           WHERE dead IS NOT NULL""").fetchall())


def rows(store: Store, *, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
    """Outbox rows, newest first."""
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    return [_outbox_row(r) for r in store.sql.query(f"SELECT * FROM outbox {where} ORDER BY rowid DESC LIMIT ?",
                                                    [*params, limit])]


# --- channels ----------------------------------------------------------------------------------------------


def disable_channel(store: Store, name: str, fingerprint: str, reason: str, now: datetime) -> None:
    with store.transaction():
        store.sql.execute(
            """INSERT INTO channels (name, url_fingerprint, disabled_reason, disabled_at) VALUES (?, ?, ?, ?)
               ON CONFLICT(name) DO UPDATE SET url_fingerprint = excluded.url_fingerprint,
                   disabled_reason = excluded.disabled_reason, disabled_at = excluded.disabled_at""",
            [name, fingerprint, reason, to_db_time(now)])


def pause_channel(store: Store, name: str, until: datetime, reason: str) -> None:
    with store.transaction():
        store.sql.execute(
            """INSERT INTO channels (name, paused_until, pause_reason) VALUES (?, ?, ?)
               ON CONFLICT(name) DO UPDATE SET paused_until = excluded.paused_until,
                   pause_reason = excluded.pause_reason""", [name, to_db_time(until), reason])


def enable_changed_channels(store: Store, fingerprints: dict[str, str]) -> list[str]:
    """Re-enable channels disabled for a URL that the config no longer uses; return their names."""
    changed = [r["name"] for r in store.sql.query("SELECT name, url_fingerprint FROM channels "
                                                  "WHERE disabled_reason IS NOT NULL")
               if r["name"] in fingerprints and fingerprints[r["name"]] != r["url_fingerprint"]]
    if changed:
        with store.transaction():
            store.sql.executemany("UPDATE channels SET disabled_reason = NULL, disabled_at = NULL WHERE name = ?",
                                  [(n,) for n in changed])
    return changed


def channel_states(store: Store) -> dict[str, ChannelState]:
    return {r["name"]: ChannelState(name=r["name"], url_fingerprint=r["url_fingerprint"],
                                    disabled_reason=r["disabled_reason"], disabled_at=from_db_time(r["disabled_at"]),
                                    paused_until=from_db_time(r["paused_until"]), pause_reason=r["pause_reason"])
            for r in store.sql.query("SELECT * FROM channels")}


def release(store: Store, rows: Iterable[OutboxRow], not_before: datetime) -> None:
    """Give rows back unsent, due again at ``not_before`` (a digest still gathering, a lease not used)."""
    with store.transaction():
        store.sql.executemany("""UPDATE outbox SET next_attempt_at = ?, lease_owner = NULL, lease_until = NULL
                                     WHERE id = ? AND status = 'pending'""",
                                  [(to_db_time(not_before), r.id) for r in rows])


def counts(store: Store) -> dict[str, int]:
    """Number of outbox rows by status (every status present, zero when empty)."""
    return status_counts(store.sql)


def status_counts(conn) -> dict[str, int]:
    """``counts`` on a bare connection (the metrics' read-only one)."""
    result = dict.fromkeys(OUTBOX_STATUSES, 0)
    result.update(conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())
    return result


def oldest_pending_at(conn) -> datetime | None:
    """When the oldest row not yet delivered was queued; None when none is waiting."""
    (oldest,) = conn.execute("SELECT MIN(created_at) FROM outbox WHERE status = 'pending'").fetchone()
    return from_db_time(oldest)


def recent_alerts(store: Store, *, claim_id: str | None = None, limit: int = 50) -> list[OutboxRow]:
    """The newest alerts, one row each (an alert queued for several channels is one alert), newest first."""
    where, params = ("AND claim_id = ?", [claim_id]) if claim_id is not None else ("", [])
    return [_outbox_row(r) for r in store.sql.query(
        f"""SELECT * FROM outbox WHERE rowid IN (SELECT MIN(rowid) FROM outbox WHERE 1 = 1 {where}
                                                 GROUP BY alert_id)
            ORDER BY rowid DESC LIMIT ?""", [*params, limit])]


def page(store: Store, *, status: str | None = None, limit: int = 100, offset: int = 0) -> list[OutboxRow]:
    """A page of outbox rows, newest first (``rows`` from ``offset``)."""
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    return [_outbox_row(r) for r in store.sql.query(
        f"SELECT * FROM outbox {where} ORDER BY rowid DESC LIMIT ? OFFSET ?", [*params, limit, offset])]
