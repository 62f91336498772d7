"""Measure the relevance scorer on labelled claim/story pairs, against plain rapidfuzz token_set_ratio and BM25.

Usage (from the repository root):
    /work/venv/bin/python bench/match_quality.py [--pairs ../shared/eval/dev_pairs.tsv] [--threshold 43]
        [--no-speed] [--checkthat ../shared/eval/checkthat2020 | --no-checkthat]

Per set, and as the macro mean over stsb_headlines, ecbplus, checkthat2020 and mrpc: ROC-AUC, average
precision, F1 at the shipped threshold (DEFAULT_MIN_SCORE for ours, 80 for token_set_ratio), and the best single
global threshold for macro F1 with the F1 each set gets there. Then pairs/second for ``score``: once with every
story prepared afresh (the cost of a story the daemon has not seen) and once with stories already prepared (the
cost of each further claim a story is scored against). The claim is the ``claim`` column, the story's title the
``story`` column, the summary empty.

Last, the CheckThat! 2020 ranking on ``<checkthat>/dev`` (bench/checkthat_rank.py, which also runs on its own and
can check the prefilter against scoring every claim): each dev tweet, as a story title, ranks all 10,375 verified
claims; MAP@5 and P@1 for ``score`` and for token_set_ratio, candidates per tweet, gold coverage, timing.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rapidfuzz import fuzz, utils  # noqa: E402

from monitor.reading import relevance as match  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
import checkthat_rank  # noqa: E402
from monitor.evaluate import f1_at, load_rows, relevance_metrics  # noqa: E402

MACRO_SETS = ("stsb_headlines", "ecbplus", "checkthat2020", "mrpc")
BASELINE_THRESHOLD = 80.0


def load_pairs(path: Path) -> list[tuple[str, str, str, int]]:
    """(set, claim, story, label) rows of a dev_pairs.tsv-style file (read and checked by monitor.evaluate)."""
    _, rows = load_rows(path)
    return [(r.set, r.claim, r.story, r.label) for r in rows if r.label is not None]


def evaluate(name: str, scorer: Callable[[str, str], float], pairs, threshold: float) -> dict:
    by_set: dict[str, tuple[list[float], list[int]]] = defaultdict(lambda: ([], []))
    for set_name, claim, story, label in pairs:
        by_set[set_name][0].append(scorer(claim, story))
        by_set[set_name][1].append(label)
    result = relevance_metrics(by_set, threshold, macro_sets=MACRO_SETS)
    best_t = result["macro"]["best_threshold"]
    print(f"\n{name}   (shipped threshold {threshold:g}; best global threshold {best_t:.1f})")
    print(f"{'set':16} {'rows':>5} {'ROC-AUC':>8} {'AP':>6} {'F1@ship':>8} {'F1@best':>8} {'own best F1':>12}")
    sets = [s for s in by_set if s not in MACRO_SETS] + list(MACRO_SETS)
    for s in sets:
        m = result["sets"][s]
        mark = "" if s in MACRO_SETS else " (not in macro)"
        print(f"{s:16} {m['n']:5d} {m['auc']:8.3f} {m['ap']:6.3f} {m['f1']:8.3f} "
              f"{f1_at(*by_set[s], best_t):8.3f} {m['best_f1']:7.3f}@{m['best_threshold']:<5.1f}{mark}")
    macro = result["macro"]
    own_best = sum(result["sets"][s]["best_f1"] for s in MACRO_SETS) / len(MACRO_SETS)
    print(f"{'macro (4 sets)':16} {'':5} {macro['auc']:8.3f} {macro['ap']:6.3f} {macro['f1']:8.3f} {macro['best_f1']:8.3f} "
          f"{own_best:8.3f}")
    return result


def bm25_scorer(pairs, *, k1: float = 1.2, b: float = 0.75) -> Callable[[str, str], float]:
    """BM25 over stemmed content words (the matcher's own tokenisation, no aliases), the claim as the query and
    the set's stories as the corpus. Squashed to 0–100 as 100·s/(s+5) so it shares the table's threshold columns;
    AUC and AP are unaffected by the squashing."""
    plain = match.prepare_claim("bm25", "bm25")
    terms_of = lru_cache(maxsize=None)(lambda text: tuple(match.content_terms(plain, text)))
    by_set: dict[str, list[str]] = defaultdict(list)
    for set_name, _, story, _ in pairs:
        by_set[set_name].append(story)
    stats = {}
    for set_name, stories in by_set.items():
        docs = [terms_of(story) for story in set(stories)]
        df = Counter(t for doc in docs for t in set(doc))
        stats[set_name] = (len(docs), sum(map(len, docs)) / max(len(docs), 1), df)
    set_of = {(c, s): name for name, c, s, _ in pairs}

    def score(claim: str, story: str) -> float:
        n, avg, df = stats[set_of[(claim, story)]]
        doc, tf = terms_of(story), Counter(terms_of(story))
        s = sum(math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * tf[t] * (k1 + 1)
                / (tf[t] + k1 * (1 - b + b * len(doc) / avg)) for t in set(terms_of(claim)) if t in tf)
        return 100 * s / (s + 5)

    return score


def throughput(pairs) -> None:
    claims = {c: match.prepare_claim(str(i), c) for i, c in enumerate({c for _, c, _, _ in pairs})}
    jobs = [(claims[c], s) for _, c, s, _ in pairs]
    match._story.cache_clear()
    start = time.perf_counter()
    for claim, story in jobs:
        match._story.cache_clear()
        match.score(claim, story, "")
    cold = len(jobs) / (time.perf_counter() - start)
    # Warm: each chunk of stories prepared first (untimed), in chunks the story cache holds.
    chunk = match._story.cache_info().maxsize // 2
    elapsed = 0.0
    for i in range(0, len(jobs), chunk):
        part = jobs[i : i + chunk]
        for claim, story in part:
            match.score(claim, story, "")
        start = time.perf_counter()
        for claim, story in part:
            match.score(claim, story, "")
        elapsed += time.perf_counter() - start
    warm = len(jobs) / elapsed
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
    parser.add_argument("--checkthat", type=Path, default=checkthat_rank.DEFAULT_DIR,
                        help="CheckThat! 2020 folder for the ranking metrics on its dev split (default: %(default)s)")
    parser.add_argument("--no-checkthat", action="store_true", help="skip the CheckThat! ranking")
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
    evaluate("baseline BM25 over stemmed words (0-100 squashed)", bm25_scorer(pairs), pairs, 50.0)
    if not args.no_speed:
        throughput(pairs)
    if not args.no_checkthat:
        checkthat_rank.run(args.checkthat, "dev", exhaustive=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
