"""Multinomial logistic regression in pure Python, for small sparse feature sets (tens to a few hundred features):
the learned verdict layer (``monitor.evaluate.stance``) is fitted with it, and the package has no numpy.

Rows are sparse ``{feature: value}`` dicts with a class label. ``fit`` minimises the mean negative log-likelihood
plus ``l2 / 2`` times the sum of squared weights (the per-class biases are not penalised) by full-batch gradient
descent with Nesterov momentum and a backtracking step, restarting the momentum whenever the objective rises.
Identical rows are merged first (with a count), which makes a fit over a few thousand rows of binary features fast.
Everything is deterministic: no random initialisation, features and classes in sorted order.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Features = Mapping[str, float]
BIAS = "(bias)"


@dataclass(frozen=True)
class Model:
    """Fitted weights: ``weights[feature][class]``, the bias under ``BIAS``. ``classes`` in sorted order."""

    classes: tuple[str, ...]
    weights: Mapping[str, Mapping[str, float]]
    l2: float

    def scores(self, features: Features) -> dict[str, float]:
        """The linear score of each class (bias included); features the model does not know count 0."""
        out = dict(self.weights.get(BIAS, {}))
        out = {c: out.get(c, 0.0) for c in self.classes}
        for name, value in features.items():
            row = self.weights.get(name)
            if row and value:
                for c, w in row.items():
                    out[c] += w * value
        return out

    def predict_proba(self, features: Features) -> dict[str, float]:
        """{class: probability}, summing to 1."""
        return _softmax(self.scores(features))

    def predict(self, features: Features) -> str:
        """The most probable class; ties go to the first in ``classes`` order."""
        proba = self.predict_proba(features)
        return max(self.classes, key=lambda c: proba[c])

    def weight_lines(self, top: int | None = None) -> list[str]:
        """``feature class weight`` lines, largest |weight| first (ties by feature, class); ``top`` limits them."""
        rows = sorted(((f, c, w) for f, row in self.weights.items() for c, w in row.items() if w),
                      key=lambda r: (-abs(r[2]), r[0], r[1]))
        return [f"{f:<32} {c:<10} {w:+.3f}" for f, c, w in rows[:top]]

    def to_json(self) -> dict:
        return {"classes": list(self.classes), "l2": self.l2,
                "weights": {f: {c: round(w, 6) for c, w in sorted(row.items())} for f, row in sorted(self.weights.items())}}

    @classmethod
    def from_json(cls, data: Mapping) -> Model:
        """The model ``to_json`` wrote; raises ValueError when the data is not that shape."""
        try:
            classes = tuple(str(c) for c in data["classes"])
            weights = {str(f): {str(c): float(w) for c, w in row.items()} for f, row in data["weights"].items()}
            l2 = float(data["l2"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a logistic model: {exc}") from exc
        unknown = {c for row in weights.values() for c in row} - set(classes)
        if not classes or unknown:
            raise ValueError(f"weights name classes {sorted(unknown)} outside {list(classes)}")
        return cls(classes, weights, l2)


def _softmax(scores: Mapping[str, float]) -> dict[str, float]:
    top = max(scores.values())
    exp = {c: math.exp(s - top) for c, s in scores.items()}
    total = sum(exp.values())
    return {c: e / total for c, e in exp.items()}


def fit(rows: Sequence[Features], labels: Sequence[str], *, l2: float, max_iter: int = 2000,
        tol: float = 1e-6) -> Model:
    """Fit on ``rows`` with class ``labels``; ``l2`` >= 0 is the penalty strength. Raises ValueError for no rows,
    mismatched lengths, a single class or a negative ``l2``. Stops when the gradient's largest component is below
    ``tol`` or after ``max_iter`` steps."""
    if len(rows) != len(labels) or not rows:
        raise ValueError(f"{len(rows)} rows and {len(labels)} labels")
    if l2 < 0:
        raise ValueError(f"l2 must be >= 0, not {l2}")
    classes = tuple(sorted(set(labels)))
    if len(classes) < 2:
        raise ValueError("need at least two classes")
    names = sorted({f for r in rows for f, v in r.items() if v})
    index = {f: i + 1 for i, f in enumerate(names)}  # 0 is the bias
    merged = Counter((tuple(sorted((index[f], float(v)) for f, v in r.items() if v)), classes.index(y))
                     for r, y in zip(rows, labels))
    patterns = [((0, 1.0), *x) for x, _ in merged]
    targets = [y for _, y in merged]
    counts = [n / len(rows) for n in merged.values()]
    n_feat, n_cls = len(names) + 1, len(classes)

    def objective_and_gradient(w: list[list[float]]) -> tuple[float, list[list[float]]]:
        grad = [[0.0] * n_cls for _ in range(n_feat)]
        loss = 0.0
        for x, y, weight in zip(patterns, targets, counts):
            s = [0.0] * n_cls
            for i, v in x:
                wi = w[i]
                for c in range(n_cls):
                    s[c] += wi[c] * v
            top = max(s)
            e = [math.exp(t - top) for t in s]
            z = sum(e)
            loss += weight * (math.log(z) + top - s[y])
            residual = [weight * ei / z for ei in e]
            residual[y] -= weight
            for i, v in x:
                gi = grad[i]
                for c in range(n_cls):
                    gi[c] += residual[c] * v
        for i in range(1, n_feat):
            for c in range(n_cls):
                loss += 0.5 * l2 * w[i][c] ** 2
                grad[i][c] += l2 * w[i][c]
        return loss, grad

    w = [[0.0] * n_cls for _ in range(n_feat)]
    ahead = [row[:] for row in w]
    previous = [row[:] for row in w]
    momentum, step = 1.0, 1.0
    loss_w = objective_and_gradient(w)[0]
    for _ in range(max_iter):
        loss_a, grad = objective_and_gradient(ahead)
        if max(abs(g) for row in grad for g in row) < tol:
            w = ahead
            break
        squared = sum(g * g for row in grad for g in row)
        while True:  # backtracking: the step must lower the objective at the look-ahead point enough
            trial = [[a - step * g for a, g in zip(ra, rg)] for ra, rg in zip(ahead, grad)]
            loss_t = objective_and_gradient(trial)[0]
            if loss_t <= loss_a - 0.5 * step * squared or step < 1e-12:
                break
            step *= 0.5
        if loss_t > loss_w:  # momentum overshot: restart from the current point
            momentum, ahead = 1.0, [row[:] for row in w]
            continue
        previous, w, loss_w = w, trial, loss_t
        following = (1 + math.sqrt(1 + 4 * momentum * momentum)) / 2
        beta = (momentum - 1) / following
        momentum = following
        ahead = [[a + beta * (a - b) for a, b in zip(ra, rb)] for ra, rb in zip(w, previous)]
        step *= 1.25  # let the step grow back after a backtrack
    weights = {BIAS if i == 0 else names[i - 1]: {c: w[i][k] for k, c in enumerate(classes)} for i in range(n_feat)}
    return Model(classes, weights, l2)
