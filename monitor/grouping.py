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

from collections.abc import Sequence
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


def find_group(key: str, candidates: Sequence[Candidate], threshold: float) -> str | None:
    """The group of the most similar candidate at or above ``threshold``, or None for a new group."""
    if not key or not candidates:
        return None
    best = process.extractOne(key, [c.terms for c in candidates], scorer=_scorer, score_cutoff=threshold)
    return candidates[best[2]].group_id if best else None


def _scorer(a: str, b: str, *, score_cutoff: float | None = None, **_: object) -> float:
    score = similarity(a, b)
    return score if score_cutoff is None or score >= score_cutoff else 0.0
