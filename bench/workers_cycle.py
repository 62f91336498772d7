"""Time a cold and a warm poll cycle over the loopback feed farm with 1, 2 and 4 worker processes on one
PostgreSQL database, against the single-process daemon's path on SQLite (``poll-once``).

Usage (from the repository root; CONNINFO is a libpq connection string of a role that may create databases,
such as the one ``.ci/postgres start DIR`` prints):
    .venv/bin/python bench/workers_cycle.py --postgres CONNINFO [--feeds 500] [--items 50] [--latency-ms 50]
        [--claims 100] [--hosts 100] [--workers 1,2,4] [--jobs 8] [--json]

Rows:
    sqlite poll-once   ``news-monitor poll-once --no-deliver`` on a new SQLite file: cold (empty database), then
                       warm (validators and unchanged bodies), ``--jobs`` polls at once — the daemon's pipeline
                       in one process
    N workers          N ``news-monitor worker`` processes (``--jobs`` jobs at once each) on a new PostgreSQL
                       database, started and idle; a cycle is one poll job queued per feed, as the scheduler
                       queues them when they fall due, timed until the queue is empty; cold, then warm (every
                       feed made due again)

Prints wall seconds, feeds/s and the polls' outcomes per row; --json prints one JSON document instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from feed_farm import FarmProcess, farm_arguments, make_claims, write_config  # noqa: E402
import pgdb  # noqa: E402


def poll_once(config: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "poll-once", "--no-deliver"],
                   cwd=REPO, check=True, capture_output=True, timeout=3600)
    return time.perf_counter() - started


def outcomes(database) -> dict:
    from monitor.store import Store

    with Store(database) as store:
        states = store.feed_states()
    return {"ok": sum(1 for s in states if s.last_ok_at is not None and not s.error_count),
            "errors": sum(1 for s in states if s.error_count)}


class Workers:
    """N worker processes on ``config``, and queueing a cycle for them."""

    def __init__(self, config: Path, count: int, folder: Path) -> None:
        self.logs = [(folder / f"worker-{n}.log").open("w") for n in range(count)]
        self.processes = [subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "worker"],
                                           cwd=REPO, stdout=subprocess.DEVNULL, stderr=log) for log in self.logs]
        self.folder = folder

    def wait_started(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = sum("worker started" in (self.folder / f"worker-{n}.log").read_text()
                          for n in range(count))
            if started == count:
                return
            threading.Event().wait(0.2)
        raise RuntimeError("workers did not start")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(30)
        for log in self.logs:
            log.close()


def queued_cycle(config, jobs, database) -> float:
    """Queue one poll per feed (every feed made due first) and time until no poll job waits or runs."""
    from monitor.store.postgres import PostgresSql
    from monitor.store.schema import to_db_time

    with PostgresSql(database) as sql:
        sql.execute("UPDATE feeds SET next_poll_at = ?", [to_db_time(datetime.now(timezone.utc))])
    started = time.perf_counter()
    for feed in config.feeds:
        jobs.poll(config, feed)
    with PostgresSql(database, read_only=True) as sql:
        while sql.execute("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')").fetchone()[0]:
            threading.Event().wait(0.05)
    return time.perf_counter() - started


def run_workers(args, farm, count: int, folder: Path) -> dict:
    from monitor.config import load_config
    from monitor.queue.app import build_app, ensure_schema
    from monitor.queue.dispatch import Jobs
    from monitor.store import Store

    with pgdb.fresh(args.postgres) as url:
        path = write_config(folder, farm.urls, make_claims(args.claims),
                            monitor={"database": url, "workers": args.jobs, "max_per_host": 1},
                            defaults={"interval_seconds": 3600})
        config = load_config(path)
        Store(config.database).close()
        ensure_schema(config.database)
        workers = Workers(path, count, folder)
        try:
            workers.wait_started(count)
            app = build_app(config.database)
            with app.open():
                jobs = Jobs(app, config.database)
                jobs.measure_clock()
                cold = queued_cycle(config, jobs, config.database)
                warm = queued_cycle(config, jobs, config.database)
            return {"cold_s": round(cold, 2), "warm_s": round(warm, 2), **outcomes(config.database)}
        finally:
            workers.stop()


def main() -> int:
    parser = farm_arguments(__doc__, feeds=500, items=50)
    parser.add_argument("--postgres", required=True, metavar="CONNINFO")
    parser.add_argument("--claims", type=int, default=100)
    parser.add_argument("--hosts", type=int, default=0, help="loopback hosts (default: one per 5 feeds)")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to time, comma-separated")
    parser.add_argument("--jobs", type=int, default=8, help="[monitor] workers: polls at once per process")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    hosts = args.hosts or max(1, args.feeds // 5)
    rows: dict[str, dict] = {}
    with FarmProcess(args.feeds, args.items, latency_ms=args.latency_ms, hosts=hosts) as farm, \
            tempfile.TemporaryDirectory(prefix="nm-workers-") as tmp:
        folder = Path(tmp)
        path = write_config(folder, farm.urls, make_claims(args.claims),
                            monitor={"workers": args.jobs, "max_per_host": 1})
        rows["sqlite poll-once"] = {"cold_s": round(poll_once(path), 2), "warm_s": round(poll_once(path), 2),
                                    **outcomes(folder / "monitor.db")}
        for count in (int(n) for n in args.workers.split(",")):
            sub = folder / f"w{count}"
            sub.mkdir()
            rows[f"{count} worker{'s' if count > 1 else ''}"] = run_workers(args, farm, count, sub)
    if args.json:
        print(json.dumps({"feeds": args.feeds, "hosts": hosts, "items": args.items, "jobs": args.jobs,
                          "cpus": os.cpu_count(), "rows": rows}, indent=2))
        return 0
    print(f"poll cycle: {args.feeds} feeds x {args.items} items on {hosts} loopback hosts, {args.latency_ms:g} ms "
          f"latency, {args.jobs} polls at once per process, {os.cpu_count()} CPUs")
    print(f"{'row':<18} {'cold s':>8} {'feeds/s':>8} {'warm s':>8} {'feeds/s':>8} {'ok':>5} {'errors':>6}")
    for name, row in rows.items():
        print(f"{name:<18} {row['cold_s']:>8.2f} {args.feeds / row['cold_s']:>8.0f} {row['warm_s']:>8.2f} "
              f"{args.feeds / row['warm_s']:>8.0f} {row['ok']:>5} {row['errors']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
