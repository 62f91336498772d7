"""What each status page shows, gathered from the database and the daemon's config with ``monitor.views`` (so a
page says what the CLI says). Every list that grows with the database is read a page at a time."""

from __future__ import annotations

from datetime import datetime

from monitor import views
from monitor.errors import NotFoundError
from monitor.store import Store, outbox, to_db_time
from monitor.web import timeline

EVIDENCE_PAGE = 50
FEEDS_PAGE = 200
OUTBOX_PAGE = 100


def _last_evidence(store: Store, claim_id: str) -> dict | None:
    found = store.latest_evidence(claim_id, limit=1)
    return views.record_fields(found[0]) if found else None


def overview(source: views.ReadSource, store: Store, now: datetime, config_error: str | None) -> dict:
    """``/``: every claim with its state and last evidence, the feeds failing, the outbox, the config status."""
    claims = [{**row, "last": _last_evidence(store, row["id"]), "muted": (row["muted_until"] or "") > to_db_time(now)}
              for row in views.claim_rows(source, store)]
    feeds = views.feed_rows(source, store)
    failing = [f for f in feeds if f["state"] in ("failing", "disabled")]
    channels = [{**c, "paused": (c["paused_until"] or "") > to_db_time(now)}
                for c in views.channel_rows(source, outbox.channel_states(store), outbox.held_behind_dead(store))]
    return {"claims": claims, "feeds_total": len(feeds), "failing": failing[:FEEDS_PAGE],
            "failing_total": len(failing), "outbox": outbox.counts(store), "channels": channels,
            "config": {"path": str(source.config.path) if source.config else None, "reload_error": config_error,
                       "feeds": len(source.config.feeds) if source.config else None,
                       "claims": len(source.config.claims) if source.config else None}}


def claim(source: views.ReadSource, store: Store, claim_id: str, now: datetime, page: int) -> dict:
    """``/claims/<id>``: the claim's row, its timeline and a page of its evidence (newest first)."""
    views.check_claim_known(source, store, claim_id)
    row = next((r for r in views.claim_rows(source, store) if r["id"] == claim_id), None)
    if row is None:  # stored but no longer configured, while the config is readable
        raise NotFoundError(f"claim {claim_id!r} is not configured any more")
    history = store.claim_history(claim_id)
    first = store.latest_evidence(claim_id, limit=1, offset=max(sum(row["hits"].values()) - 1, 0))
    start = min([h.at for h in history] + [e.created_at for e in first], default=None)
    total = sum(row["hits"].values())
    evidence = [views.record_fields(e) for e in store.latest_evidence(claim_id, limit=EVIDENCE_PAGE,
                                                                      offset=page * EVIDENCE_PAGE)]
    return {"claim": {**row, "muted": (row["muted_until"] or "") > to_db_time(now)},
            "timeline": timeline.layout(history, "pending", start, now),
            "evidence": evidence, "page": page, "pages": max((total + EVIDENCE_PAGE - 1) // EVIDENCE_PAGE, 1),
            "total": total}


def feeds(source: views.ReadSource, store: Store, page: int) -> dict:
    """``/feeds``: a page of feeds' health, with the claim a search feed was built from (``claim``) and the claims
    that trust each feed (``trusted_outlets``)."""
    rows = views.feed_rows(source, store)
    trusted: dict[str, list[str]] = {}
    for c in source.config.claims if source.config else ():
        for name in c.trusted_outlets:
            trusted.setdefault(name, []).append(c.id)
    shown = rows[page * FEEDS_PAGE:(page + 1) * FEEDS_PAGE]
    return {"feeds": [{**f, "trusted_by": trusted.get(f["name"], [])} for f in shown], "page": page,
            "pages": max((len(rows) + FEEDS_PAGE - 1) // FEEDS_PAGE, 1), "total": len(rows)}


def outbox_page(store: Store, status: str | None, page: int) -> dict:
    """``/outbox``: the counts, the channels' state and a page of rows (newest first), with why each waits."""
    held = outbox.held_behind_dead(store)
    counts = outbox.counts(store)
    total = counts.get(status, 0) if status else sum(counts.values())
    return {"rows": views.outbox_rows(outbox.page(store, status=status, limit=OUTBOX_PAGE,
                                                  offset=page * OUTBOX_PAGE), held),
            "channels": list(views.stored_channels(outbox.channel_states(store)).values()), "counts": counts,
            "status": status, "page": page, "pages": max((total + OUTBOX_PAGE - 1) // OUTBOX_PAGE, 1)}
