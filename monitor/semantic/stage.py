"""The semantic stage as the reading workers run it, and as ``runtime.load`` prepares it.

``prepare(settings)`` runs where the config is loaded: it finds the model's files (fetching a hub model once),
checks the extra is installed and picks the calibration, without loading the model, so the daemon's own process
never holds it. ``SemanticRules`` is what travels, pickled, to the worker processes with the claims' rules; there
``encoder(rules)`` loads the model once per process and ``Rules`` keeps the claims' vectors once per config load.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.config.settings import SemanticConfig
from monitor.errors import ConfigError
from monitor.semantic import deps, scoring
from monitor.semantic.source import ModelFiles, locate


@dataclass(frozen=True, slots=True)
class SemanticRules:
    """A loadable model, its calibration and the threshold every claim is held to with the stage on."""

    files: ModelFiles
    calibration: scoring.Calibration
    min_score: float
    max_tokens: int = 128

    def score(self, lexical: tuple[float, ...], cosine: float) -> float:
        return self.calibration.score(lexical, cosine)


def prepare(settings: SemanticConfig) -> tuple[SemanticRules, list[str]]:
    """The stage's rules and its warnings; ConfigError when the model cannot be found or the extra is missing."""
    deps.require()
    files = locate(settings.model, base=settings.base, revision=settings.revision, sha256=settings.sha256,
                   cache_dir=settings.cache_dir)
    from monitor.reading.relevance import FEATURE_WEIGHTS  # here: monitor.reading imports this module

    calibration = scoring.for_model(files.sha256)
    if len(calibration.weights) != len(FEATURE_WEIGHTS) + 3:  # the lexical features changed since the fit
        raise ConfigError(f"semantic.model: the calibration of {calibration.name} has {len(calibration.weights)} "
                          f"weights for {len(FEATURE_WEIGHTS) + 3} features; refit it with bench/fit_semantic.py")
    warnings = []
    if not calibration.shipped:
        warnings.append(f"semantic.model: not a model this version was calibrated for; it is scored with the "
                        f"weights of {calibration.name}: measure it with `eval --config` and set semantic.min_score")
    threshold = calibration.threshold if settings.min_score is None else settings.min_score
    return SemanticRules(files, calibration, threshold, settings.max_tokens), warnings


_encoders: dict[tuple[str, int], Any] = {}
_lock = threading.Lock()


def encoder(rules: SemanticRules) -> Any:
    """The ``Encoder`` of this model in this process, loaded on first use and kept (one per worker process)."""
    from monitor.semantic.encoder import Encoder

    key = (str(rules.files.model), rules.max_tokens)
    with _lock:
        found = _encoders.get(key)
        if found is None:
            found = _encoders[key] = Encoder(rules.files, max_tokens=rules.max_tokens)
        return found


def check(rules: SemanticRules) -> int:
    """Load the model and encode one text, as a worker will: its vector size; ConfigError when onnxruntime or
    the tokenizer cannot read the files (``check-config`` runs this; the daemon's own process never does)."""
    try:
        return encoder(rules).dim
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file: onnxruntime's own errors are many
        raise ConfigError(f"semantic.model: cannot load {rules.files.model.parent}: {type(exc).__name__}: "
                          f"{str(exc)[:200]}") from exc


def story_text(title: str, summary: str) -> str:
    """What a story is encoded as: its title and summary (the tokenizer cuts it at max_tokens)."""
    return f"{title}. {summary}" if title and summary else title or summary


def cosines(rules: SemanticRules, claim_vectors: Any, texts: Sequence[str]) -> Any:
    """(len(texts) × claims) cosines of each text with each claim, the texts encoded in one batched call."""
    return encoder(rules).encode(texts) @ claim_vectors.T
