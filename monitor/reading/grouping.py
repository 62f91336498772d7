"""Near-duplicate stories: wire copy, reprints and reworded headlines of one report form one story group.

Pure. Two stories about a claim belong to one group when they carry the same verdict, were seen within the
grouping window of each other, and their headlines, read as the claim reads them (``relevance.content_terms``:
stemmed, stop words dropped, aliases applied), are at least ``similarity`` alike by rapidfuzz
``token_set_ratio`` — so "Iraq, United States sign deal on coalition withdrawal" joins "Iraq and US sign
agreement on withdrawal of US-led coalition - reports". A group counts once toward corroboration and raises at
most one alert; outlets that report it later are added to it.

Candidates come from the store's index of recent hits for the claim and verdict, so the cost per new story is
at most two rapidfuzz ``extractOne`` calls over the headlines of the window, done in C (``find_group``).
``similarity`` is the same comparison for one pair, the reference ``find_group`` is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import compress
from operator import not_

from rapidfuzz import fuzz, process

# token_set_ratio rates a headline that is a subset of another at 100; with fewer distinct terms than this,
# "a subset" says little ("Iraq deal"), so short headlines are compared whole with token_sort_ratio.
MIN_TERMS_FOR_SUBSET = 4


def headline_key(terms: Sequence[str]) -> str:
    return " ".join(terms)


# The same stored headlines are compared again at every poll of the window: their size is worked out once.
@lru_cache(maxsize=2048)
def is_short(key: str) -> bool:
    """Whether a headline key has fewer distinct terms than MIN_TERMS_FOR_SUBSET (compared whole, never as a
    subset)."""
    return len(set(key.split())) < MIN_TERMS_FOR_SUBSET


def similarity(a: str, b: str) -> float:
    """0–100 likeness of two headline keys (see the module docstring)."""
    if is_short(a) or is_short(b):
        return fuzz.token_sort_ratio(a, b)
    return fuzz.token_set_ratio(a, b)


class Candidates:
    """The headlines a new story may join, as (group id, headline key) in the order given (stored hits newest
    first, then this poll's), kept apart by size so that ``find_group`` runs each comparison kind as one rapidfuzz
    call in C."""

    __slots__ = ("groups", "every", "long", "long_at", "short", "short_at")

    def __init__(self, candidates: Iterable[tuple[str, str]] = ()) -> None:
        # Built with C-level passes (zip, map, compress): a poll builds one per claim and verdict it hits, over
        # every stored headline of the window.
        pairs = list(candidates)
        groups, every = zip(*pairs) if pairs else ((), ())
        self.groups, self.every = list(groups), list(every)
        short = list(map(is_short, self.every))
        self.short_at = list(compress(range(len(short)), short))  # positions in ``every``
        self.long_at = list(compress(range(len(short)), map(not_, short)))
        self.short = list(compress(self.every, short))
        self.long = list(compress(self.every, map(not_, short)))  # MIN_TERMS_FOR_SUBSET terms or more

    def add(self, group_id: str, terms: str) -> None:
        position = len(self.every)
        self.groups.append(group_id)
        self.every.append(terms)
        if is_short(terms):
            self.short.append(terms)
            self.short_at.append(position)
        else:
            self.long.append(terms)
            self.long_at.append(position)

    def __len__(self) -> int:
        return len(self.every)


def find_group(key: str, candidates: Candidates, threshold: float) -> str | None:
    """The group of the most similar candidate at or above ``threshold`` (the first of equals), or None for a new
    group: the same answer as ``similarity`` against each candidate in turn, in two rapidfuzz calls."""
    if not key or not candidates:
        return None
    if is_short(key):  # every pair has a short side: compared whole
        searches = [(candidates.every, range(len(candidates.every)), fuzz.token_sort_ratio)]
    else:
        searches = [(candidates.short, candidates.short_at, fuzz.token_sort_ratio),
                    (candidates.long, candidates.long_at, fuzz.token_set_ratio)]
    best: tuple[float, int] | None = None  # (score, -position): higher is better, earlier wins a tie
    for choices, positions, scorer in searches:
        if not choices:
            continue
        # The cutoff lets rapidfuzz skip hopeless pairs; the comparison with the threshold is made here, as
        # similarity's callers make it (rapidfuzz's own cutoff test rounds differently near the threshold).
        hit = process.extractOne(key, choices, scorer=scorer, score_cutoff=max(threshold - 0.01, 0.0))
        if hit is not None and hit[1] >= threshold and (best is None or (hit[1], -positions[hit[2]]) > best):
            best = (hit[1], -positions[hit[2]])
    return candidates.groups[-best[1]] if best is not None else None
