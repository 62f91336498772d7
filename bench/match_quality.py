"""Measure the relevance scorer on labelled claim/story pairs, against plain rapidfuzz token_set_ratio.

Usage (from the repository root):
    /work/venv/bin/python bench/match_quality.py [--pairs ../shared/eval/dev_pairs.tsv] [--threshold 47]

Per set, and as the macro mean over stsb_headlines, ecbplus, checkthat2020 and mrpc: ROC-AUC, average
precision, F1 at the shipped threshold (DEFAULT_MIN_SCORE for ours, 80 for token_set_ratio), and the best single
global threshold for macro F1 with the F1 each set gets there. Then pairs/second for ``score``: once with every
story prepared afresh (the cost of a story the daemon has not seen) and once with stories already prepared (the
cost of each further claim a story is scored against). The claim is the ``claim`` column, the story's title the
``story`` column, the summary empty.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rapidfuzz import fuzz, utils  # noqa: E402

from monitor import match  # noqa: E402

MACRO_SETS = ("stsb_headlines", "ecbplus", "checkthat2020", "mrpc")
BASELINE_THRESHOLD = 80.0


def load_pairs(path: Path) -> list[tuple[str, str, str, int]]:
    """(set, claim, story, label) rows of a dev_pairs.tsv-style file."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(r["set"], r["claim"], r["story"], int(r["label"])) for r in reader]


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Mann-Whitney U statistic over positives and negatives; ties count half."""
    ranked = sorted(zip(scores, labels))
    positives = sum(labels)
    negatives = len(labels) - positives
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += (i + j + 1) / 2 * sum(label for _, label in ranked[i:j])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def average_precision(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Mean of the precision at each positive, ranking by score (ties broken pessimistically)."""
    ranked = sorted(zip(scores, labels), key=lambda p: (-p[0], p[1]))
    hits, total = 0, 0.0
    for k, (_, label) in enumerate(ranked, 1):
        if label:
            hits += 1
            total += hits / k
    return total / max(1, sum(labels))


def f1_at(scores: Sequence[float], labels: Sequence[int], threshold: float) -> float:
    tp = sum(1 for s, y in zip(scores, labels) if s >= threshold and y)
    fp = sum(1 for s, y in zip(scores, labels) if s >= threshold and not y)
    fn = sum(labels) - tp
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def best_global_threshold(by_set: dict[str, tuple[list[float], list[int]]]) -> tuple[float, float]:
    """(threshold, macro F1) maximising the macro F1 over MACRO_SETS with one threshold."""
    candidates = sorted({s for name in MACRO_SETS for s in by_set[name][0]})
    step = max(1, len(candidates) // 2000)
    best = (candidates[0], -1.0)
    for t in candidates[::step]:
        macro = sum(f1_at(*by_set[name], t) for name in MACRO_SETS) / len(MACRO_SETS)
        if macro > best[1]:
            best = (t, macro)
    return best


def evaluate(name: str, scorer: Callable[[str, str], float], pairs, threshold: float) -> None:
    by_set: dict[str, tuple[list[float], list[int]]] = defaultdict(lambda: ([], []))
    for set_name, claim, story, label in pairs:
        by_set[set_name][0].append(scorer(claim, story))
        by_set[set_name][1].append(label)
    best_t, _ = best_global_threshold(by_set)
    print(f"\n{name}   (shipped threshold {threshold:g}; best global threshold {best_t:.1f})")
    print(f"{'set':16} {'rows':>5} {'ROC-AUC':>8} {'AP':>6} {'F1@ship':>8} {'F1@best':>8} {'own best F1':>12}")
    sets = [s for s in by_set if s not in MACRO_SETS] + list(MACRO_SETS)
    totals = [0.0] * 5
    for s in sets:
        scores, labels = by_set[s]
        own_t, own_f1 = max(((t, f1_at(scores, labels, t)) for t in sorted(set(scores))), key=lambda p: p[1])
        row = (roc_auc(scores, labels), average_precision(scores, labels), f1_at(scores, labels, threshold),
               f1_at(scores, labels, best_t), own_f1)
        if s in MACRO_SETS:
            totals = [a + b / len(MACRO_SETS) for a, b in zip(totals, row)]
        mark = "" if s in MACRO_SETS else " (not in macro)"
        print(f"{s:16} {len(labels):5d} {row[0]:8.3f} {row[1]:6.3f} {row[2]:8.3f} {row[3]:8.3f} "
              f"{row[4]:7.3f}@{own_t:<5.1f}{mark}")
    print(f"{'macro (4 sets)':16} {'':5} {totals[0]:8.3f} {totals[1]:6.3f} {totals[2]:8.3f} {totals[3]:8.3f} "
          f"{totals[4]:8.3f}")


def throughput(pairs) -> None:
    claims = {c: match.prepare_claim(str(i), c) for i, c in enumerate({c for _, c, _, _ in pairs})}
    jobs = [(claims[c], s) for _, c, s, _ in pairs]
    match._story.cache_clear()
    start = time.perf_counter()
    for claim, story in jobs:
        match._story.cache_clear()
        match.score(claim, story, "")
    cold = len(jobs) / (time.perf_counter() - start)
    for claim, story in jobs:
        match.score(claim, story, "")
    start = time.perf_counter()
    for claim, story in jobs:
        match.score(claim, story, "")
    warm = len(jobs) / (time.perf_counter() - start)
    print(f"\nthroughput, one core: {cold:,.0f} pairs/s with each story prepared afresh; "
          f"{warm:,.0f} pairs/s for a story already prepared (each further claim)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: python bench/match_quality.py --threshold 50")
    parser.add_argument("--pairs", type=Path, default=REPO.parent / "shared" / "eval" / "dev_pairs.tsv",
                        help="tab-separated pairs file (default: %(default)s)")
    parser.add_argument("--threshold", type=float, default=match.DEFAULT_MIN_SCORE,
                        help="threshold for our scorer's F1@ship (default: DEFAULT_MIN_SCORE = %(default)s)")
    parser.add_argument("--no-speed", action="store_true", help="skip the throughput measurement")
    args = parser.parse_args(argv)
    pairs = load_pairs(args.pairs)

    prepared: dict[str, match.PreparedClaim] = {}

    def ours(claim: str, story: str) -> float:
        if claim not in prepared:
            prepared[claim] = match.prepare_claim(str(len(prepared)), claim)
        return match.score(prepared[claim], story, "").score

    def baseline(claim: str, story: str) -> float:
        return fuzz.token_set_ratio(claim, story, processor=utils.default_process)

    print(f"{len(pairs)} pairs from {args.pairs}")
    evaluate("news-monitor match.score", ours, pairs, args.threshold)
    evaluate("baseline rapidfuzz token_set_ratio", baseline, pairs, BASELINE_THRESHOLD)
    if not args.no_speed:
        throughput(pairs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
