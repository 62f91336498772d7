"""The evaluation report as a compact text table (``news-monitor eval`` without ``--json``)."""

from __future__ import annotations

from monitor.evaluate.metrics import VERDICTS


def _num(value: float | None, width: int, digits: int = 3) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def format_report(report: dict) -> str:
    """The report as a compact text table: relevance per set and macro, then verdicts, then the rows predicted
    wrong when the report has them. The scoring rate is left to ``--json`` and ``bench/``."""
    claim = f"claim {report['claim']}, " if report.get("claim") else ""
    if report.get("scorer", "lexical") != "lexical":
        claim += f"{report['scorer']}, "
    lines = [f"news-monitor eval: {report['file']}   ({claim}threshold {report['threshold']:g})"]
    if "sets" in report:
        sets = report["sets"]
        macro_name = f"macro ({len(sets)} set{'s' if len(sets) != 1 else ''})"
        width = max([len(macro_name), len("relevance"), *map(len, sets)])
        f1_head = f"F1@{report['threshold']:g}"
        lines += ["", f"{'relevance':<{width}} {'n':>6} {'AUC':>6} {'AP':>6} {'P':>6} {'R':>6} {f1_head:>7}"
                      f"  best F1 @ threshold"]
        for name, m in [*sets.items(), (macro_name, report["macro"])]:
            best_t = "-" if m["best_threshold"] is None else f"{m['best_threshold']:.1f}"
            lines.append(f"{name:<{width}} {m['n']:6d} {_num(m['auc'], 6)} {_num(m['ap'], 6)} "
                         f"{_num(m['precision'], 6)} {_num(m['recall'], 6)} {_num(m['f1'], 7)}"
                         f"  {_num(m['best_f1'], 7)} @ {best_t}")
    if "verdicts" in report:
        v = report["verdicts"]
        lines += ["", f"verdicts: {v['n']} rows   accuracy {_num(v['accuracy'], 0)}   "
                      f"macro-F1 {_num(v['macro_f1'], 0)}"]
        if len(v["sets"]) > 1:
            width = max(map(len, v["sets"]))
            lines += [f"  {name:<{width}}  n {s['n']:>5}   accuracy {_num(s['accuracy'], 0)}   "
                      f"macro-F1 {_num(s['macro_f1'], 0)}" for name, s in v["sets"].items()]
        if v["per_class"]:
            lines.append(f"  {'class':<10} {'P':>6} {'R':>6} {'F1':>6} {'n':>6}")
            lines += [f"  {cls:<10} {_num(c['precision'], 6)} {_num(c['recall'], 6)} {_num(c['f1'], 6)} "
                      f"{c['support']:6d}" for cls, c in v["per_class"].items()]
            lines.append("  confusion (rows gold, columns predicted)")
            lines.append(f"  {'':<10}" + "".join(f" {p:>9}" for p in VERDICTS))
            lines += [f"  {gold:<10}" + "".join(f" {row[p]:9d}" for p in VERDICTS)
                      for gold, row in v["confusion"].items()]
    if "errors" in report:
        wrong = report["errors"]
        lines += ["", f"{len(wrong)} row{'s' if len(wrong) != 1 else ''} predicted wrong" + (":" if wrong else "")]
        for e in wrong:
            said = (f"label {e['label']}, predicted {e['predicted']} (score {e['score']:.1f})"
                    if e["kind"] == "relevance" else f"verdict {e['gold']}, predicted {e['predicted']}")
            lines.append(f"  line {e['line']:<6} {said}: {e['story']}")
    return "\n".join(lines)
