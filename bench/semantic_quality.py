"""Claim-grouped held-out figures, side by side: the shipped lexical score, token_set_ratio, and for each model
the cosine alone and the semantic stage's hybrid fit (bench/fit_semantic.py's procedure). Called by
bench/match_quality.py; runs on its own too:

    .venv/bin/python bench/semantic_quality.py [MODEL_DIR …] [--pairs ../shared/eval/dev_pairs.tsv]

Every scorer gets the same treatment: on each half of the rows (split by the md5 of the claim) the one global
threshold that maximises macro F1 is chosen on the other half (and, for the hybrid, the weights are fitted
there), then macro AUC and F1 over stsb_headlines, ecbplus, checkthat2020 and mrpc are measured; the two halves'
figures are printed as a range.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fit_semantic  # noqa: E402
import semantic_pairs  # noqa: E402
from semantic_pairs import MACRO_SETS, REPO  # noqa: E402

from monitor.evaluate import best_macro_threshold, load_rows, relevance_metrics  # noqa: E402
from monitor.reading.relevance import BIAS, FEATURE_WEIGHTS  # noqa: E402

DEFAULT_MODELS = (REPO.parent / "shared" / "models" / "all-MiniLM-L6-v2-int8", Path("/work/models/mpnet"))


def held_out_fixed(pairs: semantic_pairs.Pairs, values: np.ndarray) -> list[dict]:
    """Held-out macro metrics of a fixed score: only the threshold is chosen on the other half."""
    sets = np.asarray(pairs.sets)
    out = []
    for train in (0, 1):
        tr, te = pairs.halves == train, pairs.halves != train
        threshold, _ = best_macro_threshold(fit_semantic.by_set(sets[tr], values[tr], pairs.labels[tr]).values())
        metrics = relevance_metrics(fit_semantic.by_set(sets[te], values[te], pairs.labels[te]), threshold,
                                    macro_sets=MACRO_SETS)
        out.append(metrics["macro"])
    return out


def line(name: str, halves: list[dict]) -> str:
    auc = sorted(h["auc"] for h in halves)
    f1 = sorted(h["f1"] for h in halves)
    return f"{name:58} AUC {auc[0]:.3f}–{auc[1]:.3f}   F1 {f1[0]:.3f}–{f1[1]:.3f}"


def run(pairs_path: Path, models: Sequence[Path]) -> None:
    print(f"\nclaim-grouped held-out halves, macro over {', '.join(MACRO_SETS)}:")
    lexical = semantic_pairs.load(pairs_path, None)
    shipped = 100.0 / (1.0 + np.exp(-(lexical.lexical @ np.array(FEATURE_WEIGHTS) + BIAS)))
    print(line("shipped lexical (match.score)", held_out_fixed(lexical, np.round(shipped, 2))))
    from rapidfuzz import fuzz, utils
    _, rows = load_rows(pairs_path)
    rows = [r for r in rows if r.label is not None and r.set in MACRO_SETS]
    ratio = np.array([fuzz.token_set_ratio(r.claim, r.story, processor=utils.default_process) for r in rows])
    print(line("baseline rapidfuzz token_set_ratio", held_out_fixed(lexical, ratio)))
    for model in models:
        if not (model / "model.onnx").is_file():
            print(f"{model.name}: not found at {model}, skipped")
            continue
        pairs = semantic_pairs.load(pairs_path, model)
        print(line(f"{model.name}, cosine alone", held_out_fixed(pairs, np.round(100 * pairs.cosine, 2))))
        print(line(f"{model.name}, semantic stage (lexical + cosine fit)",
                   fit_semantic.held_out(pairs, fit_semantic.design(pairs))))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=Path, default=list(DEFAULT_MODELS))
    parser.add_argument("--pairs", type=Path, default=REPO.parent / "shared" / "eval" / "dev_pairs.tsv")
    args = parser.parse_args(argv)
    run(args.pairs, args.models)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
