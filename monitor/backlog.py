"""Whether each channel keeps up with its alerts: what ``/healthz`` reports and the per-channel gauges show.

A channel is behind when its oldest undelivered alert has waited longer than ``delivery_stuck_seconds`` (plus
the channel's ``group_wait_seconds``, which holds alerts back on purpose), counted from when the alert was queued
or last put back in line. Why it is behind is its state: ``disabled`` (a 410 Gone; reported as soon as an alert
waits, since nothing will go until the URL changes), ``held`` (every waiting alert is behind a dead one of its
claim: ``outbox retry`` releases them), ``paused`` (the destination failed or asked for time), or ``stuck``
(sends in flight or failing without a pause). A channel that is behind is not unhealthy — restarting the daemon
cures none of these — but degraded. Read over a bare read-only connection, so a scrape or a health probe never
locks the database. The SQL is the kind both databases run (``conn`` is a SQLite connection or a ``PostgresSql``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from monitor.config import Config
from monitor.store.schema import from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    name: str
    state: str  # ok, disabled, held, paused or stuck
    pending: int = 0
    dead: int = 0
    held_back: int = 0  # pending alerts waiting behind a dead alert of their claim
    waiting_seconds: float = 0.0  # how long the oldest pending alert has waited
    last_error: str | None = None

    @property
    def behind(self) -> bool:
        return self.state != "ok"

    def summary(self) -> str:
        """One line for people: ``hook: 3 alerts waiting for 42 s (paused: webhook answered HTTP 503)``."""
        line = f"{self.name}: {self.pending} alert{'s' if self.pending != 1 else ''} waiting for " \
               f"{self.waiting_seconds:.0f} s ({self.state}"
        if self.held_back:
            line += f", {self.held_back} behind a dead alert"
        return line + (f": {self.last_error})" if self.last_error else ")")

    def as_json(self) -> dict:
        return {"state": self.state, "pending": self.pending, "dead": self.dead, "held_back": self.held_back,
                "waiting_seconds": round(self.waiting_seconds, 3), "last_error": self.last_error}


def stuck_limits(config: Config) -> dict[str, float]:
    """Each configured channel's limit in seconds: ``delivery_stuck_seconds`` plus its digest window."""
    return {c.name: config.delivery_stuck_seconds + c.group_wait_seconds for c in config.channels}


def channel_health(conn, limits: Mapping[str, float], now: datetime) -> list[ChannelHealth]:
    """The health of each channel in ``limits`` (name → seconds), in that order."""
    found = {row[0]: row for row in conn.execute(
        """SELECT o.channel, SUM(CASE WHEN o.status = 'pending' THEN 1 ELSE 0 END),
                  SUM(CASE WHEN o.status = 'dead' THEN 1 ELSE 0 END),
                  MIN(CASE WHEN o.status = 'pending' THEN
                          CASE WHEN o.requeued_at > o.created_at THEN o.requeued_at ELSE o.created_at END END),
                  c.disabled_reason, c.paused_until,
                  (SELECT l.last_error FROM outbox l WHERE l.channel = o.channel AND l.status = 'pending'
                     AND l.last_error IS NOT NULL ORDER BY l.last_attempt_at DESC LIMIT 1)
           FROM outbox o LEFT JOIN channels c ON c.name = o.channel
           WHERE o.status IN ('pending', 'dead') GROUP BY o.channel, c.disabled_reason, c.paused_until""")}
    held = dict(conn.execute(
        """SELECT o.channel, COUNT(*) FROM outbox o
           WHERE o.status = 'pending' AND EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel
                 AND COALESCE(e.claim_id, '') = COALESCE(o.claim_id, '') AND e.rowid < o.rowid
                 AND e.status = 'dead')
           GROUP BY o.channel""").fetchall())
    result = []
    for name, limit in limits.items():
        if name not in found:
            result.append(ChannelHealth(name, "ok"))
            continue
        _, pending, dead, oldest, disabled, paused_until, last_error = found[name]
        waited = max(0.0, (now - from_db_time(oldest)).total_seconds()) if oldest else 0.0
        held_back = held.get(name, 0)
        if disabled and pending:
            state = "disabled"
        elif waited <= limit or not pending:
            state = "ok"
        elif held_back == pending:
            state = "held"
        elif paused_until and paused_until > to_db_time(now):
            state = "paused"
        else:
            state = "stuck"
        result.append(ChannelHealth(name, state, pending=pending, dead=dead, held_back=held_back,
                                    waiting_seconds=waited, last_error=disabled if state == "disabled" else last_error))
    return result
