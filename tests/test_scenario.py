"""End to end: the Iraq–US signing timeline served as one RSS feed per outlet, day by day, polled by the real
``news-monitor poll-once`` command with the shipped claim, alerts posted to a loopback webhook receiver."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from conftest import SHARED, rss, run_cli, shipped_claims, write_config

STORIES = [json.loads(line) for line in (SHARED / "scenario" / "iraq_signing_stories.jsonl").read_text("utf-8").splitlines()
           if line.strip()]
OUTLETS = sorted({s["outlet"] for s in STORIES})
DAYS = sorted({s["day"] for s in STORIES})


def feed_for(outlet: str, day: int, now: datetime) -> bytes:
    """The outlet's feed as it stands on ``day``: every story published so far, newest first."""
    shown = [s for s in STORIES if s["outlet"] == outlet and s["day"] <= day]
    shown.sort(key=lambda s: s["day"], reverse=True)
    # Day d stories were published (4 - d) hours before the test runs: all fresh, in timeline order.
    return rss([{"guid": f"scenario-{s['id']}", "title": s["title"], "summary": s["summary"],
                 "link": f"https://{outlet}.example.com/{s['id']}",
                 "published": now - timedelta(hours=max(DAYS) - s["day"], minutes=30)} for s in shown],
               title=outlet)


@pytest.fixture
def scenario(tmp_path, httpserver, receiver):
    document = {
        "monitor": {"database": "monitor.db", "allow_private_networks": True},
        "feeds": [{"name": outlet, "url": httpserver.url_for(f"/{outlet}.xml")} for outlet in OUTLETS],
        "claims": [{**claim, "channels": ["hook"]} for claim in shipped_claims()],
        "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 5}],
    }
    config = write_config(tmp_path, document)
    now = datetime.now(timezone.utc)

    def publish(day: int) -> None:
        httpserver.clear()
        for outlet in OUTLETS:
            httpserver.expect_request(f"/{outlet}.xml").respond_with_data(
                feed_for(outlet, day, now), content_type="application/rss+xml")

    return config, publish


def hit_titles(config) -> set[str]:
    result = run_cli("hits", "--since", "30d", "--json", config=config)
    assert result.returncode == 0, result.stderr
    return {h["title"] for h in json.loads(result.stdout)["hits"]}


def test_scenario_day_by_day(scenario, receiver):
    config, publish = scenario
    by_title = {s["title"]: s for s in STORIES}
    alerted: list[str] = []
    for day in DAYS:
        publish(day)
        result = run_cli("poll-once", config=config)
        assert result.returncode == 0, result.stdout + result.stderr
        today = [s for s in STORIES if s["day"] == day]
        titles = hit_titles(config)
        for story in today:
            if story["expected"] == "unrelated":
                assert story["title"] not in titles, f"hard negative {story['id']} hit"
            else:
                assert story["title"] in titles, f"relevant story {story['id']} missed"
        new_alerts = [r.body["story"]["title"] for r in receiver.received[len(alerted):]]
        assert sorted(new_alerts) == sorted(s["title"] for s in today if s["expected"] != "unrelated")
        alerted += new_alerts

    # Every alert id arrived once, and a repeated poll sends nothing new.
    assert len(set(receiver.ids())) == len(receiver.ids())
    again = run_cli("poll-once", config=config)
    assert again.returncode == 0, again.stderr
    assert len(receiver.received) == len(alerted)
    assert {by_title[t]["id"] for t in alerted} >= {"c1", "c2", "c3", "c4", "c5", "d1", "d2", "r1", "seed"}


def test_status_shows_every_feed_ok_and_the_outbox(scenario):
    config, publish = scenario
    publish(1)
    assert run_cli("poll-once", config=config).returncode == 0
    result = run_cli("status", "--json", config=config)
    status = json.loads(result.stdout)
    assert {f["name"] for f in status["feeds"]} == set(OUTLETS)
    assert all(f["error_count"] == 0 and f["last_ok_at"] for f in status["feeds"])
    assert status["outbox"]["sent"] == 3 and status["outbox"]["pending"] == 0
