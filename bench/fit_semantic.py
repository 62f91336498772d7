"""Fit the semantic stage's calibration for a model and write it into monitor/semantic/calibration.json.

Usage (from the repository root):
    .venv/bin/python bench/fit_semantic.py MODEL_DIR [--name NAME] [--pairs ../shared/eval/dev_pairs.tsv]
        [--ranking-share 0] [--default] [--dry-run]

The features are ``monitor.semantic.scoring.combined``: the lexical matcher's seven, the cosine, and cosine x
claim size and x title size. The fit is a logistic regression (Newton steps, a small ridge) whose rows weigh so
that each of the four macro sets (stsb_headlines, ecbplus, checkthat2020, mrpc) counts the same and within a set
the positives as much as the negatives, so that one global threshold suits every set, plus, with ``--ranking-share``,
pairwise log-loss between a positive and a negative row of one set (20,000 pairs per set, drawn with a fixed
seed), as the lexical weights were fitted, so that the ranking within a set counts; the threshold is the one
that maximises the macro F1 of the fitted scores. Held out: the rows are split into two halves by the md5 of
their claim (a claim's rows never straddle halves); fitted on one half, weights and threshold, and scored on the
other, both ways. The shipped entry is then fitted on all rows. Prints the held-out figures and the weights;
the same data give the same weights (no randomness).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import semantic_pairs  # noqa: E402
from semantic_pairs import MACRO_SETS, REPO  # noqa: E402

from monitor.evaluate import best_macro_threshold, relevance_metrics  # noqa: E402
from monitor.semantic.scoring import CALIBRATION_FILE, CLAIM_SIZE, TITLE_SIZE  # noqa: E402
from monitor.semantic.source import locate  # noqa: E402

RIDGE = 1e-3
PAIRS_PER_SET = 20_000


def design(pairs: semantic_pairs.Pairs) -> np.ndarray:
    """The combined features per row, as ``scoring.combined`` builds them."""
    lex, cos = pairs.lexical, pairs.cosine[:, None]
    return np.hstack([lex, cos, cos * lex[:, [CLAIM_SIZE]], cos * lex[:, [TITLE_SIZE]]])


def row_weights(sets: Sequence[str], labels: np.ndarray) -> np.ndarray:
    """Each set weighs the same, and within it each class half."""
    sets = np.asarray(sets)
    out = np.zeros(len(labels))
    for name in MACRO_SETS:
        for label in (0, 1):
            chosen = (sets == name) & (labels == label)
            if chosen.any():
                out[chosen] = 1.0 / chosen.sum()
    return out / out.sum()


def ranking_pairs(sets: Sequence[str], y: np.ndarray, per_set: int = PAIRS_PER_SET) -> tuple[np.ndarray, np.ndarray]:
    """(positive rows, negative rows): ``per_set`` pairs drawn within each set, with a fixed seed."""
    rng = np.random.default_rng(0)
    sets = np.asarray(sets)
    pos, neg = [], []
    for name in MACRO_SETS:
        p, n = np.flatnonzero((sets == name) & (y == 1)), np.flatnonzero((sets == name) & (y == 0))
        if len(p) and len(n):
            pos.append(rng.choice(p, per_set))
            neg.append(rng.choice(n, per_set))
    return np.concatenate(pos), np.concatenate(neg)


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, sets: Sequence[str], ranking_share: float
        ) -> tuple[np.ndarray, float]:
    """Weighted logistic regression by Newton's method, plus ``ranking_share`` of pairwise log-loss between a
    positive and a negative row of the same set (the pointwise loss weighs 1): (weights, bias)."""
    a = np.hstack([x, np.ones((len(x), 1))])
    pos, neg = ranking_pairs(sets, y)
    d = a[pos] - a[neg]  # the bias cancels in a difference
    share = np.full(len(d), ranking_share / len(d))
    beta = np.zeros(a.shape[1])
    penalty = RIDGE * np.eye(a.shape[1])
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(a @ beta)))
        q = 1.0 / (1.0 + np.exp(-(d @ beta)))
        gradient = a.T @ (w * (p - y)) + d.T @ (share * (q - 1.0)) + penalty @ beta
        hessian = ((a * (w * p * (1 - p))[:, None]).T @ a + (d * (share * q * (1 - q))[:, None]).T @ d
                   + penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta[:-1], float(beta[-1])


def scores(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return np.round(100.0 / (1.0 + np.exp(-(x @ weights + bias))), 2)


def by_set(sets: Sequence[str], values: np.ndarray, labels: np.ndarray) -> dict:
    sets = np.asarray(sets)
    return {name: (values[sets == name].tolist(), labels[sets == name].tolist()) for name in MACRO_SETS}


def fitted(x, y, sets, ranking_share: float) -> tuple[np.ndarray, float, float]:
    """(weights, bias, threshold) fitted on these rows."""
    weights, bias = fit(x, y, row_weights(sets, y), sets, ranking_share)
    threshold, _ = best_macro_threshold(by_set(sets, scores(x, weights, bias), y).values())
    return weights, bias, float(threshold)


def held_out(pairs: semantic_pairs.Pairs, x: np.ndarray, ranking_share: float = 0.0) -> list[dict]:
    """The macro metrics of each half, scored with the weights and threshold fitted on the other."""
    out = []
    sets = np.asarray(pairs.sets)
    for train in (0, 1):
        tr, te = pairs.halves == train, pairs.halves != train
        weights, bias, threshold = fitted(x[tr], pairs.labels[tr], sets[tr], ranking_share)
        metrics = relevance_metrics(by_set(sets[te], scores(x[te], weights, bias), pairs.labels[te]), threshold,
                                    macro_sets=MACRO_SETS)
        out.append({"threshold": threshold, **metrics["macro"]})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--name", help="the model's name in the calibration file (default: the folder's name)")
    parser.add_argument("--pairs", type=Path, default=REPO.parent / "shared" / "eval" / "dev_pairs.tsv")
    parser.add_argument("--default", action="store_true", help="make it the calibration unknown models get")
    parser.add_argument("--ranking-share", type=float, default=0.0,
                        help="weight of the pairwise ranking loss beside the pointwise one (default 0: the "
                             "best held-out F1 for MiniLM; 1 trades about 0.007 F1 for 0.007 AUC)")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write the calibration file")
    args = parser.parse_args(argv)
    pairs = semantic_pairs.load(args.pairs, args.model_dir)
    x = design(pairs)
    for n, result in enumerate(held_out(pairs, x, args.ranking_share)):
        print(f"held-out half {1 - n} (fitted on half {n}): threshold {result['threshold']:.2f}  "
              f"macro AUC {result['auc']:.4f}  F1 {result['f1']:.4f}")
    weights, bias, threshold = fitted(x, pairs.labels, pairs.sets, args.ranking_share)
    sha256 = locate(str(args.model_dir), base=Path.cwd()).sha256
    entry = {"name": args.name or args.model_dir.name, "weights": [round(float(w), 4) for w in weights],
             "bias": round(bias, 4), "threshold": round(threshold, 2), "rows": int(len(pairs.labels)),
             "ranking_share": args.ranking_share}
    print(f"all rows: threshold {entry['threshold']}, bias {entry['bias']}, weights {entry['weights']}")
    if args.dry_run:
        return 0
    table = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")) if CALIBRATION_FILE.exists() else {
        "models": {}}
    table["models"][sha256] = entry
    if args.default or "default" not in table:
        table["default"] = sha256
    CALIBRATION_FILE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {CALIBRATION_FILE.relative_to(REPO)} (model sha256 {sha256[:12]}…)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
