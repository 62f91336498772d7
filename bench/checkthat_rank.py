"""CheckThat! 2020 Task 2 ranking: rank all verified claims for each tweet, report MAP@5 and P@1.

Usage (from the repository root):
    /work/venv/bin/python bench/checkthat_rank.py [--dir ../shared/eval/checkthat2020] [--split dev] [--no-exhaustive]

(also run by ``bench/match_quality.py --checkthat``). For every tweet of ``<dir>/<split>/tweets.queries.tsv`` the
10,375 claims of ``<dir>/verified_claims.docs.tsv`` (the ``vclaim`` column, each prepared once with
``match.prepare_claim``) are ranked by ``match.score(claim, tweet, "")``: the tweet is the story title. Only claims
sharing at least one content term with the tweet (an inverted index over ``PreparedClaim.terms``, the tweet read by
``match.content_terms``) are scored; the rest rank below them. Unless ``--no-exhaustive``, every claim is also
scored against every tweet, to show what the prefilter loses. Baseline: ``rapidfuzz.process.extract`` with
``fuzz.token_set_ratio`` (``utils.default_process`` applied once to both sides), limit 5.

Metrics as in the task's scorer (trec_eval): AP@5 = sum of precision@k at the ranks k <= 5 holding a gold claim,
divided by the tweet's number of gold claims; MAP@5 its mean over tweets; P@1 the share of tweets whose first
claim is gold. Ties in score are broken by file order.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rapidfuzz import fuzz, process, utils  # noqa: E402

from monitor.reading import relevance as match  # noqa: E402

DEFAULT_DIR = REPO.parent / "shared" / "eval" / "checkthat2020"
K = 5


def _read_tsv(path: Path, column: str) -> list[tuple[str, str]]:
    """(id, text) rows of a CheckThat TSV: quoted fields (some multi-line), unnamed id column first."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader)
        if column not in header:
            raise SystemExit(f"{path}: no {column!r} column (header: {header})")
        i = header.index(column)
        return [(row[0].strip(), row[i]) for row in reader if row]


def load(directory: Path, split: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, set[str]]]:
    claims = _read_tsv(directory / "verified_claims.docs.tsv", "vclaim")
    tweets = _read_tsv(directory / split / "tweets.queries.tsv", "tweet_content")
    gold: dict[str, set[str]] = defaultdict(set)
    for line in (directory / split / "tweet-vclaim-pairs.qrels").read_text(encoding="utf-8").splitlines():
        if line.strip():
            tweet_id, _, claim_id, relevance = line.split()
            if int(relevance) > 0:
                gold[tweet_id].add(claim_id)
    return claims, [t for t in tweets if t[0] in gold], dict(gold)


def rank_metrics(rankings: dict[str, Sequence[str]], gold: dict[str, set[str]]) -> tuple[float, float]:
    """(MAP@5, P@1) over the tweets in ``rankings`` (claim ids, best first)."""
    ap_sum = p1 = 0.0
    for tweet_id, ranked in rankings.items():
        relevant = gold[tweet_id]
        hits, precisions = 0, 0.0
        for k, claim_id in enumerate(ranked[:K], 1):
            if claim_id in relevant:
                hits += 1
                precisions += hits / k
        ap_sum += precisions / len(relevant)
        p1 += bool(ranked) and ranked[0] in relevant
    return ap_sum / len(rankings), p1 / len(rankings)


def run(directory: Path = DEFAULT_DIR, split: str = "dev", exhaustive: bool = True) -> dict:
    claims, tweets, gold = load(directory, split)
    print(f"\nCheckThat! 2020 ranking: {len(tweets)} {split} tweets ({sum(map(len, gold.values()))} gold pairs) "
          f"against {len(claims):,} verified claims, from {directory}")
    results = {}

    start = time.perf_counter()
    prepared: list[match.PreparedClaim] = []
    ids: list[str] = []
    for claim_id, text in claims:
        try:
            prepared.append(match.prepare_claim(claim_id, text))
            ids.append(claim_id)
        except ValueError:  # no content words: it can never be found
            pass
    index: dict[str, list[int]] = defaultdict(list)
    for i, claim in enumerate(prepared):
        for term in claim.terms:
            index[term].append(i)
    prep_time = time.perf_counter() - start

    start = time.perf_counter()
    rankings: dict[str, list[str]] = {}
    sizes, covered = [], 0
    reader = prepared[0]  # every claim has the same (empty) alias table, so any claim reads the tweet the same way
    for tweet_id, text in tweets:
        candidates = sorted({i for term in set(match.content_terms(reader, text)) for i in index.get(term, ())})
        sizes.append(len(candidates))
        covered += bool(gold[tweet_id] & {ids[i] for i in candidates})
        scored = sorted(((-match.score(prepared[i], text, "").score, i) for i in candidates))
        rankings[tweet_id] = [ids[i] for _, i in scored[:K]]
    rank_time = time.perf_counter() - start
    results["ours"] = rank_metrics(rankings, gold)
    sizes.sort()
    print(f"prefilter (claims sharing a content term with the tweet): median {sizes[len(sizes) // 2]:,} candidates "
          f"per tweet (min {sizes[0]:,}, mean {sum(sizes) / len(sizes):,.0f}, max {sizes[-1]:,}) of "
          f"{len(prepared):,}; a gold claim among them for {covered}/{len(tweets)} tweets")
    print(f"{'ranker':44} {'MAP@5':>6} {'P@1':>6} {'time':>7}")
    print(f"{'news-monitor match.score, prefiltered':44} {results['ours'][0]:6.3f} {results['ours'][1]:6.3f} "
          f"{rank_time:6.1f}s   (+ {prep_time:.1f}s preparing claims and index)")

    if exhaustive:
        start = time.perf_counter()
        full = {}
        for tweet_id, text in tweets:
            scored = sorted((-match.score(claim, text, "").score, i) for i, claim in enumerate(prepared))
            full[tweet_id] = [ids[i] for _, i in scored[:K]]
        full_time = time.perf_counter() - start
        results["ours_exhaustive"] = rank_metrics(full, gold)
        same = sum(full[t] == rankings[t] for t in rankings)
        print(f"{'news-monitor match.score, all claims':44} {results['ours_exhaustive'][0]:6.3f} "
              f"{results['ours_exhaustive'][1]:6.3f} {full_time:6.1f}s   (same top 5 as prefiltered: "
              f"{same}/{len(tweets)} tweets)")

    start = time.perf_counter()
    choices = [utils.default_process(text) for _, text in claims]
    baseline = {}
    for tweet_id, text in tweets:
        top = process.extract(utils.default_process(text), choices, scorer=fuzz.token_set_ratio, processor=None,
                              limit=K)
        baseline[tweet_id] = [claims[i][0] for _, _, i in top]
    base_time = time.perf_counter() - start
    results["baseline"] = rank_metrics(baseline, gold)
    print(f"{'baseline rapidfuzz token_set_ratio':44} {results['baseline'][0]:6.3f} {results['baseline'][1]:6.3f} "
          f"{base_time:6.1f}s")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="CheckThat! 2020 folder (default: %(default)s)")
    parser.add_argument("--split", default="dev", help="sub-folder with tweets and qrels (default: %(default)s)")
    parser.add_argument("--no-exhaustive", action="store_true",
                        help="skip scoring every claim against every tweet (the prefilter check)")
    args = parser.parse_args(argv)
    run(args.dir, args.split, exhaustive=not args.no_exhaustive)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
