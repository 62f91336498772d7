"""Delivery under faults, many runs: the scenarios of tests/test_delivery_faults.py against the real daemon.

Runs each scenario (``tests/fault_scenarios.py``) several times, each in a fresh folder, and prints one table:
scenario, runs, alerts raised, lost (not delivered by the scenario's deadline), posted twice, claims out of
order or ending on a stale state, and for the kill -9 runs the time from the restart to the last alert (max
and median). ``--kills`` sets how many runs kill the daemon at a seeded random point (plus one run that kills
it inside a held send).

    .venv/bin/python bench/delivery_faults.py                  # 30 random kills, 3 runs of each other scenario
    .venv/bin/python bench/delivery_faults.py --kills 5 --runs 1
    .venv/bin/python bench/delivery_faults.py --postgres "host=/tmp/pg user=newsmonitor dbname=postgres"

``--postgres CONNINFO`` runs the kill -9 and ``deliver --now`` scenarios on a new PostgreSQL database per run
instead of a SQLite file (the other scenarios stay on SQLite). With it, ``--worker-kills N`` also runs N times
the scheduler-and-three-workers scenario of tests/test_workers.py (``tests/worker_scenarios.py``): one worker
killed in a poll and one in a send, at seeded points; its time column is from the second kill to the last
alert answered, and a line after the table sums what the workers' runs checked besides the alerts.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_scenarios import (RESTART_BOUND, Outcome, dripping_beside_healthy,  # noqa: E402
                             kill_during_send, outage_404, side_by_side, utc_now)
from worker_scenarios import kill_workers_mid_poll_and_send  # noqa: E402
import pgdb  # noqa: E402


def run(scenario: Callable[..., Outcome], postgres: str | None = None) -> Outcome:
    """One run in a fresh folder; with ``postgres``, on a fresh database there too (``scenario(folder, url)``)."""
    with tempfile.TemporaryDirectory(prefix="delivery-faults-") as folder:
        if postgres is None:
            return scenario(Path(folder))
        with pgdb.fresh(postgres) as url:
            return scenario(Path(folder), url)


def row(name: str, outcomes: list[Outcome], channel: str, time_key: str = "restart_to_last") -> list[str]:
    tallies = [o.tallies[channel] for o in outcomes]
    times = [o.extra[time_key] for o in outcomes if time_key in o.extra]
    done = [t for t in times if t is not None]
    after_crash = "" if not times else (
        f"{max(done):.1f} / {statistics.median(done):.1f} s" if done else "") + (
        f" ({len(times) - len(done)} not within {RESTART_BOUND:g} s)" if len(done) < len(times) else "")
    return [name, str(len(outcomes)), str(sum(t.expected for t in tallies)), str(sum(t.lost for t in tallies)),
            str(sum(t.doubled for t in tallies)), str(sum(t.out_of_order for t in tallies)),
            str(sum(t.stale_end for t in tallies)), after_crash or "–"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30, help="runs killing the daemon at a random point")
    parser.add_argument("--runs", type=int, default=3, help="runs of each other scenario")
    parser.add_argument("--verbose", action="store_true", help="print each run's figures as it ends")
    parser.add_argument("--postgres", metavar="CONNINFO",
                        help="run the kill -9 and deliver --now scenarios on PostgreSQL databases on this server")
    parser.add_argument("--worker-kills", type=int, default=0,
                        help="runs of the three-workers kill scenario (needs --postgres)")
    args = parser.parse_args(argv)
    pg = args.postgres
    if args.worker_kills and not pg:
        parser.error("--worker-kills needs --postgres")

    def many(count: int, scenario: Callable[..., Outcome], postgres: str | None = None) -> list[Outcome]:
        outcomes = []
        for _ in range(count):
            outcomes.append(run(scenario, postgres))
            if args.verbose:
                print(outcomes[-1].describe(), file=sys.stderr, flush=True)
        return outcomes

    seeds = itertools.count(1)
    kills = [run(lambda f, url="monitor.db": kill_during_send(f, utc_now(), seed=None, database=url), pg)]
    kills += [run(lambda f, url="monitor.db", s=seed: kill_during_send(f, utc_now(), seed=s, database=url), pg)
              for seed in range(1, args.kills + 1)]
    drips = many(args.runs, lambda f: dripping_beside_healthy(f, utc_now()))
    table = [
        row("kill -9 mid-send, restart", kills, "hook"),
        row("dripping channel a", drips, "a"),
        row("healthy channel b beside it", drips, "b"),
        row("daemon + deliver --now", many(args.runs, lambda f, url="monitor.db": side_by_side(
            f, utc_now(), seed=next(seeds), database=url), pg), "hook"),
        row("404 outage, requeue", many(args.runs, lambda f: outage_404(f, utc_now())), "hook"),
    ]
    workers = [run(lambda f, url, s=seed: kill_workers_mid_poll_and_send(f, utc_now(), url, seed=s), pg)
               for seed in range(1, args.worker_kills + 1)]
    if workers:
        table.append(row("3 workers: kill -9 mid-poll and mid-send", workers, "hook", time_key="recovered_s"))
    late = sum(not o.extra["b_all_delivered"] for o in drips)
    header = ["scenario", "runs", "alerts", "lost", "doubled", "out of order", "stale end",
              "restart → last (max / median)"]
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))
    print(f"\nhealthy channel b still short of its alerts 30 s into a drip: {late} of {len(drips)} runs")
    if workers:
        landed = sum(o.extra["kills"] == ["send", "poll"] and o.extra.get("send_open_at_kill", False)
                     for o in workers)
        print(f"workers' runs: both kills landed (in a send, in a poll) in {landed}"
              f" of {len(workers)}; every feed polled and its story stored in "
              f"{sum(o.extra['all_polled'] and o.extra['stories_stored'] for o in workers)}; jobs taken back from "
              f"dead workers {sum(o.extra['requeued'] for o in workers)} (queued again "
              f"{sum(o.extra['queued_again'] for o in workers)}, the rest dropped as queued already); jobs left "
              f"with a dead worker "
              f"{sum(o.extra['stuck_jobs'] for o in workers)}; most requests in flight to one host "
              f"{max(o.extra['most_per_host'] for o in workers)} (max_per_host 2)")


if __name__ == "__main__":
    main()
