"""Delivery: due outbox rows → notifiers, each outcome recorded. The other half of the data flow after
``pipeline.poll_feed``.

Per (claim, channel) the order is kept: after a failure, later alerts of that claim wait for the earlier. A
transient failure (the destination is down, or asked us to slow down) pauses the whole channel until the failed
alert's next attempt; a 410 Gone disables the channel until its URL changes in the config. A channel with
``group_wait_seconds`` gets one digest message for the alerts raised within that window. A delivery attempt is
the second boundary where an unexpected exception becomes a recorded failure instead of a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor import alerts, metrics, retry

from monitor.store import outbox
from monitor.errors import DeliveryError
from monitor.logs import kv, log
from monitor.models import Verdict
from monitor.notify import Notifier
from monitor.notify.http import send_deadline
from monitor.runtime import Context, utc_now
from monitor.store import Store, from_db_time


@dataclass(slots=True)
class DeliveryResult:
    """What one delivery run did, counted while it runs: alerts sent, failed (to be retried), dead, and left
    waiting (rate limit, paused or disabled channel, digest window, stopping)."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    waiting: int = 0
    # Seconds until a rate limit lets the waiting alerts go, when that is what held them: when to run again.
    again_in: float | None = None


# A rate-limit wait shorter than this is slept through in the delivery thread; a longer one is left to the
# next delivery run, so one throttled channel cannot hold the others up.
MAX_INLINE_WAIT_SECONDS = 2.0


# A 4xx about this one message (malformed, too large, refused content): the channel itself still takes others.
MESSAGE_STATUSES = frozenset({400, 413, 415, 422})


def deliver_due(ctx: Context, store: Store, now: datetime | Callable[[], datetime] = utc_now, *,
                channel: str | None = None, ignore_backoff: bool = False,
                sleep: Callable[[float], None] = time.sleep) -> DeliveryResult:
    """Send every due outbox row once (of ``channel`` only, when named); record each outcome. Never raises for a
    channel's failure.

    Each row is leased just before it is sent, for its channel's send deadline plus a margin (``outbox.lease``),
    so a row another deliverer holds is skipped, and so are the later alerts of its claim on that channel.
    Per (claim, channel) the order is kept: after a failure, later alerts of that claim wait for the earlier.
    A failure that is the destination's rather than one message's (no answer, a 5xx, a 429, a 404 …) pauses the
    whole channel until the failed alert's next attempt; a 410 Gone disables the channel until its URL changes in
    the config.
    """
    clock = now if callable(now) else (lambda: now)
    for name in outbox.enable_changed_channels(store, ctx.fingerprints):
        log.warning("channel re-enabled %s", kv(channel=name, reason="its URL changed in the config"))
    holder = outbox.new_holder()
    rows = outbox.due(store, clock(), channel=channel, ignore_backoff=ignore_backoff)
    digests: dict[str, list[outbox.OutboxRow]] = {}
    for row in rows:
        config = ctx.config.channel(row.channel)
        if config is not None and config.group_wait_seconds:
            digests.setdefault(row.channel, []).append(row)
    tally = DeliveryResult()
    for name, batch in digests.items():
        _deliver_digest(ctx, store, name, batch, clock, holder, tally, ignore_backoff)
    held: set[str] = set()  # channels paused, throttled or disabled during this run
    blocked: set[tuple[str | None, str]] = set()  # (claim, channel) whose earlier alert failed or is elsewhere
    for row in (r for r in rows if r.channel not in digests):
        key = (row.claim_id, row.channel)
        if ctx.stop.is_set() or row.channel in held or key in blocked:
            tally.waiting += 1
            continue
        limiter = ctx.limiters.get(row.channel)
        wait = limiter.reserve() if limiter else 0.0
        if wait > MAX_INLINE_WAIT_SECONDS:
            limiter.cancel()
            held.add(row.channel)  # still due: the next run finds the limiter readier
            tally.again_in = wait if tally.again_in is None else min(tally.again_in, wait)
            tally.waiting += 1
            continue
        if wait > 0:
            sleep(wait)
        if not outbox.lease(store, [row], holder, clock(), lease_seconds(ctx, row.channel),
                            ignore_backoff=ignore_backoff):
            if limiter:
                limiter.cancel()
            blocked.add(key)  # sent, or in flight, elsewhere meanwhile: its claim's next alerts must wait for it
            tally.waiting += 1
            continue
        error = _send(ctx.notifiers.get(row.channel), row.channel, row.alert_id, _current_payload(store, row))
        if error is None:
            outbox.mark_sent(store, row, clock())
            metrics.delivery("sent")
            tally.sent += 1
            log.info("alert sent %s", kv(channel=row.channel, alert=row.alert_id, claim=row.claim_id))
            continue
        _record_failure(ctx, store, [row], error, clock(), tally)
        blocked.add(key)
        if error.status not in MESSAGE_STATUSES:
            held.add(row.channel)
    return tally


def lease_seconds(ctx: Context, channel: str) -> float:
    """How long a deliverer holds a row it is sending: the channel's send deadline and a margin."""
    config = ctx.config.channel(channel)
    deadline = send_deadline(config.timeout_seconds) if config is not None else 0.0
    return deadline + outbox.LEASE_MARGIN_SECONDS


def _record_failure(ctx: Context, store: Store, rows: Sequence[outbox.OutboxRow], error: DeliveryError,
                    at: datetime, tally: DeliveryResult) -> None:
    """Record a failed send of ``rows`` (one alert, or one digest), and pause or disable their channel when the
    failure is the destination's."""
    channel = rows[0].channel
    if error.status == 410:
        outbox.disable_channel(store, channel, ctx.fingerprints.get(channel, ""), str(error), at)
        outbox.release(store, rows, at)  # they stay due; nothing is sent while the channel is disabled
        metrics.delivery("disabled", len(rows))
        tally.waiting += len(rows)
        log.error("channel disabled %s", kv(channel=channel, reason=error, pending_kept=True))
        return
    next_at = at
    for row in rows:
        decision = retry.decide(attempts=row.attempts + 1, retry_after=error.retry_after,
                                created_at=row.budget_since, now=at)
        outbox.record_failure(store, row, at, str(error), decision)
        next_at = max(next_at, decision.next_attempt_at)
        metrics.delivery("dead" if decision.status == "dead" else "failed")
        if decision.status == "dead":
            tally.dead += 1
            log.error("alert dead %s", kv(channel=channel, alert=row.alert_id, claim=row.claim_id, error=error,
                                          note="later alerts of its claim wait on this channel until it is retried"))
        else:
            tally.failed += 1
            log.warning("alert not delivered %s", kv(channel=channel, alert=row.alert_id, error=error,
                                                     retry_at=decision.next_attempt_at.isoformat(timespec="seconds")))
    if error.status not in MESSAGE_STATUSES:  # the destination is down, throttling or refusing: leave it alone
        outbox.pause_channel(store, channel, next_at, str(error))


def _deliver_digest(ctx: Context, store: Store, channel: str, batch: list[outbox.OutboxRow],
                    clock: Callable[[], datetime], holder: str, tally: DeliveryResult, ignore_backoff: bool) -> None:
    """Send a channel's due alerts as one message once the oldest has waited ``group_wait_seconds``."""
    wait = timedelta(seconds=ctx.config.channel(channel).group_wait_seconds)
    ready_at = min(r.created_at for r in batch) + wait
    if clock() < ready_at:
        outbox.release(store, batch, ready_at)
        tally.waiting += len(batch)
        return
    leased = outbox.lease(store, batch, holder, clock(), lease_seconds(ctx, channel), ignore_backoff=ignore_backoff)
    tally.waiting += len(batch) - len(leased)
    if not leased:
        return
    payload = alerts.digest([_current_payload(store, r) for r in leased])
    error = _send(ctx.notifiers.get(channel), channel, payload["id"], payload)
    if error is None:
        for row in leased:
            outbox.mark_sent(store, row, clock())
        metrics.delivery("sent", len(leased))
        tally.sent += len(leased)
        log.info("digest sent %s", kv(channel=channel, digest=payload["id"], alerts=len(leased)))
    else:
        _record_failure(ctx, store, leased, error, clock(), tally)


def _current_payload(store: Store, row: outbox.OutboxRow) -> dict:
    """The row's payload with the reports recorded since it was queued added to its evidence, so an alert
    sent after several feeds were polled names every outlet that reported the event ("also reported by")."""
    payload = row.payload
    if row.kind == "claim.state_changed":
        # evidence_since is to the whole second (null: since the claim was first tracked). A report of this state
        # stamped earlier in that second is listed too: harmless, it did report this state.
        more = store.claim_evidence(row.claim_id, since=from_db_time(payload.get("evidence_since")),
                                    verdict=Verdict(payload["state"]), fresh_only=True)
    elif row.kind == "claim.hit" and payload.get("group_id"):
        more = store.claim_evidence(row.claim_id, group_id=payload["group_id"], fresh_only=True)
    else:
        return payload
    return alerts.with_evidence(payload, (alerts.story_ref(r.story, str(r.verdict)) for r in more))


def _send(notifier: Notifier | None, channel: str, alert_id: str, payload: dict) -> DeliveryError | None:
    """Send one payload; return None on success, else the error to record."""
    if notifier is None:
        return DeliveryError(f"channel {channel!r} is not configured")
    try:
        notifier.send(alert_id, payload)
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # the delivery boundary: a notifier bug becomes a retry, not a crash
        log.exception("notifier crashed %s", kv(channel=channel))
        return DeliveryError(f"internal error: {type(exc).__name__}: {exc}")
    return None
