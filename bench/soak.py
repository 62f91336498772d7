"""Soak: many poll cycles of the real pipeline over the churning feed farm; memory, database growth, throughput.

Usage (from the repository root):
    /work/venv/bin/python bench/soak.py [--cycles 200] [--feeds 500] [--items 50] [--latency-ms 50] [--threads 32]
        [--claims 100] [--churn-share 0.1] [--churn-items 5] [--hosts N] [--every 10] [--json]

Each cycle polls every feed once, at once (poll_feed(..., force=True) on --threads threads, one Store per thread, one SQLite file), then
the farm prepends --churn-items new entries to --churn-share of its feeds. The first cycle is cold. Every --every
cycles a row: cycle wall time, new stories, hits, process RSS (VmRSS), the RSS of its child processes (a parse
worker pool), live Python objects, database size. At the
end: RSS after the first cycle and after the last, the growth between the second row and the end (target: no more
than a few MB), database size, and stories stored per second of polling.
"""

from __future__ import annotations

import gc
import inspect
import json
import resource
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from feed_farm import (FarmProcess, farm_arguments, make_claims, poll_waiting_for_host, tree_usage,  # noqa: E402
                       write_config)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = farm_arguments(__doc__, feeds=500, items=50, cycle=True)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--every", type=int, default=10, help="print a row every N cycles")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tmp", default=None, help="folder for the temporary database (default: system temp)")
    args = parser.parse_args()

    from monitor.config import load_config
    from monitor.pipeline import poll_feed
    from monitor.runtime import Context, utc_now
    from monitor.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="nm-bench-soak-", dir=args.tmp))
    samples: list[dict] = []
    totals = {"new": 0, "hits": 0, "alerts": 0, "errors": 0, "poll_s": 0.0}
    try:
        hosts = args.hosts or max(1, args.feeds // 5)
        with FarmProcess(args.feeds, args.items, latency_ms=args.latency_ms, max_seconds=6 * 3600,
                         hosts=hosts) as farm:
            config = load_config(write_config(tmp, farm.urls, make_claims(args.claims)))
            ctx = Context.build(config)
            db = Path(config.database)
            Store(db).close()
            local = threading.local()
            stores: list[Store] = []
            # Every cycle polls every feed at once, whatever its schedule says (as poll-once does).
            force = {"force": True} if "force" in inspect.signature(poll_feed).parameters else {}

            def job(feed):
                store = getattr(local, "store", None)
                if store is None:
                    store = local.store = Store(db)
                    stores.append(store)
                return poll_waiting_for_host(poll_feed, ctx, store, feed, utc_now(), **force)

            rss_before = rss_mb()
            if not args.json:
                print(f"soak: {args.cycles} cycles x {args.feeds} feeds x {args.items} items on {hosts} loopback hosts, "
                      f"{args.threads} threads, "
                      f"{args.claims} claims, churn {args.churn_share:.0%} of feeds x {args.churn_items} items/cycle")
                print(f"{'cycle':>6} {'wall s':>7} {'new':>6} {'hits':>5} {'err':>4} {'RSS MB':>7} {'child RSS':>9} "
                      f"{'objects':>9} "
                      f"{'DB MB':>7} {'elapsed s':>9}")
            started = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                for cycle in range(1, args.cycles + 1):
                    t = time.perf_counter()
                    results = list(pool.map(job, config.feeds))
                    wall = time.perf_counter() - t
                    new = sum(r.new_stories for r in results)
                    hits = sum(r.hits for r in results)
                    errors = sum(r.status == "error" for r in results)
                    totals["new"] += new
                    totals["hits"] += hits
                    totals["alerts"] += sum(r.alerts for r in results)
                    totals["errors"] += errors
                    totals["poll_s"] += wall
                    if cycle == 1 or cycle % args.every == 0 or cycle == args.cycles:
                        gc.collect()
                        usage = tree_usage(exclude={farm.proc.pid})
                        row = {"cycle": cycle, "wall_s": wall, "new": new, "hits": hits, "errors": errors,
                               "rss_mb": rss_mb(), "children_rss_mb": usage["children_rss_mb"],
                               "objects": len(gc.get_objects()),
                               "db_mb": sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 1e6,
                               "elapsed_s": time.perf_counter() - started}
                        samples.append(row)
                        if not args.json:
                            print(f"{cycle:6d} {wall:7.2f} {new:6d} {hits:5d} {errors:4d} {row['rss_mb']:7.1f} "
                                  f"{row['children_rss_mb']:9.1f} "
                                  f"{row['objects']:9d} {row['db_mb']:7.1f} {row['elapsed_s']:9.0f}", flush=True)
                    if cycle < args.cycles:
                        farm.churn(args.churn_share, args.churn_items)
            for store in stores:
                store.close()
            ctx.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base = samples[1] if len(samples) > 2 else samples[0]
    end = samples[-1]
    warm_walls = [s["wall_s"] for s in samples[1:]]
    summary = {
        "cycles": args.cycles, "feeds": args.feeds, "rss_before_mb": rss_before, "rss_after_first_mb": samples[0]["rss_mb"],
        "rss_end_mb": end["rss_mb"], "rss_growth_mb": end["rss_mb"] - base["rss_mb"], "growth_from_cycle": base["cycle"],
        "children_rss_end_mb": end["children_rss_mb"],
        "children_rss_growth_mb": end["children_rss_mb"] - base["children_rss_mb"],
        "objects_growth": end["objects"] - base["objects"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "db_mb": end["db_mb"],
        "stories": totals["new"], "hits": totals["hits"], "alerts": totals["alerts"], "errors": totals["errors"],
        "poll_s": totals["poll_s"], "stories_per_s": totals["new"] / totals["poll_s"],
        "cycle_s_median_after_first": sorted(warm_walls)[len(warm_walls) // 2] if warm_walls else None,
        "samples": samples,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"RSS: {rss_before:.1f} MB before, {samples[0]['rss_mb']:.1f} MB after cycle 1, {end['rss_mb']:.1f} MB after "
          f"cycle {end['cycle']}; growth since cycle {base['cycle']}: {summary['rss_growth_mb']:+.1f} MB "
          f"({summary['objects_growth']:+d} objects); peak {summary['peak_rss_mb']:.1f} MB; child processes (parse "
          f"workers) {end['children_rss_mb']:.1f} MB at the end, {summary['children_rss_growth_mb']:+.1f} MB")
    print(f"database: {end['db_mb']:.1f} MB for {totals['new']} stories and {totals['hits']} hits; "
          f"{summary['stories_per_s']:.0f} stories/s over {totals['poll_s']:.0f} s of polling; "
          f"{totals['errors']} feed errors; median cycle after the first {summary['cycle_s_median_after_first']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
