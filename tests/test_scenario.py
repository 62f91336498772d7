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


def domain(outlet: str) -> str:
    """The publisher's own domain: its links' registrable domain, the outlet alerts name (never contacted)."""
    return f"{outlet}.com"


def link(story: dict) -> str:
    return f"https://www.{domain(story['outlet'])}/{story['id']}"


def published(timeline: Timeline, story: dict, now: datetime) -> datetime:
    # Day d stories were published (last day - d) hours before the test runs: all fresh, in timeline order.
    return now - timedelta(hours=max(timeline.days) - story["day"], minutes=30)


def feed_for(timeline: Timeline, outlet: str, day: int, now: datetime) -> bytes:
    """The outlet's feed as it stands on ``day``: every story published so far, newest first."""
    shown = [s for s in timeline.stories if s["outlet"] == outlet and s["day"] <= day]
    shown.sort(key=lambda s: s["day"], reverse=True)
    return rss([{"guid": f"scenario-{s['id']}", "title": s["title"], "summary": s["summary"], "link": link(s),
                 "published": published(timeline, s, now)} for s in shown], title=outlet)


def aggregator_feed(timeline: Timeline, day: int, now: datetime) -> bytes:
    """Every outlet's stories so far in one Google-News-style feed: each item links to a redirect on the
    aggregator and names its publisher in ``<source url="…">``."""
    shown = sorted((s for s in timeline.stories if s["day"] <= day), key=lambda s: s["day"], reverse=True)
    def name(s: dict) -> str:
        return s["outlet"].replace("-", " ").title()

    # Google News appends the publisher's name to each headline.
    return rss([{"guid": f"aggregated-{s['id']}", "title": f"{s['title']} - {name(s)}",
                 "summary": s["summary"], "link": f"https://news.google.com/rss/articles/CBMi{s['id']}?oc=5",
                 "source": (name(s), f"https://www.{domain(s['outlet'])}"),
                 "published": published(timeline, s, now)} for s in shown], title="Google News search")


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
            assert outlets == {domain(s["outlet"]) for s in timeline.stories if s["expected"] == "confirmed"}
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
    explained = run_cli("explain", link(copy), config=config)
    assert explained.returncode == 0, explained.stderr
    assert "verdict confirmed" in explained.stdout
    assert "also reported by" in explained.stdout and domain(reworded["outlet"]) in explained.stdout


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


# --- one aggregator feed: the publishers inside it are the outlets -------------------------------------------

def alerts_by_day(tmp_path, httpserver, receiver, timeline: Timeline, *, aggregated: bool, feed_outlet: str = "",
                  **claim_settings) -> dict[int, list[dict]]:
    """The scenario polled day by day, with every outlet's own feed or with one aggregator feed carrying them all
    (``feed_outlet``: that feed's ``outlet`` setting); the state-change alerts each day brought."""
    aggregator = {"name": "google-news-iraq", "url": httpserver.url_for("/news.xml"),
                  **({"outlet": feed_outlet} if feed_outlet else {})}
    feeds = ([aggregator] if aggregated else
             [{"name": outlet, "url": httpserver.url_for(f"/{outlet}.xml")} for outlet in timeline.outlets])
    document = {
        "monitor": {"database": "monitor.db", "allow_private_networks": True},
        "feeds": feeds,
        "claims": [{**claim, **claim_settings, "channels": ["hook"]} for claim in shipped_claims()],
        "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 5}],
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = write_config(tmp_path, document)
    now = datetime.now(timezone.utc)
    by_day, seen = {}, len(receiver.received)
    for day in timeline.days:
        httpserver.clear()
        if aggregated:
            httpserver.expect_request("/news.xml").respond_with_data(aggregator_feed(timeline, day, now),
                                                                     content_type="application/rss+xml")
        else:
            for outlet in timeline.outlets:
                httpserver.expect_request(f"/{outlet}.xml").respond_with_data(
                    feed_for(timeline, outlet, day, now), content_type="application/rss+xml")
        result = run_cli("poll-once", config=config)
        assert result.returncode == 0, result.stdout + result.stderr
        by_day[day] = [r.body for r in receiver.received[seen:]]
        seen = len(receiver.received)
    return by_day


def changes(by_day: dict[int, list[dict]]) -> dict[int, list[tuple[str, str]]]:
    return {day: [(a["previous_state"], a["state"]) for a in alerts] for day, alerts in by_day.items()}


def test_corroboration_holds_when_every_outlet_comes_through_one_aggregator(tmp_path, httpserver, receiver,
                                                                             timeline):
    """confirm_after_outlets = 2 asks for two publishers: met through one Google-News-style feed as through each
    outlet's own feed, day by day alike, and the alerts name the publishers, not the aggregator."""
    own = alerts_by_day(tmp_path / "own", httpserver, receiver, timeline, aggregated=False,
                        confirm_after_outlets=2)
    aggregated = alerts_by_day(tmp_path / "aggregated", httpserver, receiver, timeline, aggregated=True,
                               confirm_after_outlets=2)
    assert changes(aggregated) == changes(own)
    confirmed = next(a for a in aggregated[3] if a["state"] == "confirmed")
    outlets = {e["outlet"] for e in confirmed["evidence"]}
    assert outlets == {domain(s["outlet"]) for s in timeline.stories if s["expected"] == "confirmed"}
    assert confirmed["story"]["link"].startswith("https://news.google.com/rss/articles/")  # kept as the link
    # The wire copy reprinted by several publishers is still one story group, the delayed story another.
    hits = {h["title"]: h for h in cli_json(tmp_path / "aggregated" / "monitor.toml", "hits", "--since", "30d")["hits"]}
    assert {h["feed"] for h in hits.values()} == {"google-news-iraq"}
    wire = {hits[timeline.story(i)["title"]]["group_id"] for i in timeline.same_group}
    assert len(wire) == 1 and hits[timeline.story(timeline.delayed)["title"]]["group_id"] not in wire
    assert {hits[timeline.story(i)["title"]]["outlet"] for i in timeline.same_group} == {
        domain(timeline.story(i)["outlet"]) for i in timeline.same_group}


def test_an_aggregator_named_as_one_outlet_never_corroborates(tmp_path, httpserver, receiver, timeline):
    """The control: the same feed with ``outlet`` set counts as one outlet, so two are never reached."""
    by_day = alerts_by_day(tmp_path, httpserver, receiver, timeline, aggregated=True, feed_outlet="news.google.com",
                           confirm_after_outlets=2)
    assert all(not alerts for alerts in by_day.values()), changes(by_day)


def test_trusted_outlets_name_a_publisher_inside_an_aggregator(tmp_path, httpserver, receiver, timeline):
    """One report from a trusted publisher moves the claim even where many outlets are asked for; its domain may
    be written with its www."""
    first = min((s for s in timeline.stories if s["expected"] == "confirmed"), key=lambda s: (s["day"], s["id"]))
    untrusted = alerts_by_day(tmp_path / "untrusted", httpserver, receiver, timeline, aggregated=True,
                              confirm_after_outlets=100)
    assert all(not alerts for alerts in untrusted.values())
    trusted = alerts_by_day(tmp_path / "trusted", httpserver, receiver, timeline, aggregated=True,
                            confirm_after_outlets=100, trusted_outlets=[f"www.{domain(first['outlet'])}"])
    moved = [a for alerts in trusted.values() for a in alerts if a["state"] == "confirmed"]
    assert moved and domain(first["outlet"]) in {e["outlet"] for e in moved[0]["evidence"]}
