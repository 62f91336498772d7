"""The claim index: scoring only its candidates finds exactly what scoring every claim finds, and it prunes."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from monitor.claimindex import ClaimIndex
from monitor.match import (PreparedClaim, ScoreCeiling, index_postings, match, prepare_claim, story_keys, title_bound,
                           title_bounds)

from test_match import IRAQ_ALIASES, IRAQ_CLAIM, SCENARIO

DEV_PAIRS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev_pairs.tsv"


def _index(claims: list[PreparedClaim]) -> ClaimIndex[PreparedClaim]:
    return ClaimIndex(claims, lambda claim: claim)


def _brute_force(claims: list[PreparedClaim], title: str, summary: str) -> list[str]:
    return [c.id for c in claims if match(c, title, summary) is not None]


def _indexed(index: ClaimIndex[PreparedClaim], title: str, summary: str) -> list[str]:
    return [c.id for c in index.candidates(title, summary) if match(c, title, summary) is not None]


@pytest.fixture(scope="module")
def news() -> tuple[list[str], list[str]]:
    """Real claims and headlines: the distinct claims and stories of the labelled pairs (first 4,000 rows)."""
    claims: dict[str, None] = {}
    stories: dict[str, None] = {}
    with DEV_PAIRS.open(encoding="utf-8", newline="") as handle:
        for n, row in enumerate(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)):
            if n >= 4000:
                break
            claims[row["claim"]] = None
            stories[row["story"]] = None
    return list(claims), list(stories)


def test_candidates_find_exactly_what_scoring_every_claim_finds(news: tuple[list[str], list[str]]) -> None:
    texts, stories = news
    rng = random.Random(7)
    claims = []
    for k, text in enumerate(rng.sample(texts, 400)):
        # thresholds across the range, some claims with aliases or a gate, as users configure them
        kwargs: dict = {"min_score": rng.choice([None, 0.0, 20.0, 35.0, 47.0, 60.0, 90.0])}
        if k % 5 == 0:
            kwargs["aliases"] = IRAQ_ALIASES
        if k % 3 == 0:  # a gate on one of the claim's words, or on an alias canonical form and its variants
            words = [w for w in text.split() if len(w) > 3]
            kwargs["require_any"] = [rng.choice(words)] if words and k % 2 else ["united states", "agreement"]
        try:
            claims.append(prepare_claim(f"c{k}", text, **kwargs))
        except ValueError:  # a claim of stop words only
            continue
    claims.append(prepare_claim("iraq", IRAQ_CLAIM, aliases=IRAQ_ALIASES))
    claims.append(prepare_claim("iraq-gated", IRAQ_CLAIM, aliases=IRAQ_ALIASES, require_any=["iraq", "united states"]))
    index = _index(claims)
    scenario = [line for line in SCENARIO.read_text(encoding="utf-8").splitlines() if line.strip()]
    sample = rng.sample(stories, 300) + scenario
    found = 0
    for story in sample:
        title, summary = (story, "") if not story.startswith("{") else _scenario_story(story)
        expected = _brute_force(claims, title, summary)
        assert _indexed(index, title, summary) == expected, title
        found += len(expected)
    assert found > 300  # the sample is not trivially empty


def _by_ceiling(claims: list[PreparedClaim], title: str, summary: str) -> list[str]:
    """The claims whose ScoreCeiling.reachable holds for the claim terms the story could show, one claim at a
    time: what the index computes for all claims at once."""
    terms, prefixes, title_terms = story_keys(title, summary)
    out = []
    for claim in claims:
        shown = sorted({position for fuzzy, key, position in index_postings(claim)
                        if key in (prefixes if fuzzy else terms)})
        weight = 0.0
        for position in shown:
            weight += claim.weights[position]
        if shown and ScoreCeiling(claim).reachable(weight, len(shown), title_terms):
            out.append(claim.id)
    return out


def test_candidates_are_the_claims_the_ceiling_lets_through(news: tuple[list[str], list[str]]) -> None:
    texts, stories = news
    rng = random.Random(11)
    claims = []
    for k, text in enumerate(rng.sample(texts, 300)):
        kwargs: dict = {"min_score": rng.choice([None, 0.0, 20.0, 35.0, 47.0, 60.0, 90.0, 100.0])}
        if k % 4 == 0:
            kwargs["aliases"] = IRAQ_ALIASES
        try:
            claims.append(prepare_claim(f"c{k}", text, **kwargs))
        except ValueError:
            continue
    index = _index(claims)
    for story in rng.sample(stories, 200):
        assert [c.id for c in index.candidates(story, "")] == _by_ceiling(claims, story, ""), story


def test_title_bounds_are_title_bound_for_every_count() -> None:
    for title_terms in range(-1, 40):
        bounds = title_bounds(title_terms)
        assert len(bounds) == max(title_terms, 0) + 1
        for shown in range(0, 60):
            assert bounds[min(shown, len(bounds) - 1)] == title_bound(shown, title_terms)


def _scenario_story(line: str) -> tuple[str, str]:
    record = json.loads(line)
    return record["title"], record.get("summary", "")


def test_index_prunes_most_claims(news: tuple[list[str], list[str]]) -> None:
    texts, stories = news
    claims = []
    for k, text in enumerate(texts[:1000]):
        try:
            claims.append(prepare_claim(f"c{k}", text))
        except ValueError:
            continue
    index = _index(claims)
    sample = stories[:200]
    candidates = sum(len(index.candidates(story, "")) for story in sample)
    assert candidates / len(sample) < 0.05 * len(claims)


def test_canonical_alias_can_be_a_fuzzy_match() -> None:
    # "NGO" becomes the canonical "organization", which fuzzily matches the claim's "organisations": the story
    # shows neither the claim's term nor its prefix before aliases apply, only the variant.
    claim = prepare_claim("ngo", "Organisations march", aliases={"organization": ["NGO"]}, min_score=0)
    assert match(claim, "NGO leaders", "") is not None
    assert _index([claim]).candidates("NGO leaders", "") == [claim]


def test_a_story_sharing_no_claim_term_never_matches() -> None:
    claim = prepare_claim("any", "Iraq signs the withdrawal agreement", min_score=0)
    assert match(claim, "Football results from the weekend league fixtures", "") is None
    assert _index([claim]).candidates("Football results from the weekend league fixtures", "") == []


def test_alias_variants_find_their_claim() -> None:
    claim = prepare_claim("iraq", IRAQ_CLAIM, aliases=IRAQ_ALIASES)
    title = "Baghdad and Washington ink the pullout pact"  # every claim term only through a variant
    assert match(claim, title, "") is not None
    assert _index([claim]).candidates(title, "") == [claim]


def test_a_story_scoring_exactly_the_threshold_is_a_candidate() -> None:
    # The story shows every claim term and nothing else: the ceiling equals the score, up to rounding.
    claim = prepare_claim("c", "baghdad kurdish", idf={"kurdish": 0.9746427277965718}, min_score=44.59)
    assert match(claim, "baghdad", "") is not None
    assert _index([claim]).candidates("baghdad", "") == [claim]
