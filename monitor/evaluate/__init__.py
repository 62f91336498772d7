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
    scorer             "lexical", or "semantic (MODEL)" when a config's [semantic] stage scored the rows
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
``relevance_metrics``, ``verdict_metrics``: ``evaluate.metrics``) are the single definition used by ``bench/``
too; reading the file is ``evaluate.rows``, the text report ``evaluate.report``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from monitor.evaluate.metrics import (RELEVANCE_KEYS, VERDICTS, Scored, average_precision, best_f1,
                                      best_macro_threshold, f1_at, prf_at, relevance_metrics, roc_auc, set_metrics,
                                      verdict_metrics)
from monitor.evaluate.report import format_report
from monitor.evaluate.rows import DEFAULT_SET, EvalError, EvalRow, load_rows
from monitor.reading.relevance import BELOW_MIN_SCORE, DEFAULT_MIN_SCORE, PreparedClaim, assess, prepare_claim, score
from monitor.reading.verdict import PreparedVerdict, judge, prepare_verdict
from monitor.semantic.judging import assess as semantic_assess
from monitor.semantic.judging import pair_cosines
from monitor.semantic.stage import SemanticRules, story_text

__all__ = ["DEFAULT_SET", "RELEVANCE_KEYS", "VERDICTS", "EvalError", "EvalRow", "Scored", "average_precision",
           "best_f1", "best_macro_threshold", "evaluate_file", "f1_at", "format_report", "load_rows", "prf_at",
           "relevance_metrics", "roc_auc", "set_metrics", "verdict_metrics"]


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
                  claim: tuple[str, PreparedClaim, PreparedVerdict] | None = None, errors: bool = False,
                  semantic: SemanticRules | None = None) -> dict:
    """Evaluate the relevance scorer and the verdict rules on a labelled TSV file (see the module docstring).
    ``claim`` is (id, relevance rules, verdict rules) of a configured claim to score every row with;
    ``semantic``, a config's semantic stage to score with (its threshold the default)."""
    if threshold is None:
        threshold = (semantic.min_score if semantic else claim[1].min_score if claim else DEFAULT_MIN_SCORE)
    threshold = float(threshold)
    if not 0.0 <= threshold <= 100.0:  # also rejects NaN
        raise EvalError(f"threshold {threshold:g} is outside 0-100")
    columns, rows = load_rows(path, need_claim=claim is None)
    labelled = [r for r in rows if r.label is not None]
    judged = [r for r in rows if r.verdict is not None]
    if not labelled and not judged:
        raise EvalError(f"{path}: no row has a label or a verdict")
    report: dict = {"file": str(path), "claim": claim[0] if claim else None, "threshold": threshold,
                    "scorer": f"semantic ({semantic.calibration.name})" if semantic else "lexical",
                    "pairs_per_second": None}
    wrong: list[dict] = []

    if "label" in columns:
        start = time.perf_counter()
        scores = _relevance_scores(path, labelled, claim[1] if claim else None, semantic)
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


def _relevance_scores(path: str | Path, rows: Sequence[EvalRow], configured: PreparedClaim | None,
                      semantic: SemanticRules | None) -> list[float]:
    """Each row's score: against the configured claim (0 when its gates stop the story), else its own claim;
    with the ``semantic`` stage when given (every claim and story encoded once, in batches)."""
    if configured is not None:
        prepared = [configured] * len(rows)
    else:
        claims: dict[str, PreparedClaim] = {}
        prepared = []
        for row in rows:
            if row.claim not in claims:
                try:
                    claims[row.claim] = prepare_claim("eval", row.claim)
                except ValueError as exc:
                    raise EvalError(f"{path}, line {row.line}: the matcher cannot use the claim "
                                    f"{row.claim[:60]!r}: {exc}") from exc
            prepared.append(claims[row.claim])
    if semantic is not None:
        cosines = pair_cosines(semantic, [(c.text, story_text(r.story, r.summary)) for c, r in zip(prepared, rows)])
        found = [semantic_assess(semantic, c, cosine, r.story, r.summary) for c, r, cosine in
                 zip(prepared, rows, cosines)]
        return [f.score if f.failed in (None, BELOW_MIN_SCORE) else 0.0 for f in found]
    if configured is not None:
        found = [assess(configured, row.story, row.summary) for row in rows]
        return [f.score if f.failed in (None, BELOW_MIN_SCORE) else 0.0 for f in found]
    return [score(c, row.story, row.summary).score for c, row in zip(prepared, rows)]


def _where(row: EvalRow) -> dict:
    return {"line": row.line, "set": row.set, "story": row.story}
