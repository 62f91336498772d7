"""Group-wise K-fold splitting: every row of one group (a claim, a story set) lands in the same fold, so a model
scored on a fold has never seen that group's rows. Deterministic and seed-free: groups are ordered by the SHA-1 of
their key and dealt round-robin, so the folds hold near-equal numbers of groups and do not change between runs,
machines or Python versions (``hash()`` would, under hash randomisation)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence


def _digest(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def fold_of_groups(groups: Sequence[str], k: int) -> dict[str, int]:
    """{group key: fold number 0..k-1}. Raises ValueError when ``k`` < 2 or there are fewer groups than folds."""
    distinct = sorted(set(groups), key=lambda g: (_digest(g), g))
    if k < 2:
        raise ValueError(f"need at least 2 folds, not {k}")
    if len(distinct) < k:
        raise ValueError(f"{len(distinct)} groups cannot fill {k} folds")
    return {group: i % k for i, group in enumerate(distinct)}


def grouped_folds(groups: Sequence[str], k: int) -> Iterator[tuple[list[int], list[int]]]:
    """For each fold in order, (training row positions, test row positions); ``groups[i]`` is row i's group."""
    fold = fold_of_groups(groups, k)
    for f in range(k):
        test = [i for i, g in enumerate(groups) if fold[g] == f]
        train = [i for i, g in enumerate(groups) if fold[g] != f]
        yield train, test

