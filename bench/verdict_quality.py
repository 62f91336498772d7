"""Measure the verdict rules (monitor.reading.verdict) and the learned layer over them (monitor.evaluate.stance) on
labelled stories, next to the always-"confirmed" baseline. Only claim-grouped figures are results.

Usage (from the repository root):
    .venv/bin/python bench/verdict_quality.py [--emergent ../shared/eval/emergent_dev.tsv]
        [--realnews ../shared/eval/realnews_dev.tsv] [--table tests/fixtures/verdicts/table.tsv]
        [--scenario ../shared/scenario/iraq_signing_stories.jsonl] [--errors N] [--json]

Sets (results):
  emergent       emergent_dev.tsv (title only), 5-fold CV grouped by claim: the layer is fitted on four folds (plus
                 every realnews row and the own table's tune split) and scored on the fifth
  emergent-odd   the same predictions on the claims with an odd CRC-32 of their text: rule work looks only at
                 the errors of the even ones, so this half is the rules' figure on claims not tuned on
  realnews       realnews_dev.tsv rows with a verdict, 5-fold CV grouped by ``set`` (one event each), the layer
                 fitted on the other folds plus emergent and the own table's tune split
  table-tune     the own verdict table's tune split (when the file exists), 5-fold CV grouped by claim
  table-heldout  its heldout claims, scored once by a layer fitted on tune + emergent + realnews only
The rules have no fitted parameters, so their figure is the same in and out of sample; the layer's L2 strength
is the shipped one, chosen by bench/fit_verdicts.py's grouped CV over the same pooled rows (one parameter).
In sample (not a result; the rules were written against them): the Iraq-US signing scenario and the hand-written
cases of tests/test_verdict.py, rules only.
For each: accuracy, macro-F1 over the verdicts in the gold labels, per-class precision/recall/F1 and the
confusion matrix (rows gold, columns predicted) of rules and rules+layer, and always-"confirmed". Then the time
per story. ``--errors N`` prints N misjudged emergent rows per (gold, predicted) pair, for rules and layer.
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
sys.path.insert(0, str(REPO / "bench"))

import fit_verdicts as fv  # noqa: E402
from monitor.evaluate import VERDICTS, verdict_metrics  # noqa: E402
from monitor.models import Verdict  # noqa: E402
from monitor.evaluate import stance  # noqa: E402
from monitor.reading.verdict import PreparedVerdict, judge, prepare_verdict  # noqa: E402

SHARED = REPO.parent / "shared"
IRAQ_CLAIM = "Iraq and the United States sign the agreement on the withdrawal of the US-led coalition"
ARABIC_CUES = {"confirmed": ["وقع", "يوقع", "يوقعان"]}
ORDER = VERDICTS

Case = tuple[str, str, str, str, dict]  # claim, title, summary, gold verdict, prepare_verdict options


def load_scenario(path: Path) -> list[Case]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        story = json.loads(line)
        if story["expected"] != "unrelated":
            options = {"outcomes": ARABIC_CUES} if story.get("lang") == "ar" else {}
            rows.append((IRAQ_CLAIM, story["title"], story["summary"], story["expected"], options))
    return rows


def load_cases() -> list[Case]:
    """The hand-written verdict cases of tests/test_verdict.py (signings, votes, resignations, launches …)."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_verdict import CASES  # noqa: PLC0415

    return [(claim, title, summary, str(expected), {}) for claim, title, summary, expected in CASES]


def rules_only(rows: Sequence[Case]) -> list[str]:
    cache: dict[tuple[str, str], PreparedVerdict] = {}
    out = []
    for claim, title, summary, _, options in rows:
        key = (claim, json.dumps(options, sort_keys=True))
        if key not in cache:
            cache[key] = prepare_verdict(claim, **options)
        out.append(judge(cache[key], title, summary).verdict.value)
    return out


def scored(rows: Sequence[fv.Row], layer: Sequence[str]) -> dict:
    gold = [r.gold for r in rows]
    return {"rules": verdict_metrics(gold, [str(r.rules.verdict) for r in rows]),
            "layer": verdict_metrics(gold, list(layer)),
            "baseline_confirmed": verdict_metrics(gold, [Verdict.CONFIRMED.value] * len(rows))}


def even(claim: str) -> bool:
    """The claims whose errors rule work may look at (even CRC-32); the odd ones are only ever scored."""
    return zlib.crc32(claim.encode("utf-8")) % 2 == 0


def results(emergent: list[fv.Row], realnews: list[fv.Row], table: list[fv.Row], l2: float) -> dict:
    """Every result set (see the module docstring): {name: {"rules", "layer", "baseline_confirmed"}}."""
    tune = [r for r in table if r.split == "tune"]
    heldout = [r for r in table if r.split == "heldout"]
    emergent_layer = fv.cross_validated(emergent, l2, extra=realnews + tune)
    odd = [i for i, r in enumerate(emergent) if not even(r.group.removeprefix("emergent:"))]
    out = {"emergent": scored(emergent, emergent_layer),
           "emergent-odd": scored([emergent[i] for i in odd], [emergent_layer[i] for i in odd]),
           "realnews": scored(realnews, fv.cross_validated(realnews, l2, extra=emergent + tune))}
    if len({r.group for r in tune}) >= fv.FOLDS:
        out["table-tune"] = scored(tune, fv.cross_validated(tune, l2, extra=emergent + realnews))
    if heldout:
        model = fv.train(emergent + realnews + tune, l2)
        out["table-heldout"] = scored(heldout, fv.layer_predictions(model, heldout))
    return out


def _line(label: str, m: dict) -> str:
    return f"  {label:<24} accuracy {m['accuracy']:.3f}   macro-F1 {m['macro_f1']:.3f}"


def print_set(name: str, result: dict, note: str) -> None:
    rules, layer = result["rules"], result.get("layer")
    print(f"\n== {name}  (n={rules['n']}; {note})")
    print(_line("rules", rules))
    if layer:
        print(_line("rules+layer (grouped CV)" if name != "table-heldout" else "rules+layer (held out)", layer))
    print(_line("always confirmed", result["baseline_confirmed"]))
    heads = ["rules"] + (["rules+layer"] if layer else [])
    print(f"  {'class':<10} " + "   ".join(f"{h:^20}" for h in heads) + f" {'n':>5}")
    print(f"  {'':<10} " + "   ".join(f"{'P':>6} {'R':>6} {'F1':>6}" for _ in heads))
    for v, c in rules["per_class"].items():
        cells = [c] + ([layer["per_class"][v]] if layer else [])
        print(f"  {v:<10} " + "   ".join(f"{x['precision']:6.3f} {x['recall']:6.3f} {x['f1']:6.3f}" for x in cells)
              + f" {c['support']:5d}")
    for head, m in zip(heads, [rules, layer]):
        print(f"  confusion, {head} (rows gold, columns predicted): " + " ".join(f"{v[:4]:>5}" for v in ORDER))
        for g, row in m["confusion"].items():
            print(f"    {g:<10} " + " ".join(f"{row[p]:5d}" for p in ORDER))


NOTES = {"emergent": "5-fold CV grouped by claim",
         "emergent-odd": "its claims of odd CRC-32, never looked at while writing rules; same CV", "realnews": "5-fold CV grouped by set",
         "table-tune": "tune split, 5-fold CV grouped by claim",
         "table-heldout": "claims kept out of every tuning step",
         "scenario": "in sample (not a result)", "test-cases": "in sample (not a result)"}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in fv.DEFAULTS.items():
        ap.add_argument(f"--{name}", type=Path, default=default)
    ap.add_argument("--scenario", type=Path, default=SHARED / "scenario" / "iraq_signing_stories.jsonl")
    ap.add_argument("--errors", type=int, default=0, help="print this many errors per (gold, predicted) pair")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    args = ap.parse_args(argv)

    emergent, realnews = fv.load_emergent(args.emergent), fv.load_realnews(args.realnews)
    table = fv.load_table(args.table)
    model = stance.shipped_model()
    found = results(emergent, realnews, table, model.l2)
    for name, cases in (("scenario", load_scenario(args.scenario)), ("test-cases", load_cases())):
        gold = [c[3] for c in cases]
        found[name] = {"rules": verdict_metrics(gold, rules_only(cases)),
                       "baseline_confirmed": verdict_metrics(gold, [Verdict.CONFIRMED.value] * len(cases))}
    _, raw = fv.load_rows(args.emergent)
    stories = [(r.claim, r.story) for r in raw if r.verdict]
    prepared = {claim: prepare_verdict(claim) for claim, _ in stories}
    timings = {}
    for label, call in (("judge", judge), ("judge_story", stance.judge_story)):
        start = time.perf_counter()
        for claim, title in stories:
            call(prepared[claim], title, "")
        timings[label] = (time.perf_counter() - start) / len(stories) * 1e6

    if args.json:
        print(json.dumps({"results": found, "microseconds_per_story": timings, "l2": model.l2}, indent=2))
    else:
        for name, r in found.items():
            print_set(name, r, NOTES[name])
        print(f"\nlayer L2 {model.l2:g} (the shipped weights' strength); "
              + ", ".join(f"{us:.0f} µs per {label}() call" for label, us in timings.items())
              + " (emergent headlines, claims prepared beforehand)")
    if args.errors:
        layer = fv.cross_validated(emergent, model.l2, extra=realnews + [r for r in table if r.split == "tune"])
        shown: Counter = Counter()
        for (claim, title), row, guess in zip(stories, emergent, layer):
            for who, pred in (("rules", str(row.rules.verdict)), ("layer", guess)):
                if pred != row.gold and shown[(who, row.gold, pred)] < args.errors:
                    shown[(who, row.gold, pred)] += 1
                    print(f"[{who}: {row.gold} -> {pred}] {claim[:60]} || {title}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
