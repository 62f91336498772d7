"""Near-duplicate stories: wire copy, reprints and reworded headlines of one report form one story group.

Pure. Two stories about a claim belong to one group when they carry the same verdict, were seen within the
grouping window of each other, and their headlines, read as the claim reads them (``match.content_terms``:
stemmed, stop words dropped, aliases applied), are at least ``similarity`` alike by rapidfuzz
``token_set_ratio`` — so "Iraq, United States sign deal on coalition withdrawal" joins "Iraq and US sign
agreement on withdrawal of US-led coalition - reports". A group counts once toward corroboration and raises at
most one alert; outlets that report it later are added to it.

Candidates come from the store's index of recent hits for the claim and verdict, so the cost per new story is
one rapidfuzz ``extractOne`` over the headlines of the window (a few hundred at most), done in C.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

# token_set_ratio rates a headline that is a subset of another at 100; with fewer distinct terms than this,
# "a subset" says little ("Iraq deal"), so short headlines are compared whole with token_sort_ratio.
MIN_TERMS_FOR_SUBSET = 4


@dataclass(frozen=True, slots=True)
class Candidate:
    group_id: str
    terms: str  # content terms of the headline, space-separated


def headline_key(terms: Sequence[str]) -> str:
    return " ".join(terms)


def similarity(a: str, b: str) -> float:
    """0–100 likeness of two headline keys (see the module docstring)."""
    if min(len(set(a.split())), len(set(b.split()))) < MIN_TERMS_FOR_SUBSET:
        return fuzz.token_sort_ratio(a, b)
    return fuzz.token_set_ratio(a, b)


class Candidates:
    """The headlines a new story may join, in the order they were given (stored hits newest first, then this
    poll's), kept apart by size so that ``find_group`` runs each comparison kind as one rapidfuzz call in C."""

    __slots__ = ("groups", "every", "long", "long_at", "short", "short_at")

    def __init__(self, candidates: Iterable[Candidate] = ()) -> None:
        self.groups: list[str] = []
        self.every: list[str] = []
        self.long: list[str] = []  # MIN_TERMS_FOR_SUBSET terms or more
        self.long_at: list[int] = []  # their positions in ``every``
        self.short: list[str] = []
        self.short_at: list[int] = []
        for candidate in candidates:
            self.add(candidate)

    def add(self, candidate: Candidate) -> None:
        position = len(self.every)
        self.groups.append(candidate.group_id)
        self.every.append(candidate.terms)
        if len(set(candidate.terms.split())) < MIN_TERMS_FOR_SUBSET:
            self.short.append(candidate.terms)
            self.short_at.append(position)
        else:
            self.long.append(candidate.terms)
            self.long_at.append(position)

    def __len__(self) -> int:
        return len(self.every)


def find_group(key: str, candidates: Candidates, threshold: float) -> str | None:
    """The group of the most similar candidate at or above ``threshold`` (the first of equals), or None for a new
    group: the same answer as ``similarity`` against each candidate in turn, in two rapidfuzz calls."""
    if not key or not candidates:
        return None
    if len(set(key.split())) < MIN_TERMS_FOR_SUBSET:  # every pair has a short side: compared whole
        searches = [(candidates.every, range(len(candidates.every)), fuzz.token_sort_ratio)]
    else:
        searches = [(candidates.short, candidates.short_at, fuzz.token_sort_ratio),
                    (candidates.long, candidates.long_at, fuzz.token_set_ratio)]
    best: tuple[float, int] | None = None  # (score, -position): higher is better, earlier wins a tie
    for choices, positions, scorer in searches:
        if not choices:
            continue
        hit = process.extractOne(key, choices, scorer=scorer, score_cutoff=threshold)
        if hit is not None and (best is None or (hit[1], -positions[hit[2]]) > best):
            best = (hit[1], -positions[hit[2]])
    return candidates.groups[-best[1]] if best is not None else None
