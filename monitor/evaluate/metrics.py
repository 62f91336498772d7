"""The evaluation metrics, pure: ROC AUC, average precision, F1 at a threshold and the best one, macro averages
over sets, and the verdict confusion matrix. The single definition ``eval`` and ``bench/`` both use."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from monitor.models import Verdict

VERDICTS = tuple(v.value for v in Verdict)  # confirmed, delayed, rejected, pending: report order
RELEVANCE_KEYS = ("auc", "ap", "precision", "recall", "f1", "best_f1", "best_threshold", "n")

Scored = tuple[Sequence[float], Sequence[int]]  # (scores, 0/1 labels) of one set


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
