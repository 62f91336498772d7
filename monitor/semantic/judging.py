"""The semantic stage's decision for one claim and one story, with its reasons: the same ``Assessment`` as the
lexical ``relevance.assess``, so that the daemon's reading, ``explain``, ``backtest`` and ``eval`` share it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from monitor.reading.relevance import BELOW_MIN_SCORE, Assessment, PreparedClaim, evidence
from monitor.semantic.stage import SemanticRules, encoder, story_text


def assess(rules: SemanticRules, claim: PreparedClaim, cosine: float, title: str, summary: str) -> Assessment:
    """The calibrated score of the story, and the first check it fails: a gate (``require_any``, ``exclude``),
    then ``rules.min_score``. No shared term is needed: that is what the cosine is for."""
    lexical, found, gate = evidence(claim, title, summary)
    value = rules.score(lexical, cosine)
    failed = gate[0] if gate else BELOW_MIN_SCORE if value < rules.min_score else None
    return Assessment(score=value, matched_terms=tuple(sorted(set(found))), min_score=rules.min_score,
                      failed=failed, phrase=gate[1] if gate else None)


def cosine(rules: SemanticRules, claim_text: str, title: str, summary: str) -> float:
    """The cosine of one claim and one story (for the commands that look at one pair at a time)."""
    vectors = encoder(rules).encode([claim_text, story_text(title, summary)])
    return float(vectors[0] @ vectors[1])


def assess_all(rules: SemanticRules, claim: PreparedClaim, pairs: Iterable[tuple[str, str]], *,
               batch: int = 256) -> Iterator[tuple[Assessment, float]]:
    """``assess`` for each (title, summary) of ``pairs`` in order, with the cosine, the stories encoded ``batch``
    at a time (so a long history costs one model call per batch and bounded memory)."""
    claim_vector = encoder(rules).encode([claim.text])[0]
    chunk: list[tuple[str, str]] = []
    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == batch:
            yield from _assessed(rules, claim, claim_vector, chunk)
            chunk = []
    yield from _assessed(rules, claim, claim_vector, chunk)


def _assessed(rules, claim, claim_vector, chunk):
    if not chunk:
        return
    found = encoder(rules).encode([story_text(t, s) for t, s in chunk]) @ claim_vector
    for (title, summary), value in zip(chunk, found):
        yield assess(rules, claim, float(value), title, summary), float(value)


def pair_cosines(rules: SemanticRules, pairs: Sequence[tuple[str, str]], *, batch: int = 512) -> list[float]:
    """The cosine of each (text, text) pair, every distinct text encoded once, ``batch`` pairs at a time."""
    out: list[float] = []
    for start in range(0, len(pairs), batch):
        chunk = pairs[start:start + batch]
        vectors = encoder(rules).encode([t for pair in chunk for t in pair])
        out += [float(vectors[2 * i] @ vectors[2 * i + 1]) for i in range(len(chunk))]
    return out
