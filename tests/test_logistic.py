"""The pure-Python multinomial logistic regression and the claim-grouped folds, on synthetic data."""

from __future__ import annotations

import math

import pytest

from monitor.evaluate.folds import fold_of_groups, grouped_folds
from monitor.evaluate.logistic import BIAS, Model, fit


def _toy():
    """Three classes, each announced by its own word; a noise word carries no information."""
    rows, labels = [], []
    for i in range(60):
        cls = ("a", "b", "c")[i % 3]
        row = {f"word_{cls}": 1.0}
        if i % 2:
            row["noise"] = 1.0
        rows.append(row)
        labels.append(cls)
    return rows, labels


def test_separable_toy_data_gets_the_right_signs_and_predictions():
    rows, labels = _toy()
    model = fit(rows, labels, l2=0.01)
    for cls in "abc":
        own = model.weights[f"word_{cls}"]
        assert own[cls] > 0.5, own
        assert all(own[other] < own[cls] for other in "abc" if other != cls)
    assert [model.predict(r) for r in rows] == labels
    assert abs(model.weights["noise"]["a"] - model.weights["noise"]["b"]) < 0.05  # noise learns nothing between classes
    proba = model.predict_proba({"word_b": 1.0})
    assert math.isclose(sum(proba.values()), 1.0) and max(proba, key=proba.get) == "b"


def test_l2_shrinks_the_weights():
    rows, labels = _toy()
    size = lambda m: sum(w * w for f, row in m.weights.items() if f != BIAS for w in row.values())  # noqa: E731
    weak, strong = fit(rows, labels, l2=0.001), fit(rows, labels, l2=1.0)
    assert size(strong) < size(weak) / 4
    assert strong.predict({"word_c": 1.0}) == "c"  # still right, just less sure


def test_unbalanced_classes_set_the_bias():
    rows = [{}] * 30 + [{"x": 1.0}] * 10
    labels = ["common"] * 28 + ["rare"] * 2 + ["rare"] * 9 + ["common"]
    model = fit(rows, labels, l2=0.0, max_iter=5000)
    # with no features, the fitted probability is the observed frequency 28/30
    assert model.predict_proba({})["common"] == pytest.approx(28 / 30, abs=1e-3)
    assert model.predict({"x": 1.0}) == "rare"


def test_fit_is_deterministic_and_round_trips_through_json():
    rows, labels = _toy()
    first, second = fit(rows, labels, l2=0.1), fit(list(reversed(rows)), list(reversed(labels)), l2=0.1)
    for f, row in first.weights.items():
        for c, w in row.items():
            assert w == pytest.approx(second.weights[f][c], abs=1e-5)
    again = Model.from_json(first.to_json())
    assert again.predict_proba({"word_a": 1.0}) == pytest.approx(first.predict_proba({"word_a": 1.0}), abs=1e-5)
    lines = first.weight_lines(top=3)
    assert len(lines) == 3 and all(len(line.split()) == 3 for line in lines)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        fit([{"x": 1.0}], ["a"], l2=0.1)
    with pytest.raises(ValueError):
        fit([{"x": 1.0}, {}], ["a", "b"], l2=-1)
    with pytest.raises(ValueError):
        Model.from_json({"classes": ["a"], "weights": {"x": {"b": 1.0}}, "l2": 0})


def test_grouped_folds_keep_each_group_whole_and_are_stable():
    groups = [f"claim {i % 23}" for i in range(200)]
    seen = []
    for train, test in grouped_folds(groups, 5):
        assert set(train).isdisjoint(test) and sorted(train + test) == list(range(200))
        assert {groups[i] for i in train}.isdisjoint({groups[i] for i in test})
        seen.append(len({groups[i] for i in test}))
    assert sum(seen) == 23 and max(seen) - min(seen) <= 1
    assert fold_of_groups(groups, 5) == fold_of_groups(list(reversed(groups)), 5)
    with pytest.raises(ValueError):
        fold_of_groups(["a", "b"], 3)
