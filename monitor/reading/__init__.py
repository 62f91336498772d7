"""What new stories say about the tracked claims: which claims each one is about (relevance), what it says about
each (verdict), and its headline as grouping compares it. Pure, and picklable: the polling process hands this work
to its parse worker processes (``monitor.feeds.workers.ParsePool.read``), so it runs on another core while the
poll threads fetch and write.

With the semantic stage on (``Rules.semantic``), relevance is ``monitor.semantic``'s calibrated score over the
lexical evidence and the cosine, for every claim a story's gates let through (a story in other words shares no
term, so the lexical index cannot name the candidates). The worker loads the model once and encodes the claims
once per set of rules, and a read's stories in one batch.
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
from monitor.reading.fulltext import judge_with_article, with_lead
from monitor.reading.verdict import PreparedVerdict, VerdictResult, judge
from monitor.semantic import judging  # a module, not its names: judging imports this package's relevance
from monitor.semantic.stage import SemanticRules, cosines, story_text


@dataclass(frozen=True, slots=True)
class Rules:
    """The claims' prepared relevance and verdict rules, in config order, with the index over them.

    ``token`` names this set of rules (one per config load) and ``blob`` is it pickled, so a worker process is
    sent the rules once and then only the token. The index is built where the reading happens (in the worker,
    on first use), not in the polling process, which only hands the rules over; so are the claims' vectors
    when ``semantic`` is set.
    """

    claims: tuple[tuple[match.PreparedClaim, PreparedVerdict], ...]
    semantic: SemanticRules | None = None
    token: str = field(init=False, repr=False, compare=False)
    _index: ClaimIndex[int] | None = field(init=False, default=None, repr=False, compare=False)
    _vectors: object = field(init=False, default=None, repr=False, compare=False)
    _blob: bytes | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "token", uuid.uuid4().hex)

    @property
    def index(self) -> ClaimIndex[int]:
        if self._index is None:  # two threads may both build it: equal indexes, harmless
            object.__setattr__(self, "_index", ClaimIndex(range(len(self.claims)), lambda i: self.claims[i][0]))
        return self._index

    @property
    def claim_vectors(self):
        """The claims' unit vectors (claims × dim), encoded on first use and kept; only with ``semantic``."""
        if self._vectors is None:
            assert self.semantic is not None
            from monitor.semantic.stage import encoder
            object.__setattr__(self, "_vectors", encoder(self.semantic).encode([c.text for c, _ in self.claims]))
        return self._vectors

    @property
    def blob(self) -> bytes:
        """These rules pickled, made on first use and kept."""
        if self._blob is None:  # two threads may both make it: the same bytes, harmless
            object.__setattr__(self, "_blob", pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
        return self._blob

    def __getstate__(self) -> tuple:
        return self.claims, self.token, self.semantic

    def __setstate__(self, state: tuple) -> None:
        object.__setattr__(self, "claims", state[0])
        object.__setattr__(self, "token", state[1])
        object.__setattr__(self, "semantic", state[2])
        object.__setattr__(self, "_index", None)
        object.__setattr__(self, "_vectors", None)
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
    claims the index names as candidates are scored; the others cannot match. A story with its article's text
    is read over its title, summary and the article's lead (``fulltext.with_lead``)."""
    found = []
    summary = with_lead(story.summary, story.article)
    for position in rules.index.candidates(story.title, summary):
        relevance = match.match(rules.claims[position][0], story.title, summary)
        if relevance is not None:
            found.append((position, relevance))
    return found


def semantically_relevant(rules: Rules, story: Story, cosine_row) -> list[tuple[int, Relevance]]:
    """``relevant`` with the semantic stage: every claim whose gates the story passes, scored with its cosine
    (``cosine_row``: one per claim), kept at ``rules.semantic.min_score`` or more."""
    assert rules.semantic is not None
    found = []
    for position, (claim, _) in enumerate(rules.claims):
        relevance = judging.assess(rules.semantic, claim, float(cosine_row[position]), story.title,
                                   with_lead(story.summary, story.article)).relevance
        if relevance is not None:
            found.append((position, relevance))
    return found


def read(rules: Rules, stories: Sequence[Story], *, can_alert: Sequence[bool] | None = None) -> list[list[Reading]]:
    """For each story, in order, its readings: one per claim it is relevant to.

    With ``rules.semantic``, the stories that ``can_alert`` (all when None) are encoded in one batch and read
    semantically; the others (too old to alert: stored and matched for the record only) lexically, unencoded."""
    semantic_rows: dict[int, int] = {}
    cosine = None
    if rules.semantic is not None and rules.claims:
        semantic_rows = {i: row for row, i in enumerate(
            i for i in range(len(stories)) if can_alert is None or can_alert[i])}
        if semantic_rows:
            cosine = cosines(rules.semantic, rules.claim_vectors,
                             [story_text(stories[i].title, with_lead(stories[i].summary, stories[i].article))
                              for i in semantic_rows])
    out = []
    for i, story in enumerate(stories):
        readings = []
        row = semantic_rows.get(i)
        found = relevant(rules, story) if row is None else semantically_relevant(rules, story, cosine[row])
        for position, relevance in found:
            relevance_rules, verdict_rules = rules.claims[position]
            said = (judge_with_article(verdict_rules, story.title, story.summary, story.article) if story.article
                    else judge(verdict_rules, story.title, story.summary))
            readings.append(Reading(position, relevance, said,
                                    grouping.headline_key(match.content_terms(relevance_rules, story.title))))
        out.append(readings)
    return out
