"""Fit the relevance score's logistic weights (``FEATURE_WEIGHTS``, ``BIAS``) and measure them held out.

Usage (from the repository root):
    .venv/bin/python bench/fit_relevance.py [--pairs ../shared/eval/dev_pairs.tsv]

The loss is the one ``monitor.reading.relevance`` documents: a log-loss with classes balanced and each of the four
macro sets (stsb_headlines, ecbplus, checkthat2020, mrpc) weighing the same, plus an equal share of pairwise
log-loss between a positive and a negative pair of the same set (a fixed sample), and a small L2 penalty. It is
convex, so Newton's method finds its minimum in a few steps; no numeric library is needed.

Held out: the rows are split in two halves by the md5 of the claim text (a claim's rows all fall in one half),
weights are fitted on one half and scored on the other, both ways, and the two held-out halves are measured
together: per-set and macro ROC-AUC and F1 at the shipped threshold. On each fitting half the bias is moved so
that the one global threshold best for macro F1 there falls at the shipped threshold (``aligned_fit``), so the
held-out F1 is that of a threshold fitted without the held-out rows. Last, the weights fitted on every row, the
same way, for pasting into relevance.py.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.evaluate import load_rows, relevance_metrics  # noqa: E402
from monitor.evaluate.metrics import best_macro_threshold  # noqa: E402
from monitor.reading import relevance  # noqa: E402

MACRO_SETS = ("stsb_headlines", "ecbplus", "checkthat2020", "mrpc")
PAIRS_PER_SET = 20_000
L2 = 1e-3

Row = tuple[str, tuple[float, ...], int]  # set, features, label


def feature_rows(path: Path) -> tuple[list[Row], list[str]]:
    """(set, features, label) of every labelled row of a macro set, and the claim text of each row."""
    _, rows = load_rows(path)
    prepared: dict[str, relevance.PreparedClaim] = {}
    out: list[Row] = []
    claims: list[str] = []
    for r in rows:
        if r.label is None or r.set not in MACRO_SETS:
            continue
        claim = prepared.get(r.claim) or prepared.setdefault(r.claim, relevance.prepare_claim(str(len(prepared)), r.claim))
        story = relevance._story(claim.aliases, claim.weigher, r.story, "")
        out.append((r.set, relevance._features(claim, story)[0], r.label))
        claims.append(r.claim)
    return out, claims


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """x with a x = b, by Gaussian elimination with partial pivoting (a is small and positive definite)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def fit(rows: Sequence[Row], *, seed: int = 0) -> tuple[list[float], float]:
    """(feature weights, bias) minimising the loss described in the module docstring over ``rows``."""
    rng = random.Random(seed)
    k = len(rows[0][1])
    # Pointwise terms: (x with a leading 1 for the bias, label, weight); each set's classes weigh half of 1/sets.
    by_set: dict[str, dict[int, list[tuple[float, ...]]]] = defaultdict(lambda: {0: [], 1: []})
    for set_name, x, label in rows:
        by_set[set_name][label].append(x)
    point: list[tuple[tuple[float, ...], int, float]] = []
    pair: list[tuple[tuple[float, ...], float]] = []
    for classes in by_set.values():
        for label, xs in classes.items():
            point += [((1.0, *x), label, 0.5 / len(by_set) / len(xs)) for x in xs]
        pos, neg = classes[1], classes[0]
        if pos and neg:
            # A pair's difference has no bias: the ranking within a set does not depend on it.
            diffs = [(0.0, *(p - q for p, q in zip(rng.choice(pos), rng.choice(neg)))) for _ in range(PAIRS_PER_SET)]
            pair += [(d, 1.0 / len(by_set) / len(diffs)) for d in diffs]
    terms = [(x, y, w) for x, y, w in point] + [(d, 1, w) for d, w in pair]
    theta = [0.0] * (k + 1)
    for _ in range(30):
        grad = [L2 * t for t in theta]
        hess = [[L2 if i == j else 0.0 for j in range(k + 1)] for i in range(k + 1)]
        for x, y, w in terms:
            z = sum(t * v for t, v in zip(theta, x))
            p = 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0
            g, h = w * (p - y), w * p * (1.0 - p)
            for i, xi in enumerate(x):
                if xi:
                    grad[i] += g * xi
                    hi = hess[i]
                    for j, xj in enumerate(x):
                        if xj:
                            hi[j] += h * xi * xj
        step = _solve(hess, grad)
        theta = [t - s for t, s in zip(theta, step)]
        if max(map(abs, step)) < 1e-7:
            break
    return theta[1:], theta[0]


def scores_of(rows: Sequence[Row], weights: Sequence[float], bias: float) -> list[float]:
    """The 0-100 score ``relevance.score`` would give each row with these weights (rounded the same way)."""
    return [round(100.0 / (1.0 + math.exp(-(bias + sum(w * v for w, v in zip(weights, x))))), 2) for _, x, _ in rows]


def _logit(score: float) -> float:
    p = score / 100.0
    return math.log(p / (1.0 - p))


def aligned_fit(rows: Sequence[Row], threshold: float) -> tuple[list[float], float, float]:
    """``fit``, with the bias moved so that the one global threshold best for macro F1 on ``rows`` falls at
    ``threshold``: (weights, bias, the best threshold before the move). Moving the bias moves every score the same
    way in log-odds, so the ranking is unchanged and the shipped threshold keeps its meaning."""
    weights, bias = fit(rows)
    best, _ = best_macro_threshold(_grouped(rows, scores_of(rows, weights, bias)).values())
    return weights, bias + _logit(threshold) - _logit(best), best


def _grouped(rows: Sequence[Row], scores: Sequence[float]) -> dict[str, tuple[list[float], list[int]]]:
    out: dict[str, tuple[list[float], list[int]]] = defaultdict(lambda: ([], []))
    for (set_name, _, label), s in zip(rows, scores):
        out[set_name][0].append(s)
        out[set_name][1].append(label)
    return out


def held_out(rows: Sequence[Row], claims: Sequence[str], threshold: float) -> None:
    """Fit on each claim-grouped half, score the other, and print the two held-out halves measured together."""
    half = [int(hashlib.md5(c.encode()).hexdigest(), 16) % 2 for c in claims]
    scored: list[tuple[Row, float]] = []
    fitted_thresholds = []
    for part in (0, 1):
        train = [r for r, h in zip(rows, half) if h != part]
        test = [r for r, h in zip(rows, half) if h == part]
        weights, bias, best = aligned_fit(train, threshold)
        fitted_thresholds.append(best)
        scored += list(zip(test, scores_of(test, weights, bias)))
    by_set = _grouped([r for r, _ in scored], [v for _, v in scored])
    at_ship = relevance_metrics(by_set, threshold, macro_sets=MACRO_SETS)
    print(f"held out (claim-grouped halves, both ways); best thresholds on the training halves "
          f"{fitted_thresholds[0]:.1f} and {fitted_thresholds[1]:.1f}, each moved to {threshold:g} by the bias")
    print(f"{'set':16} {'AUC':>6} {'F1@' + format(threshold, 'g'):>7}")
    for s in MACRO_SETS:
        m = at_ship["sets"][s]
        print(f"{s:16} {m['auc']:6.3f} {m['f1']:7.3f}")
    print(f"{'macro':16} {at_ship['macro']['auc']:6.3f} {at_ship['macro']['f1']:7.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=Path, default=REPO.parent / "shared" / "eval" / "dev_pairs.tsv")
    parser.add_argument("--threshold", type=float, default=relevance.DEFAULT_MIN_SCORE)
    args = parser.parse_args(argv)
    rows, claims = feature_rows(args.pairs)
    print(f"{len(rows)} rows of {', '.join(MACRO_SETS)} from {args.pairs}; {len(rows[0][1])} features")
    held_out(rows, claims, args.threshold)
    weights, bias, best = aligned_fit(rows, args.threshold)
    print(f"fitted on every row: FEATURE_WEIGHTS = ({', '.join(f'{w:.3f}' for w in weights)})  BIAS = {bias:.3f}"
          f"  (best threshold {best:.1f} before the bias moved it to {args.threshold:g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
