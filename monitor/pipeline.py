"""Where the polling stages are composed: ``poll_feed`` (fetch → parse → new stories → relevance and verdict
(``reading``, like parsing in a worker process) → story group → claim state → outbox, the last three in one
transaction) and ``check_deadlines``. The other half of the data flow,
outbox → notifiers, is ``delivery.deliver_due``.

Functions take the moment to act as ``now`` so tests drive time explicitly. ``poll_feed`` turns every failure of
one feed into data (an error on the feed's row) and returns: it is one of the two boundaries (with a delivery
attempt) where an unexpected exception is caught, logged and recorded instead of stopping the daemon.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from monitor import alerts, candidates, claims

from monitor.reading import grouping

from monitor.reading import relevance as match

from monitor.store import outbox

from monitor.feeds import polling

from monitor.config import Config, FeedConfig
from monitor.errors import FetchError, MonitorError
from monitor.net.urls import redact_url
from monitor.logs import kv, log
from monitor.models import Alert, Hit, Relevance, Story, Verdict
from monitor.feeds.politeness import HostBusy
from monitor.feeds.workers import parse_feed_with_budget, read_with_budget
from monitor.runtime import Context, TrackedClaim
from monitor.store import ClaimRecord, FeedState, Store
from monitor.reading.fulltext import judge_with_article, sentence_source, with_lead
from monitor.reading.verdict import VerdictResult, judge
from monitor.semantic.judging import assess_all
from monitor.semantic.stage import SemanticRules

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class PollResult:
    feed: str
    # "ok", "not_modified", "unchanged", "error", "waiting" (backing off), "disabled", "stopped", or, not fetched
    # and not the feed's failure: "host_busy" (its host's slots are taken) or "host_backoff" (its host timed out)
    status: str
    stories: int = 0
    new_stories: int = 0
    hits: int = 0
    alerts: int = 0  # alerts queued, each counted once however many channels it goes to
    deliveries: int = 0  # outbox rows queued: one per alert and channel
    error: str | None = None
    verdicts: tuple[str, ...] = ()  # of the new hits
    state_changes: tuple[str, ...] = ()  # new states of claims this poll moved
    retry_in_seconds: float | None = None  # "host_backoff": when the host may be asked again


HOST_SKIPS = ("host_busy", "host_backoff")


def poll_feed(ctx: Context, store: Store, feed: FeedConfig, now: datetime, *, force: bool = False,
              waiter: Callable[[], object] | None = None) -> PollResult:
    """Poll one feed, unless it is backing off (``force`` polls anyway) or disabled (410: never, until its URL
    changes in the config), and record everything it produced in one transaction. Never raises for feed
    problems: a failure is recorded on the feed with its next poll time, and its operator alert when due.

    Never waits for the feed's host (``ctx.hosts``): when its slots are all taken the poll returns "host_busy"
    at once, nothing recorded, and ``waiter`` is called when one frees; when the host is backing off after a
    timeout (``force`` ignores that too) it returns "host_backoff" with ``retry_in_seconds``. A fetch that times
    out puts its host into that backoff."""
    state = store.feed_state(feed.name)
    current = state if state is not None and state.url == feed.url else None  # a new URL starts afresh
    if current is not None and current.disabled_reason:
        return PollResult(feed=feed.name, status="disabled", error=current.disabled_reason)
    # Waiting applies to a feed backing off (or asked to slow down); a poll due on its interval runs even when
    # the scheduler wakes a moment before next_poll_at, which would otherwise skip a whole interval.
    slack = timedelta(seconds=feed.interval_seconds / 4)
    if current is not None and not force and current.next_poll_at and now + slack < current.next_poll_at:
        return PollResult(feed=feed.name, status="waiting")
    status, retry_after = None, None
    try:
        return _poll_feed(ctx, store, feed, current, now, force=force, waiter=waiter)
    except FetchError as exc:
        error, status, retry_after = str(exc), exc.status, exc.retry_after_seconds
    except MonitorError as exc:
        error = str(exc)
    except Exception as exc:  # the poll boundary: a bug on one feed must not stop the others
        if not ctx.stop.is_set():  # when stopping, this is a fetch abandoned by the stop: see below
            log.exception("poll crashed %s", kv(feed=feed.name))
        error = f"internal error: {type(exc).__name__}: {exc}"
    if ctx.stop.is_set():  # a fetch cut short by the stop (sockets shut, fetcher closed) is not the feed's failure
        log.info("poll abandoned by the stop %s", kv(feed=feed.name))
        return PollResult(feed=feed.name, status="stopped")
    count = (current.error_count if current else 0) + 1
    gone = f"{error} — the feed is gone; change its URL in the config to poll it again" if status == 410 else None
    try:
        with store.transaction():
            store.record_feed_error(feed.name, feed.url, now, error, disabled_reason=gone,
                                    next_poll_at=polling.after_error(
                                        now, feed.interval_seconds, count, retry_after_seconds=retry_after,
                                        max_backoff_seconds=ctx.config.max_backoff_hours * 3600))
            queued = operator_alerts(ctx, store, feed.name, now)
    except MonitorError as exc:  # the database itself is failing: nothing to record in, the next poll retries
        log.error("poll failed, and so did recording it %s", kv(feed=feed.name, error=error, store_error=exc))
        return PollResult(feed=feed.name, status="error", error=f"{error}; not recorded: {exc}")
    log.warning("poll failed %s", kv(feed=feed.name, error=error, errors=count, disabled=bool(gone)))
    return PollResult(feed=feed.name, status="error", error=error, alerts=int(queued > 0), deliveries=queued)


def _poll_feed(ctx: Context, store: Store, feed: FeedConfig, state: FeedState | None, now: datetime, *,
               force: bool, waiter: Callable[[], object] | None) -> PollResult:
    url = state.fetch_url if state is not None and state.fetch_url else feed.url
    slot = ctx.hosts.try_hold(url, waiter=waiter, ignore_backoff=force)
    if isinstance(slot, HostBusy):
        log.debug("poll deferred, host busy %s", kv(feed=feed.name, host=slot.host, backing_off=slot.backing_off))
        return PollResult(feed=feed.name, status="host_backoff" if slot.backing_off else "host_busy",
                          retry_in_seconds=slot.retry_in_seconds)
    with slot:  # released after the outcome is recorded, so that the polls it wakes see a backoff
        try:
            result = ctx.fetcher.fetch(url, etag=state.etag if state else None,
                                       last_modified=state.last_modified if state else None, now=now)
        except FetchError as exc:
            if exc.timed_out and not ctx.stop.is_set():
                ctx.hosts.timed_out(url, cap_seconds=feed.interval_seconds)
            raise
        ctx.hosts.succeeded(url)
    next_poll = polling.after_success(now, feed.interval_seconds, result.cache_seconds)
    fetch_url, redirect = _follow_moves(feed.name, state, url, result.permanent_url)
    unchanged = state is not None and result.content_hash and result.content_hash == state.content_hash
    if result.not_modified or unchanged:  # nothing new: bookkeeping only, no parse
        with store.transaction():
            store.record_feed_ok(feed.name, feed.url, now, etag=result.etag or (state.etag if state else None),
                                 last_modified=result.last_modified or (state.last_modified if state else None),
                                 next_poll_at=next_poll, fetch_url=fetch_url, redirect=redirect)
            queued = operator_alerts(ctx, store, feed.name, now)
        status = "not_modified" if result.not_modified else "unchanged"
        log.info("poll %s %s", status.replace("_", " "), kv(feed=feed.name))
        return PollResult(feed=feed.name, status=status, alerts=int(queued > 0), deliveries=queued)

    # In worker processes, so that a pathological feed (feedparser's quadratic regexes) costs its budget, not a
    # stuck poll thread.
    stories = parse_feed_with_budget(result.body, feed_name=feed.name, headers=result.headers, url=result.url,
                                     now=now, outlet=feed.outlet)
    known = store.known_story_ids(s.id for s in stories)
    # A guid that changes on every fetch would make an old entry new each time; its link gives it away.
    known |= {s.id for s in stories if s.link and s.id not in known} & store.ids_with_known_links(feed.name, stories)
    # Oldest first, so that the claim state machine sees the events in the order they were reported.
    new = sorted((s for s in stories if s.id not in known), key=lambda s: s.published_at or now)
    first_poll = state is None or state.first_ok_at is None
    # What the new stories say about the claims (relevance, verdict, headline key) needs no database: it is read
    # in a parse worker, on another core than the poll threads, and before taking the write lock, so that
    # transactions stay short while many feeds are polled at once.
    relevant: dict[str, list[Finding]] = {}
    # Only the stories that can still alert are worth the semantic stage's encoding; the others are read lexically.
    fresh_ones = [is_fresh(story, now, max_age_hours=feed.max_age_hours, first_poll=first_poll) for story in new]
    readings = read_with_budget(ctx.rules, new, can_alert=fresh_ones) if new and ctx.claims else []
    if ctx.articles is not None and feed.full_text == "hits" and readings:  # before the transaction: no lock held
        new, readings, fresh_ones = candidates.with_articles(
            ctx, new, readings, fresh_ones, now,
            lambda s: is_fresh(s, now, max_age_hours=feed.max_age_hours, first_poll=first_poll))
    for story, found, fresh in zip(new, readings, fresh_ones):
        for r in found:
            claim = ctx.claims[r.claim]
            relevant.setdefault(claim.id, []).append(Finding(story, r.relevance, fresh, r.said, r.headline_key))

    if ctx.stop.is_set():  # the daemon is stopping: nothing written, the next start polls again
        return PollResult(feed=feed.name, status="stopped")
    hits = 0
    rows_per_alert: list[int] = []  # outbox rows each queued alert got (0: every channel had it already)
    verdicts: list[str] = []
    changes: list[str] = []
    with store.transaction():
        store.insert_stories(new, now)
        records = store.claim_states(relevant)
        new_hits: dict[datetime, list[Hit]] = {}  # by the time each claim stamps its hits with
        for claim in ctx.claims:
            if claim.id in relevant:
                tracked = track_claim(ctx.config, store, claim, relevant[claim.id], now, records.get(claim.id))
                new_hits.setdefault(tracked.recorded_at, []).extend(tracked.hits)
                hits += len(tracked.hits)
                verdicts += tracked.verdicts
                changes += tracked.state_changes
                if not _muted(records.get(claim.id), now):  # a muted claim's state moves; it sends nothing
                    rows_per_alert += [outbox.enqueue(store, alert, claim.config.channels, now)
                                       for alert in tracked.alerts]
        for recorded_at, batch in new_hits.items():  # a statement per stamp; no claim reads another's hits
            store.insert_hits(batch, recorded_at)
        store.record_feed_ok(feed.name, feed.url, now, etag=result.etag, last_modified=result.last_modified,
                             next_poll_at=next_poll, fetch_url=fetch_url, content_hash=result.content_hash,
                             redirect=redirect)
        rows_per_alert.append(operator_alerts(ctx, store, feed.name, now, state=state))
    queued = sum(rows_per_alert)
    log.info("poll ok %s", kv(feed=feed.name, stories=len(stories), new=len(new), hits=hits, queued=queued))
    return PollResult(feed=feed.name, status="ok", stories=len(stories), new_stories=len(new), hits=hits,
                      alerts=sum(1 for rows in rows_per_alert if rows), deliveries=queued, verdicts=tuple(verdicts),
                      state_changes=tuple(changes))


def _follow_moves(name: str, state: FeedState | None, polled_url: str,
                  permanent_url: str | None) -> tuple[str | None, tuple[str | None, int]]:
    """(where to poll from now on, or None for the configured URL; the redirect sightings to store).

    Called only for a poll that served a valid feed (a new body that parsed, an unchanged one, or a 304).
    """
    fetch_url = state.fetch_url if state else None
    target, seen = polling.redirect_seen(state.redirect_target if state else None,
                                         state.redirect_count if state else 0, permanent_url, polled_url)
    if target and seen >= polling.REDIRECT_CONFIRMATIONS:
        log.warning("feed moved permanently %s", kv(feed=name, old=redact_url(polled_url), new=redact_url(target),
                                                    polls=seen))
        return target, (None, 0)
    return fetch_url, (target, seen)


def operator_alerts(ctx: Context, store: Store, feed_name: str, now: datetime, *,
                    state: FeedState | None = None) -> int:
    """Queue the operator alerts a feed's new state calls for: "failing" once it has failed for longer than
    ``alert_after_hours`` (or was disabled by a 410), "recovered" when a feed that was reported comes back.
    ``state`` is the feed's state before this poll (needed after a success, which clears the streak)."""
    channels = ctx.config.operator_channels
    if not channels:
        return 0
    before = state or store.feed_state(feed_name)
    after = store.feed_state(feed_name)
    if before and before.failing_alerted_at and after and after.error_count == 0:
        alert = alerts.feed_recovered(feed_name, before, now, url=redact_url(before.fetch_url or before.url))
        return outbox.enqueue(store, alert, channels, now)
    if after is None or after.failing_since is None or after.failing_alerted_at is not None:
        return 0
    if after.disabled_reason or now - after.failing_since >= timedelta(hours=ctx.config.alert_after_hours):
        store.mark_feed_failing_alerted(feed_name, now)
        alert = alerts.feed_failing(feed_name, after, now, url=redact_url(after.fetch_url or after.url))
        return outbox.enqueue(store, alert, channels, now)
    return 0


def is_fresh(story: Story, now: datetime, *, max_age_hours: float, first_poll: bool) -> bool:
    """Whether a new story may alert and move its claims.

    A dated story older than ``max_age_hours`` never does (it is stored and matched all the same), so adding
    a feed or a feed republishing its archive neither floods the channel nor replays old news into a claim's
    state. An undated story counts, except on a feed's first successful poll, where nothing tells an old entry
    from a new one.
    """
    if story.published_at is None:
        return not first_poll
    return now - story.published_at <= timedelta(hours=max_age_hours)


@dataclass(frozen=True, slots=True)
class Finding:
    """A new story relevant to a claim, read (``reading.Reading``): what it says about the claim, and its
    headline as grouping compares it."""

    story: Story
    relevance: Relevance
    fresh: bool
    said: VerdictResult
    headline_key: str


@dataclass(frozen=True, slots=True)
class Tracked:
    hits: list[Hit]  # to store, in the same transaction, as recorded at ``recorded_at``
    recorded_at: datetime
    alerts: list[Alert]
    verdicts: tuple[str, ...] = ()
    state_changes: tuple[str, ...] = ()


def track_claim(config: Config, store: Store, claim: TrackedClaim, found: Sequence[Finding], now: datetime,
                record: ClaimRecord | None) -> Tracked:
    """Give a claim's new hits their story group, move the claim's state (``record``: its stored state, None
    before its first hit) and return the hits to store and the alerts to queue.

    Runs inside the poll's transaction, so the claim state it reads is current even with other feeds being
    polled at the same time, and everything it writes commits with the stories. The caller stores the hits in
    that transaction too, after tracking (the claim's evidence is read before they are in the table), stamped
    ``recorded_at``: never before the claim's current state, see below.
    """
    state = record.state if record else Verdict.PENDING
    since = record.since_at if record else EPOCH
    state_reported_at = record.reported_at if record else None
    # ``now`` was taken when this poll started; a poll that started later may have committed first. Stamps
    # never go back before the claim's current state, so this poll's hits count as evidence for it.
    now = max(now, since)
    window_start = now - timedelta(hours=config.group_window_hours)

    new_hits: list[tuple[Hit, Story]] = []
    # Per verdict: the stored hits of the window (read once per poll), then this poll's hits as they come.
    candidates: dict[Verdict, grouping.Candidates] = {}
    for finding in found:
        story, relevance, said, key = finding.story, finding.relevance, finding.said, finding.headline_key
        if said.verdict not in candidates:
            candidates[said.verdict] = grouping.Candidates(store.group_candidates(claim.id, said.verdict,
                                                                                 window_start))
        group = grouping.find_group(key, candidates[said.verdict], config.group_similarity) or story.id
        candidates[said.verdict].add(group, key)
        new_hits.append((Hit(story_id=story.id, claim_id=claim.id, score=relevance.score,
                             matched_terms=relevance.matched_terms, verdict=said.verdict, cue=said.cue,
                             sentence=said.sentence, group_id=group, headline_key=key, fresh=finding.fresh,
                             sentence_source=sentence_source(story, said.sentence)),
                        story))

    # Only a fresh report of another decisive state can move the claim (claims.advance); without one there is no
    # need to read the claim's evidence. Pending reports never count, so the read does not grow with the
    # claim's whole history.
    movers = any(h.fresh and h.verdict not in (Verdict.PENDING, state) for h, _ in new_hits)
    earlier = store.claim_evidence(claim.id, since=since, fresh_only=True, decisive_only=True) if movers else []
    refs = {r.story_id: alerts.story_ref(r.story, str(r.verdict)) for r in earlier}
    refs.update((hit.story_id, alerts.story_ref(story, hit.verdict)) for hit, story in new_hits)
    policy = claims.Policy(confirm_after_outlets=claim.config.confirm_after_outlets,
                           trusted_outlets=frozenset(claim.config.trusted_outlets))
    transitions = claims.advance(
        state,
        [claims.Evidence(r.story_id, r.group_id or r.story_id, r.outlet, r.verdict, r.reported_at, r.score, r.feed)
         for r in earlier],
        [claims.Evidence(h.story_id, h.group_id, s.reported_by, h.verdict, s.published_at or now, h.score, s.feed)
         for h, s in new_hits if h.fresh],
        policy, state_reported_at=state_reported_at) if movers else []

    queued: list[Alert] = []
    by_story = {hit.story_id: (hit, story) for hit, story in new_hits}
    by_story.update((r.story_id, (r.hit, r.story)) for r in earlier if r.story_id not in by_story)
    for change in transitions:
        hit, story = by_story[change.quoted.story_id]  # the strongest report, whichever poll committed first
        evidence = [refs[e.story_id] for e in change.supporting]
        store.record_transition(claim.id, change.previous, change.state, now, hit.story_id,
                                change.decided_by.reported_at, evidence)
        queued.append(alerts.state_changed(claim.config, str(change.previous), str(change.state), hit, story,
                                           evidence, evidence_since=None if since == EPOCH else since, now=now))
        since = now
        log.info("claim state changed %s", kv(claim=claim.id, previous=change.previous, state=change.state,
                                              story=hit.story_id))
    if claim.config.notify == "all":
        deciding = {t.decided_by.story_id for t in transitions}
        current = str(transitions[-1].state) if transitions else str(state)
        queued += [alerts.new_story(claim.config, current, hit, story, now) for hit, story in new_hits
                   if hit.fresh and hit.group_id == hit.story_id and hit.story_id not in deciding]
    return Tracked(hits=[hit for hit, _ in new_hits], recorded_at=now, alerts=queued,
                   verdicts=tuple(str(h.verdict) for h, _ in new_hits),
                   state_changes=tuple(str(c.state) for c in transitions))


def run_backtest(claim: TrackedClaim, stories: Iterable[Story], *, near_misses: int = 0,
                 semantic: SemanticRules | None = None) -> dict:
    """Which of ``stories`` the claim would hit, with score, matched terms and verdict, and with ``near_misses``
    > 0 that many of the others, highest score first, each with its ``match.Assessment`` (why it missed). Reads
    nothing else and writes nothing: the same relevance and verdict stages as a live poll (the ``semantic``
    stage too, when given), without state or alerts."""
    hits, misses, seen = [], [], 0
    if semantic is not None:
        stories = list(stories)
        judged = iter(assess_all(semantic, claim.relevance, ((s.title, with_lead(s.summary, s.article))
                                                             for s in stories)))
    for story in stories:
        seen += 1
        summary = with_lead(story.summary, story.article)  # as the poll read it: with the article's lead, if any
        assessment = (next(judged)[0] if semantic is not None
                      else match.assess(claim.relevance, story.title, summary) if near_misses else None)
        if assessment is None:
            relevance = match.match(claim.relevance, story.title, summary)
            if relevance is None:
                continue
        else:
            relevance = assessment.relevance
            if relevance is None:
                if near_misses:  # keep the best few: (score, then the earlier story) first
                    heapq.heappush(misses, (assessment.score, -seen, story, assessment))
                    if len(misses) > near_misses:
                        heapq.heappop(misses)
                continue
        said = (judge_with_article(claim.verdict, story.title, story.summary, story.article) if story.article
                else judge(claim.verdict, story.title, story.summary))
        hits.append({**_story_fields(story), "score": relevance.score, "matched_terms": list(relevance.matched_terms),
                     "verdict": str(said.verdict), "cue": said.cue, "sentence": said.sentence})
    result: dict = {"stories": seen, "hits": hits}
    if near_misses:
        result["near_misses"] = [{**_story_fields(story), "assessment": assessment}
                                 for _, _, story, assessment in sorted(misses, key=lambda m: m[:2], reverse=True)]
    return result


def _story_fields(story: Story) -> dict:
    return {"story_id": story.id, "outlet": story.reported_by, "title": story.title, "link": story.link,
            "published_at": story.published_at.isoformat() if story.published_at else None}


def check_deadlines(ctx: Context, store: Store, now: datetime) -> int:
    """Queue one "overdue" alert per claim whose ``expect_by`` has passed while it is pending or delayed."""
    queued = 0
    for claim in ctx.claims:
        expect_by = claim.config.expect_by
        record = store.claim_state(claim.id)
        state = record.state if record else Verdict.PENDING
        if not claims.is_overdue(state, expect_by, now):
            continue
        if record and (record.overdue_alerted_for == expect_by or record.muted(now)):
            continue  # alerted already, or muted: a mute ending before the claim moves lets it come then
        with store.transaction():
            record = store.claim_state(claim.id)  # again, under the write lock: a poll may just have moved it
            state = record.state if record else Verdict.PENDING
            if not claims.is_overdue(state, expect_by, now):
                continue
            alert = alerts.overdue(claim.config, str(state), expect_by, now)
            queued += outbox.enqueue(store, alert, claim.config.channels, now)
            store.mark_overdue_alerted(claim.id, expect_by, now)
        log.info("claim overdue %s", kv(claim=claim.id, expect_by=expect_by, state=state))
    return queued


def _muted(record: ClaimRecord | None, now: datetime) -> bool:
    """Whether ``claims mute`` holds the claim's alerts back at ``now``: they are dropped, not kept for later."""
    return record is not None and record.muted(now)
