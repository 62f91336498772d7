"""Which claims a story could match, without scoring it against every claim: an inverted index from the terms
and 3-letter prefixes a story can show (``match.index_postings``) to the claim terms they stand for.

Exact, not a heuristic. ``match.match`` accepts a story only when it shares a term with the claim and scores at
least the claim's ``min_score``. The index adds up the weight of the claim terms the story could show and drops
the claims that cannot reach their threshold with that much (``match.ScoreCeiling``), and those whose
``require_any`` gate the story cannot pass (``match.gate_keys``), so scoring only the candidates finds the same
matches as scoring every claim.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from monitor.reading.relevance import PreparedClaim, ScoreCeiling, gate_keys, index_postings, story_keys, title_bounds

T = TypeVar("T")

_TERM_BITS = 16  # a posting is one int: item position << _TERM_BITS | term position


class ClaimIndex(Generic[T]):
    """Items (claims, or anything carrying a ``PreparedClaim``) indexed by the keys a matching story shows.

    Built once per config load; read-only afterwards, so any number of threads may share it.
    """

    def __init__(self, items: Sequence[T], relevance: Callable[[T], PreparedClaim]) -> None:
        self._items = tuple(items)
        claims = [relevance(item) for item in self._items]
        # Per item, ScoreCeiling's constants: candidates() tests them inline, the same sum as ``reachable``.
        self._limits = tuple(ScoreCeiling(claim).limits for claim in claims)
        self._weights: dict[int, float] = {}
        exact: dict[str, set[int]] = {}
        prefix: dict[str, set[int]] = {}
        # A claim with a require_any gate is looked at only when the story shows one of its gate keys (usually
        # a name): its postings are kept apart, with the claim, instead of in the shared term lists.
        gates: dict[str, set[int]] = {}
        gated: dict[int, list[tuple[bool, str, int]]] = {}
        for position, claim in enumerate(claims):
            if len(claim.terms) >= 1 << _TERM_BITS:
                raise ValueError(f"claim {claim.id!r} has too many terms to index ({len(claim.terms)})")
            gate = gate_keys(claim)
            for key in gate or ():
                gates.setdefault(key, set()).add(position)
            for fuzzy, key, term in index_postings(claim):
                code = position << _TERM_BITS | term
                if gate is None:
                    (prefix if fuzzy else exact).setdefault(key, set()).add(code)
                else:
                    gated.setdefault(position, []).append((fuzzy, key, code))
                self._weights[code] = claim.weights[term]
        self._exact = {key: tuple(codes) for key, codes in exact.items()}
        self._prefix = {key: tuple(codes) for key, codes in prefix.items()}
        self._gates = {key: tuple(positions) for key, positions in gates.items()}
        self._gated = {position: tuple(postings) for position, postings in gated.items()}

    def __len__(self) -> int:
        return len(self._items)

    def candidates(self, title: str, summary: str) -> list[T]:
        """The items the story could match, in the order they were given."""
        terms, prefixes, title_terms = story_keys(title, summary)
        codes = self._codes(terms, prefixes)
        bounds = title_bounds(title_terms)
        top = len(bounds) - 1
        limits, items, weights, log1p = self._limits, self._items, self._weights, math.log1p
        out: list[T] = []
        # Sorted, the codes come grouped by item, in item order: each group is one claim's shown terms, summed
        # and tested when the next group starts (the sentinel -1 flushes the last one).
        last, got, shown = -1, 0.0, 0
        for code in (*sorted(codes), -1):
            position = code >> _TERM_BITS
            if position != last:
                if shown:  # ScoreCeiling.reachable, inline: one method call per candidate cost more than the rest
                    total, per_weight, per_log, short = limits[last]
                    if got > total:
                        got = total
                    if per_weight * got + per_log * log1p(got) + bounds[shown if shown < top else top] >= short:
                        out.append(items[last])
                last, got, shown = position, 0.0, 0
            if code >= 0:
                got += weights[code]
                shown += 1
        return out

    def _codes(self, terms: set[str], prefixes: set[str]) -> set[int]:
        """The postings of a story's keys, each once: a claim term shown both exactly and by its prefix, or under
        several alias heads, counts once. A gated claim's postings count only when the story shows one of its
        gate keys: without one, it cannot pass the gate (``match.gate_keys``)."""
        exact, prefix, gates = self._exact, self._prefix, self._gates
        codes: set[int] = set()
        opened: set[int] = set()  # gated claims whose gate the story may pass
        for key in terms:
            if (posted := exact.get(key)) is not None:
                codes.update(posted)
            if (positions := gates.get(key)) is not None:
                opened.update(positions)
        for key in prefixes:
            if (posted := prefix.get(key)) is not None:
                codes.update(posted)
        for position in opened:
            codes.update(code for fuzzy, key, code in self._gated.get(position, ())
                         if key in (prefixes if fuzzy else terms))
        return codes
