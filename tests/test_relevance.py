"""Relevance matching: aliases, gates, score ordering, and the Iraq–US signing scenarios."""

from __future__ import annotations

import pytest
from conftest import scenario_story_params

from monitor.reading.relevance import (DEFAULT_MIN_SCORE, PreparedClaim, _features, _story, assess, match,
                                      prepare_claim, score)
from monitor.models import Relevance

IRAQ_CLAIM = "Iraq and the United States sign the agreement on the withdrawal of the US-led coalition"
# The aliases a user tracking this claim would configure (also documented for config/monitor.toml).
IRAQ_ALIASES = {
    "united states": ["US", "U.S.", "USA", "Washington", "American", "الولايات المتحدة", "واشنطن"],
    "iraq": ["Iraqi", "Baghdad", "العراق", "بغداد"],
    "agreement": ["deal", "accord", "pact", "اتفاق", "اتفاقية"],
    "coalition": ["التحالف"],
    "withdrawal": ["withdraw", "pullout", "انسحاب"],
    "sign": ["ink", "seal", "وقع", "يوقع"],
}
PARTIES = 7  # position of the missing-parties share among relevance._features
US_ALIASES = {"united states": ["US", "U.S.", "Washington"], "iraq": ["Iraqi", "Baghdad"]}


US_CLAIM = prepare_claim("us", "The United States withdraws troops", aliases=US_ALIASES)


@pytest.mark.parametrize(
    ("title", "has_us"),
    [
        ("US troops pull out", True),
        ("U.S. troops pull out", True),
        ("Washington pulls out its troops", True),
        ("The united states of the region", True),  # the canonical form in any case
        ("Officials told us the troops will stay", False),  # the pronoun
        ("Let us know: troops stay", False),
        ("LET US KNOW WHEN TROOPS LEAVE", False),  # all-caps text: case says nothing, "US" read as the pronoun
        ("Bus drivers strike", False),  # whole words only
    ],
)
def test_alias_canonicalisation(title: str, has_us: bool) -> None:
    assert ("united states" in score(US_CLAIM, title, "").matched_terms) is has_us


def test_aliases_replace_phrases_and_inflections() -> None:
    claim = prepare_claim("c", "Iraq signs the agreement", aliases={"agreement": ["deal", "security pact"]})
    assert score(claim, "Baghdad inks deals", "").matched_terms == ("agreement",)
    assert score(claim, "Iraq agrees a security pact", "").matched_terms == ("agreement", "iraq")
    assert "agreement" not in score(claim, "Iraq pact with security firm", "").matched_terms
    # matched_terms name the canonical form even where the claim itself used a variant
    claim = prepare_claim("c", "Iraq signs deals", aliases={"agreement": ["deal"]})
    assert "agreement" in score(claim, "Iraq signs accord and agreement", "").matched_terms


@pytest.mark.parametrize(
    ("title", "summary", "relevant"),
    [
        ("Iraq and US sign withdrawal agreement", "", True),
        ("Baghdad and Washington sign withdrawal agreement", "", True),  # require_any via an alias
        ("US and Jordan sign withdrawal agreement", "", False),  # require_any fails, however high the score
        ("US and Jordan sign withdrawal agreement", "The deal covers bases in Iraq too.", True),  # summary counts
        ("Iraq and US sign withdrawal agreement in Niger", "", False),  # excluded term
    ],
)
def test_gates(title: str, summary: str, relevant: bool) -> None:
    claim = prepare_claim("c", "Iraq and the US sign the withdrawal agreement", aliases=US_ALIASES,
                          require_any=["iraq"], exclude=["Niger"], min_score=0)
    assert (match(claim, title, summary) is not None) is relevant


@pytest.mark.parametrize(
    ("title", "failed", "phrase"),
    [
        ("Iraq and US sign withdrawal agreement", None, None),
        ("US and Jordan sign withdrawal agreement", "require_any", None),  # checked first: Niger is absent anyway
        ("Iraq and US sign withdrawal agreement in Niger and Mali", "exclude", 1),  # the phrase that stopped it
        ("France wins the World Cup final", "require_any", None),
        ("Iraqi football team beats Jordan", "min_score", None),
    ],
)
def test_assess_says_which_check_failed_and_agrees_with_match(title: str, failed: str | None,
                                                              phrase: int | None) -> None:
    claim = prepare_claim("c", "Iraq and the US sign the withdrawal agreement", aliases=US_ALIASES,
                          require_any=["iraq"], exclude=["Chad", "Mali"])
    found = assess(claim, title, "")
    assert (found.failed, found.phrase) == (failed, phrase)
    assert found.score == score(claim, title, "").score and found.min_score == DEFAULT_MIN_SCORE
    assert found.relevance == match(claim, title, "")


def test_assess_names_a_story_that_shares_no_term() -> None:
    claim = prepare_claim("c", "Acme and Globex sign the merger", min_score=0)
    found = assess(claim, "Weather turns cold in the north", "")
    assert found.failed == "no_shared_term" and found.matched_terms == ()
    assert match(claim, "Weather turns cold in the north", "") is None


def test_gates_do_not_change_score() -> None:
    gated = prepare_claim("c", "Iraq and the US sign the agreement", require_any=["Jordan"], exclude=["Iraq"])
    plain = prepare_claim("c", "Iraq and the US sign the agreement")
    assert score(gated, "Iraq and US sign agreement", "") == score(plain, "Iraq and US sign agreement", "")
    assert match(gated, "Iraq and US sign agreement", "") is None


@pytest.mark.parametrize(
    ("claim", "paraphrase", "unrelated"),
    [
        (IRAQ_CLAIM, "Iraq, United States sign deal on withdrawal of coalition troops",
         "Iraq signs energy deal with French company"),
        ("Germany raises its minimum wage to 15 euros", "German minimum wage raised to 15 euros an hour",
         "Germany's football team wins friendly in France"),
        ("Tesla recalls 2 million vehicles over Autopilot flaw", "Tesla recalling 2 million cars to fix Autopilot",
         "Ford recalls 500,000 trucks over brake problem"),
        ("Earthquake of magnitude 7.1 strikes southern Mexico", "A 7.1-magnitude quake hit southern Mexico",
         "Mexico's central bank holds interest rates"),
    ],
)
def test_paraphrase_scores_above_unrelated(claim: str, paraphrase: str, unrelated: str) -> None:
    prepared = prepare_claim("c", claim)
    good, bad = score(prepared, paraphrase, ""), score(prepared, unrelated, "")
    assert good.score > bad.score
    assert good.score >= DEFAULT_MIN_SCORE > bad.score


def test_score_is_bounded_and_terms_sorted() -> None:
    claim = prepare_claim("c", "Iraq and the US sign the agreement", aliases=US_ALIASES)
    exact = score(claim, "Iraq and the US sign the agreement", "")
    assert 0 <= score(claim, "Weather: sunny", "").score < exact.score <= 100
    assert exact.matched_terms == ("agreement", "iraq", "sign", "united states")
    assert score(claim, "", "") == Relevance(score=score(claim, "", "").score, matched_terms=())


def test_prepare_claim_defaults_and_override() -> None:
    assert prepare_claim("c", "Iraq signs").min_score == DEFAULT_MIN_SCORE
    strict = prepare_claim("c", "Iraq signs the agreement", min_score=99.5)
    assert isinstance(strict, PreparedClaim) and strict.min_score == 99.5
    assert match(strict, "Iraq signs agreement with TotalEnergies for gas", "") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": "the of and"},
        {"text": "Iraq signs", "require_any": ["the"]},
        {"text": "Iraq signs", "exclude": ["..."]},
        {"text": "Iraq signs", "aliases": {"iraq": ["of"]}},
        {"text": "Iraq signs", "min_score": 101},
        {"text": "Iraq signs", "aliases": {"united states": "US"}},  # one string, not a list
    ],
)
def test_prepare_claim_rejects_what_cannot_work(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        prepare_claim("c", **kwargs)


@pytest.mark.parametrize("story", scenario_story_params())
def test_iraq_signing_scenario(story: dict) -> None:
    """Every relevant story of the signing timeline hits, through Iraq; every look-alike misses."""
    claim = prepare_claim("iraq-us-withdrawal", IRAQ_CLAIM, aliases=IRAQ_ALIASES, require_any=["iraq"])
    relevance = match(claim, story["title"], story["summary"])
    if story["expected"] == "unrelated":
        assert relevance is None, score(claim, story["title"], story["summary"])
    else:
        assert relevance is not None, score(claim, story["title"], story["summary"])
        assert "iraq" in relevance.matched_terms


def test_word_weights_and_injected_idf() -> None:
    plain = prepare_claim("c", "Officials said Iraq signs the withdrawal agreement")
    weights = dict(zip(plain.terms, plain.weights))
    assert weights["said"] < weights["agreement"] < weights["withdrawal"] == 1.0  # everyday words count less
    tuned = prepare_claim("c", plain.text, idf={"withdrawal": 0.1, "Iraq": 1.0})
    assert dict(zip(tuned.terms, tuned.weights))["withdrawal"] == 0.1
    assert dict(zip(tuned.terms, tuned.weights))["said"] == weights["said"]  # unlisted words keep theirs
    title = "Iraq signs agreement"
    assert score(tuned, title, "").matched_terms == score(plain, title, "").matched_terms
    assert score(tuned, title, "").score != score(plain, title, "").score


# ---------------------------------------------------------------- the claim's parties

RAIL_CLAIM = "Kenya and Tanzania will approve the railway plan"


def test_a_story_about_other_parties_doing_the_same_misses_without_a_gate() -> None:
    """No require_any: naming other countries and none of the claim's costs the story the match."""
    claim = prepare_claim("rail", RAIL_CLAIM)
    assert match(claim, "Ghana and Togo approve railway plan", "") is None
    assert match(claim, "Kenya and Tanzania approve railway plan", "") is not None


@pytest.mark.parametrize(
    "title",
    [
        "Ghana, Kenya and Tanzania approve railway plan",  # the claim's parties, and another one
        "Kenyan and Tanzanian ministers approve railway plan",  # the parties in another form
        "Railway plan approved",  # no party named at all: nothing says it is about others
    ],
)
def test_a_story_naming_the_claims_parties_loses_nothing_for_them(title: str) -> None:
    claim = prepare_claim("rail", RAIL_CLAIM)
    feats, _ = _features(claim, _story(claim.aliases, claim.weigher, title, ""))
    assert feats[PARTIES] == 0.0


def test_the_parties_are_the_claims_names_and_name_aliases() -> None:
    claim = prepare_claim("c", IRAQ_CLAIM, aliases=IRAQ_ALIASES)
    assert claim.parties == {"iraq", "united states"}  # not "agreement", whose variants are everyday words
    lowercase = prepare_claim("c", "iraq signs the withdrawal deal", aliases=IRAQ_ALIASES)
    assert lowercase.parties == {"iraq"}  # an alias with a capitalised variant is a name however it is written


def test_a_story_missing_some_parties_and_naming_others_loses_in_proportion() -> None:
    claim = prepare_claim("c", IRAQ_CLAIM, aliases=IRAQ_ALIASES)
    half, _ = _features(claim, _story(claim.aliases, claim.weigher, "US troops leave Niger", ""))
    none, _ = _features(claim, _story(claim.aliases, claim.weigher, "French troops leave Niger", ""))
    assert half[PARTIES] == pytest.approx(0.5) and none[PARTIES] == 1.0


@pytest.mark.parametrize("story", scenario_story_params(lambda s: s["expected"] == "unrelated"))
def test_iraq_signing_look_alikes_miss_without_require_any(story: dict) -> None:
    """The parties do the gate's work: every look-alike of the timeline misses with no require_any at all."""
    claim = prepare_claim("iraq-us-withdrawal", IRAQ_CLAIM, aliases=IRAQ_ALIASES)
    assert match(claim, story["title"], story["summary"]) is None, score(claim, story["title"], story["summary"])
