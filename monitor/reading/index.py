"""Which claims a story could match, without scoring it against every claim: an inverted index from the terms
and 3-letter prefixes a story can show (``index_postings``, ``story_keys``) to the claim terms they stand for.

Exact, not a heuristic. ``relevance.match`` accepts a story only when it shares a term with the claim and scores
at least the claim's ``min_score``. The index adds up the weight of the claim terms the story could show and drops
the claims that cannot reach their threshold with that much (``ScoreCeiling``), and those whose ``require_any``
gate the story cannot pass (``gate_keys``), so scoring only the candidates finds the same matches as scoring every
claim.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Generic, TypeVar

from monitor.reading.relevance import BIAS, FEATURE_WEIGHTS, FUZZY_MIN_LEN, PreparedClaim
from monitor.reading.text import text_terms

# ---------------------------------------------------------------- keys and bounds


def index_postings(claim: PreparedClaim) -> list[tuple[bool, str, int]]:
    """(fuzzy, key, term position) for every way a story can show one of the claim's terms (``claim.probe``
    order), read against ``story_keys``: a ``match`` needs at least one of them.

    Exact keys are the terms themselves. Story keys are read before aliases apply, so an alias canonical term is
    also posted under the first term of each of its variants (the story shows one whenever aliasing produced the
    canonical term). Fuzzy keys are the 3-letter keys of the terms long enough to match fuzzily; a canonical
    term sharing such a key could be their fuzzy match too, so its variants post those terms as well.
    """
    firsts = _alias_heads(claim)
    by_key: dict[str, list[int]] = {}
    out: list[tuple[bool, str, int]] = []
    for position, (term, _, _, key) in enumerate(claim.probe):
        out.append((False, term, position))
        out += [(False, head, position) for head in firsts.get(term, ())]
        if key:
            out.append((True, key, position))
            by_key.setdefault(key, []).append(position)
    for canon, heads in firsts.items():
        if len(canon) >= FUZZY_MIN_LEN - 1:
            out += [(False, head, position) for head in heads for position in by_key.get(canon[:3], ())]
    return out


def _alias_heads(claim: PreparedClaim) -> dict[str, set[str]]:
    """For each alias canonical term, the first terms of its variants: a story read before aliases apply shows
    one of them whenever aliasing produces the canonical term."""
    firsts: dict[str, set[str]] = {}
    for first, entries in claim.aliases.index.items():
        for _, canon in entries:
            firsts.setdefault(canon, set()).add(first)
    return firsts


def gate_keys(claim: PreparedClaim) -> frozenset[str] | None:
    """Story keys (``story_keys`` terms) of which a story must show at least one to pass the claim's
    ``require_any``, or None when the claim has no such gate. A phrase's first term is in the aliased story
    only if the story shows it or the first term of one of its variants, so a story showing none of these keys
    passes no phrase of the gate."""
    if not claim.require_any or not all(claim.require_any):
        return None  # no gate, or an empty phrase that every story passes
    firsts = _alias_heads(claim)
    return frozenset(key for phrase in claim.require_any for key in (phrase[0], *firsts.get(phrase[0], ())))


def story_keys(title: str, summary: str) -> tuple[set[str], set[str], int]:
    """(terms, prefixes, title size) of a story read before any alias applies, the other half of
    ``index_postings``: its stemmed content terms, the 3-letter keys of those long enough for a fuzzy match, and
    how many terms its title has (its summary's when it has no title), at least the title weight ``score`` sees
    whatever the aliases and weights (each term weighs at most 1, aliasing only merges terms)."""
    title_terms = text_terms(title)
    terms = set(title_terms)
    summary_terms = text_terms(summary) if summary else ()
    terms.update(summary_terms)
    return terms, {t[:3] for t in terms if len(t) >= FUZZY_MIN_LEN - 1}, len(title_terms or summary_terms)


def title_bound(shown: int, title_terms: int) -> float:
    """The most precision and title size add to a score's log-odds (see ``ScoreCeiling``) for a story whose title
    has at most ``title_terms`` terms, when at most ``shown`` claim terms can be found in it.

    The title's weight W is at most ``title_terms`` (a term weighs at most 1; aliasing only merges terms) and the
    found part of it at most min(shown, W). Precision falls and size grows with W, and their weighted sum has a
    single minimum in W, so its largest value is at one end: W = min(shown, title_terms) or W = title_terms.
    """
    w_precision, w_size = FEATURE_WEIGHTS[1], FEATURE_WEIGHTS[4]
    if title_terms <= 0:
        return 0.0
    if w_precision < 0.0 or w_size < 0.0:  # the argument above needs both signs; the plain bound does not
        return max(w_precision, 0.0) + max(w_size * math.log1p(title_terms), 0.0)
    small = min(shown, title_terms)
    return max(w_precision + w_size * math.log1p(small),
               w_precision * small / title_terms + w_size * math.log1p(title_terms))


@lru_cache(maxsize=1024)
def title_bounds(title_terms: int) -> tuple[float, ...]:
    """``title_bound(shown, title_terms)`` for shown = 0 .. max(title_terms, 0), the same floats. Beyond the last
    entry the bound stays at it (only min(shown, title_terms) matters), so ``bounds[min(shown, len(bounds) - 1)]``
    is the bound for any ``shown``. Cached: the claim index needs it for every candidate claim of every story, and
    titles have few distinct sizes."""
    return tuple(title_bound(shown, title_terms) for shown in range(max(title_terms, 0) + 1))


class ScoreCeiling:
    """Whether a story can reach the claim's ``min_score`` at all, from what is known before scoring it: the
    weight and number of the claim terms it could show (exactly or fuzzily) and the size of its title.

    Coverage and evidence grow with the found weight; precision and title size are bounded by ``title_bound``;
    the number flags, the missing-parties share and claim size are taken at whichever value raises the score most. So when ``reachable`` is
    False, ``match`` is None for certain.
    """

    __slots__ = ("_total", "_per_weight", "_per_log", "_short")

    def __init__(self, claim: PreparedClaim) -> None:
        w = FEATURE_WEIGHTS
        self._total = sum(claim.weights)
        # The number flags and the missing-parties share (0 to 1) at whichever end raises the score.
        base = BIAS + w[3] * math.log1p(self._total) + max(w[5], 0.0) + max(w[6], 0.0) + max(w[7], 0.0)
        # score() rounds to 2 decimals: a score a hair under min_score may still be reported as min_score.
        least = (claim.min_score - 0.005) / 100.0
        need = -math.inf if least <= 0.0 else math.inf if least >= 1.0 else math.log(least / (1.0 - least))
        # Slack for floating point: the sums here and in score() add the same numbers in other orders.
        self._short = need - base - 1e-9  # log-odds that the found terms and the title must add
        self._per_weight = max(w[0], 0.0) / self._total  # coverage
        self._per_log = max(w[2], 0.0)  # evidence

    def reaches(self, found_weight: float, title_part: float) -> bool:
        """Whether a story showing claim terms of ``found_weight`` in all, whose precision and title size add at
        most ``title_part`` to the log-odds (``title_bound`` / ``title_bounds``), can reach the threshold."""
        got = found_weight if found_weight < self._total else self._total
        return self._per_weight * got + self._per_log * math.log1p(got) + title_part >= self._short

    def reachable(self, found_weight: float, shown: int, title_terms: int) -> bool:
        """``reaches`` for a story showing ``shown`` claim terms of ``found_weight`` in a title of
        ``title_terms`` terms."""
        return self.reaches(found_weight, title_bound(shown, title_terms))


# ---------------------------------------------------------------- the index

T = TypeVar("T")

_TERM_BITS = 16  # a posting is one int: item position << _TERM_BITS | term position


class ClaimIndex(Generic[T]):
    """Items (claims, or anything carrying a ``PreparedClaim``) indexed by the keys a matching story shows.

    Built once per config load; read-only afterwards, so any number of threads may share it.
    """

    def __init__(self, items: Sequence[T], relevance: Callable[[T], PreparedClaim]) -> None:
        self._items = tuple(items)
        claims = [relevance(item) for item in self._items]
        self._reaches = tuple(ScoreCeiling(claim).reaches for claim in claims)
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
        reaches, items, weights = self._reaches, self._items, self._weights
        out: list[T] = []
        # Sorted, the codes come grouped by item, in item order: each group is one claim's shown terms, summed
        # and tested when the next group starts (the sentinel -1 flushes the last one).
        last, got, shown = -1, 0.0, 0
        for code in (*sorted(codes), -1):
            position = code >> _TERM_BITS
            if position != last:
                if shown and reaches[last](got, bounds[shown if shown < top else top]):
                    out.append(items[last])
                last, got, shown = position, 0.0, 0
            if code >= 0:
                got += weights[code]
                shown += 1
        return out

    def _codes(self, terms: set[str], prefixes: set[str]) -> set[int]:
        """The postings of a story's keys, each once: a claim term shown both exactly and by its prefix, or under
        several alias heads, counts once. A gated claim's postings count only when the story shows one of its
        gate keys: without one, it cannot pass the gate (``gate_keys``)."""
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
