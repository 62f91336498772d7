"""Time one poll cycle of news-monitor's real pipeline over the loopback feed farm, against the network floor.

Usage (from the repository root):
    /work/venv/bin/python bench/poll_cycle.py [--feeds 500] [--items 50] [--latency-ms 50] [--threads 32]
        [--claims 100] [--quiet-claims] [--churn-share 0.1] [--churn-items 5] [--conditional 0.8] [--repeat 1] [--shipped]
        [--poll-once] [--profile] [--no-baseline] [--json] [--semantic MODEL_DIR] [--postgres CONNINFO]

Rows (each measured in its own child process, so CPU time and peak RSS are its alone; the farm runs in another):
    floor           fetch only: the same --threads, one requests.Session per thread, every body read (cold)
    floor (304)     the same with the validators of the first pass: what a warm cycle cannot go below
    baseline        a plain requests + feedparser thread pool (fetch, feedparser.parse), same --threads
    cold            news-monitor: poll_feed for every feed on --threads threads, each with its own Store on one
                    SQLite file, on an empty database (fetch, parse, dedupe, match against --claims claims,
                    verdict, store, enqueue)
    warm            the next cycle at once: 304 for feeds with validators, the unchanged body for the others
    churn           after --churn-share of the feeds got --churn-items new entries each
    --shipped       also: cold and warm as the daemon runs them (scheduler.MAX_WORKERS threads, a Store per job)
    --poll-once     also: `news-monitor poll-once --no-deliver` (cold, then warm) in a subprocess
    --profile       also: a cold cycle with CPU time per stage (fetch, parse, match, verdict, SQLite …) and a
                    merged per-thread cProfile (thread CPU time); the top functions go to stdout

``--semantic MODEL_DIR`` turns the semantic stage on (a ``[semantic]`` table with that model) for every row
that runs news-monitor. ``--postgres CONNINFO`` (a libpq connection string of a role that may create databases)
runs the cold, warm and churn rows on a new PostgreSQL database per run on that server instead of a SQLite file;
the databases are dropped at the end.

Prints wall time, CPU time, feeds/s, the ratio to the floor and peak RSS per row; --json prints one JSON document
instead (keys floor_s, cold_s, warm_s, churn_s, cold_ratio, warm_ratio, peak_rss_mb, plus daemon_peak_rss_mb, pss_mb
and every row). With
--repeat N every row is measured N times (a fresh database each time) and the median is shown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
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

from feed_farm import (FarmProcess, farm_arguments, make_claims, poll_waiting_for_host, supported_monitor_keys,  # noqa: E402
                       tree_usage, write_config)
import pgdb  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process and its children (a parse process pool, if the pipeline has one)."""
    return tree_usage()["cpu_s"]


def _peak_rss_mb() -> float:
    """Peak RSS of this process plus the peak RSS of its live children."""
    usage = tree_usage()
    return usage["peak_rss_mb"] + usage["children_peak_rss_mb"]


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _timed(fn, *args) -> dict:
    cpu, wall = _cpu(), time.perf_counter()
    out = fn(*args)
    return {"wall_s": time.perf_counter() - wall, "cpu_s": _cpu() - cpu, **(out or {})}


# ------------------------------------------------------------------------------------------------ workers

def _sessions():
    import requests

    from monitor.feeds.fetch import ACCEPT, USER_AGENT

    local = threading.local()

    def session() -> requests.Session:
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
            s.headers.update({"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"})
        return s
    return session


def worker_floor(urls: list[str], threads: int) -> dict:
    """Fetch only, twice: every body, then conditional GETs with the validators of the first pass."""
    session = _sessions()
    validators: dict[str, tuple[str | None, str | None]] = {}

    def get(url: str) -> int:
        r = session().get(url, timeout=30)
        validators[url] = (r.headers.get("etag"), r.headers.get("last-modified"))
        return len(r.content)

    def get_conditional(url: str) -> int:
        etag, modified = validators[url]
        headers = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", modified)) if v}
        r = session().get(url, headers=headers, timeout=30)
        return r.status_code

    with ThreadPoolExecutor(threads) as pool:
        cold = _timed(lambda: {"bytes": sum(pool.map(get, urls))})
        warm = _timed(lambda: {"not_modified": sum(s == 304 for s in pool.map(get_conditional, urls))})
    return {"floor": cold, "floor_304": warm, "peak_rss_mb": _peak_rss_mb()}


def worker_baseline(urls: list[str], threads: int) -> dict:
    """requests + feedparser, the obvious implementation, on the same thread count."""
    import feedparser

    session = _sessions()

    def poll(url: str) -> int:
        r = session().get(url, timeout=30)
        return len(feedparser.parse(r.content).entries)

    with ThreadPoolExecutor(threads) as pool:
        cold = _timed(lambda: {"entries": sum(pool.map(poll, urls))})
    return {"baseline": cold, "peak_rss_mb": _peak_rss_mb()}


def poll_kwargs(poll_feed) -> dict:
    """Poll every feed now, whatever its schedule says (the cycles follow each other at once), as poll-once does."""
    import inspect

    return {"force": True} if "force" in inspect.signature(poll_feed).parameters else {}


def _tally(results) -> dict:
    out = {"ok": 0, "not_modified": 0, "unchanged": 0, "error": 0, "new_stories": 0, "hits": 0, "alerts": 0}
    for r in results:
        out[r.status] = out.get(r.status, 0) + 1
        out["new_stories"] += r.new_stories
        out["hits"] += r.hits
        out["alerts"] += r.alerts
    errors = [r.error for r in results if r.error]
    if errors:
        out["first_error"] = errors[0]
    return out


def worker_pipeline(config_path: str, threads: int, farm_base: str, churn_share: float, churn_items: int,
                    store_per_job: bool, cycles: str) -> dict:
    from urllib.request import Request, urlopen

    from monitor.config import load_config
    from monitor.pipeline import poll_feed
    from monitor.runtime import Context, utc_now
    from monitor.store import Store

    rss_start = _rss_mb()
    t = time.perf_counter()
    config = load_config(config_path)
    ctx = Context.build(config)
    setup_s = time.perf_counter() - t
    Store(config.database).close()  # create and migrate the file once, as the first job of a daemon would
    local = threading.local()
    force = poll_kwargs(poll_feed)

    def job(feed):
        if store_per_job:
            with Store(config.database) as store:
                return poll_waiting_for_host(poll_feed, ctx, store, feed, utc_now(), **force)
        store = getattr(local, "store", None)
        if store is None:
            store = local.store = Store(config.database)
        return poll_waiting_for_host(poll_feed, ctx, store, feed, utc_now(), **force)

    out: dict = {"setup_s": setup_s, "rss_after_setup_mb": _rss_mb(), "rss_start_mb": rss_start}
    with ThreadPoolExecutor(threads) as pool:
        for name in cycles.split(","):
            if name == "churn":
                req = Request(farm_base + "/_farm/churn", method="POST",
                              data=json.dumps({"share": churn_share, "items": churn_items}).encode())
                urlopen(req, timeout=120).read()
            out[name] = _timed(lambda: _tally(pool.map(job, config.feeds)))
    usage = tree_usage()  # before ctx.close(): the parse workers are still alive
    out["pss_mb"], out["workers_pss_mb"] = usage["pss_mb"], usage["children_pss_mb"]
    out["daemon_peak_rss_mb"] = usage["peak_rss_mb"]
    ctx.close()
    out["peak_rss_mb"] = _peak_rss_mb()
    with Store(config.database) as store:
        out["db_mb"] = (store.sql.execute("SELECT pg_database_size(current_database())").fetchone()[0]
                        if store.is_postgres else
                        sum(p.stat().st_size for p in Path(config.database).parent.glob("monitor.db*"))) / 1e6
    return out


def worker_profile(config_path: str, threads: int, top: int) -> dict:
    """A cold cycle with per-stage thread CPU time, then (on a fresh database) one under a per-thread cProfile."""
    from contextlib import contextmanager

    import feedparser

    import monitor.feeds.parse
    import monitor.pipeline as pipeline
    from monitor.store import outbox
    from monitor.config import load_config
    from monitor.runtime import Context, utc_now
    from monitor.store import Store

    config = load_config(config_path)
    ctx = Context.build(config)
    stages: dict[str, list[float]] = {}
    lock = threading.Lock()

    def add(stage: str, cpu: float, wall: float) -> None:
        with lock:
            s = stages.setdefault(stage, [0.0, 0.0, 0])
            s[0] += cpu
            s[1] += wall
            s[2] += 1

    def timed(stage: str, fn):
        def wrapper(*a, **kw):
            c, w = time.thread_time(), time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                add(stage, time.thread_time() - c, time.perf_counter() - w)
        return wrapper

    @contextmanager
    def transaction(self):  # Store.transaction with the lock wait and the commit timed apart
        c, w = time.thread_time(), time.perf_counter()
        self._writer.acquire()  # the process's writer lock, as Store.transaction takes it
        try:
            self.db.conn.execute("BEGIN IMMEDIATE")
            add("write-lock wait (writer lock, BEGIN IMMEDIATE)", time.thread_time() - c, time.perf_counter() - w)
            try:
                yield self.db
            except BaseException:
                self.db.conn.rollback()
                raise
            else:
                c, w = time.thread_time(), time.perf_counter()
                self.db.conn.commit()
                add("sqlite: COMMIT (synchronous=FULL)", time.thread_time() - c, time.perf_counter() - w)
        finally:
            self._writer.release()

    fetch = ctx.fetcher.fetch
    ctx.fetcher.fetch = timed("fetch (Fetcher.fetch)", fetch)
    # The parse stage: in this process (parse_feed), or handed to worker processes (parse_feed_with_budget), in
    # which case this thread's CPU is the hand-over (pickling) and the parse itself shows as the children's CPU.
    for name, stage in (("parse_feed", "parse (parse_feed, in this process)"),
                        ("parse_feed_with_budget", "parse (parse_feed_with_budget: worker processes)")):
        if hasattr(pipeline, name):
            setattr(pipeline, name, timed(stage, getattr(pipeline, name)))
    feedparser.parse = timed("parse: feedparser.parse", feedparser.parse)
    monitor.feeds.parse.plain_text = timed("parse: plain_text", monitor.feeds.parse.plain_text)
    monitor.feeds.parse.convert_to_utf8 = timed("parse: convert_to_utf8", monitor.feeds.parse.convert_to_utf8)
    # Relevance, verdicts and headline keys are read in the worker processes too: this thread's CPU is the hand-over.
    pipeline.read_with_budget = timed("read (read_with_budget: worker processes)", pipeline.read_with_budget)
    pipeline.track_claim = timed("track_claim (group+state+SQLite)", pipeline.track_claim)
    outbox.enqueue = timed("track_claim: outbox.enqueue", outbox.enqueue)
    for name in ("feed_state", "known_story_ids", "insert_stories", "record_feed_ok", "claim_states",
                 "group_candidates", "claim_evidence", "insert_hits", "record_transition"):
        if hasattr(Store, name):
            setattr(Store, name, timed(f"sqlite: Store.{name}", getattr(Store, name)))
    Store.transaction = transaction
    Store(config.database).close()

    local = threading.local()

    def store():
        s = getattr(local, "store", None)
        if s is None:
            s = local.store = Store(config.database)
        return s

    force = poll_kwargs(pipeline.poll_feed)

    def job(feed):
        c, w = time.thread_time(), time.perf_counter()
        try:
            return poll_waiting_for_host(pipeline.poll_feed, ctx, store(), feed, utc_now(), **force)
        finally:
            add("poll_feed (whole job)", time.thread_time() - c, time.perf_counter() - w)

    before = tree_usage()["children_cpu_s"]
    with ThreadPoolExecutor(threads) as pool:
        cycle = _timed(lambda: _tally(pool.map(job, config.feeds)))
    cycle["children_cpu_s"] = tree_usage()["children_cpu_s"] - before
    ctx.close()
    return {"cycle": cycle, "stages": stages}


def worker_cprofile(config_path: str, threads: int, top: int) -> dict:
    """A cold cycle with one cProfile per pool thread, timed in thread CPU time, merged."""
    import cProfile
    import io
    import pstats

    from monitor.config import load_config
    from monitor.pipeline import poll_feed
    from monitor.runtime import Context, utc_now
    from monitor.store import Store

    config = load_config(config_path)
    ctx = Context.build(config)
    Store(config.database).close()
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    local = threading.local()
    force = poll_kwargs(poll_feed)

    def job(feed):
        prof = getattr(local, "prof", None)
        if prof is None:
            prof = local.prof = cProfile.Profile(time.thread_time)
            local.store = Store(config.database)
            with lock:
                profiles.append(prof)
        prof.enable()
        try:
            return poll_waiting_for_host(poll_feed, ctx, local.store, feed, utc_now(), **force)
        finally:
            prof.disable()

    with ThreadPoolExecutor(threads) as pool:
        cycle = _timed(lambda: _tally(pool.map(job, config.feeds)))
    ctx.close()
    stats = pstats.Stats(profiles[0])
    for p in profiles[1:]:
        stats.add(p)
    text = io.StringIO()
    stats.stream = text
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return {"cycle": cycle, "cprofile": text.getvalue()}


def worker_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", required=True)
    parser.add_argument("--spec", required=True)
    a = parser.parse_args(argv)
    spec = json.loads(a.spec)
    kind = a.worker
    if kind == "floor":
        out = worker_floor(spec["urls"], spec["threads"])
    elif kind == "baseline":
        out = worker_baseline(spec["urls"], spec["threads"])
    elif kind == "pipeline":
        out = worker_pipeline(spec["config"], spec["threads"], spec["farm"], spec["churn_share"], spec["churn_items"],
                              spec["store_per_job"], spec["cycles"])
    elif kind == "profile":
        out = worker_profile(spec["config"], spec["threads"], spec.get("top", 30))
    elif kind == "cprofile":
        out = worker_cprofile(spec["config"], spec["threads"], spec.get("top", 30))
    else:
        raise SystemExit(f"unknown worker {kind}")
    print("RESULT " + json.dumps(out))


# ------------------------------------------------------------------------------------------------ orchestration

def run_worker(kind: str, spec: dict) -> dict:
    spec_path = Path(spec.pop("_dir")) / f"spec-{kind}.json"
    spec_path.write_text(json.dumps(spec))
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--spec",
                           spec_path.read_text()], capture_output=True, text=True, timeout=3600)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"worker {kind} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


_RUN_MEASURED = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": time.perf_counter() - t, "cpu_s": u.ru_utime + u.ru_stime,
                  "peak_rss_mb": u.ru_maxrss / 1024, "exit": p.returncode, "stdout": p.stdout}))
"""


def run_poll_once(config: Path, env_db: Path) -> dict:
    """`news-monitor poll-once --no-deliver` twice (cold, warm), each under a small parent that reports its
    RUSAGE_CHILDREN (CPU and peak RSS of that command alone)."""
    out = {}
    for name in ("cli_cold", "cli_warm"):
        proc = subprocess.run([sys.executable, "-c", _RUN_MEASURED, sys.executable, "-m", "monitor", "--config",
                               str(config), "--db", str(env_db), "poll-once", "--no-deliver"],
                              capture_output=True, text=True, cwd=REPO, timeout=3600)
        doc = json.loads(proc.stdout)
        lines = doc.pop("stdout").splitlines()
        out[name] = {**doc, "ok": sum(": ok (" in l for l in lines),
                     "not_modified": sum(": not modified" in l for l in lines),
                     "unchanged": sum(": unchanged" in l for l in lines), "error": sum(": error" in l for l in lines)}
    return out


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(sys.argv[1:])
        return 0
    parser = farm_arguments(__doc__, feeds=500, items=50, cycle=True)
    parser.add_argument("--quiet-claims", action="store_true",
                        help="claims about parties no farm story names (few hits) instead of the farm's own subjects")
    parser.add_argument("--conditional", type=float, default=0.8, help="share of farm feeds with validators")
    parser.add_argument("--max-per-host", type=int, default=0,
                        help="[monitor] max_per_host for the pipeline rows (default: news-monitor's default)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--shipped", action="store_true", help="also the daemon's own concurrency (Store per job)")
    parser.add_argument("--poll-once", action="store_true", help="also time `news-monitor poll-once`")
    parser.add_argument("--profile", action="store_true", help="also a profiled cold cycle")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--semantic", metavar="MODEL_DIR", type=Path,
                        help="turn the semantic stage on with this model")
    parser.add_argument("--tmp", default=None, help="folder for the temporary databases (default: system temp)")
    parser.add_argument("--postgres", metavar="CONNINFO",
                        help="run the cold, warm and churn rows on new PostgreSQL databases on this server")
    args = parser.parse_args()
    made_databases: list[str] = []

    tmp = Path(tempfile.mkdtemp(prefix="nm-bench-poll-", dir=args.tmp))
    claims = make_claims(args.claims, quiet=args.quiet_claims)
    semantic = {"model": str(args.semantic.resolve())} if args.semantic else None
    rows: dict[str, list[dict]] = {}
    extra: dict = {}
    farm_cpu: dict[str, float] = {}

    def record(name: str, row: dict) -> None:
        rows.setdefault(name, []).append(row)

    try:
        hosts = args.hosts or max(1, args.feeds // 5)
        monitor_keys = supported_monitor_keys(**({"max_per_host": args.max_per_host} if args.max_per_host else {}))
        with FarmProcess(args.feeds, args.items, latency_ms=args.latency_ms, conditional=args.conditional,
                         max_seconds=7200, hosts=hosts) as farm:
            def measured(kind: str, spec: dict) -> dict:
                before = farm.stats()["cpu_s"]
                out = run_worker(kind, {**spec, "_dir": str(tmp)})
                farm_cpu[kind] = farm_cpu.get(kind, 0.0) + farm.stats()["cpu_s"] - before
                return out

            for rep in range(args.repeat):
                run_dir = tmp / f"run{rep}"
                run_dir.mkdir()
                if args.postgres:
                    name, url = pgdb.create(args.postgres)
                    made_databases.append(name)
                pipeline_keys = {**monitor_keys, **({"database": url} if args.postgres else {})}
                config = write_config(run_dir, farm.urls, claims, monitor=pipeline_keys, semantic=semantic)
                floor = measured("floor", {"urls": farm.urls, "threads": args.threads})
                record("floor", {**floor["floor"], "peak_rss_mb": floor["peak_rss_mb"]})
                record("floor (304)", {**floor["floor_304"], "peak_rss_mb": floor["peak_rss_mb"]})
                if not args.no_baseline:
                    base = measured("baseline", {"urls": farm.urls, "threads": args.threads})
                    record("requests+feedparser", {**base["baseline"], "peak_rss_mb": base["peak_rss_mb"]})
                pipe = measured("pipeline", {"config": str(config), "threads": args.threads, "farm": farm.base(),
                                             "churn_share": args.churn_share, "churn_items": args.churn_items,
                                             "store_per_job": False, "cycles": "cold,warm,churn"})
                for name in ("cold", "warm", "churn"):
                    record(name, {**pipe[name], "peak_rss_mb": pipe["peak_rss_mb"]})
                extra.setdefault("setup_s", []).append(pipe["setup_s"])
                extra.setdefault("db_mb", []).append(pipe["db_mb"])
                for key in ("pss_mb", "workers_pss_mb", "daemon_peak_rss_mb"):
                    extra.setdefault(key, []).append(pipe[key])
                extra.setdefault("rss_after_setup_mb", []).append(pipe["rss_after_setup_mb"])
                if args.shipped:
                    from monitor.config import load_config
                    shipped_dir = tmp / f"shipped{rep}"
                    shipped_dir.mkdir()
                    config2 = write_config(shipped_dir, farm.urls, claims, semantic=semantic)
                    MAX_WORKERS = getattr(load_config(config2), "workers", None)
                    if MAX_WORKERS is None:
                        from monitor.daemon.scheduler import MAX_WORKERS
                    pipe2 = measured("pipeline", {"config": str(config2), "threads": MAX_WORKERS,
                                                  "farm": farm.base(), "churn_share": 0, "churn_items": 0,
                                                  "store_per_job": True, "cycles": "cold,warm"})
                    record(f"cold, shipped ({MAX_WORKERS} thr, Store/job)", {**pipe2["cold"],
                                                                          "peak_rss_mb": pipe2["peak_rss_mb"]})
                    record(f"warm, shipped ({MAX_WORKERS} thr, Store/job)", {**pipe2["warm"],
                                                                          "peak_rss_mb": pipe2["peak_rss_mb"]})
                    extra.setdefault("shipped_memory", []).append(
                        (MAX_WORKERS, pipe2["daemon_peak_rss_mb"], pipe2["pss_mb"] + pipe2["workers_pss_mb"]))
                if args.poll_once:
                    cli_dir = tmp / f"cli{rep}"
                    cli_dir.mkdir()
                    config3 = write_config(cli_dir, farm.urls, claims, semantic=semantic)
                    for name, row in run_poll_once(config3, cli_dir / "monitor.db").items():
                        record(f"poll-once {name[4:]} (CLI)", row)
            if args.profile:
                prof_dir = tmp / "profile"
                prof_dir.mkdir()
                config = write_config(prof_dir, farm.urls, claims, monitor=monitor_keys)
                extra["profile"] = measured("profile", {"config": str(config), "threads": args.threads})
                prof_dir2 = tmp / "cprofile"
                prof_dir2.mkdir()
                config = write_config(prof_dir2, farm.urls, claims, monitor=monitor_keys)
                extra["cprofile"] = measured("cprofile", {"config": str(config), "threads": args.threads})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if made_databases:
            pgdb.drop(args.postgres, made_databases)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[name])

    floor_s = med("floor", "wall_s")
    summary = {
        "feeds": args.feeds, "hosts": hosts, "items": args.items, "latency_ms": args.latency_ms, "threads": args.threads,
        "claims": args.claims, "quiet_claims": args.quiet_claims, "repeat": args.repeat, "cpus": os.cpu_count(),
        "floor_s": floor_s, "cold_s": med("cold", "wall_s"), "warm_s": med("warm", "wall_s"),
        "churn_s": med("churn", "wall_s"),
        "cold_ratio": med("cold", "wall_s") / floor_s, "warm_ratio": med("warm", "wall_s") / floor_s,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in rows["cold"]),
        "setup_s": statistics.median(extra["setup_s"]), "db_mb": statistics.median(extra["db_mb"]),
        "daemon_peak_rss_mb": max(extra["daemon_peak_rss_mb"]),
        "pss_mb": max(a + b for a, b in zip(extra["pss_mb"], extra["workers_pss_mb"])),
        "farm_cpu_s": farm_cpu,
        "rows": {name: {k: (statistics.median(r[k] for r in rs) if isinstance(rs[0][k], (int, float)) else rs[0][k])
                        for k in rs[0]} for name, rs in rows.items()},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0

    print(f"poll cycle: {args.feeds} feeds x {args.items} items on {hosts} loopback hosts, {args.latency_ms:g} ms latency, "
          f"{args.threads} threads, {args.claims}{' quiet' if args.quiet_claims else ''} claims, "
          f"{os.cpu_count()} CPUs, median of {args.repeat}"
          + (f"; [monitor] {monitor_keys}" if monitor_keys else ""))
    print(f"{'row':34} {'wall s':>7} {'CPU s':>7} {'CPU/wall':>8} {'feeds/s':>8} {'x floor':>8} {'peak RSS MB':>11}  notes")
    for name, rs in rows.items():
        wall, cpu = med(name, "wall_s"), med(name, "cpu_s")
        r = rs[0]
        notes = ""
        if "ok" in r:
            notes = (f"ok {r['ok']}, 304 {r['not_modified']}, same {r.get('unchanged', 0)}, err {r['error']}"
                     + (f", new {r['new_stories']}, hits {r['hits']}, alerts {r['alerts']}" if "hits" in r else ""))
            if r.get("first_error"):
                notes += f" [{r['first_error'][:60]}]"
        elif "not_modified" in r:
            notes = f"304 {r['not_modified']}"
        elif "bytes" in r:
            notes = f"{r['bytes'] / 1e6:.1f} MB decoded"
        print(f"{name:34} {wall:7.2f} {cpu:7.2f} {cpu / wall:8.2f} {args.feeds / wall:8.0f} {wall / floor_s:8.2f} "
              f"{r['peak_rss_mb']:11.1f}  {notes}")
    print(f"setup (load_config + Context.build): {summary['setup_s']:.2f} s, RSS after setup "
          f"{statistics.median(extra['rss_after_setup_mb']):.0f} MB; database after cycles: "
          f"{summary['db_mb']:.1f} MB; farm CPU per worker: "
          + ", ".join(f"{k} {v:.1f}s" for k, v in farm_cpu.items()))
    print(f"memory: peak RSS {summary['daemon_peak_rss_mb']:.0f} MB for the polling process alone; after the cycles "
          f"{summary['pss_mb']:.0f} MB PSS for it and its parse workers together (the peak RSS column adds each "
          f"worker's RSS, counting the pages they share with each other once per process)")
    for threads, peak, pss in extra.get("shipped_memory", [])[:1]:
        print(f"memory as shipped ({threads} threads, a Store per job): peak RSS {peak:.0f} MB for the polling "
              f"process alone; {pss:.0f} MB PSS with its parse workers after the cycles")
    if "profile" in extra:
        prof = extra["profile"]
        cyc = prof["cycle"]
        print(f"\nprofiled cold cycle (stage wrappers on): wall {cyc['wall_s']:.2f} s, CPU {cyc['cpu_s']:.2f} s, of which "
              f"child processes (parse workers) {cyc['children_cpu_s']:.2f} s")
        print(f"{'stage (thread CPU; nested stages indented by prefix)':52} {'calls':>7} {'CPU s':>7} {'% CPU':>6} "
              f"{'wall s':>8}")
        total = prof["stages"]["poll_feed (whole job)"][0]
        for stage, (c, w, n) in sorted(prof["stages"].items(), key=lambda kv: -kv[1][0]):
            print(f"{stage:52} {n:7d} {c:7.2f} {100 * c / total:6.1f} {w:8.2f}")
        cprof = extra["cprofile"]
        print(f"\ncProfile (thread CPU time, {args.threads} threads merged), cold cycle wall "
              f"{cprof['cycle']['wall_s']:.2f} s, process CPU {cprof['cycle']['cpu_s']:.2f} s:")
        print(cprof["cprofile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
