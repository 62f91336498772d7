"""The semantic stage in the config, in check-config, and in a real poll: a loopback feed read by the real parse
worker processes, with the tiny model of tests/semantic_model.py."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

import semantic_model
from conftest import REPO, rss, run_cli, utc, write_config
from monitor import reading
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.models import Story
from monitor.pipeline import poll_feed
from monitor.reading import relevance
from monitor.runtime import Context, load
from monitor.semantic import stage
from monitor.semantic.source import file_sha256
from monitor.store import Store

NOW = utc(2026, 11, 27, 12, 0)
CLAIM = {"id": "acme-merger", "text": "Acme will sign the merger with Globex"}
PARAPHRASE = {"guid": "p1", "title": "Both firms seal their union", "link": "https://news.example.com/p1",
              "published": NOW - timedelta(hours=1)}
UNRELATED = {"guid": "u1", "title": "Storm and rain in the north", "link": "https://news.example.com/u1",
             "published": NOW - timedelta(hours=1)}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return semantic_model.build(tmp_path_factory.mktemp("tiny-model"))


def document(feed_url: str = "http://127.0.0.1:9/feed.xml", **semantic) -> dict:
    out = {"monitor": {"database": "monitor.db", "allow_private_networks": True},
           "feeds": [{"name": "wire", "url": feed_url}],
           "claims": [CLAIM],
           "channels": [{"name": "out", "kind": "console"}]}
    if semantic:
        out["semantic"] = semantic
    return out


def problems(tmp_path, doc) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(write_config(tmp_path, doc))
    return caught.value.problems


def test_the_table_is_read_with_paths_against_the_config_folder(tmp_path, model_dir):
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "tiny"
    target.symlink_to(model_dir, target_is_directory=True)
    loaded = load(write_config(tmp_path, document(model="models/tiny", min_score=61.5, max_tokens=64)))
    assert loaded.config.semantic.model == "models/tiny"
    assert loaded.semantic.files.model == (model_dir / "model.onnx").resolve()
    assert (loaded.semantic.min_score, loaded.semantic.max_tokens) == (61.5, 64)
    # The tiny model is none of the shipped ones: it loads, with a warning saying whose weights score it.
    assert any(w.startswith("semantic.model: not a model this version was calibrated for") for w in
               loaded.config.warnings)


def test_bad_values_are_problems_with_their_key(tmp_path, model_dir):
    found = problems(tmp_path, document(model=str(model_dir), revision="main", sha256="abc", min_score=120,
                                        colour="blue"))
    assert any(p.startswith("semantic.colour: unknown key") for p in found)
    assert any(p.startswith("semantic.revision: must be a commit") for p in found)
    assert any(p.startswith("semantic.sha256: must be 64 hex digits") for p in found)
    assert any(p.startswith("semantic.min_score: must be between 0 and 100") for p in found)
    assert any(p.startswith("semantic.model: is required") or "semantic.model" in p
               for p in problems(tmp_path, {**document(), "semantic": {"min_score": 50}}))


def test_a_missing_model_or_a_wrong_hash_stops_the_load(tmp_path, model_dir):
    assert problems(tmp_path, document(model="no-such-dir")) == [
        f"semantic.model: no model directory at {tmp_path / 'no-such-dir'}"]
    wrong = problems(tmp_path, document(model=str(model_dir), sha256="f" * 64))
    assert len(wrong) == 1 and wrong[0].startswith("semantic.sha256:") and "f" * 64 in wrong[0]
    pinned = load(write_config(tmp_path, document(model=str(model_dir),
                                                  sha256=file_sha256(model_dir / "model.onnx"))))
    assert pinned.semantic is not None


def test_check_config_loads_the_model_and_reports_a_corrupt_one(tmp_path, model_dir):
    good = run_cli("check-config", config=write_config(tmp_path, document(model=str(model_dir))))
    assert good.returncode == 0, good.stderr
    assert "OK (1 feed, 1 claim, 1 channel)" in good.stderr + good.stdout
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tokenizer.json").write_bytes((model_dir / "tokenizer.json").read_bytes())
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    bad = run_cli("check-config", config=write_config(tmp_path, document(model=str(broken))))
    assert bad.returncode == 2 and f"semantic.model: cannot load {broken}" in bad.stderr


def test_without_the_extra_one_error_names_the_pip_command(tmp_path, model_dir):
    blocker = tmp_path / "blocker"
    (blocker / "onnxruntime").mkdir(parents=True)
    (blocker / "onnxruntime" / "__init__.py").write_text("raise ImportError('not installed here')\n")
    result = run_cli("check-config", config=write_config(tmp_path, document(model=str(model_dir))),
                     env={"PYTHONPATH": str(blocker)})
    assert result.returncode == 2
    assert ("semantic: the semantic stage needs the optional extra (onnxruntime is not installed): "
            "pip install 'news-monitor[semantic]'") in result.stderr


def test_without_the_table_nothing_of_the_stage_is_imported_and_scores_are_todays(tmp_path):
    path = write_config(tmp_path, document())
    code = (f"import sys; from monitor import runtime, pipeline, reading; from monitor.cli import cli\n"
            f"loaded = runtime.load({str(path)!r}); assert loaded.semantic is None\n"
            f"heavy = [m for m in ('onnxruntime', 'tokenizers', 'huggingface_hub') if m in sys.modules]\n"
            f"assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rules = Context.build(load_config(path)).rules
    assert rules.semantic is None
    stories = [Story(id=s["guid"], feed="wire", title=s["title"], summary="", link=s["link"], published_at=NOW)
               for s in (PARAPHRASE, UNRELATED, {**UNRELATED, "guid": "x", "title": "Acme to sign Globex merger"})]
    prepared = rules.claims[0][0]
    assert [[(r.claim, r.relevance) for r in found] for found in reading.read(rules, stories)] == [
        [(0, m)] if (m := relevance.match(prepared, s.title, s.summary)) else [] for s in stories]
    assert reading.read(rules, stories)[2]  # the one that shares the claim's words matches lexically


def test_the_stage_finds_a_story_in_other_words_and_encodes_only_those_that_can_alert(tmp_path, model_dir):
    loaded = load(write_config(tmp_path, document(model=str(model_dir))))
    rules = loaded.context().rules
    story = {k: Story(id=s["guid"], feed="wire", title=s["title"], summary="", link=s["link"], published_at=NOW)
             for k, s in (("paraphrase", PARAPHRASE), ("unrelated", UNRELATED))}
    assert relevance.match(rules.claims[0][0], PARAPHRASE["title"], "") is None  # no shared word
    found = reading.read(rules, [story["paraphrase"], story["unrelated"]])
    assert [len(f) for f in found] == [1, 0]
    assert found[0][0].relevance.score >= rules.semantic.min_score
    # A story too old to alert is read lexically and never encoded.
    stale = Story(id="s1", feed="wire", title="Acme and Globex pact on the football cup", summary="",
                  link="https://news.example.com/s1", published_at=NOW - timedelta(days=9))
    reading.read(rules, [stale], can_alert=[False])
    assert stage.story_text(stale.title, "") not in stage.encoder(rules.semantic)._cache


def test_a_daemon_poll_with_the_stage_on_alerts_on_the_paraphrase_only(tmp_path, model_dir, httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(rss([PARAPHRASE, UNRELATED]),
                                                              content_type="application/rss+xml")
    loaded = load(write_config(tmp_path, document(httpserver.url_for("/feed.xml"), model=str(model_dir))))
    ctx, store = loaded.context(), Store(loaded.config.database)
    try:
        result = poll_feed(ctx, store, loaded.config.feed("wire"), NOW)
    finally:
        ctx.close()
    assert (result.status, result.new_stories, result.hits) == ("ok", 2, 1)
    assert [h.title for h in store.hits()] == [PARAPHRASE["title"]]


@pytest.fixture
def polled_with_stage(tmp_path, model_dir, httpserver):
    """A config with the stage on and the database a real ``poll-once`` wrote (stories dated by the clock the
    subprocess reads, so that they can alert)."""
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    items = [{**s, "published": now - timedelta(hours=1)} for s in (PARAPHRASE, UNRELATED)]
    httpserver.expect_request("/feed.xml").respond_with_data(rss(items), content_type="application/rss+xml")
    config = write_config(tmp_path, document(httpserver.url_for("/feed.xml"), model=str(model_dir)))
    result = run_cli("poll-once", "--no-deliver", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    return config


def test_explain_shows_the_cosine_beside_the_matched_terms(polled_with_stage):
    hit = run_cli("explain", PARAPHRASE["link"], config=polled_with_stage)
    assert hit.returncode == 0, hit.stderr
    assert "claim acme-merger: score" in hit.stdout and ", cosine 0.9" in hit.stdout
    miss = run_cli("explain", "--json", UNRELATED["link"], config=polled_with_stage)
    import json
    check = json.loads(miss.stdout)["stories"][0]["checks"][0]
    assert check["failed"] == "min_score" and abs(check["cosine"]) < 0.2 and check["matched_terms"] == []


def test_backtest_scores_with_the_stage(polled_with_stage):
    import json
    result = run_cli("backtest", "acme-merger", "--json", "--near-misses", "3", config=polled_with_stage)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [h["title"] for h in found["hits"]] == [PARAPHRASE["title"]]
    assert [m["title"] for m in found["near_misses"]] == [UNRELATED["title"]]
    assert found["min_score"] == found["near_misses"][0]["min_score"]  # the stage's threshold, not the claim's


def test_eval_with_a_config_scores_with_its_stage(tmp_path, model_dir):
    import json
    rows = tmp_path / "rows.tsv"
    rows.write_text("claim\tstory\tlabel\n"
                    f"{CLAIM['text']}\t{PARAPHRASE['title']}\t1\n"
                    f"{CLAIM['text']}\t{UNRELATED['title']}\t0\n", encoding="utf-8")
    lexical = json.loads(run_cli("eval", str(rows), "--json", config=write_config(tmp_path, document())).stdout)
    config = write_config(tmp_path, document(model=str(model_dir)))
    semantic = run_cli("eval", str(rows), "--json", config=config)
    assert semantic.returncode == 0, semantic.stderr
    report = json.loads(semantic.stdout)
    assert (lexical["scorer"], lexical["macro"]["f1"]) == ("lexical", 0.0)  # the paraphrase shares no word
    assert report["scorer"] == "semantic (all-MiniLM-L6-v2-int8)" and report["macro"]["f1"] == 1.0
    assert "semantic (all-MiniLM-L6-v2-int8)" in run_cli("eval", str(rows), config=config).stdout


def test_a_worker_under_a_tight_parse_memory_limit_still_loads_the_model(tmp_path, model_dir):
    """A parse worker's address space is capped for parsing; loading onnxruntime needs more, which the worker
    grants itself when it is handed rules with a model (150 MiB: too little for onnxruntime alone)."""
    from monitor.feeds.workers import ParsePool
    loaded = load(write_config(tmp_path, document(model=str(model_dir))))
    rules = loaded.context().rules
    story = Story(id="p1", feed="wire", title=PARAPHRASE["title"], summary="", link=PARAPHRASE["link"],
                  published_at=NOW)
    with ParsePool(workers=1, memory_limit_bytes=150 * 1024 * 1024) as pool:
        assert [len(found) for found in pool.read(rules, [story], budget_seconds=60)] == [1]


def test_loading_the_model_does_not_count_against_a_reads_budget(tmp_path, model_dir):
    """The first read a worker does with a model loads onnxruntime and the model; a budget sized for reading
    stories alone must not kill it for that (it would, again, at every poll)."""
    from monitor.feeds.workers import ParsePool
    rules = load(write_config(tmp_path, document(model=str(model_dir)))).context().rules
    story = Story(id="p1", feed="wire", title=PARAPHRASE["title"], summary="", link=PARAPHRASE["link"],
                  published_at=NOW)
    with ParsePool(workers=1) as pool:
        assert [len(found) for found in pool.read(rules, [story], budget_seconds=0.05)] == [1]
