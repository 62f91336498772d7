"""The semantic stage's model loading and encoding, with a tiny model built here (tests/semantic_model.py) and
run by the real onnxruntime and tokenizers."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

import semantic_model
from monitor.errors import ConfigError
from monitor.reading import relevance
from monitor.semantic import scoring
from monitor.semantic.encoder import Encoder
from monitor.semantic.source import file_sha256, locate


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return semantic_model.build(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def encoder(model_dir):
    return Encoder(locate(str(model_dir), base=model_dir.parent))


def test_a_vector_is_the_mean_over_the_real_tokens_normalised(encoder):
    for text in ("acme will sign the merger", "rain in the north", "football"):
        np.testing.assert_allclose(encoder.encode([text])[0], semantic_model.expected_vector(text), atol=1e-6)
    assert encoder.dim == semantic_model.DIM


def test_a_batch_gives_each_text_the_vector_it_gets_alone(model_dir):
    texts = ["acme", "acme and globex sealed their pact on the merger", "storm", "the final of the cup"]
    batched = Encoder(locate(str(model_dir), base=model_dir), batch_size=4).encode(texts)
    alone = np.vstack([Encoder(locate(str(model_dir), base=model_dir)).encode([t]) for t in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-6)


def test_a_paraphrase_is_near_and_another_topic_far(encoder):
    claim, paraphrase, other = encoder.encode(["acme will sign the merger", "both firms seal their union",
                                               "storm in the north"])
    assert claim @ paraphrase > 0.9 and abs(claim @ other) < 0.1


def test_texts_are_cut_at_max_tokens(model_dir):
    short = Encoder(locate(str(model_dir), base=model_dir), max_tokens=3)
    np.testing.assert_allclose(short.encode(["acme signs the storm rain weather"])[0],
                               semantic_model.expected_vector("acme signs the"), atol=1e-6)


def test_the_cache_is_bounded_and_answers_stay_right(model_dir):
    small = Encoder(locate(str(model_dir), base=model_dir), cache_size=2, batch_size=2)
    texts = ["acme", "storm", "football", "the merger", "rain in the north"]
    out = small.encode(texts)
    assert len(small._cache) <= 2
    for text, vector in zip(texts, out):
        np.testing.assert_allclose(vector, semantic_model.expected_vector(text), atol=1e-6)


def test_a_model_without_token_types_is_fed_only_its_inputs(tmp_path):
    folder = semantic_model.build(tmp_path / "m", with_token_types=False)
    vector = Encoder(locate(str(folder), base=tmp_path)).encode(["acme"])[0]
    np.testing.assert_allclose(vector, semantic_model.expected_vector("acme"), atol=1e-6)


def test_a_missing_directory_or_file_is_a_clear_problem(tmp_path, model_dir):
    with pytest.raises(ConfigError, match="no model directory at"):
        locate("nowhere", base=tmp_path)
    half = tmp_path / "half"
    half.mkdir()
    (half / "model.onnx").write_bytes((model_dir / "model.onnx").read_bytes())
    with pytest.raises(ConfigError, match="has no tokenizer.json"):
        locate("half", base=tmp_path)


def test_a_pinned_sha256_is_checked(model_dir):
    digest = file_sha256(model_dir / "model.onnx")
    assert locate(str(model_dir), base=model_dir, sha256=digest.upper()).model == model_dir / "model.onnx"
    with pytest.raises(ConfigError, match="not the pinned"):
        locate(str(model_dir), base=model_dir, sha256="0" * 64)


def test_a_hub_name_needs_a_pinned_commit_and_an_unreachable_hub_is_a_clear_problem(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="pin semantic.revision"):
        locate("sentence-transformers/all-MiniLM-L6-v2", base=tmp_path)
    with pytest.raises(ConfigError, match="must be a commit"):
        locate("sentence-transformers/all-MiniLM-L6-v2", base=tmp_path, revision="main")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # and an empty cache: nothing to find
    with pytest.raises(ConfigError, match="cannot fetch 'sentence-transformers/all-MiniLM-L6-v2' at revision "
                                          "1110a243aaaa from the Hugging Face hub"):
        locate("sentence-transformers/all-MiniLM-L6-v2", base=tmp_path, revision="1110a243aaaa" + "0" * 28,
               cache_dir=tmp_path / "cache")


def test_an_unknown_model_gets_the_default_calibration_marked_as_not_its_own():
    found = scoring.for_model("0" * 64)
    assert not found.shipped and found.name
    # the lexical features, then the cosine and its products with the claim's and the title's sizes
    assert len(found.weights) == len(relevance.FEATURE_WEIGHTS) + 3 and 0 < found.threshold < 100


@pytest.mark.parametrize("module", ["monitor.semantic.judging", "monitor.semantic.stage", "monitor.reading"])
def test_each_module_of_the_stage_imports_first(module):
    """``reading`` and ``semantic.judging`` import each other's parts: either may be imported first."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


MINILM = "all-MiniLM-L6-v2-int8"
REPO = Path(__file__).resolve().parents[1]
SHIPPED_CLAIM = "Iraq and the United States sign the agreement on the withdrawal of the US-led coalition"


@pytest.mark.corpus
def test_minilm_finds_the_claim_in_other_words_and_misses_the_other_parties_agreement():
    """With the shipped model and calibration, the shipped claim's aliases and no require_any gate: the paraphrase
    and the plain report pass the fitted threshold, the agreement between other parties and unrelated news do not.
    (The aliases matter: without them "Baghdad and Washington" are parties other than the claim's.)"""
    from conftest import shared_path
    from monitor.config.settings import SemanticConfig
    from monitor.reading.relevance import prepare_claim
    from monitor.semantic.judging import assess, cosine
    from monitor.semantic.stage import prepare

    rules, warnings = prepare(SemanticConfig(model=str(shared_path("models", MINILM)), base=shared_path()))
    assert not warnings and rules.calibration.name == MINILM
    shipped = tomllib.loads((REPO / "config" / "monitor.toml").read_text(encoding="utf-8"))["claims"][0]
    assert shipped["text"] == SHIPPED_CLAIM
    claim = prepare_claim("c", SHIPPED_CLAIM, aliases=shipped["aliases"])

    def passes(title: str) -> bool:
        return assess(rules, claim, cosine(rules, SHIPPED_CLAIM, title, ""), title, "").failed is None

    niger = "US completes troop withdrawal from Niger under agreement with junta"
    assert passes("Iraq, United States sign deal on coalition withdrawal")
    assert passes("Baghdad and Washington ink pact ending the anti-ISIS coalition mission")
    assert not passes(niger)
    assert not passes("Iraqi parliament passes 2025 budget after months of delay")


def test_a_calibration_fitted_for_other_lexical_features_is_refused_at_load(model_dir, monkeypatch):
    """Should the lexical matcher gain a feature, the shipped weights no longer fit: the load says to refit, where
    a poll would otherwise fail on every story."""
    from monitor.config.settings import SemanticConfig
    from monitor.reading import relevance
    from monitor.semantic.stage import prepare
    monkeypatch.setattr(relevance, "FEATURE_WEIGHTS", (*relevance.FEATURE_WEIGHTS, 0.5))
    with pytest.raises(ConfigError, match="refit it with bench/fit_semantic.py"):
        prepare(SemanticConfig(model=str(model_dir), base=model_dir))
