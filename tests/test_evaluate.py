"""monitor.evaluate: the metric functions against hand-computed values, small TSV files end to end, the input
errors, and regression guards on the shared eval files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import FIXTURES, shared_path

from monitor.errors import MonitorError
from monitor.evaluate import (
    EvalError,
    average_precision,
    best_f1,
    best_macro_threshold,
    evaluate_file,
    format_report,
    prf_at,
    relevance_metrics,
    roc_auc,
    verdict_metrics,
)
from monitor.reading.relevance import DEFAULT_MIN_SCORE

BENCH_MACRO_SETS = ("stsb_headlines", "ecbplus", "checkthat2020", "mrpc")  # bench/match_quality.py's macro
RELEVANCE_KEYS = {"auc", "ap", "precision", "recall", "f1", "best_f1", "best_threshold", "n"}
VERDICT_KEYS = {"accuracy", "macro_f1", "per_class", "confusion", "n"}


# ---------------------------------------------------------------- metric functions


@pytest.mark.parametrize("scores, labels, expected", [
    ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),
    ([1, 2, 2, 3], [0, 0, 1, 1], 0.875),          # one positive/negative pair tied: counts half
    ([5, 5, 5, 5], [0, 1, 0, 1], 0.5),            # everything tied
    ([1, 2, 3], [0, 1, 1], 1.0),
    ([3, 2, 1], [0, 1, 1], 0.0),
    ([1, 2, 3], [1, 1, 1], None),                 # no negatives: undefined
    ([1, 2, 3], [0, 0, 0], None),
])
def test_roc_auc(scores, labels, expected):
    assert roc_auc(scores, labels) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize("scores, labels, expected", [
    ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.5 * 1 + 0.5 * 2 / 3),
    ([3, 2, 1], [1, 1, 0], 1.0),
    ([1, 2, 3], [1, 1, 0], 0.5 * 1 / 2 + 0.5 * 2 / 3),
    ([2, 2, 2], [1, 1, 0], 2 / 3),                # a tie is one step, whatever the order of its rows
    ([2, 2, 2], [0, 1, 1], 2 / 3),
    ([3, 2, 2, 1], [1, 0, 1, 0], 0.5 * 1 + 0.5 * 2 / 3),
    ([1, 2], [0, 0], None),                       # no positives: undefined
])
def test_average_precision(scores, labels, expected):
    assert average_precision(scores, labels) == (None if expected is None else pytest.approx(expected))


SCORES, LABELS = [10, 20, 30, 40, 50], [0, 1, 0, 1, 1]


@pytest.mark.parametrize("threshold, expected", [
    (10, (3 / 5, 1.0, 0.75)),
    (20, (3 / 4, 1.0, 6 / 7)),
    (30, (2 / 3, 2 / 3, 2 / 3)),                  # score >= threshold counts as relevant
    (40, (1.0, 2 / 3, 0.8)),
    (50, (1.0, 1 / 3, 0.5)),
    (60, (0.0, 0.0, 0.0)),                        # nothing predicted
])
def test_precision_recall_f1_at_threshold(threshold, expected):
    assert prf_at(SCORES, LABELS, threshold) == pytest.approx(expected)


@pytest.mark.parametrize("scores, labels, expected", [
    (SCORES, LABELS, (20, 6 / 7)),
    ([1, 2, 3, 4], [1, 0, 0, 1], (1, 2 / 3)),     # F1 2/3 at 4 and at 1: the lower threshold wins
    ([5, 5, 7], [1, 0, 1], (5, 0.8)),             # tied rows go in together: 2/3 at 7, 4/5 at 5
])
def test_best_f1(scores, labels, expected):
    threshold, f1 = best_f1(scores, labels)
    assert (threshold, f1) == (expected[0], pytest.approx(expected[1]))


def test_best_macro_threshold_maximises_the_mean_f1():
    a = ([10, 20, 30], [0, 1, 1])                 # F1 at 10/20/30/40: 0.8, 1, 2/3, 0
    b = ([20, 40], [0, 1])                        # 2/3, 2/3, 1, 1
    threshold, macro = best_macro_threshold([a, b])
    assert (threshold, macro) == (20, pytest.approx(5 / 6))  # 30 ties at 5/6: the lower one is kept


def test_relevance_metrics_macro_is_the_mean_over_the_chosen_sets():
    by_set = {"a": ([10, 20, 30], [0, 1, 1]), "b": ([20, 40], [0, 1]), "c": ([1, 2], [1, 1])}
    result = relevance_metrics(by_set, 25, macro_sets=["a", "b"])
    assert set(result["macro"]) == RELEVANCE_KEYS and set(result["sets"]) == {"a", "b", "c"}
    assert result["macro"]["auc"] == pytest.approx(1.0)
    assert result["macro"]["f1"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert result["macro"]["n"] == 5
    assert (result["macro"]["best_threshold"], result["macro"]["best_f1"]) == (20, pytest.approx(5 / 6))
    assert result["sets"]["c"]["auc"] is None      # one label only
    everything = relevance_metrics(by_set, 25)
    assert everything["macro"]["auc"] == pytest.approx(1.0)  # the undefined AUC of c is left out of the mean
    assert everything["macro"]["n"] == 7


def test_verdict_metrics():
    gold = ["confirmed", "confirmed", "rejected", "pending"]
    pred = ["confirmed", "pending", "rejected", "delayed"]
    m = verdict_metrics(gold, pred)
    assert m["accuracy"] == 0.5 and m["n"] == 4
    assert list(m["per_class"]) == ["confirmed", "rejected", "pending"]  # only the classes in gold
    assert m["per_class"]["confirmed"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                           "support": 2}
    assert m["per_class"]["pending"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert m["confusion"]["confirmed"] == {"confirmed": 1, "delayed": 0, "rejected": 0, "pending": 1}
    assert m["confusion"]["pending"]["delayed"] == 1


# ---------------------------------------------------------------- files end to end

SIGN = "Iraq and the United States sign the coalition withdrawal agreement"
FOLD = "Apple will launch a foldable iPhone this year"
ROWS = [  # set, id, claim, story, label, verdict, score
    ("iraq", "1", SIGN, "Iraq and US sign coalition withdrawal agreement in Baghdad", "1", "confirmed", "4.5"),
    ("iraq", "2", SIGN, "Apple unveils a new laptop", "0", "", "0.0"),
    ("iraq", "3", SIGN, "Signing of the Iraq-US withdrawal agreement postponed", "1", "delayed", "4.0"),
    ("apple", "4", FOLD, "Apple launches its first foldable iPhone", "1", "confirmed", "5.0"),
    ("apple", "5", FOLD, "The Fed raises interest rates again", "0", "", "0.2"),
    ("apple", "6", FOLD, "Apple denies it will launch a foldable iPhone this year", "1", "rejected", "3.1"),
]
HEADER = ("set", "id", "claim", "story", "label", "verdict", "score")


def write_tsv(folder: Path, rows, header=HEADER, name="pairs.tsv") -> Path:
    path = folder / name
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def test_labels_and_verdicts_in_two_sets(tmp_path):
    report = evaluate_file(write_tsv(tmp_path, ROWS))
    assert set(report) == {"file", "claim", "threshold", "scorer", "pairs_per_second", "macro", "sets", "verdicts"}
    assert report["threshold"] == DEFAULT_MIN_SCORE and report["pairs_per_second"] > 0
    assert report["scorer"] == "lexical"
    assert list(report["sets"]) == ["iraq", "apple"]
    assert all(set(m) == RELEVANCE_KEYS for m in [report["macro"], *report["sets"].values()])
    assert [m["n"] for m in report["sets"].values()] == [3, 3] and report["macro"]["n"] == 6
    assert report["macro"]["auc"] == pytest.approx(
        sum(m["auc"] for m in report["sets"].values()) / 2, abs=1e-4)

    verdicts = report["verdicts"]
    assert VERDICT_KEYS | {"sets"} == set(verdicts) and verdicts["n"] == 4  # the two empty cells are left out
    assert {name: s["n"] for name, s in verdicts["sets"].items()} == {"iraq": 2, "apple": 2}
    assert all(set(s) == VERDICT_KEYS for s in verdicts["sets"].values())
    assert {c: v["support"] for c, v in verdicts["per_class"].items()} == {"confirmed": 2, "delayed": 1, "rejected": 1}
    assert set(verdicts["sets"]["apple"]["per_class"]) == {"confirmed", "rejected"}
    assert sum(sum(row.values()) for row in verdicts["confusion"].values()) == 4

    json.dumps(report)  # the CLI prints it with --json
    text = format_report(report)
    assert "iraq" in text and "apple" in text and "macro (2 sets)" in text and "confusion" in text


def test_threshold_and_default_set(tmp_path):
    rows = [(claim, story, label) for _, _, claim, story, label, _, _ in ROWS]
    path = write_tsv(tmp_path, rows, header=("Claim", "STORY", "label"))  # column names are case-insensitive
    report = evaluate_file(path, threshold=100)
    assert list(report["sets"]) == ["all"] and "verdicts" not in report
    assert report["threshold"] == 100.0 and report["sets"]["all"]["recall"] == 0.0
    with pytest.raises(EvalError, match="outside 0-100"):
        evaluate_file(path, threshold=150)


def test_verdict_only_file(tmp_path):
    rows = [(claim, story, verdict) for _, _, claim, story, _, verdict, _ in ROWS]
    report = evaluate_file(write_tsv(tmp_path, rows, header=("claim", "story", "verdict")))
    assert "macro" not in report and "sets" not in report
    assert report["verdicts"]["n"] == 4 and list(report["verdicts"]["sets"]) == ["all"]
    assert report["pairs_per_second"] > 0
    text = format_report(report)
    assert "verdicts: 4 rows" in text and "relevance" not in text


def test_quoted_file_is_read_with_its_quoting(tmp_path):
    path = tmp_path / "quoted.tsv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t")
        writer.writerow(["claim", "story", "label"])
        writer.writerow([SIGN, 'Iraq and US "sign"\tthe withdrawal agreement', "1"])
        writer.writerow([SIGN, "Apple unveils a new laptop", "0"])
    report = evaluate_file(path)
    assert report["sets"]["all"]["n"] == 2 and report["sets"]["all"]["auc"] == 1.0


def error_of(tmp_path, text: str) -> EvalError:
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EvalError) as caught:
        evaluate_file(path)
    assert isinstance(caught.value, MonitorError) and caught.value.exit_code == 2
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    return caught.value


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("claim\tstory\tlabel\n", "no rows after the header"),
    ("set\tclaim\tlabel\nx\tA claim\t1\n", "missing column story"),
    ("claim\tstory\nA claim\tA story\n", "missing column label or verdict"),
    ("claim\tstory\tlabel\nA claim\tA story\t1\nA claim\tA story\tyes\n", "line 3: label 'yes' is not 0 or 1"),
    ("claim\tstory\tverdict\nA claim\tA story\t\nA claim\tA story\tconfirmed\nA claim\tA story\tmaybe\n",
     "line 4: unknown verdict 'maybe'"),
    ("claim\tstory\tlabel\nA claim\tA story\t1\textra\n", "line 2: 4 tab-separated fields, the header has 3"),
    ("claim\tstory\tlabel\nthe of and\tA story\t1\n", "line 2: the matcher cannot use the claim"),
    ("claim\tstory\tlabel\tverdict\nA claim\tA story\t\t\n", "no row has a label or a verdict"),
])
def test_input_errors(tmp_path, text, message):
    assert message in str(error_of(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(EvalError, match="no such file"):
        evaluate_file(tmp_path / "nope.tsv")


# ---------------------------------------------------------------- our labelled pairs (tests/fixtures/)


def test_own_labelled_pairs_relevance():
    """Our 48 pairs: 4 sets of two claims, each with paraphrases in every state and look-alike headlines that
    share its names or its verb. Measured: macro AUC 0.985, F1 0.926 at the default threshold."""
    report = evaluate_file(FIXTURES / "labelled_pairs.tsv")
    assert list(report["sets"]) == ["politics", "business", "science", "sport"]
    assert report["macro"]["n"] == 48 and all(m["n"] == 12 for m in report["sets"].values())
    assert report["macro"]["auc"] >= 0.95 and report["macro"]["f1"] >= 0.85
    assert report["verdicts"]["n"] == 29  # the unrelated rows carry no verdict
    assert {c: v["support"] for c, v in report["verdicts"]["per_class"].items()} == {
        "confirmed": 8, "delayed": 5, "rejected": 7, "pending": 9}


# ---------------------------------------------------------------- the shared eval files (regression guards)


@pytest.mark.corpus
def test_emergent_verdicts_meet_the_issue_targets():
    report = evaluate_file(shared_path("eval", "emergent_dev.tsv"))
    verdicts = report["verdicts"]
    assert verdicts["n"] == 2071
    assert {c: v["support"] for c, v in verdicts["per_class"].items()} == {
        "confirmed": 992, "rejected": 304, "pending": 775}
    assert verdicts["accuracy"] >= 0.75
    assert verdicts["macro_f1"] >= 0.70
    assert report["sets"]["emergent"]["auc"] is None  # every row is labelled relevant


@pytest.mark.corpus
def test_dev_pairs_relevance_holds_the_bench_numbers():
    report = evaluate_file(shared_path("eval", "dev_pairs.tsv"))
    assert report["macro"]["n"] == sum(m["n"] for m in report["sets"].values()) == 14895
    bench_auc = sum(report["sets"][s]["auc"] for s in BENCH_MACRO_SETS) / len(BENCH_MACRO_SETS)
    bench_f1 = sum(report["sets"][s]["f1"] for s in BENCH_MACRO_SETS) / len(BENCH_MACRO_SETS)
    assert bench_auc >= 0.80 and bench_f1 >= 0.70     # the macro bench/match_quality.py prints (4 sets)
    assert report["macro"]["auc"] >= 0.80 and report["macro"]["f1"] >= 0.70  # the macro over all 6 sets
