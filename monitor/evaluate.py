"""Score the matcher and the verdict rules against a labelled TSV file: the engine of ``news-monitor eval``.

The file is tab-separated with a header row. Columns (any order, names case-insensitive; others ignored):

    claim     the tracked claim                                     required, unless a configured claim is given
    story     the story's title                                     required
    summary   the story's summary, scored with the title            optional (default: empty)
    label     1 = the story is about the claim, 0 = it is not       ``label`` and/or ``verdict`` required
    verdict   confirmed / delayed / rejected / pending
    set       which set the row belongs to (default "all"); metrics are reported per set and macro-averaged

An empty ``label`` or ``verdict`` cell leaves that row out of that half of the evaluation. The shared eval files
are written without quoting, so the file is read with ``csv.QUOTE_NONE``; a file whose header is quoted, whose rows
only line up when quotes are honoured, or which holds a doubled-quote ("") field is re-read as ordinary quoted TSV.

``evaluate_file`` scores each row's story against the row's claim text, or, given ``claim`` (a configured claim's
prepared rules, ``eval --claim ID``), against that claim for every row: its aliases, ``require_any``, ``exclude``,
``outcomes`` and (unless ``threshold`` is given) ``min_score``. A story that a gate stops, or that shares no term
with the claim, then scores 0: the matcher never takes it, whatever the threshold.

It returns (floats rounded to 4 decimals; a metric that is undefined for the data is ``None``):

    file, claim, threshold, pairs_per_second        claim: the configured claim's id, or None
    macro, sets        only when the file has a ``label`` column: sets = {name: metrics}; each metrics object has
                       auc, ap, precision, recall, f1 (at ``threshold``), best_f1, best_threshold, n
    verdicts           only when the file has a ``verdict`` column: accuracy, macro_f1, per_class, confusion, n,
                       and sets = {name: the same shape}
    errors             only when asked (``errors=True``): the rows predicted wrong, in file order: line, set, story,
                       kind ("relevance": label, predicted, score; "verdict": gold, predicted)

``auc`` is None for a set without both labels and ``ap`` for a set without positives; the macro value of each
metric is the plain mean over the sets where it is defined. The macro ``best_threshold`` is the one threshold that
maximises the mean per-set F1 and ``best_f1`` that mean; ``n`` is the total. A row is predicted relevant when its
score is >= the threshold (``match.match`` also needs the story to pass the claim's gates and share a term with it;
a pair sharing no term scores low anyway). ``pairs_per_second`` is the relevance scoring rate (claim
preparation included, file reading not) or, for a file without a ``label`` column, the verdict rate.

The metric functions (``roc_auc``, ``average_precision``, ``f1_at``, ``best_f1``, ``best_macro_threshold``,
``relevance_metrics``, ``verdict_metrics``) are the single definition used by ``bench/`` too.
"""

from __future__ import annotations

import csv
import io
import re
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import MonitorError
from monitor.reading.relevance import BELOW_MIN_SCORE, DEFAULT_MIN_SCORE, PreparedClaim, assess, prepare_claim, score
from monitor.models import Verdict
from monitor.reading.verdict import PreparedVerdict, judge, prepare_verdict

VERDICTS = tuple(v.value for v in Verdict)  # confirmed, delayed, rejected, pending: report order
DEFAULT_SET = "all"
RELEVANCE_KEYS = ("auc", "ap", "precision", "recall", "f1", "best_f1", "best_threshold", "n")

Scored = tuple[Sequence[float], Sequence[int]]  # (scores, 0/1 labels) of one set


class EvalError(MonitorError):
    """The evaluation file cannot be used: missing, empty, wrong columns or a bad value (exit code 2)."""

    exit_code = 2


# ---------------------------------------------------------------- relevance metrics


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """ROC-AUC as the Mann-Whitney U statistic; tied scores count half. None without both labels."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    ranked = sorted(zip(scores, labels))
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        tied_positives = sum(label for _, label in ranked[i:j])
        rank_sum += (i + j + 1) / 2 * tied_positives  # ranks i+1 .. j share their mean
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def average_precision(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """Sum over the distinct score thresholds, high to low, of (recall gained) x (precision there).

    Tied scores form one step, so the order of ties does not matter (the definition scikit-learn uses).
    None without positives.
    """
    positives = sum(labels)
    if not positives:
        return None
    ranked = sorted(zip(scores, labels), key=lambda p: -p[0])
    total, tp, i = 0.0, 0, 0
    while i < len(ranked):
        j, gained = i, 0
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            gained += ranked[j][1]
            j += 1
        tp += gained
        total += gained / positives * (tp / j)
        i = j
    return total


def prf_at(scores: Sequence[float], labels: Sequence[int], threshold: float) -> tuple[float, float, float]:
    """(precision, recall, F1) predicting relevant when score >= threshold; 0.0 where a ratio has no denominator."""
    tp = fp = 0
    for s, y in zip(scores, labels):
        if s >= threshold:
            if y:
                tp += 1
            else:
                fp += 1
    positives = sum(labels)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / positives if positives else 0.0
    return precision, recall, _f1(tp, fp, positives)


def f1_at(scores: Sequence[float], labels: Sequence[int], threshold: float) -> float:
    return prf_at(scores, labels, threshold)[2]


def _f1(tp: int, fp: int, positives: int) -> float:
    return 2 * tp / (tp + fp + positives) if tp else 0.0  # 2tp / (2tp + fp + fn)


def best_f1(scores: Sequence[float], labels: Sequence[int]) -> tuple[float | None, float]:
    """(threshold, F1) with the highest F1 over thresholds at the observed scores; the lowest such threshold."""
    positives = sum(labels)
    ranked = sorted(zip(scores, labels), key=lambda p: -p[0])
    best: tuple[float | None, float] = (None, 0.0)
    tp = fp = i = 0
    while i < len(ranked):
        t = ranked[i][0]
        while i < len(ranked) and ranked[i][0] == t:
            tp += ranked[i][1]
            fp += 1 - ranked[i][1]
            i += 1
        f1 = _f1(tp, fp, positives)
        if f1 >= best[1]:
            best = (t, f1)
    return best


def best_macro_threshold(groups: Iterable[Scored]) -> tuple[float | None, float]:
    """(threshold, mean F1) for the one threshold maximising the mean of the groups' F1; the lowest such.

    Every observed score is a candidate; each group answers by bisection, so this is O(C * G * log n).
    """
    sorted_groups = []
    for scores, labels in groups:
        pos = sorted(s for s, y in zip(scores, labels) if y)
        neg = sorted(s for s, y in zip(scores, labels) if not y)
        sorted_groups.append((pos, neg))
    if not sorted_groups:
        return None, 0.0
    candidates = sorted({s for pos, neg in sorted_groups for s in (*pos, *neg)})
    best: tuple[float | None, float] = (None, 0.0)
    for t in candidates:
        total = 0.0
        for pos, neg in sorted_groups:
            tp = len(pos) - bisect_left(pos, t)
            fp = len(neg) - bisect_left(neg, t)
            total += _f1(tp, fp, len(pos))
        mean = total / len(sorted_groups)
        if best[0] is None or mean > best[1]:
            best = (t, mean)
    return best


def set_metrics(scores: Sequence[float], labels: Sequence[int], threshold: float) -> dict:
    """One set's relevance metrics (unrounded), keys as ``RELEVANCE_KEYS``."""
    precision, recall, f1 = prf_at(scores, labels, threshold)
    best_t, best = best_f1(scores, labels)
    return {"auc": roc_auc(scores, labels), "ap": average_precision(scores, labels), "precision": precision,
            "recall": recall, "f1": f1, "best_f1": best, "best_threshold": best_t, "n": len(labels)}


def _mean(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def relevance_metrics(by_set: Mapping[str, Scored], threshold: float, *,
                      macro_sets: Sequence[str] | None = None) -> dict:
    """``{"macro": ..., "sets": {name: ...}}`` (unrounded). The macro averages ``macro_sets`` (default: all sets)."""
    sets = {name: set_metrics(scores, labels, threshold) for name, (scores, labels) in by_set.items()}
    names = list(by_set) if macro_sets is None else list(macro_sets)
    macro: dict = {key: _mean(sets[name][key] for name in names) for key in ("auc", "ap", "precision", "recall", "f1")}
    macro["best_threshold"], macro["best_f1"] = best_macro_threshold(by_set[name] for name in names)
    macro["n"] = sum(sets[name]["n"] for name in names)
    return {"macro": {key: macro[key] for key in RELEVANCE_KEYS}, "sets": sets}


# ---------------------------------------------------------------- verdict metrics


def verdict_metrics(gold: Sequence[str], pred: Sequence[str]) -> dict:
    """Accuracy, macro-F1 over the verdicts present in ``gold``, per-class P/R/F1/support, and the confusion
    matrix ``{gold: {predicted: count}}`` (rows: verdicts present in gold; columns: all four verdicts)."""
    present = set(gold)
    labels = [v for v in VERDICTS if v in present] + sorted(present - set(VERDICTS))
    confusion = Counter(zip(gold, pred))
    predicted, actual = Counter(pred), Counter(gold)
    per_class = {}
    for v in labels:
        tp = confusion[(v, v)]
        precision = tp / predicted[v] if predicted[v] else 0.0
        recall = tp / actual[v] if actual[v] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[v] = {"precision": precision, "recall": recall, "f1": f1, "support": actual[v]}
    return {
        "accuracy": sum(g == p for g, p in zip(gold, pred)) / len(gold) if gold else None,
        "macro_f1": _mean(c["f1"] for c in per_class.values()),
        "per_class": per_class,
        "confusion": {g: {p: confusion[(g, p)] for p in VERDICTS} for g in labels},
        "n": len(gold),
    }


# ---------------------------------------------------------------- reading the file


@dataclass(frozen=True, slots=True)
class EvalRow:
    """One data row; ``line`` is its line number in the file (the header is line 1)."""

    line: int
    set: str
    claim: str
    story: str
    summary: str  # "" without a summary column
    label: int | None  # None: no label column, or an empty cell
    verdict: str | None  # None: no verdict column, or an empty cell


_DOUBLED_QUOTE_FIELD = re.compile(r'"(?:[^"]|"")*""(?:[^"]|"")*"')


def _parse(text: str, quoting: int, where: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=quoting)
    rows, start = [], 1
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise EvalError(f"{where}, line {start}: cannot read the row: {exc}") from exc
    return rows


def _looks_quoted(text: str, rows: list[tuple[int, list[str]]]) -> bool:
    """Whether a file read with QUOTE_NONE was in fact written with TSV quoting."""
    if '"' not in text:
        return False
    header = rows[0][1]
    if any(len(f) >= 2 and f.startswith('"') and f.endswith('"') for f in header):
        return True
    return any(len(fields) != len(header) or any(_DOUBLED_QUOTE_FIELD.fullmatch(f) for f in fields)
               for _, fields in rows[1:])


def load_rows(path: str | Path, *, need_claim: bool = True) -> tuple[list[str], list[EvalRow]]:
    """(column names, rows) of an eval TSV file, every value checked; raises EvalError naming file and line.
    ``need_claim`` False: the ``claim`` column may be missing (the claim comes from the config)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise EvalError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise EvalError(f"{path}: is a directory, not a TSV file") from exc
    except UnicodeDecodeError as exc:
        raise EvalError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    except OSError as exc:
        raise EvalError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not text.strip():
        raise EvalError(f"{path}: the file is empty (expected a header row with claim, story and label or verdict)")

    rows = _parse(text, csv.QUOTE_NONE, str(path))
    if _looks_quoted(text, rows):
        rows = _parse(text, csv.QUOTE_MINIMAL, str(path))
    header_line, header = rows[0]
    columns = [c.strip().lower() for c in header]
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        raise EvalError(f"{path}, line {header_line}: duplicate column {', '.join(duplicated)}")
    missing = [c for c in ("claim", "story") if c not in columns and (need_claim or c != "claim")]
    if "label" not in columns and "verdict" not in columns:
        missing.append("label or verdict")
    if missing:
        found = ", ".join(c for c in columns if c) or "none"
        raise EvalError(f"{path}, line {header_line}: missing column {', '.join(missing)} (found: {found})")
    if len(rows) == 1:
        raise EvalError(f"{path}: no rows after the header")

    index = {c: i for i, c in enumerate(columns)}
    out = []
    for line, fields in rows[1:]:
        if len(fields) != len(columns):
            raise EvalError(f"{path}, line {line}: {len(fields)} tab-separated fields, the header has {len(columns)}")
        label = verdict = None
        if "label" in index:
            raw = fields[index["label"]].strip()
            if raw in ("0", "1"):
                label = int(raw)
            elif raw:
                raise EvalError(f"{path}, line {line}: label {raw!r} is not 0 or 1")
        if "verdict" in index:
            raw = fields[index["verdict"]].strip().lower()
            if raw in VERDICTS:
                verdict = raw
            elif raw:
                raise EvalError(f"{path}, line {line}: unknown verdict {raw!r} (expected {', '.join(VERDICTS)} "
                                "or an empty cell)")
        name = fields[index["set"]].strip() if "set" in index else ""
        out.append(EvalRow(line, name or DEFAULT_SET, fields[index["claim"]] if "claim" in index else "",
                           fields[index["story"]], fields[index["summary"]] if "summary" in index else "",
                           label, verdict))
    return columns, out


# ---------------------------------------------------------------- the evaluation


def _group(rows: Iterable[EvalRow], values: Iterable) -> dict[str, tuple[list, list]]:
    """{set: (values, rows)} in order of first appearance."""
    groups: dict[str, tuple[list, list]] = {}
    for row, value in zip(rows, values):
        groups.setdefault(row.set, ([], []))
        groups[row.set][0].append(value)
        groups[row.set][1].append(row)
    return groups


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def evaluate_file(path: str | Path, *, threshold: float | None = None,
                  claim: tuple[str, PreparedClaim, PreparedVerdict] | None = None, errors: bool = False) -> dict:
    """Evaluate the relevance scorer and the verdict rules on a labelled TSV file (see the module docstring).
    ``claim`` is (id, relevance rules, verdict rules) of a configured claim to score every row with."""
    if threshold is None:
        threshold = claim[1].min_score if claim else DEFAULT_MIN_SCORE
    threshold = float(threshold)
    if not 0.0 <= threshold <= 100.0:  # also rejects NaN
        raise EvalError(f"threshold {threshold:g} is outside 0-100")
    columns, rows = load_rows(path, need_claim=claim is None)
    labelled = [r for r in rows if r.label is not None]
    judged = [r for r in rows if r.verdict is not None]
    if not labelled and not judged:
        raise EvalError(f"{path}: no row has a label or a verdict")
    report: dict = {"file": str(path), "claim": claim[0] if claim else None, "threshold": threshold,
                    "pairs_per_second": None}
    wrong: list[dict] = []

    if "label" in columns:
        start = time.perf_counter()
        scores = _relevance_scores(path, labelled, claim[1] if claim else None)
        elapsed = time.perf_counter() - start
        if labelled and elapsed > 0:
            report["pairs_per_second"] = len(labelled) / elapsed
        by_set = {name: (s, [r.label for r in rs]) for name, (s, rs) in _group(labelled, scores).items()}
        if by_set:
            report.update(relevance_metrics(by_set, threshold))
        else:  # a label column with every cell empty
            report.update({"macro": dict.fromkeys(RELEVANCE_KEYS) | {"n": 0}, "sets": {}})
        wrong += [{**_where(row), "kind": "relevance", "label": row.label, "predicted": int(value >= threshold),
                   "score": value} for row, value in zip(labelled, scores) if (value >= threshold) != row.label]

    if "verdict" in columns:
        verdicts: dict[str, PreparedVerdict] = {}
        predicted = []
        start = time.perf_counter()
        for row in judged:
            prepared_verdict = claim[2] if claim else verdicts.get(row.claim)
            if prepared_verdict is None:
                prepared_verdict = verdicts[row.claim] = prepare_verdict(row.claim)
            predicted.append(judge(prepared_verdict, row.story, row.summary).verdict.value)
        elapsed = time.perf_counter() - start
        if report["pairs_per_second"] is None and judged and elapsed > 0:
            report["pairs_per_second"] = len(judged) / elapsed
        overall = verdict_metrics([r.verdict for r in judged], predicted)
        overall["sets"] = {name: verdict_metrics([r.verdict for r in rs], preds)
                           for name, (preds, rs) in _group(judged, predicted).items()}
        report["verdicts"] = overall
        wrong += [{**_where(row), "kind": "verdict", "gold": row.verdict, "predicted": guess}
                  for row, guess in zip(judged, predicted) if guess != row.verdict]
    if errors:
        report["errors"] = sorted(wrong, key=lambda e: e["line"])
    return _rounded(report)


def _relevance_scores(path: str | Path, rows: Sequence[EvalRow], configured: PreparedClaim | None) -> list[float]:
    """Each row's score: against the configured claim (0 when its gates stop the story), else its own claim."""
    if configured is not None:
        out = []
        for row in rows:
            found = assess(configured, row.story, row.summary)
            out.append(found.score if found.failed in (None, BELOW_MIN_SCORE) else 0.0)
        return out
    claims: dict[str, PreparedClaim] = {}
    scores = []
    for row in rows:
        prepared = claims.get(row.claim)
        if prepared is None:
            try:
                prepared = claims[row.claim] = prepare_claim("eval", row.claim)
            except ValueError as exc:
                raise EvalError(f"{path}, line {row.line}: the matcher cannot use the claim "
                                f"{row.claim[:60]!r}: {exc}") from exc
        scores.append(score(prepared, row.story, row.summary).score)
    return scores


def _where(row: EvalRow) -> dict:
    return {"line": row.line, "set": row.set, "story": row.story}


# ---------------------------------------------------------------- the report text


def _num(value: float | None, width: int, digits: int = 3) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def format_report(report: dict) -> str:
    """The report as a compact text table: relevance per set and macro, then verdicts, then the rows predicted
    wrong when the report has them. The scoring rate is left to ``--json`` and ``bench/``."""
    claim = f"claim {report['claim']}, " if report.get("claim") else ""
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
