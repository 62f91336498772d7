"""Measure the verdict rules (monitor.reading.verdict) on labelled stories, next to the always-"confirmed" baseline.

Usage (from the repository root):
    /work/venv/bin/python bench/verdict_quality.py [--emergent ../shared/eval/emergent_dev.tsv]
        [--scenario ../shared/scenario/iraq_signing_stories.jsonl] [--errors N] [--json]

Sets:
  emergent       every row of emergent_dev.tsv (claim = ``claim``, title = ``story``, summary empty)
  emergent-even  rows whose claim has an even CRC-32 (the half used for tuning), emergent-odd the other half
  scenario       the Iraq-US signing timeline, every story but the unrelated ones (``a1`` with the Arabic cues
                 a user would configure)
  own-table      the hand-written cases of tests/test_verdict.py across event types
For each: accuracy, macro-F1 over the verdicts that occur in the gold labels, per-class precision/recall/F1,
the confusion matrix (rows gold, columns predicted), and the same for always answering "confirmed". Then the
time per story. ``--errors N`` prints N misjudged emergent rows per (gold, predicted) pair.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.evaluate import VERDICTS, load_rows, verdict_metrics  # noqa: E402
from monitor.models import Verdict  # noqa: E402
from monitor.reading.verdict import PreparedVerdict, judge, prepare_verdict  # noqa: E402

SHARED = REPO.parent / "shared"
IRAQ_CLAIM = "Iraq and the United States sign the agreement on the withdrawal of the US-led coalition"
ARABIC_CUES = {"confirmed": ["وقع", "يوقع", "يوقعان"]}
ORDER = VERDICTS

Row = tuple[str, str, str, str, dict]  # claim, title, summary, gold verdict, prepare_verdict options


def load_emergent(path: Path) -> list[Row]:
    """Rows with a verdict of an emergent_dev.tsv-style file (read and checked by monitor.evaluate)."""
    _, rows = load_rows(path)
    return [(r.claim, r.story, "", r.verdict, {}) for r in rows if r.verdict is not None]


def load_scenario(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        story = json.loads(line)
        if story["expected"] != "unrelated":
            options = {"outcomes": ARABIC_CUES} if story.get("lang") == "ar" else {}
            rows.append((IRAQ_CLAIM, story["title"], story["summary"], story["expected"], options))
    return rows


def load_table() -> list[Row]:
    """The hand-written verdict cases of tests/test_verdict.py (signings, votes, resignations, launches …)."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_verdict import CASES  # noqa: PLC0415

    return [(claim, title, summary, str(expected), {}) for claim, title, summary, expected in CASES]


def even(claim: str) -> bool:
    return zlib.crc32(claim.encode("utf-8")) % 2 == 0


def predict(rows: Sequence[Row]) -> list[str]:
    cache: dict[tuple[str, str], PreparedVerdict] = {}
    out = []
    for claim, title, summary, _, options in rows:
        key = (claim, json.dumps(options, sort_keys=True))
        if key not in cache:
            cache[key] = prepare_verdict(claim, **options)
        out.append(judge(cache[key], title, summary).verdict.value)
    return out


def print_table(name: str, result: dict, baseline: dict) -> None:
    print(f"\n== {name}  (n={result['n']})")
    print(f"  rules:    accuracy {result['accuracy']:.3f}   macro-F1 {result['macro_f1']:.3f}")
    print(f"  baseline: accuracy {baseline['accuracy']:.3f}   macro-F1 {baseline['macro_f1']:.3f}  (always confirmed)")
    print(f"  {'class':<10} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}")
    for v, c in result["per_class"].items():
        print(f"  {v:<10} {c['precision']:6.3f} {c['recall']:6.3f} {c['f1']:6.3f} {c['support']:5d}")
    print("  confusion (rows gold, columns predicted): " + " ".join(f"{v[:4]:>5}" for v in ORDER))
    for g, row in result["confusion"].items():
        print(f"  {g:<41} " + " ".join(f"{row[p]:5d}" for p in ORDER))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--emergent", type=Path, default=SHARED / "eval" / "emergent_dev.tsv")
    ap.add_argument("--scenario", type=Path, default=SHARED / "scenario" / "iraq_signing_stories.jsonl")
    ap.add_argument("--errors", type=int, default=0, help="print this many errors per (gold, predicted) pair")
    ap.add_argument("--split", choices=("all", "even", "odd"), default="all", help="which claims --errors shows")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    args = ap.parse_args(argv)

    emergent = load_emergent(args.emergent)
    sets = {
        "emergent": emergent,
        "emergent-even": [r for r in emergent if even(r[0])],
        "emergent-odd": [r for r in emergent if not even(r[0])],
        "scenario": load_scenario(args.scenario),
        "own-table": load_table(),
    }
    results = {}
    for name, rows in sets.items():
        gold = [r[3] for r in rows]
        results[name] = {
            "rules": verdict_metrics(gold, predict(rows)),
            "baseline_confirmed": verdict_metrics(gold, [Verdict.CONFIRMED.value] * len(rows)),
        }
    prepared = {claim: prepare_verdict(claim) for claim in {r[0] for r in emergent}}
    start = time.perf_counter()
    for claim, title, summary, _, _ in emergent:
        judge(prepared[claim], title, summary)
    per_story_us = (time.perf_counter() - start) / len(emergent) * 1e6

    if args.json:
        print(json.dumps({"results": results, "microseconds_per_story": per_story_us}, indent=2))
    else:
        for name, r in results.items():
            print_table(name, r["rules"], r["baseline_confirmed"])
        print(f"\n{per_story_us:.0f} µs per judge() call (emergent headlines, claims prepared beforehand)")
    if args.errors:
        rows = [r for r in emergent if args.split == "all" or even(r[0]) == (args.split == "even")]
        shown: Counter = Counter()
        for row, pred in zip(rows, predict(rows)):
            if pred != row[3] and shown[(row[3], pred)] < args.errors:
                shown[(row[3], pred)] += 1
                print(f"[{row[3]} -> {pred}] {row[0][:60]} || {row[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
