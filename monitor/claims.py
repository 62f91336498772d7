"""The claim state machine: which hits move a claim, when a report is corroborated, when a claim is overdue.

Pure: it takes the claim's current state and the evidence, and returns the transitions; the pipeline stores
them. A claim starts ``pending``. A hit whose verdict is ``confirmed``, ``delayed`` or ``rejected`` moves the
claim to that state once the verdict is corroborated since the claim entered its current state:

- by ``confirm_after_outlets`` independent reports — distinct outlets (publishers, ``monitor.net.outlets``: fifty
  publishers inside one aggregator feed are fifty outlets, two feeds of one publisher one), where near-duplicate
  stories (one story group: wire copy, reprints) count once, so five reprints of one wire story are one report; or
- by any single report from one of the claim's ``trusted_outlets`` (a publisher, or the feed it came through).

A ``pending`` verdict never moves a claim: a story that restates the expectation says nothing new. A claim may
move again later (confirmed → rejected when the deal collapses); each move is a state change with its evidence.
News that arrives late never moves a claim back: a report published before the story that decided the current
state (a "signing postponed" piece polled after the "signed" one) is recorded but is older news.

A transition's alert quotes its strongest supporting report (``Transition.quoted``: highest relevance score,
then the earliest reported, then the smallest story id), not the report that happened to tip it over: with
several outlets required, which one tips it depends on which feed's poll committed first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from monitor.models import Verdict

OVERDUE_STATES = frozenset({Verdict.PENDING, Verdict.DELAYED})


@dataclass(frozen=True, slots=True)
class Evidence:
    """One relevant story as the state machine sees it."""

    story_id: str
    group_id: str
    outlet: str
    verdict: Verdict
    reported_at: datetime  # when the story was published (when it was first seen, if undated)
    score: float = 0.0  # relevance to the claim, 0-100
    feed: str = ""  # the feed it came through: ``trusted_outlets`` may name the feed instead of the publisher


@dataclass(frozen=True, slots=True)
class Policy:
    """How much corroboration a claim asks for."""

    confirm_after_outlets: int = 1
    trusted_outlets: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change, with the hit that decided it and every report that supported it."""

    previous: Verdict
    state: Verdict
    decided_by: Evidence
    supporting: tuple[Evidence, ...]

    @property
    def quoted(self) -> Evidence:
        """The report an alert about this change quotes: the strongest evidence, whatever the commit order."""
        return strongest(self.supporting)


def strongest(reports: Iterable[Evidence]) -> Evidence:
    """The most relevant report; ties go to the earliest reported, then to the smallest story id, so the choice
    depends only on the set of reports, never on their order."""
    return min(reports, key=lambda r: (-r.score, r.reported_at, r.story_id))


def independent_reports(reports: Iterable[Evidence]) -> int:
    """How many independent reports these are: distinct outlets, with one story group counting once."""
    reports = list(reports)
    return min(len({r.outlet for r in reports}), len({r.group_id for r in reports}))


def is_trusted(report: Evidence, policy: Policy) -> bool:
    """Whether the report comes from a trusted outlet: its publisher, or the feed it came through, is named."""
    return report.outlet in policy.trusted_outlets or report.feed in policy.trusted_outlets


def is_corroborated(reports: Sequence[Evidence], policy: Policy) -> bool:
    if any(is_trusted(r, policy) for r in reports):
        return True
    return independent_reports(reports) >= policy.confirm_after_outlets


def advance(state: Verdict, earlier: Sequence[Evidence], new: Sequence[Evidence], policy: Policy, *,
            state_reported_at: datetime | None = None) -> list[Transition]:
    """Apply new hits, in order, to a claim in ``state``.

    ``earlier`` holds the hits recorded since the claim entered ``state``; after a transition only the hits from
    then on count, so moving back to an earlier state needs fresh corroboration. ``state_reported_at`` is when
    the story that decided the current state was reported: an older report cannot move the claim. Returns the
    transitions in order (usually none or one).
    """
    window = list(earlier)
    transitions: list[Transition] = []
    for hit in new:
        if state_reported_at is not None and hit.reported_at < state_reported_at:
            continue  # older news than what set the current state
        window.append(hit)
        if hit.verdict == Verdict.PENDING or hit.verdict == state:
            continue
        supporting = [e for e in window if e.verdict == hit.verdict]
        if is_corroborated(supporting, policy):
            transitions.append(Transition(previous=state, state=hit.verdict, decided_by=hit,
                                          supporting=tuple(supporting)))
            state, state_reported_at = hit.verdict, hit.reported_at
            window = []
    return transitions


def is_overdue(state: Verdict, expect_by: date | None, now: datetime) -> bool:
    """True when the claim was expected by a date that has passed and it is still pending or delayed."""
    return expect_by is not None and now.date() > expect_by and state in OVERDUE_STATES
