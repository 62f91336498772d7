"""What new stories say about the tracked claims: which claims each one is about (relevance), what it says about
each (verdict), and its headline as grouping compares it. Pure, and picklable: the polling process hands this work
to its parse worker processes (``monitor.feeds.workers.ParsePool.read``), so it runs on another core while the
poll threads fetch and write.
"""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.reading import grouping

from monitor.reading import relevance as match
from monitor.reading.index import ClaimIndex
from monitor.models import Relevance, Story, pickled_by_fields
from monitor.reading.verdict import PreparedVerdict, VerdictResult, judge


@dataclass(frozen=True, slots=True)
class Rules:
    """The claims' prepared relevance and verdict rules, in config order, with the index over them.

    ``token`` names this set of rules (one per config load) and ``blob`` is it pickled, so a worker process is
    sent the rules once and then only the token. The index is built where the reading happens (in the worker,
    on first use), not in the polling process, which only hands the rules over.
    """

    claims: tuple[tuple[match.PreparedClaim, PreparedVerdict], ...]
    token: str = field(init=False, repr=False, compare=False)
    _index: ClaimIndex[int] | None = field(init=False, default=None, repr=False, compare=False)
    _blob: bytes | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "token", uuid.uuid4().hex)

    @property
    def index(self) -> ClaimIndex[int]:
        if self._index is None:  # two threads may both build it: equal indexes, harmless
            object.__setattr__(self, "_index", ClaimIndex(range(len(self.claims)), lambda i: self.claims[i][0]))
        return self._index

    @property
    def blob(self) -> bytes:
        """These rules pickled, made on first use and kept."""
        if self._blob is None:  # two threads may both make it: the same bytes, harmless
            object.__setattr__(self, "_blob", pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
        return self._blob

    def __getstate__(self) -> tuple:
        return self.claims, self.token

    def __setstate__(self, state: tuple) -> None:
        object.__setattr__(self, "claims", state[0])
        object.__setattr__(self, "token", state[1])
        object.__setattr__(self, "_index", None)
        object.__setattr__(self, "_blob", None)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Reading:
    """One story relevant to one claim (``claim``: its position in ``Rules.claims``)."""

    claim: int
    relevance: Relevance
    said: VerdictResult
    headline_key: str


def relevant(rules: Rules, story: Story) -> list[tuple[int, Relevance]]:
    """The claims (positions) this story is relevant to, in config order, with the relevance of each. Only the
    claims the index names as candidates are scored; the others cannot match."""
    found = []
    for position in rules.index.candidates(story.title, story.summary):
        relevance = match.match(rules.claims[position][0], story.title, story.summary)
        if relevance is not None:
            found.append((position, relevance))
    return found


def read(rules: Rules, stories: Sequence[Story]) -> list[list[Reading]]:
    """For each story, in order, its readings: one per claim it is relevant to."""
    out = []
    for story in stories:
        readings = []
        for position, relevance in relevant(rules, story):
            relevance_rules, verdict_rules = rules.claims[position]
            readings.append(Reading(position, relevance, judge(verdict_rules, story.title, story.summary),
                                    grouping.headline_key(match.content_terms(relevance_rules, story.title))))
        out.append(readings)
    return out
