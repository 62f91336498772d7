"""The claim state machine and near-duplicate grouping (pure), table-driven."""

from __future__ import annotations

import random

from datetime import date, timedelta

import pytest

from conftest import utc
from monitor.reading import grouping
from monitor.claims import Evidence, Policy, advance, independent_reports, is_overdue
from monitor.models import Verdict

C, D, R, P = Verdict.CONFIRMED, Verdict.DELAYED, Verdict.REJECTED, Verdict.PENDING


T0 = utc(2026, 11, 27)


def ev(story: str, outlet: str, verdict: Verdict, group: str | None = None, hours: float = 0) -> Evidence:
    return Evidence(story_id=story, group_id=group or story, outlet=outlet, verdict=verdict,
                    reported_at=T0 + timedelta(hours=hours))


@pytest.mark.parametrize("reports,expected", [
    ([ev("a", "wire", C)], 1),
    ([ev("a", "wire", C), ev("b", "paper", C)], 2),
    ([ev("a", "wire", C), ev("b", "reprint", C, group="a")], 1),  # wire copy and its reprint: one report
    ([ev("a", "wire", C), ev("b", "wire", C)], 1),  # one outlet twice is still one outlet
    ([ev("a", "x", C), ev("b", "y", C), ev("c", "z", C, group="a")], 2),
])
def test_independent_reports(reports, expected):
    assert independent_reports(reports) == expected


@pytest.mark.parametrize("state,earlier,new,policy,expected", [
    # A pending verdict never moves a claim.
    (P, [], [ev("a", "w", P), ev("b", "x", P)], Policy(), []),
    # Default policy: one outlet is enough.
    (P, [], [ev("a", "w", D)], Policy(), [(P, D)]),
    # Two outlets required: the first report waits, the second moves it.
    (P, [], [ev("a", "w", C)], Policy(confirm_after_outlets=2), []),
    (P, [ev("a", "w", C)], [ev("b", "x", C)], Policy(confirm_after_outlets=2), [(P, C)]),
    # ... but a reprint of the same story does not count twice.
    (P, [ev("a", "w", C)], [ev("b", "x", C, group="a")], Policy(confirm_after_outlets=2), []),
    # A trusted outlet is enough on its own.
    (P, [], [ev("a", "agency", C)], Policy(confirm_after_outlets=3, trusted_outlets=frozenset({"agency"})),
     [(P, C)]),
    # Already in that state: nothing to announce.
    (C, [], [ev("a", "w", C)], Policy(), []),
    # A later contradiction moves it again.
    (C, [], [ev("a", "w", R)], Policy(), [(C, R)]),
    # Several moves in one batch, in order.
    (P, [], [ev("a", "w", D), ev("b", "x", C), ev("c", "y", P)], Policy(), [(P, D), (D, C)]),
])
def test_advance(state, earlier, new, policy, expected):
    assert [(t.previous, t.state) for t in advance(state, earlier, new, policy)] == expected


def test_a_transition_names_every_supporting_report_and_the_deciding_one():
    earlier = [ev("a", "wire", C), ev("x", "other", P)]
    [change] = advance(P, earlier, [ev("b", "paper", C)], Policy(confirm_after_outlets=2))
    assert change.decided_by.story_id == "b"
    assert [e.story_id for e in change.supporting] == ["a", "b"]


@pytest.mark.parametrize("scores,expected", [
    ({"strong": 92, "weak": 52}, "strong"),
    ({"strong": 70, "weak": 70}, "weak"),  # a tie goes to the earlier report (weak, at hour 0)
])
def test_the_quoted_report_is_the_strongest_whichever_arrives_last(scores, expected):
    policy = Policy(confirm_after_outlets=2)
    weak = Evidence("weak", "weak", "paper", C, T0, score=scores["weak"])
    strong = Evidence("strong", "strong", "wire", C, T0 + timedelta(hours=1), score=scores["strong"])
    for earlier, new in (([weak], [strong]), ([strong], [weak])):
        [change] = advance(P, earlier, new, policy)
        assert change.quoted.story_id == expected


def test_moving_back_needs_fresh_corroboration():
    # Confirmed by two outlets, then rejected; the old confirmations do not count for moving back.
    policy = Policy(confirm_after_outlets=2)
    [to_rejected] = advance(C, [], [ev("r1", "x", R), ev("r2", "y", R)], policy)
    assert to_rejected.state == R
    # The caller passes only the hits since the claim became rejected: one new confirmation is not enough.
    assert advance(R, [], [ev("c9", "z", C)], policy) == []


def test_older_news_arriving_late_does_not_move_the_claim_back():
    # "Signing postponed" (reported at hour 1) is polled after "signed" (hour 5) set the state: old news.
    assert advance(C, [], [ev("d2", "w", D, hours=1)], Policy(), state_reported_at=T0 + timedelta(hours=5)) == []
    # A newer contradiction still moves it.
    [change] = advance(C, [], [ev("r1", "w", R, hours=9)], Policy(), state_reported_at=T0 + timedelta(hours=5))
    assert change.state == R
    # Within one batch, the state set by a newer report is not undone by an older one later in the batch.
    moves = advance(P, [], [ev("c1", "w", C, hours=5), ev("d1", "x", D, hours=1)], Policy())
    assert [(t.previous, t.state) for t in moves] == [(P, C)]


@pytest.mark.parametrize("state,expect_by,today,expected", [
    (P, date(2026, 11, 1), utc(2026, 11, 2), True),
    (D, date(2026, 11, 1), utc(2026, 11, 2), True),
    (C, date(2026, 11, 1), utc(2026, 11, 2), False),
    (R, date(2026, 11, 1), utc(2026, 11, 2), False),
    (P, date(2026, 11, 1), utc(2026, 11, 1, 23, 59), False),  # the expected day itself is not overdue yet
    (P, None, utc(2030, 1, 1), False),
])
def test_is_overdue(state, expect_by, today, expected):
    assert is_overdue(state, expect_by, today) is expected


@pytest.mark.parametrize("a,b,same", [
    ("iraq unitedstates sign agreement withdrawal unitedstates led coalition",
     "iraq unitedstates sign agreement withdrawal unitedstates led coalition report", True),
    ("iraq unitedstates sign agreement withdrawal unitedstates led coalition",
     "iraq unitedstates sign agreement coalition withdrawal", True),
    ("iraq unitedstates sign agreement withdrawal coalition",
     "iraq budget parliament pass month delay", False),
    ("iraq deal", "iraq deal collapse talks fail", False),  # short headlines are compared whole
])
def test_headline_similarity(a, b, same):
    assert (grouping.similarity(a, b) >= 80) is same


def test_find_group_picks_the_most_similar_candidate_above_the_threshold():
    candidates = grouping.Candidates([("g-budget", "iraq parliament pass budget"),
                                      ("g-sign", "iraq unitedstates sign agreement coalition withdrawal")])
    assert grouping.find_group("iraq unitedstates sign coalition withdrawal agreement report", candidates, 80) == "g-sign"
    assert grouping.find_group("turkey kurdistan gas export agreement sign", candidates, 80) is None
    assert grouping.find_group("", candidates, 80) is None


def test_find_group_gives_what_comparing_each_candidate_in_turn_gives():
    # Keys of 1-6 terms from a small vocabulary, each candidate twice: short and long keys, near-duplicates and
    # ties all occur.
    rng = random.Random(3)
    words = "iraq us sign deal coalition withdrawal talks delay budget vote gas export troops base".split()
    keys = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 6))) for _ in range(400)]
    for start in range(0, 400, 40):
        pool = [(f"g{start + i}", k) for i, k in enumerate(keys[start:start + 30] * 2)]
        candidates = grouping.Candidates(pool)
        for key in keys[start + 30:start + 40]:
            scored = [(grouping.similarity(key, terms), -i) for i, (_, terms) in enumerate(pool)]
            best = max(scored)
            expected = pool[-best[1]][0] if best[0] >= 80 else None
            assert grouping.find_group(key, candidates, 80) == expected, key


def test_find_group_compares_with_the_threshold_as_similarity_does():
    key, other = "troop coalit talk", "sign ab deal coalit"
    threshold = grouping.similarity(key, other)  # 55.55…: rapidfuzz's own cutoff test rounds it away
    assert grouping.find_group(key, grouping.Candidates([("g", other)]), threshold) == "g"
