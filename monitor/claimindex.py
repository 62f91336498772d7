"""Which claims a story could match, without scoring it against every claim: an inverted index from the terms
and 3-letter prefixes a story can show (``match.index_postings``) to the claim terms they stand for.

Exact, not a heuristic. ``match.match`` accepts a story only when it shares a term with the claim and scores at
least the claim's ``min_score``. The index adds up the weight of the claim terms the story could show and drops
the claims that cannot reach their threshold with that much (``match.ScoreCeiling``), so scoring only the
candidates finds the same matches as scoring every claim.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from .match import PreparedClaim, ScoreCeiling, index_postings, story_keys

T = TypeVar("T")

_TERM_BITS = 16  # a posting is one int: item position << _TERM_BITS | term position


class ClaimIndex(Generic[T]):
    """Items (claims, or anything carrying a ``PreparedClaim``) indexed by the keys a matching story shows.

    Built once per config load; read-only afterwards, so any number of threads may share it.
    """

    def __init__(self, items: Sequence[T], relevance: Callable[[T], PreparedClaim]) -> None:
        self._items = tuple(items)
        claims = [relevance(item) for item in self._items]
        self._ceilings = tuple(ScoreCeiling(claim) for claim in claims)
        self._weights: dict[int, float] = {}
        exact: dict[str, set[int]] = {}
        prefix: dict[str, set[int]] = {}
        for position, claim in enumerate(claims):
            if len(claim.terms) >= 1 << _TERM_BITS:
                raise ValueError(f"claim {claim.id!r} has too many terms to index ({len(claim.terms)})")
            for fuzzy, key, term in index_postings(claim):
                code = position << _TERM_BITS | term
                (prefix if fuzzy else exact).setdefault(key, set()).add(code)
                self._weights[code] = claim.weights[term]
        self._exact = {key: tuple(codes) for key, codes in exact.items()}
        self._prefix = {key: tuple(codes) for key, codes in prefix.items()}

    def __len__(self) -> int:
        return len(self._items)

    def candidates(self, title: str, summary: str) -> list[T]:
        """The items the story could match, in the order they were given."""
        terms, prefixes, title_terms = story_keys(title, summary)
        codes: list[int] = []
        for key in terms:
            codes.extend(self._exact.get(key, ()))
        for key in prefixes:
            codes.extend(self._prefix.get(key, ()))
        found: dict[int, float] = {}  # item position -> weight of the claim terms the story may show
        shown: dict[int, int] = {}  # item position -> how many
        weights = self._weights
        for code in set(codes):  # a claim term shown both exactly and by its prefix counts once
            position = code >> _TERM_BITS
            found[position] = found.get(position, 0.0) + weights[code]
            shown[position] = shown.get(position, 0) + 1
        ceilings = self._ceilings
        return [self._items[p] for p in sorted(found) if ceilings[p].reachable(found[p], shown[p], title_terms)]
