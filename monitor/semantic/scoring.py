"""One calibrated 0-100 relevance from the lexical evidence and the cosine of claim and story vectors.

The combined features are the lexical matcher's (``monitor.reading.relevance.evidence``, in ``FEATURE_WEIGHTS``
order), then the cosine, cosine × claim size and cosine × title size (a high cosine says more between two long
texts than between two short ones). A logistic fit over them, per model, with one global threshold, is shipped
in ``calibration.json`` (written by ``bench/fit_semantic.py``, which says how it was fitted and prints the held-out
figures). A model is recognised by the sha256 of its ``model.onnx``; another model is scored with the default
model's weights, which ``runtime.load`` warns about.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
CLAIM_SIZE, TITLE_SIZE = 3, 4  # positions of log(1 + claim weight) and log(1 + title weight) in the lexical features


@dataclass(frozen=True, slots=True)
class Calibration:
    """Logistic weights over ``combined`` features, and the threshold that goes with them."""

    name: str
    weights: tuple[float, ...]
    bias: float
    threshold: float
    shipped: bool = True  # False: the model is not the one these weights were fitted for

    def score(self, lexical: tuple[float, ...], cosine: float) -> float:
        """The 0-100 relevance (2 decimals) of a pair with these lexical features and this cosine."""
        if len(lexical) + 3 != len(self.weights):
            raise ValueError(f"calibration {self.name!r} has {len(self.weights)} weights for "
                             f"{len(lexical) + 3} features: refit with bench/fit_semantic.py")
        z = self.bias + sum(w * f for w, f in zip(self.weights, combined(lexical, cosine)))
        return round(100.0 / (1.0 + math.exp(-z)), 2)


def combined(lexical: tuple[float, ...], cosine: float) -> tuple[float, ...]:
    """The features the calibration weighs: the lexical ones, then the cosine and its products with the sizes."""
    return (*lexical, cosine, cosine * lexical[CLAIM_SIZE], cosine * lexical[TITLE_SIZE])


@cache
def _shipped() -> dict:
    return json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))


def for_model(sha256: str) -> Calibration:
    """The shipped calibration of the model whose ``model.onnx`` has this digest, else the default model's with
    ``shipped`` False."""
    table = _shipped()
    entry = table["models"].get(sha256)
    known = entry is not None
    if entry is None:
        entry = table["models"][table["default"]]
    return Calibration(name=entry["name"], weights=tuple(entry["weights"]), bias=entry["bias"],
                       threshold=entry["threshold"], shipped=known)
