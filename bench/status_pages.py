"""How fast the status pages and the store's queries answer on a large database: 1,000 feeds and 100,000
stored stories with a hit each by default, on SQLite or PostgreSQL.

Usage (from the repository root):
    .venv/bin/python bench/status_pages.py [--feeds 1000] [--claims 20] [--hits 100000] [--outbox 20000]
        [--repeat 5] [--database postgresql://user@host/dbname]

Fills a fresh SQLite file (in a temporary folder), or the empty PostgreSQL database ``--database`` names, with
``--feeds`` feeds (a tenth failing), ``--claims`` claims whose ``--hits`` hits (half on the first claim, the rest
spread) each have a story, and ``--outbox`` alert rows; prints the database's size, then asks each page over real
loopback HTTP ``--repeat`` times and prints the median and slowest milliseconds, times the queries a poll and a
delivery run, and prints the query plan of a claim's evidence page (it must read the claim and time index, not
scan the hits).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config import load_config  # noqa: E402
from monitor.daemon.health import HealthServer  # noqa: E402
from monitor.models import Story  # noqa: E402
from monitor.store import Store, outbox, to_db_time  # noqa: E402
from monitor.web.routes import StatusSite  # noqa: E402

NOW = datetime(2031, 5, 6, 12, 0, tzinfo=timezone.utc)
VERDICTS = ("pending", "delayed", "confirmed", "rejected")


def fill(folder: Path, database: str, feeds: int, claims: int, hits: int, alerts: int) -> Path:
    document = {"monitor": {"database": database},
                "feeds": [{"name": f"feed{i}", "url": f"https://feed{i}.example.com/rss"} for i in range(feeds)],
                "claims": [{"id": f"claim{c}", "text": f"Claim number {c} happens"} for c in range(claims)]}
    config = folder / "monitor.toml"
    config.write_text(tomli_w.dumps(document), encoding="utf-8")
    with Store(load_config(config, environ={}).database) as store, store.transaction():
        db = store.sql
        db.executemany("INSERT INTO feeds (name, url, error_count, last_ok_at, last_error, failing_since, next_poll_at)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [(f"feed{i}", f"https://feed{i}.example.com/rss", 3 if i % 10 == 0 else 0,
                         to_db_time(NOW - timedelta(minutes=i % 60)), "HTTP 500" if i % 10 == 0 else None,
                         to_db_time(NOW - timedelta(hours=2)) if i % 10 == 0 else None,
                         to_db_time(NOW + timedelta(minutes=5))) for i in range(feeds)])
        stories, rows = [], []
        for n in range(hits):
            claim = 0 if n % 2 == 0 else 1 + n % max(claims - 1, 1)
            at = to_db_time(NOW - timedelta(seconds=(hits - n) * 30))
            stories.append((f"s{n}", f"feed{n % feeds}", f"Story {n} about claim {claim}", "", 
                            f"https://feed{n % feeds}.example.com/{n}", at, at))
            rows.append((f"s{n}", f"claim{claim}", 50.0, json.dumps(["claim"]), at, VERDICTS[n % 4], "cue",
                         f"Sentence {n} with the cue.", f"g{n // 3}", None, 1))
        db.executemany("INSERT INTO stories (id, feed, title, summary, link, published_at, seen_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", stories)
        db.executemany("INSERT INTO hits (story_id, claim_id, score, matched_terms, created_at, verdict, cue, "
                       "sentence, group_id, headline_key, fresh) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        for c in range(claims):
            for step, (before, after) in enumerate(zip(VERDICTS, VERDICTS[1:])):
                store.record_transition(f"claim{c}", before, after, NOW - timedelta(days=3 - step), "s0",
                                        NOW - timedelta(days=3 - step), [])
        db.executemany("INSERT INTO outbox (id, alert_id, channel, claim_id, story_id, kind, payload, status, "
                       "attempts, created_at, next_attempt_at) VALUES (?, ?, 'hook', ?, ?, 'claim.hit', ?, ?, 0, ?, ?)",
                       [(f"a{n}/hook", f"a{n}", f"claim{n % claims}", f"s{n}",
                         json.dumps({"story": {"title": f"Story {n}"}, "state": "pending"}),
                         ("sent", "pending", "dead")[n % 3], to_db_time(NOW), to_db_time(NOW)) for n in range(alerts)])
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--claims", type=int, default=20)
    parser.add_argument("--hits", type=int, default=100_000)
    parser.add_argument("--outbox", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default="monitor.db",
                        help="an empty PostgreSQL database's URL (default: a SQLite file in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        config_path = fill(Path(folder), args.database, args.feeds, args.claims, args.hits, args.outbox)
        print(f"filled {args.feeds} feeds, {args.claims} claims, {args.hits} hits, {args.outbox} outbox rows "
              f"in {time.perf_counter() - started:.1f} s")
        config = load_config(config_path, environ={})
        with Store(config.database) as store:
            if store.is_postgres:  # what autovacuum does on a live database soon after a bulk load
                store.sql.execute("ANALYZE")
            print(f"database size: {database_bytes(store) / 1e6:.1f} MB ({store.path})")
        site = StatusSite(listen_host="127.0.0.1", config=lambda: config, database=config.database,
                          clock=lambda: NOW)
        server = HealthServer("127.0.0.1:0", database=config.database, last_tick=lambda: None,
                              max_tick_age_seconds=60, site=site)
        server.start()
        base = f"http://127.0.0.1:{server.port}"
        paths = ["/", "/claims/claim0", "/claims/claim0?page=900", "/claims/claim1", "/feeds", "/feeds?page=4",
                 "/outbox", "/outbox?status=dead&page=50", "/alerts.atom", "/claims/claim0.atom", "/api/claims",
                 "/api/status"]
        session = requests.Session()
        print(f"{'page':<32} {'median ms':>10} {'max ms':>8} {'kB':>6}")
        try:
            for path in paths:
                times, size = [], 0
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    answer = session.get(base + path, timeout=60)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
                    size = len(answer.content)
                print(f"{path:<32} {statistics.median(times):>10.1f} {max(times):>8.1f} {size / 1000:>6.0f}")
        finally:
            server.stop()
        with Store(config.database) as store:
            time_queries(store, args.repeat, args.hits, args.feeds)
            explain = "EXPLAIN" if store.is_postgres else "EXPLAIN QUERY PLAN"
            plan = store.sql.execute(
                f"{explain} SELECT h.rowid FROM hits h JOIN stories s ON s.id = h.story_id "
                "WHERE h.claim_id = ? ORDER BY h.created_at DESC, h.rowid DESC LIMIT 50 OFFSET 0",
                ["claim0"]).fetchall()
        print("evidence page plan: " + "; ".join(row[-1].strip() for row in plan))


def database_bytes(store: Store) -> int:
    """The database's size on disk: the SQLite file with its write-ahead log, or PostgreSQL's for the database."""
    if store.is_postgres:
        return store.sql.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    store.sql.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in store.path.parent.glob(f"{store.path.name}*") if p.is_file())


def time_queries(store: Store, repeat: int, hits: int, feeds: int) -> None:
    """Median milliseconds of the queries a poll (which of 50 stories are known, by id and by link; the grouping
    candidates of a busy claim) and a delivery (the due alerts) run, and of a claim summary."""
    ids = [f"s{n}" for n in range(0, hits, max(hits // 50, 1))][:50]
    links = [Story(f"x{n}", "feed0", "t", "", f"https://feed0.example.com/{n}") for n in range(0, hits, feeds)][:50]
    queries = {
        "50 story ids known?": lambda: store.known_story_ids(ids),
        "50 links known?": lambda: store.ids_with_known_links("feed0", links),
        "grouping candidates (busy claim)": lambda: store.group_candidates("claim0", "confirmed",
                                                                           NOW - timedelta(days=30)),
        "due alerts (100)": lambda: outbox.due(store, NOW, limit=100),
        "claim summaries": store.claim_summaries,
    }
    print(f"{'query':<32} {'median ms':>10}")
    for name, run in queries.items():
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1000)
        print(f"{name:<32} {statistics.median(times):>10.2f}")


if __name__ == "__main__":
    main()
