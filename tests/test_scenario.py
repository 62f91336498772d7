"""End to end: the Iraq–US signing timeline served as one RSS feed per outlet, day by day, polled by the real
``news-monitor poll-once`` command with the shipped claim, alerts posted to a loopback webhook receiver.

Each test runs on our own timeline (tests/fixtures/signing_scenario.jsonl) and, as a ``corpus`` test, on the
shared one (shared/scenario/README.md tells its story); both follow the same four days."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import OWN_SCENARIO, SHARED_SCENARIO, read_scenario, rss, run_cli, shipped_claims, write_config


@dataclass(frozen=True)
class Timeline:
    stories: list[dict]
    same_group: tuple[str, ...]  # the wire copy, its reprint with a source suffix, and a reworded headline
    delayed: str  # a "delayed" story, in a group of its own

    @property
    def outlets(self) -> list[str]:
        return sorted({s["outlet"] for s in self.stories})

    @property
    def days(self) -> list[int]:
        return sorted({s["day"] for s in self.stories})

    def story(self, story_id: str) -> dict:
        return next(s for s in self.stories if s["id"] == story_id)


TIMELINES = {"own": (OWN_SCENARIO, ("k1", "k3", "k2"), "s1"),
             "shared": (SHARED_SCENARIO, ("c1", "c3", "c2"), "d1")}


def feed_for(timeline: Timeline, outlet: str, day: int, now: datetime) -> bytes:
    """The outlet's feed as it stands on ``day``: every story published so far, newest first."""
    shown = [s for s in timeline.stories if s["outlet"] == outlet and s["day"] <= day]
    shown.sort(key=lambda s: s["day"], reverse=True)
    # Day d stories were published (last day - d) hours before the test runs: all fresh, in timeline order.
    return rss([{"guid": f"scenario-{s['id']}", "title": s["title"], "summary": s["summary"],
                 "link": f"https://{outlet}.example.com/{s['id']}",
                 "published": now - timedelta(hours=max(timeline.days) - s["day"], minutes=30)} for s in shown],
               title=outlet)


@pytest.fixture(params=["own", pytest.param("shared", marks=pytest.mark.corpus)])
def timeline(request) -> Timeline:
    path, same_group, delayed = TIMELINES[request.param]
    return Timeline(read_scenario(Path(path)), same_group, delayed)


@pytest.fixture
def scenario(tmp_path, httpserver, receiver, timeline):
    document = {
        "monitor": {"database": "monitor.db", "allow_private_networks": True},
        "feeds": [{"name": outlet, "url": httpserver.url_for(f"/{outlet}.xml")} for outlet in timeline.outlets],
        "claims": [{**claim, "channels": ["hook"]} for claim in shipped_claims()],
        "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 5}],
    }
    config = write_config(tmp_path, document)
    # The CLI reads the real clock, and the stories must be fresh to it: publish them relative to it.
    now = datetime.now(timezone.utc)

    def publish(day: int) -> None:
        httpserver.clear()
        for outlet in timeline.outlets:
            httpserver.expect_request(f"/{outlet}.xml").respond_with_data(
                feed_for(timeline, outlet, day, now), content_type="application/rss+xml")

    return config, publish


def cli_json(config, *args: str) -> dict:
    result = run_cli(*args, "--json", config=config)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_scenario_day_by_day(scenario, receiver, timeline):
    """The timeline as shared/scenario/README.md tells it: no alert on day 1, one "delayed" alert on day
    2, one "confirmed" alert naming several outlets on day 3, the contradiction on day 4; hard negatives never
    hit; every hit carries the expected verdict."""
    config, publish = scenario
    expected_changes = {1: [], 2: [("pending", "delayed")], 3: [("delayed", "confirmed")],
                        4: [("confirmed", "rejected")]}
    seen = 0
    for day in timeline.days:
        publish(day)
        result = run_cli("poll-once", config=config)
        assert result.returncode == 0, result.stdout + result.stderr

        hits = {h["story_id"]: h for h in cli_json(config, "hits", "--since", "30d")["hits"]}
        by_title = {h["title"]: h for h in hits.values()}
        for story in (s for s in timeline.stories if s["day"] == day):
            if story["expected"] == "unrelated":
                assert story["title"] not in by_title, f"hard negative {story['id']} hit"
            else:
                assert story["title"] in by_title, f"relevant story {story['id']} missed"
                assert by_title[story["title"]]["verdict"] == story["expected"], story["id"]

        today = [r.body for r in receiver.received[seen:]]
        seen = len(receiver.received)
        assert [(a["previous_state"], a["state"]) for a in today] == expected_changes[day], today
        assert all(a["type"] == "claim.state_changed" for a in today)
        if day == 3:
            confirmed = today[0]
            outlets = {e["outlet"] for e in confirmed["evidence"]}
            # One alert for the signing, naming the outlets that reported it — not one alert per outlet.
            assert outlets == {s["outlet"] for s in timeline.stories if s["expected"] == "confirmed"}
            assert len(outlets) >= 5
            assert confirmed["sentence"] and confirmed["cue"]

    claims = cli_json(config, "claims")["claims"]
    assert claims[0]["state"] == "rejected"
    assert [(h["previous_state"], h["state"]) for h in claims[0]["history"]] == [
        ("pending", "delayed"), ("delayed", "confirmed"), ("confirmed", "rejected")]

    # A repeated poll sends nothing new, and every alert id arrived once.
    again = run_cli("poll-once", config=config)
    assert again.returncode == 0, again.stderr
    assert len(receiver.received) == seen == 3
    assert len(set(receiver.ids())) == 3


def test_cross_outlet_duplicates_form_one_group(scenario, timeline):
    config, publish = scenario
    for day in timeline.days[:3]:
        publish(day)
        assert run_cli("poll-once", config=config).returncode == 0
    hits = {h["title"]: h for h in cli_json(config, "hits", "--since", "30d")["hits"]}
    wire = {i: hits[timeline.story(i)["title"]]["group_id"] for i in timeline.same_group}
    # Wire copy, its reprint with a source suffix, and the reworded headline: one story group.
    assert len(set(wire.values())) == 1, wire
    assert hits[timeline.story(timeline.delayed)["title"]]["group_id"] not in wire.values()

    copy, _, reworded = (timeline.story(i) for i in timeline.same_group)
    explained = run_cli("explain", f"https://{copy['outlet']}.example.com/{copy['id']}", config=config)
    assert explained.returncode == 0, explained.stderr
    assert "verdict confirmed" in explained.stdout
    assert "also reported by" in explained.stdout and reworded["outlet"] in explained.stdout


def test_status_shows_every_feed_ok_and_the_outbox(scenario, timeline):
    config, publish = scenario
    publish(2)
    assert run_cli("poll-once", config=config).returncode == 0
    status = cli_json(config, "status")
    assert {f["name"] for f in status["feeds"]} == set(timeline.outlets)
    assert all(f["error_count"] == 0 and f["last_ok_at"] for f in status["feeds"])
    assert status["outbox"]["sent"] == 1 and status["outbox"]["pending"] == 0  # one "delayed" alert


def test_backtest_runs_the_claim_over_stored_stories_without_writing(scenario, timeline):
    config, publish = scenario
    publish(3)
    assert run_cli("poll-once", "--no-deliver", config=config).returncode == 0
    before = cli_json(config, "hits", "--since", "30d")["hits"]
    result = cli_json(config, "backtest", "iraq-us-coalition-signing", "--since", "7d")
    assert result["stories"] == sum(1 for s in timeline.stories if s["day"] <= 3)
    assert {h["title"] for h in result["hits"]} == {h["title"] for h in before}
    verdicts = {h["title"]: h["verdict"] for h in result["hits"]}
    assert verdicts[timeline.story(timeline.delayed)["title"]] == "delayed"
    assert cli_json(config, "hits", "--since", "30d")["hits"] == before  # nothing written
    unknown = run_cli("backtest", "no-such-claim", config=config)
    assert unknown.returncode == 2 and "no claim with id" in unknown.stderr


def test_eval_command_scores_a_labelled_file(tmp_path):
    rows = ["set\tclaim\tstory\tlabel\tverdict",
            "news\tIraq and the US sign the withdrawal agreement\tIraq and US sign withdrawal deal\t1\tconfirmed",
            "news\tIraq and the US sign the withdrawal agreement\tIraq and US have yet to sign withdrawal deal\t1\tdelayed",
            "news\tIraq and the US sign the withdrawal agreement\tFrance wins the World Cup final\t0\t"]
    path = tmp_path / "mine.tsv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = run_cli("eval", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("auc", "ap", "precision", "recall", "f1", "best_f1", "best_threshold", "n"):
        assert key in report["macro"] and key in report["sets"]["news"]
    assert report["sets"]["news"]["n"] == 3 and report["sets"]["news"]["auc"] == 1.0
    assert report["verdicts"]["n"] == 2 and report["verdicts"]["accuracy"] == 1.0
    bad = tmp_path / "bad.tsv"
    bad.write_text("claim\tstory\n", encoding="utf-8")
    assert run_cli("eval", str(bad)).returncode == 2
