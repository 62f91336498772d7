"""Reading new stories against the claims, locally and in the parse workers (as the pipeline does)."""

from __future__ import annotations

import pytest

from monitor.errors import ParseError
from monitor.reading.relevance import prepare_claim
from monitor.models import Story
from monitor.feeds.workers import ParsePool
from monitor.reading import Rules, read
from monitor.reading.verdict import Verdict, prepare_verdict

from test_relevance import IRAQ_ALIASES, IRAQ_CLAIM

def _story(story_id: str, title: str) -> Story:
    return Story(id=story_id, feed="wire", title=title, summary="")


SIGNED = _story("c1", "Iraq and US sign agreement on withdrawal of US-led coalition")
POSTPONED = _story("d1", "Signing of Iraq-US coalition withdrawal agreement postponed")
BUDGET = _story("n7", "Iraqi parliament passes 2025 budget after months of delay")
GAS = _story("g1", "Turkey and Iraq sign gas export agreement")


def _rules(*claims: tuple[str, str, dict]) -> Rules:
    return Rules(tuple((prepare_claim(cid, text, aliases=aliases), prepare_verdict(text)) for cid, text, aliases
                       in claims))


def test_read_gives_each_story_its_claims_verdicts_and_headline_keys():
    rules = _rules(("gas", "Turkey and Iraq sign a gas export agreement", {}),
                   ("iraq", IRAQ_CLAIM, IRAQ_ALIASES))
    signed, postponed, budget, gas = read(rules, [SIGNED, POSTPONED, BUDGET, GAS])
    assert [(r.claim, r.said.verdict) for r in signed] == [(1, Verdict.CONFIRMED)]
    assert [(r.claim, r.said.verdict) for r in postponed] == [(1, Verdict.DELAYED)]
    assert budget == []
    assert [r.claim for r in gas] == [0]
    assert signed[0].headline_key.startswith("iraq united states sign agreement")


def test_workers_read_with_the_rules_they_are_given_and_follow_a_new_set():
    before = _rules(("iraq", IRAQ_CLAIM, IRAQ_ALIASES))
    after = _rules(("gas", "Turkey and Iraq sign a gas export agreement", {}))  # a reload: other claims
    stories = [SIGNED, GAS]
    with ParsePool(workers=1, budget_seconds=30) as pool:
        assert pool.read(before, stories) == read(before, stories)
        assert pool.read(before, stories) == read(before, stories)  # the second time by token only
        assert pool.read(after, stories) == read(after, stories)
        assert [[r.claim for r in found] for found in pool.read(after, stories)] == [[], [0]]


def test_a_read_past_its_budget_is_a_reading_error_and_the_pool_recovers():
    rules = _rules(("iraq", IRAQ_CLAIM, IRAQ_ALIASES))
    with ParsePool(workers=1, budget_seconds=30) as pool:
        # A fresh worker must start and unpack the rules first: far longer than a tenth of a millisecond.
        with pytest.raises(ParseError, match=r"^reading budget of 0.0001s exceeded$"):
            pool.read(rules, [SIGNED], budget_seconds=0.0001)
        assert pool.read(rules, [SIGNED]) == read(rules, [SIGNED])  # a new worker, sent the rules again
