"""What the semantic stage costs where the daemon runs it: in a parse worker process (``ParsePool.read``, its
address-space limit included), for one model directory.

Usage (from the repository root):
    .venv/bin/python bench/semantic_cost.py MODEL_DIR [MODEL_DIR …] [--stories 200]

Per model: the first read of a fresh worker (loading the model, encoding the claim), the time per story of a
poll's batch of new stories (title + summary, read against one claim), and the worker's RSS after, beside the
RSS of a worker that reads lexically (the memory the model adds). CPU time is the worker's own, the fair figure on a
shared machine, where wall time also waits for other processes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.config.settings import SemanticConfig  # noqa: E402
from monitor.feeds.workers import ParsePool  # noqa: E402
from monitor.models import Story  # noqa: E402
from monitor.reading import Rules  # noqa: E402
from monitor.reading.relevance import prepare_claim  # noqa: E402
from monitor.reading.verdict import prepare_verdict  # noqa: E402
from monitor.semantic.stage import prepare  # noqa: E402

CLAIM = "Iraq and the United States sign the agreement on the withdrawal of the US-led coalition"


def stories(n: int) -> list[Story]:
    return [Story(id=str(i), feed="bench", title=f"Talks {i} on the troop pullout from Iraq resume in Baghdad",
                  summary=f"Officials of both sides met for the {i}th time on Thursday to discuss the timetable of "
                          "the withdrawal and the future of the mission against the Islamic State.")
            for i in range(n)]


def worker_cpu_s(pool: ParsePool) -> float:
    """The worker's user + system CPU time: on a shared machine the fair figure (wall time waits for others)."""
    pid = next(iter(pool._live)).process.pid
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_rss_mb(pool: ParsePool) -> float:
    pid = next(iter(pool._live)).process.pid
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def measure(model: Path | None, n: int) -> tuple[float, float, float, float]:
    """(first read seconds, wall ms per story in a batch, CPU ms per story, worker RSS MB)."""
    semantic = prepare(SemanticConfig(model=str(model), base=Path.cwd()))[0] if model else None
    rules = Rules(((prepare_claim("c", CLAIM), prepare_verdict(CLAIM)),), semantic=semantic)
    batch = stories(n + 1)
    with ParsePool(workers=1) as pool:
        start = time.perf_counter()
        pool.read(rules, batch[:1], budget_seconds=120)
        cold = time.perf_counter() - start
        start, cpu = time.perf_counter(), worker_cpu_s(pool)
        pool.read(rules, batch[1:], budget_seconds=600)
        warm = (time.perf_counter() - start) / n * 1000
        return cold, warm, (worker_cpu_s(pool) - cpu) / n * 1000, worker_rss_mb(pool)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--stories", type=int, default=200)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    cold, warm, cpu, base = measure(None, args.stories)
    print(f"{'lexical only':24} first read {cold:6.2f} s  {warm:7.2f} ms/story wall  {cpu:6.2f} ms CPU  "
          f"worker RSS {base:5.0f} MB")
    for model in args.models:
        cold, warm, cpu, rss = measure(model, args.stories)
        print(f"{model.name:24} first read {cold:6.2f} s  {warm:7.2f} ms/story wall  {cpu:6.2f} ms CPU  "
              f"worker RSS {rss:5.0f} MB (+{rss - base:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
