"""Answering a status request: the path to a page, the Atom feeds or the JSON API, after the access check.

``StatusSite.answer`` is what the ``listen`` server calls for every path other than ``/healthz`` and
``/metrics``. Each request opens the database read-only-in-practice (only SELECTs run) for its own thread, and
reads the daemon's current config, so a page says what the daemon works with, including a refused reload.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qs, unquote

from monitor import views
from monitor.config import Config
from monitor.config.database import Database
from monitor.errors import MonitorError, NotFoundError
from monitor.logs import kv, log
from monitor.store import DATABASE_ERRORS, Store, outbox
from monitor.web import access, atom, pages, render

HTML, JSON, ATOM = "text/html; charset=utf-8", "application/json", "application/atom+xml; charset=utf-8"
ATOM_ENTRIES = 50
OUTBOX_STATUSES = ("pending", "dead", "sent")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class StatusSite:
    """The status pages of one daemon: ``config()`` is its config now, ``config_error()`` its refused reload."""

    def __init__(self, *, listen_host: str, config: Callable[[], Config], database: Database,
                 config_error: Callable[[], str | None] = lambda: None,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.listen_host = listen_host
        self.config = config
        self.database = database
        self.config_error = config_error
        self.clock = clock

    def answer(self, path: str, query: str, headers: Mapping[str, str]) -> Answer:
        """The response to ``GET path?query``; never raises for anything a client sends."""
        now = self.clock()
        refused = access.refusal(self.listen_host, self.config().status_token, headers, query)
        if refused is not None:
            return self._error(refused[0], refused[1], now, json_wanted=path.startswith("/api/"))
        try:
            return self._route(unquote(path), parse_qs(query), now)
        except NotFoundError as exc:
            return self._error(404, str(exc), now, json_wanted=path.startswith("/api/"))
        except (MonitorError, *DATABASE_ERRORS, OSError) as exc:
            log.warning("status page failed %s", kv(path=path, error=exc))
            return self._error(503, f"cannot read the database: {exc}", now, json_wanted=path.startswith("/api/"))
        except Exception as exc:  # noqa: BLE001 — a page's bug answers 500 and is logged; the server serves on
            log.error("status page failed %s", kv(path=path, error=f"{type(exc).__name__}: {exc}"))
            return self._error(500, "the page could not be built; the daemon's log says why", now,
                               json_wanted=path.startswith("/api/"))

    def _route(self, path: str, query: dict[str, list[str]], now: datetime) -> Answer:
        page = _page_number(query)
        source = views.ReadSource(self.database, self.config())
        with Store(self.database, create=False) as store:
            if path == "/":
                data = pages.overview(source, store, now, self.config_error())
                return Answer(200, HTML, render.page("overview.html", now, **data))
            if path == "/feeds":
                return Answer(200, HTML, render.page("feeds.html", now, **pages.feeds(source, store, page)))
            if path == "/outbox":
                status = (query.get("status") or [""])[0] or None
                if status is not None and status not in OUTBOX_STATUSES:
                    raise NotFoundError(f"no outbox status {status!r}; expected one of {', '.join(OUTBOX_STATUSES)}")
                return Answer(200, HTML, render.page("outbox.html", now, **pages.outbox_page(store, status, page)))
            if path == "/alerts.atom":
                rows = outbox.recent_alerts(store, limit=ATOM_ENTRIES)
                return Answer(200, ATOM, atom.feed(rows, feed_id="urn:news-monitor:alerts", title="news-monitor alerts",
                                                   self_url="/alerts.atom", page_url="/", now=now))
            if path.startswith("/claims/") and path.endswith(".atom"):
                claim_id = path[len("/claims/"):-len(".atom")]
                views.check_claim_known(source, store, claim_id)
                rows = outbox.recent_alerts(store, claim_id=claim_id, limit=ATOM_ENTRIES)
                return Answer(200, ATOM, atom.feed(rows, feed_id=f"urn:news-monitor:claim:{claim_id}",
                                                   title=f"news-monitor alerts: {claim_id}",
                                                   self_url=f"/claims/{claim_id}.atom", page_url=f"/claims/{claim_id}",
                                                   now=now))
            if path.startswith("/claims/"):
                data = pages.claim(source, store, path[len("/claims/"):], now, page)
                return Answer(200, HTML, render.page("claim.html", now, **data))
            if path.startswith("/api/"):
                return Answer(200, JSON, json.dumps(self._api(path[len("/api/"):], source, store, query)).encode())
        raise NotFoundError(f"no page {path}")

    def _api(self, name: str, source: views.ReadSource, store: Store, query: dict[str, list[str]]) -> dict:
        """The CLI's ``--json`` documents: ``status``, ``feeds``, ``claims``, ``outbox`` (``?status=``,
        ``?limit=`` up to 1000) and ``claims/<id>`` (one claim's row)."""
        if name == "status":
            return {"feeds": views.feed_rows(source, store),
                    "channels": views.channel_rows(source, outbox.channel_states(store), outbox.held_behind_dead(store)),
                    "outbox": outbox.counts(store), "config_error": self.config_error()}
        if name == "feeds":
            return {"feeds": views.feed_rows(source, store)}
        if name == "claims":
            return {"claims": views.claim_rows(source, store)}
        if name.startswith("claims/"):
            claim_id = name[len("claims/"):]
            views.check_claim_known(source, store, claim_id)
            return {"claims": [r for r in views.claim_rows(source, store) if r["id"] == claim_id]}
        if name == "outbox":
            status = (query.get("status") or [None])[0]
            if status is not None and status not in OUTBOX_STATUSES:
                raise NotFoundError(f"no outbox status {status!r}; expected one of {', '.join(OUTBOX_STATUSES)}")
            limit = min(_int(query, "limit", 200), 1000)
            return {"outbox": views.outbox_rows(outbox.rows(store, status=status, limit=limit),
                                                outbox.held_behind_dead(store)),
                    "channels": list(views.stored_channels(outbox.channel_states(store)).values())}
        raise NotFoundError(f"no API document {name!r}; expected status, feeds, claims, claims/<id> or outbox")

    def _error(self, status: int, message: str, now: datetime, *, json_wanted: bool) -> Answer:
        if json_wanted:
            return Answer(status, JSON, json.dumps({"error": message}).encode())
        return Answer(status, HTML, render.page("error.html", now, status=status, message=message))


def _int(query: dict[str, list[str]], key: str, default: int) -> int:
    try:
        return max(int((query.get(key) or [default])[0]), 1)
    except ValueError:
        return default


def _page_number(query: dict[str, list[str]]) -> int:
    try:
        return max(int((query.get("page") or ["0"])[0]), 0)
    except ValueError:
        return 0
