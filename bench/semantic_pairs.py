"""The labelled pairs as the semantic stage sees them, for bench/fit_semantic.py and bench/match_quality.py.

``load(pairs, model_dir)`` gives, per row of the four macro sets, its set, claim-group half (md5 of the claim: a
claim's rows all fall in one half), label, lexical features (``relevance.evidence``, story = title, summary
empty) and cosine with the model. Vectors are cached under ``~/.cache/news-monitor-bench/`` keyed by the model
file's sha256, so a second run costs no encoding.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from monitor.evaluate import load_rows  # noqa: E402
from monitor.reading.relevance import evidence, prepare_claim  # noqa: E402
from monitor.semantic.encoder import Encoder  # noqa: E402
from monitor.semantic.source import locate  # noqa: E402

MACRO_SETS = ("stsb_headlines", "ecbplus", "checkthat2020", "mrpc")
CACHE = Path.home() / ".cache" / "news-monitor-bench"


@dataclass
class Pairs:
    sets: list[str]
    halves: np.ndarray  # 0 or 1 per row
    labels: np.ndarray
    lexical: np.ndarray  # rows × lexical features
    cosine: np.ndarray
    encode_seconds: float  # 0 when every vector came from the cache
    texts_encoded: int


def half_of(claim: str) -> int:
    return int(hashlib.md5(claim.encode("utf-8")).hexdigest(), 16) % 2


def load(pairs_path: Path, model_dir: Path | None) -> Pairs:
    """The macro sets' labelled rows; cosine 0 everywhere when ``model_dir`` is None."""
    _, rows = load_rows(pairs_path)
    rows = [r for r in rows if r.label is not None and r.set in MACRO_SETS]
    claims = {}
    lexical = []
    for r in rows:
        claim = claims.get(r.claim) or claims.setdefault(r.claim, prepare_claim("eval", r.claim))
        lexical.append(evidence(claim, r.story, "")[0])
    cosine = np.zeros(len(rows))
    seconds, encoded = 0.0, 0
    if model_dir is not None:
        files = locate(str(model_dir), base=Path.cwd())
        vectors, seconds, encoded = _vectors(files, sorted({r.claim for r in rows} | {r.story for r in rows}))
        cosine = np.array([float(vectors[r.claim] @ vectors[r.story]) for r in rows])
    return Pairs([r.set for r in rows], np.array([half_of(r.claim) for r in rows]),
                 np.array([r.label for r in rows]), np.array(lexical), cosine, seconds, encoded)


def _vectors(files, texts: list[str]) -> tuple[dict[str, np.ndarray], float, int]:
    cache = CACHE / f"{files.sha256[:16]}-{hashlib.md5(chr(0).join(texts).encode()).hexdigest()[:12]}.npy"
    if cache.exists():
        matrix, seconds = np.load(cache), 0.0
    else:
        encoder = Encoder(files, cache_size=0)
        start = time.perf_counter()
        matrix = encoder.encode(texts)
        seconds = time.perf_counter() - start
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(cache, matrix)
    return dict(zip(texts, matrix)), seconds, len(texts) if seconds else 0
