"""What `news-monitor poll-once` costs as a whole process beyond its poll cycle: start-up and wind-down.

Usage (from the repository root):
    .venv/bin/python bench/startup.py [--feeds 1000] [--latency-ms 50] [--hosts 200] [--workers 32] [--claims 100]
        [--repeat 3] [--json]

Serves ``--feeds`` feeds on the loopback feed farm (``feed_farm.py``), every one with validators, primes the
database with one `poll-once --no-deliver` (every body fetched and parsed), then runs the same command again
``--repeat`` times: every feed now answers 304, so there is nothing to parse. For each run it reports

    total       wall time of the whole process, spawn to exit
    start-up    spawn to the first request the farm received (interpreter, imports, config, database)
    cycle       first request received to the last response sent (the farm logs when each request arrived)
    wind-down   the last response sent to the process's exit (threads joined, pools and sessions closed)

beside the fetch floor (the same URLs fetched with the same validators on ``[monitor] workers`` threads, one
requests.Session each, in a child process) and the import time of the CLI (``python -X importtime -c "import
monitor.cli"``, its cumulative microseconds for ``monitor.cli``; the ten slowest imports below it are listed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from feed_farm import FarmProcess, make_claims, write_config  # noqa: E402
from poll_cycle import run_worker  # noqa: E402

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def cli_import_time() -> tuple[float, list[tuple[str, float]]]:
    """(seconds to import monitor.cli, the slowest top-level imports under it as (module, seconds))."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import monitor.cli"], cwd=REPO,
                          capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        found = _IMPORT_LINE.match(line)
        if found:
            rows.append((found.group(4), int(found.group(2)) / 1e6, len(found.group(3))))
    total = next(seconds for name, seconds, _ in rows if name == "monitor.cli")
    # Direct children of the script's imports: the shallowest indentation below monitor.cli's own.
    top = sorted(((name, seconds) for name, seconds, depth in rows if depth <= 3 and name != "monitor.cli"),
                 key=lambda row: -row[1])
    return total, top[:10]


def poll_once(config: Path) -> dict:
    """Run `poll-once --no-deliver` as a whole process; return its wall time and exit code."""
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "poll-once", "--no-deliver"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    ended = time.time()
    lines = proc.stdout.splitlines()
    return {"started": started, "ended": ended, "exit": proc.returncode, "stderr": proc.stderr[-2000:],
            "not_modified": sum(": not modified" in line for line in lines), "lines": len(lines)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--workers", type=int, default=32, help="[monitor] workers (poll threads)")
    parser.add_argument("--claims", type=int, default=100, help="claims in the config (prepared at start-up)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import_s, slowest = cli_import_time()
    latency = args.latency_ms / 1000
    runs = []
    with tempfile.TemporaryDirectory(prefix="nm-bench-startup-") as tmp, \
            FarmProcess(args.feeds, 5, latency_ms=args.latency_ms, conditional=1.0, hosts=args.hosts,
                        max_seconds=1800) as farm:
        workers = args.workers
        config = write_config(Path(tmp), farm.urls, make_claims(args.claims), monitor={"workers": workers})
        primed = poll_once(config)
        if primed["exit"] != 0:
            raise SystemExit(f"priming poll-once failed (exit {primed['exit']}):\n{primed['stderr']}")
        floor = run_worker("floor", {"urls": farm.urls, "threads": workers, "_dir": tmp})["floor_304"]["wall_s"]
        for _ in range(args.repeat):
            before = [len(times) for times in farm.stats(with_log=True)["log"]]
            run = poll_once(config)
            log = farm.stats(with_log=True)["log"]
            received = [t for times, n in zip(log, before) for t in times[n:]]
            if run["exit"] != 0 or run["not_modified"] != args.feeds or len(received) != args.feeds:
                raise SystemExit(f"expected {args.feeds} answers of 304, got {run['not_modified']} "
                                 f"({len(received)} requests, exit {run['exit']}):\n{run['stderr']}")
            first, last = min(received), max(received) + latency
            runs.append({"total_s": run["ended"] - run["started"], "startup_s": first - run["started"],
                         "cycle_s": last - first, "winddown_s": run["ended"] - last})

    summary = {"feeds": args.feeds, "hosts": args.hosts, "latency_ms": args.latency_ms, "workers": workers,
               "claims": args.claims,
               "cpus": os.cpu_count(), "repeat": args.repeat, "floor_304_s": floor, "cli_import_s": import_s,
               **{key: statistics.median(r[key] for r in runs) for key in runs[0]}}
    summary["overhead_s"] = summary["startup_s"] + summary["winddown_s"]
    if args.json:
        print(json.dumps({**summary, "runs": runs, "slowest_imports": slowest}, indent=2))
        return 0
    print(f"poll-once, {args.feeds} feeds answering 304 on {args.hosts} loopback hosts, {args.latency_ms:g} ms "
          f"latency, {workers} workers, {args.claims} claims, {os.cpu_count()} CPUs, median of {args.repeat}")
    print(f"  total      {summary['total_s']:6.2f} s   (fetch floor {floor:.2f} s on {workers} threads)")
    print(f"  start-up   {summary['startup_s']:6.2f} s   (importing monitor.cli alone: {import_s:.2f} s)")
    print(f"  cycle      {summary['cycle_s']:6.2f} s   ({summary['cycle_s'] / floor:.2f} x floor)")
    print(f"  wind-down  {summary['winddown_s']:6.2f} s")
    print(f"  start-up + wind-down {summary['overhead_s']:.2f} s")
    print("slowest imports under monitor.cli: " + ", ".join(f"{name} {s * 1000:.0f} ms" for name, s in slowest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
