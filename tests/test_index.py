"""The claim index: scoring only its candidates finds exactly what scoring every claim finds, and it prunes."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from monitor.reading.index import ClaimIndex, ScoreCeiling, index_postings, story_keys, title_bound, title_bounds
from monitor.reading.relevance import PreparedClaim, match, prepare_claim

from conftest import FIXTURES, OWN_SCENARIO, SHARED_SCENARIO, shared_path
from test_relevance import IRAQ_ALIASES, IRAQ_CLAIM

DEV_PAIRS = shared_path("eval", "dev_pairs.tsv")
OWN_PAIRS = FIXTURES / "labelled_pairs.tsv"


def _index(claims: list[PreparedClaim]) -> ClaimIndex[PreparedClaim]:
    return ClaimIndex(claims, lambda claim: claim)


def _brute_force(claims: list[PreparedClaim], title: str, summary: str) -> list[str]:
    return [c.id for c in claims if match(c, title, summary) is not None]


def _indexed(index: ClaimIndex[PreparedClaim], title: str, summary: str) -> list[str]:
    return [c.id for c in index.candidates(title, summary) if match(c, title, summary) is not None]


def _pairs(path: Path, rows: int) -> tuple[list[str], list[str]]:
    """The distinct claims and stories of the first ``rows`` rows of a labelled TSV file."""
    claims: dict[str, None] = {}
    stories: dict[str, None] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for n, row in enumerate(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)):
            if n >= rows:
                break
            claims[row["claim"]] = None
            stories[row["story"]] = None
    return list(claims), list(stories)


# Words for generated claims and headlines: news vocabulary that overlaps (so claims share terms and stories hit
# several claims), inflections and the alias variants (so fuzzy keys and aliases are exercised), and made-up
# names (so, as in real news, most claims share no rare word with a given story).
_COMMON = ("government minister talks deal agreement signs signed sign withdrawal troops coalition vote votes "
           "parliament approves approved rejects bill law court ruling election wins won loses strike workers "
           "company takeover shares profit recall cars launch launches phone storm floods quake police report "
           "reports officials said new plan plans peace ceasefire border trade tariffs bank rates inflation "
           "Iraq Iraqi Baghdad US Washington American united states deal pact accord pullout ink seal").split()
_SYLLABLES = "ka ro mi tel van dor su pe lin gar bo chi nu ras fen qui lo ta mer vis hal zu".split()


def _generated(rng: random.Random, count: int) -> list[str]:
    names = sorted({(rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES)).title()
                    for _ in range(3000)})
    texts = []
    for _ in range(count):
        words = [rng.choice(names) for _ in range(rng.randint(1, 3))]
        words += [rng.choice(_COMMON) for _ in range(rng.randint(2, 7))]
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts


@pytest.fixture(scope="module", params=["own", pytest.param("shared", marks=pytest.mark.corpus)])
def news(request) -> tuple[list[str], list[str]]:
    """Claims and headlines. ``own``: those of our labelled pairs, and generated ones from the words above;
    ``shared``: the real claims and stories of the shared labelled pairs (first 4,000 rows)."""
    if request.param == "shared":
        return _pairs(DEV_PAIRS, 4000)
    claims, stories = _pairs(OWN_PAIRS, 10_000)
    rng = random.Random(5)
    return claims + _generated(rng, 1200), stories + _generated(rng, 1200)


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
    scenario = [line for path in (OWN_SCENARIO, SHARED_SCENARIO) if path.is_file()
                for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
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
    claim = prepare_claim("c", "baghdad kurdish", idf={"kurdish": 0.97407225}, min_score=44.42)  # raw 44.41500000681
    assert match(claim, "baghdad", "") is not None
    assert _index([claim]).candidates("baghdad", "") == [claim]


def test_the_ceiling_allows_for_the_parties_feature_whatever_its_sign(monkeypatch) -> None:
    """The missing-parties share is taken at the end that raises the score: with a positive weight (a refit could
    give one) a story about other parties scores higher, and the index must still offer its claim."""
    from monitor.reading import index, relevance

    raised = (*relevance.FEATURE_WEIGHTS[:7], 3.0)
    monkeypatch.setattr(relevance, "FEATURE_WEIGHTS", raised)
    monkeypatch.setattr(index, "FEATURE_WEIGHTS", raised)
    claim = prepare_claim("rail", "Kenya and Tanzania will approve the railway plan", min_score=80)
    title = "Ghana and Togo approve railway plan"
    assert match(claim, title, "") is not None  # only the raised parties weight lifts it this high
    assert _index([claim]).candidates(title, "") == [claim]
