"""The read commands (status, feeds, hits, claims, outbox, explain, backtest) and ``eval --claim``, run for real
in a subprocess over a database written by a real ``poll-once``: they work while the config is broken in a way
that does not concern them, refuse a database that does not exist, and explain the stories that missed."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import rss, run_cli, shipped_claims, toml_document, write_config

HOOK_ENV = "NM_TEST_READ_HOOK_URL"
SECRET_URL = "http://127.0.0.1:9/hook?token=s3cr3t-t0ken"  # never contacted: poll-once runs with --no-deliver
SIGNED = "Iraq and US sign agreement on withdrawal of US-led coalition"
# No "Iraq" and no other country named (naming Niger would cost it the score as another party): 48 > 43
NIGER = "US completes troop withdrawal under agreement with junta"
FOOTBALL = "Iraqi football team wins"  # passes require_any, scores far below min_score
STORIES = {"signed": SIGNED, "niger": NIGER, "football": FOOTBALL, "cup": "France wins the World Cup"}
READ_COMMANDS = [("status",), ("feeds",), ("hits", "--since", "30d"), ("claims",), ("outbox",),
                 ("explain", "https://wire.example.com/niger"), ("backtest", "iraq-us-coalition-signing")]


def document(httpserver) -> dict:
    return {
        "monitor": {"database": "data/monitor.db", "allow_private_networks": True},
        "feeds": [{"name": "wire", "url": httpserver.url_for("/wire.xml")}],
        "claims": [{**shipped_claims()[0], "channels": ["hook"]},
                   {"id": "niger-pullout", "text": "United States troop withdrawal from Niger", "exclude": ["junta"],
                    "channels": ["hook"]}],
        "channels": [{"name": "hook", "kind": "webhook", "url_env": HOOK_ENV}],
    }


@pytest.fixture
def polled(tmp_path, httpserver):
    """A config and the database one real poll wrote (one hit, three misses)."""
    now = datetime.now(timezone.utc)
    items = [{"guid": key, "title": title, "link": f"https://wire.example.com/{key}",
              "published": now - timedelta(hours=1)} for key, title in STORIES.items()]
    httpserver.expect_request("/wire.xml").respond_with_data(rss(items), content_type="application/rss+xml")
    config = write_config(tmp_path, document(httpserver))
    result = run_cli("poll-once", "--no-deliver", config=config, env={HOOK_ENV: SECRET_URL})
    assert result.returncode == 0, result.stdout + result.stderr
    return config


def without_hook(*args: str, config: Path):
    return run_cli(*args, config=config, env={HOOK_ENV: ""})


# ---------------------------------------------------------------- item 2: a config problem that is not theirs


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_read_commands_run_with_one_warning_when_a_channel_env_var_is_unset(polled, command):
    result = without_hook(*command, config=polled)
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1 and "warning" in warnings[0]
    assert f"channels[0].url_env: environment variable {HOOK_ENV} is not set" in warnings[0]
    assert "s3cr3t" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", [("check-config",), ("poll-once", "--no-deliver"), ("deliver",),
                                     ("test-alert", "hook")], ids=lambda c: c[0])
def test_commands_that_act_still_refuse_the_broken_config(polled, command):
    result = without_hook(*command, config=polled)
    assert result.returncode == 2 and f"{HOOK_ENV} is not set" in result.stderr


def test_read_commands_run_while_the_file_holds_an_edit_the_daemon_refused(polled):
    with polled.open("a", encoding="utf-8") as f:
        f.write('\n[defaults]\nintervall_seconds = 60\n')  # a typo: the daemon keeps its last good config
    status = run_cli("status", "--json", config=polled, env={HOOK_ENV: SECRET_URL})
    assert status.returncode == 0, status.stderr
    assert [f["name"] for f in json.loads(status.stdout)["feeds"]] == ["wire"]
    assert "defaults.intervall_seconds: unknown key" in status.stderr and len(status.stderr.splitlines()) == 1
    backtest = run_cli("backtest", "iraq-us-coalition-signing", "--json", config=polled, env={HOOK_ENV: SECRET_URL})
    assert backtest.returncode == 0 and [h["title"] for h in json.loads(backtest.stdout)["hits"]] == [SIGNED]


def test_a_claim_whose_own_entry_is_broken_is_refused_by_backtest_and_reported_by_explain(polled):
    text = polled.read_text(encoding="utf-8")
    polled.write_text(text.replace('id = "niger-pullout"', 'id = "niger-pullout"\nmin_score = "high"'), "utf-8")
    broken = without_hook("backtest", "niger-pullout", config=polled)
    assert broken.returncode == 2
    assert "claims[1].min_score: must be a number" in broken.stderr and "cannot be used" in broken.stderr
    other = without_hook("backtest", "iraq-us-coalition-signing", config=polled)  # an unrelated claim runs
    assert other.returncode == 0, other.stderr
    explained = without_hook("explain", "https://wire.example.com/niger", config=polled)
    assert explained.returncode == 0, explained.stderr
    assert "claim niger-pullout: not checked" in explained.stdout and "min_score: must be a number" in explained.stdout
    assert "claim iraq-us-coalition-signing: no hit" in explained.stdout


def test_a_file_that_is_not_toml_needs_db_and_then_shows_what_the_database_holds(polled):
    database = polled.parent / "data" / "monitor.db"
    polled.write_text(polled.read_text(encoding="utf-8") + "\n[[feeds]\n", encoding="utf-8")
    refused = run_cli("status", config=polled)
    assert refused.returncode == 2 and "TOML syntax error" in refused.stderr and "--db" in refused.stderr
    status = run_cli("--db", str(database), "status", "--json", config=polled)
    assert status.returncode == 0, status.stderr
    assert [(f["name"], f["state"]) for f in json.loads(status.stdout)["feeds"]] == [("wire", "ok")]
    claims = run_cli("--db", str(database), "claims", "--json", config=polled)
    assert [c["id"] for c in json.loads(claims.stdout)["claims"]] == ["iraq-us-coalition-signing"]  # has hits
    assert "TOML syntax error" in status.stderr and len(status.stderr.splitlines()) == 1


# ---------------------------------------------------------------- item 3: a database that does not exist


@pytest.mark.parametrize("command", READ_COMMANDS + [("outbox", "retry", "--all-dead")], ids=lambda c: c[0])
def test_read_commands_refuse_a_database_that_does_not_exist_and_create_nothing(polled, tmp_path, command):
    typo = tmp_path / "dta" / "monitr.db"
    result = run_cli("--db", str(typo), *command, config=polled, env={HOOK_ENV: SECRET_URL})
    assert result.returncode == 2
    assert f"no database at {typo}" in result.stderr and "has the daemon run yet" in result.stderr
    assert not typo.parent.exists()


def test_hits_for_an_unknown_claim_is_an_error_like_backtest(polled):
    typo = run_cli("hits", "--claim", "iraq-us-coalition-signin", config=polled, env={HOOK_ENV: SECRET_URL})
    assert typo.returncode == 2 and "unknown claim 'iraq-us-coalition-signin'" in typo.stderr
    known = run_cli("hits", "--claim", "niger-pullout", config=polled, env={HOOK_ENV: SECRET_URL})
    assert known.returncode == 0 and known.stdout.strip() == "no hits"


def test_hits_of_a_claim_removed_from_the_config_can_still_be_listed(polled, httpserver):
    remaining = document(httpserver)
    remaining["claims"] = remaining["claims"][1:]
    polled.write_text(toml_document(remaining), encoding="utf-8")
    result = run_cli("hits", "--claim", "iraq-us-coalition-signing", "--since", "30d", "--json", config=polled,
                     env={HOOK_ENV: SECRET_URL})
    assert result.returncode == 0, result.stderr
    assert [h["title"] for h in json.loads(result.stdout)["hits"]] == [SIGNED]


# ---------------------------------------------------------------- item 8: why a story missed


def test_explain_a_missed_story_gives_each_claims_score_threshold_and_failed_gate(polled):
    text = run_cli("explain", "https://wire.example.com/niger", config=polled, env={HOOK_ENV: SECRET_URL})
    assert text.returncode == 0, text.stderr
    assert "no claim matched" not in text.stdout
    # Its score clears the threshold: the gate is what stops it, and explain says so.
    found = re.search(r"claim iraq-us-coalition-signing: no hit; score (\d+\.\d), min_score 43; "
                      r"require_any: the story has none of 'iraq'", text.stdout)
    assert found and float(found.group(1)) >= 43, text.stdout
    assert "claim niger-pullout: no hit; score" in text.stdout and "exclude: the story has 'junta'" in text.stdout

    checks = {c["claim_id"]: c for c in json.loads(run_cli(
        "explain", "https://wire.example.com/football", "--json", config=polled,
        env={HOOK_ENV: SECRET_URL}).stdout)["stories"][0]["checks"]}
    signing = checks["iraq-us-coalition-signing"]
    assert signing["failed"] == "min_score" and signing["score"] < signing["min_score"] == 43
    assert signing["matched_terms"] == ["iraq"] and not signing["hit"]
    assert checks["niger-pullout"]["failed"] == "no_shared_term"


def test_explain_a_hit_still_shows_the_hit(polled):
    text = run_cli("explain", "https://wire.example.com/signed", config=polled, env={HOOK_ENV: SECRET_URL}).stdout
    assert "claim iraq-us-coalition-signing: score" in text and "verdict confirmed" in text
    assert "claim niger-pullout: no hit" in text


def test_backtest_near_misses_lists_the_best_scoring_stories_that_did_not_hit(polled):
    result = run_cli("backtest", "iraq-us-coalition-signing", "--near-misses", "2", "--json", config=polled,
                     env={HOOK_ENV: SECRET_URL})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [h["title"] for h in report["hits"]] == [SIGNED] and report["stories"] == 4
    misses = report["near_misses"]
    assert [m["title"] for m in misses] == [NIGER, FOOTBALL]  # the two highest scores, highest first
    assert misses[0]["score"] > misses[0]["min_score"] and misses[0]["failed"] == "require_any"
    assert misses[1]["failed"] == "min_score" and misses[1]["score"] > 0
    text = run_cli("backtest", "iraq-us-coalition-signing", "--near-misses", "5", config=polled,
                   env={HOOK_ENV: SECRET_URL}).stdout
    assert "3 near misses, highest score first:" in text and "require_any: the story has none of 'iraq'" in text
    plain = run_cli("backtest", "iraq-us-coalition-signing", "--json", config=polled, env={HOOK_ENV: SECRET_URL})
    assert "near_misses" not in json.loads(plain.stdout)


# ---------------------------------------------------------------- item 9: eval measures the configured claim


EVAL_ROWS = [  # story, summary, label, verdict
    ("Washington and Baghdad ink coalition pullout pact", "", "1", "confirmed"),  # only the aliases find it
    (NIGER, "", "0", ""),  # only require_any stops it
    ("Deal done", "Iraq and the United States signed the agreement on the withdrawal of the US-led coalition",
     "1", "confirmed"),  # only the summary says what it is about
    ("العراق والولايات المتحدة يوقعان اتفاقا لانسحاب التحالف الدولي", "", "1", "confirmed"),  # config outcomes
    ("France wins the World Cup", "", "0", ""),
]


def eval_file(folder: Path) -> Path:
    claim = shipped_claims()[0]["text"]
    path = folder / "mine.tsv"
    lines = ["claim\tstory\tsummary\tlabel\tverdict"] + ["\t".join((claim, *row)) for row in EVAL_ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_claim_scores_every_row_with_the_configured_claim(tmp_path, httpserver):
    config = write_config(tmp_path, document(httpserver))
    path = eval_file(tmp_path)
    plain = json.loads(run_cli("eval", str(path), "--json", config=config).stdout)
    configured = run_cli("eval", str(path), "--claim", "iraq-us-coalition-signing", "--json", config=config,
                         env={HOOK_ENV: ""})
    assert configured.returncode == 0, configured.stderr
    assert f"{HOOK_ENV} is not set" in configured.stderr  # a warning: eval needs only the claim
    report = json.loads(configured.stdout)
    assert report["claim"] == "iraq-us-coalition-signing" and report["threshold"] == 43
    assert report["sets"]["all"]["precision"] == report["sets"]["all"]["recall"] == 1.0
    assert plain["sets"]["all"]["recall"] < 1.0  # the claim text alone: no aliases, no gate, no Arabic
    assert report["verdicts"]["accuracy"] == 1.0 and plain["verdicts"]["accuracy"] < 1.0
    assert report["pairs_per_second"] > 0  # the rate stays in --json

    unknown = run_cli("eval", str(path), "--claim", "nope", config=config, env={HOOK_ENV: SECRET_URL})
    assert unknown.returncode == 2 and "no claim with id 'nope'" in unknown.stderr


def test_eval_uses_the_summary_column(tmp_path):
    path = eval_file(tmp_path)
    with_summary = json.loads(run_cli("eval", str(path), "--json", "--errors").stdout)
    title_only = tmp_path / "titles.tsv"
    title_only.write_text("\n".join("\t".join(f for i, f in enumerate(line.split("\t")) if i != 2)
                                    for line in path.read_text("utf-8").splitlines()) + "\n", encoding="utf-8")
    without = json.loads(run_cli("eval", str(title_only), "--json", "--errors").stdout)
    wrong_with = {e["line"] for e in with_summary["errors"] if e["kind"] == "relevance"}
    wrong_without = {e["line"] for e in without["errors"] if e["kind"] == "relevance"}
    assert 4 in wrong_without and 4 not in wrong_with  # line 4: "Deal done" and its summary


def test_eval_errors_lists_the_rows_it_got_wrong_and_the_text_has_no_rate(tmp_path):
    path = eval_file(tmp_path)
    result = run_cli("eval", str(path), "--errors")
    assert result.returncode == 0, result.stderr
    assert "per second" not in result.stdout
    report = json.loads(run_cli("eval", str(path), "--errors", "--json").stdout)
    relevance = [e for e in report["errors"] if e["kind"] == "relevance"]
    assert relevance and all(e["label"] == 1 and e["predicted"] == 0 and e["score"] < 43 for e in relevance)
    for e in relevance:
        assert f"line {e['line']:<6} label 1, predicted 0 (score {e['score']:.1f}): {e['story']}" in result.stdout
    verdicts = [e for e in report["errors"] if e["kind"] == "verdict"]
    assert [(e["line"], e["gold"], e["predicted"]) for e in verdicts] == [(5, "confirmed", "pending")]
    assert "line 5      verdict confirmed, predicted pending" in result.stdout
    assert "errors" not in json.loads(run_cli("eval", str(path), "--json").stdout)


# ---------------------------------------------------------------- status and feeds: one feed-health rendering


def test_status_prints_each_feed_as_feeds_does(tmp_path, httpserver):
    """``status`` is ``feeds`` plus channels and outbox: a feed's health reads the same in both."""
    item = {"guid": "cup", "title": STORIES["cup"], "link": "https://wire.example.com/cup",
            "published": datetime(2026, 1, 5, tzinfo=timezone.utc)}
    httpserver.expect_request("/wire.xml").respond_with_data(rss([item]), content_type="application/rss+xml")
    httpserver.expect_request("/gone.xml").respond_with_data("not here", status=404)
    config_document = document(httpserver)
    config_document["feeds"].append({"name": "broken", "url": httpserver.url_for("/gone.xml")})
    config = write_config(tmp_path, config_document)
    env = {HOOK_ENV: SECRET_URL}
    assert run_cli("poll-once", "--no-deliver", config=config, env=env).returncode == 1  # one feed failed

    feeds = run_cli("feeds", config=config, env=env)
    status = run_cli("status", config=config, env=env)
    assert feeds.returncode == status.returncode == 0, feeds.stderr + status.stderr
    feed_lines = feeds.stdout.splitlines()
    assert [line.split(":")[0] for line in feed_lines] == ["wire", "broken"]
    assert feed_lines[1].startswith("broken: FAILING") and "HTTP 404" in feed_lines[1]
    assert status.stdout.splitlines()[:2] == feed_lines
    assert status.stdout.splitlines()[-1] == "outbox: 0 pending, 0 sent, 0 dead"


# ---------------------------------------------------------------- stored records as the --json output shows them


def test_json_output_shows_stored_moments_states_and_columns_as_stored(tmp_path):
    """The store returns typed records; the commands still print every stored column, in table order, moments
    as the stored UTC text and states as their names."""
    from conftest import utc
    from monitor.models import Alert, Hit, Story, Verdict
    from monitor.store import Store, outbox

    at = utc(2026, 11, 27, 12)
    stamp = "2026-11-27T12:00:00.000000+00:00"
    config = write_config(tmp_path, {
        "monitor": {"database": "data/monitor.db"},
        "feeds": [{"name": "wire", "url": "https://wire.example.com/rss"}],
        "claims": [{"id": "deal", "text": "Iraq and the US sign the deal", "channels": ["hook"]}],
        "channels": [{"name": "hook", "kind": "webhook", "url_env": HOOK_ENV},
                     {"name": "chat", "kind": "webhook", "url_env": HOOK_ENV}]})
    database = tmp_path / "records.db"
    with Store(database) as store:
        with store.transaction():
            store.insert_stories([Story("s1", "wire", "Deal signed", "", "https://wire.example.com/s1",
                                        at - timedelta(hours=1))], at)
            store.insert_hits([Hit("s1", "deal", 80.0, ("deal",), Verdict.CONFIRMED, "signed", "It was signed.",
                                   "s1", "deal signed")], at)
            store.record_transition("deal", Verdict.PENDING, Verdict.CONFIRMED, at, "s1", at - timedelta(hours=1), [])
        outbox.enqueue(store, Alert("a1", "deal", "s1", "claim.state_changed",
                                    {"state": "confirmed", "story": {"title": "Deal signed"}}), ["hook"], at)
        [sent] = outbox.due(store, at)
        outbox.mark_sent(store, sent, at + timedelta(minutes=1))
        outbox.enqueue(store, Alert("a2", "deal", None, "claim.overdue", {"state": "confirmed"}), ["chat"], at)
        outbox.disable_channel(store, "hook", "fp", "webhook answered HTTP 410", at)
        outbox.pause_channel(store, "chat", at + timedelta(hours=1), "HTTP 429")

    listed = run_cli("--db", str(database), "outbox", "--json", config=config, env={HOOK_ENV: SECRET_URL})
    assert listed.returncode == 0, listed.stderr
    sent_at = "2026-11-27T12:01:00.000000+00:00"
    expected = {
        "outbox": [
            {"id": "a2/chat", "alert_id": "a2", "channel": "chat", "claim_id": "deal", "story_id": None,
             "kind": "claim.overdue", "status": "pending", "attempts": 0, "created_at": stamp,
             "next_attempt_at": stamp, "last_attempt_at": None, "last_error": None, "sent_at": None,
             "requeued_at": None, "lease_owner": None, "lease_until": None, "title": None, "state": "confirmed",
             "held_by": None},
            {"id": "a1/hook", "alert_id": "a1", "channel": "hook", "claim_id": "deal", "story_id": "s1",
             "kind": "claim.state_changed", "status": "sent", "attempts": 1, "created_at": stamp,
             "next_attempt_at": stamp, "last_attempt_at": sent_at, "last_error": None, "sent_at": sent_at,
             "requeued_at": None, "lease_owner": None, "lease_until": None, "title": "Deal signed",
             "state": "confirmed", "held_by": None}],
        "channels": [
            {"name": "hook", "url_fingerprint": "fp", "disabled_reason": "webhook answered HTTP 410",
             "disabled_at": stamp, "paused_until": None, "pause_reason": None},
            {"name": "chat", "url_fingerprint": None, "disabled_reason": None, "disabled_at": None,
             "paused_until": "2026-11-27T13:00:00.000000+00:00", "pause_reason": "HTTP 429"}]}
    shown = json.loads(listed.stdout)
    assert shown == expected
    assert [list(row) for row in shown["outbox"] + shown["channels"]] == \
        [list(row) for row in expected["outbox"] + expected["channels"]]  # the columns' order too

    claims = run_cli("--db", str(database), "claims", "--json", config=config, env={HOOK_ENV: SECRET_URL})
    assert claims.returncode == 0, claims.stderr
    assert json.loads(claims.stdout) == {"claims": [{
        "id": "deal", "text": "Iraq and the US sign the deal", "state": "confirmed", "since_at": stamp,
        "hits": {"confirmed": 1}, "last_hit_at": stamp, "expect_by": None, "muted_until": None,
        "history": [{"previous_state": "pending", "state": "confirmed", "at": stamp, "story_id": "s1",
                     "kind": "change", "note": None}]}]}

    status = run_cli("--db", str(database), "status", "--json", config=config, env={HOOK_ENV: SECRET_URL})
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["channels"] == [
        {"name": "hook", "kind": "webhook", "disabled_reason": "webhook answered HTTP 410", "disabled_at": stamp,
         "paused_until": None, "pause_reason": None, "held_back": 0},
        {"name": "chat", "kind": "webhook", "disabled_reason": None, "disabled_at": None,
         "paused_until": "2026-11-27T13:00:00.000000+00:00", "pause_reason": "HTTP 429", "held_back": 0}]
    assert json.loads(status.stdout)["outbox"] == {"pending": 1, "sent": 1, "dead": 0}

    explained = run_cli("--db", str(database), "explain", "s1", "--json", config=config, env={HOOK_ENV: SECRET_URL})
    assert explained.returncode == 0, explained.stderr
    [story] = json.loads(explained.stdout)["stories"]
    assert {key: story[key] for key in list(story)[:7]} == {
        "id": "s1", "feed": "wire", "title": "Deal signed", "summary": "", "link": "https://wire.example.com/s1",
        "published_at": "2026-11-27T11:00:00.000000+00:00", "seen_at": stamp}
    assert list(story)[7:] == ["article_text", "article_error", "outlet", "hits", "checks"]
    assert story["article_text"] is None and story["article_error"] is None  # full_text is off
    assert story["outlet"] == "wire"  # stored without one: its feed
    assert story["hits"] == [{
        "claim_id": "deal", "story_id": "s1", "score": 80.0, "matched_terms": ["deal"], "verdict": "confirmed",
        "cue": "signed", "sentence": "It was signed.", "group_id": "s1", "fresh": True, "created_at": stamp,
        "feed": "wire", "title": "Deal signed", "link": "https://wire.example.com/s1",
        "published_at": "2026-11-27T11:00:00.000000+00:00", "outlet": "wire", "sentence_source": None,
        "group": [{"outlet": "wire", "title": "Deal signed", "link": "https://wire.example.com/s1",
                   "story_id": "s1"}]}]
    assert list(story["hits"][0]) == ["claim_id", "story_id", "score", "matched_terms", "verdict", "cue",
                                      "sentence", "group_id", "fresh", "created_at", "feed", "title", "link",
                                      "published_at", "outlet", "sentence_source", "group"]
