"""Fit the verdict layer's weights (monitor/evaluate/stance_weights.json) and print them.

Usage (from the repository root):
    .venv/bin/python bench/fit_verdicts.py [--emergent ../shared/eval/emergent_dev.tsv]
        [--realnews ../shared/eval/realnews_dev.tsv] [--table tests/fixtures/verdicts/table.tsv]
        [--out monitor/evaluate/stance_weights.json] [--l2 X] [--dry-run]

Training rows: every emergent_dev row (grouped by claim), every realnews_dev row with a verdict (grouped by its
``set``, one event each) and, when the file exists, the ``tune`` split of the own verdict table (grouped by claim;
its ``heldout`` claims are never used here). The L2 strength is the one of ``L2_GRID`` with the best mean macro-F1
over 5-fold claim-grouped cross-validation on the pooled rows (each fold holds out whole claims of every source);
the weights are then fitted on all training rows with it. The run is deterministic: rerunning it rewrites the same
file.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.evaluate import load_rows, verdict_metrics  # noqa: E402
from monitor.evaluate.folds import grouped_folds  # noqa: E402
from monitor.evaluate.logistic import Model, fit  # noqa: E402
from monitor.models import Verdict  # noqa: E402
from monitor.evaluate import stance  # noqa: E402
from monitor.reading.verdict import VerdictResult, judge, prepare_verdict  # noqa: E402

SHARED = REPO.parent / "shared"
DEFAULTS = {"emergent": SHARED / "eval" / "emergent_dev.tsv", "realnews": SHARED / "eval" / "realnews_dev.tsv",
            "table": REPO / "tests" / "fixtures" / "verdicts" / "table.tsv"}
L2_GRID = (0.3, 0.1, 0.03, 0.01, 0.003)
FOLDS = 5


@dataclass(frozen=True)
class Row:
    """One labelled story, read by the rules, with the layer's features and quotable verdicts."""

    source: str  # emergent / realnews / table
    group: str  # the claim (or story set) it is held out with
    split: str  # "tune" or "heldout" (own table); "tune" elsewhere
    gold: str
    rules: VerdictResult
    features: dict
    quotes: dict


def _read(source: str, group_by: str, rows: list[tuple[str, str, str, str, str, str]]) -> list[Row]:
    prepared: dict = {}
    out = []
    for group, claim, title, summary, gold, split in rows:
        p = prepared.get(claim) or prepared.setdefault(claim, prepare_verdict(claim))
        said = judge(p, title, summary)
        out.append(Row(source, f"{source}:{group}", split, gold, said, stance.features(p, title, summary, said),
                       stance.quotes(p, title, summary, said)))
    return out


def load_emergent(path: Path) -> list[Row]:
    _, rows = load_rows(path)
    return _read("emergent", "claim", [(r.claim, r.claim, r.story, "", r.verdict, "tune") for r in rows if r.verdict])


def load_realnews(path: Path) -> list[Row]:
    _, rows = load_rows(path)
    return _read("realnews", "set", [(r.set, r.claim, r.story, r.summary, r.verdict, "tune")
                                     for r in rows if r.verdict and r.label != 0])


def load_table(path: Path) -> list[Row]:
    """The own verdict table (columns ``set id claim story summary label verdict split kind note``), or [] when
    the file does not exist. Raises ValueError for a row whose split is neither tune nor heldout."""
    if not path.exists():
        return []
    _, rows = load_rows(path)  # checks every value
    with path.open(encoding="utf-8") as f:
        splits = [(line.get("split") or "").strip() for line in csv.DictReader(f, delimiter="\t",
                                                                              quoting=csv.QUOTE_NONE)]
    bad = sorted({s for s in splits if s not in ("tune", "heldout")})
    if bad:
        raise ValueError(f"{path}: split must be tune or heldout, not {', '.join(map(repr, bad))}")
    return _read("table", "claim", [(r.claim, r.claim, r.story, r.summary, r.verdict, split)
                                    for r, split in zip(rows, splits) if r.verdict])


def layer_predictions(model: Model, rows: Sequence[Row]) -> list[str]:
    """The layer's verdict for each row (``stance.choose`` over the precomputed features and quotes)."""
    return [str(stance.pick(model.predict_proba(r.features), r.quotes, r.rules.verdict)) for r in rows]


def train(rows: Sequence[Row], l2: float) -> Model:
    return fit([r.features for r in rows], [r.gold for r in rows], l2=l2)


def cross_validated(rows: Sequence[Row], l2: float, *, extra: Sequence[Row] = (), k: int = FOLDS) -> list[str]:
    """Out-of-fold layer verdicts for ``rows``: each fold's claims are predicted by a model fitted on the other
    folds plus ``extra`` (rows of other sources, whose claims are not in ``rows``)."""
    predicted: list[str | None] = [None] * len(rows)
    for train_at, test_at in grouped_folds([r.group for r in rows], k):
        model = train([rows[i] for i in train_at] + list(extra), l2)
        for i, guess in zip(test_at, layer_predictions(model, [rows[i] for i in test_at])):
            predicted[i] = guess
    return predicted  # type: ignore[return-value]


def training_rows(paths: dict) -> list[Row]:
    rows = load_emergent(paths["emergent"]) + load_realnews(paths["realnews"])
    return rows + [r for r in load_table(paths["table"]) if r.split == "tune"]


def choose_l2(rows: Sequence[Row]) -> tuple[float, dict[float, dict]]:
    """The L2 strength with the best pooled grouped-CV macro-F1 (ties: the stronger penalty), and every score."""
    scores = {l2: verdict_metrics([r.gold for r in rows], cross_validated(rows, l2)) for l2 in L2_GRID}
    best = max(L2_GRID, key=lambda l2: (round(scores[l2]["macro_f1"], 6), l2))
    return best, scores


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in DEFAULTS.items():
        ap.add_argument(f"--{name}", type=Path, default=default)
    ap.add_argument("--out", type=Path, default=REPO / "monitor" / "evaluate" / stance.WEIGHTS_FILE)
    ap.add_argument("--l2", type=float, help="fit with this L2 strength instead of choosing one by grouped CV")
    ap.add_argument("--dry-run", action="store_true", help="print the weights, write nothing")
    ap.add_argument("--top", type=int, default=40, help="how many weights to print (largest first)")
    args = ap.parse_args(argv)
    rows = training_rows({name: getattr(args, name) for name in DEFAULTS})
    gold = [r.gold for r in rows]
    rules = verdict_metrics(gold, [str(r.rules.verdict) for r in rows])
    l2, scores = (args.l2, {}) if args.l2 is not None else choose_l2(rows)
    print(f"{len(rows)} training rows, {len({r.group for r in rows})} claim groups; {FOLDS}-fold claim-grouped CV")
    print(f"  rules alone (no fitted parameters): accuracy {rules['accuracy']:.3f}  macro-F1 {rules['macro_f1']:.3f}")
    for value in scores:
        mark = "  <- chosen" if value == l2 else ""
        print(f"  l2 {value:<6g} layer CV: accuracy {scores[value]['accuracy']:.3f}  "
              f"macro-F1 {scores[value]['macro_f1']:.3f}{mark}")
    model = train(rows, l2)
    print(f"\nweights (feature, class, weight; top {args.top} by size):")
    print("\n".join(model.weight_lines(args.top)))
    if not args.dry_run:
        data = model.to_json()
        data["fitted"] = {"by": "bench/fit_verdicts.py", "rows": len(rows), "folds": FOLDS,
                          "sources": sorted({r.source for r in rows}), "l2_grid": list(L2_GRID)}
        args.out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
