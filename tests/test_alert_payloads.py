"""What an alert says: the story a state change quotes, one timestamp format, and test alerts marked TEST.

Real loopback feeds and webhook, a real SQLite file per run, time passed in.
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest

from conftest import rss, run_cli, shipped_claims, utc, write_config
from monitor import alerts
from monitor.config import load_config
from monitor.delivery import deliver_due
from monitor.notify.apprise import AppriseNotifier
from monitor.notify.console import ConsoleNotifier
from monitor.notify.discord import discord_message
from monitor.notify.slack import slack_message
from monitor.pipeline import poll_feed
from monitor.runtime import Context
from monitor.store import Store

NOW = utc(2026, 11, 27, 12, 0)
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# Both say the agreement was signed, in headlines too different to be one story group; only the first names the
# United States (relevance about 92 against 51).
STRONG = {"guid": "s1", "title": "Iraq and US sign agreement on withdrawal of US-led coalition",
          "summary": "Iraq and the United States signed an agreement on Thursday setting a two-year timetable for "
                     "the withdrawal of the international coalition against ISIS.",
          "link": "https://wire.example.com/s1", "published": NOW - timedelta(hours=2)}
WEAK = {"guid": "w1", "title": "Iraqi officials sign deal after months of talks",
        "summary": "The coalition agreement was signed on Thursday, a government spokesman said.",
        "link": "https://other.example.com/w1", "published": NOW - timedelta(hours=1)}
COLLAPSED = {"guid": "r1", "title": "Iraq-US coalition withdrawal agreement collapses",
             "summary": "The agreement between Iraq and the United States on the coalition withdrawal collapsed.",
             "link": "https://wire.example.com/r1", "published": NOW + timedelta(hours=1)}


def build(folder, httpserver, receiver, *, outlets: int) -> tuple:
    folder.mkdir()
    document = {"monitor": {"database": "monitor.db", "allow_private_networks": True},
                # Two publishers on one registrable domain (example.com): each feed names its own ``outlet``.
                "feeds": [{"name": "wire", "url": httpserver.url_for("/wire.xml"), "outlet": "wire"},
                          {"name": "other", "url": httpserver.url_for("/other.xml"), "outlet": "other"}],
                "claims": [{**shipped_claims()[0], "channels": ["hook"], "confirm_after_outlets": outlets}],
                "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 5}]}
    config = load_config(write_config(folder, document))
    return config, Context.build(config), Store(config.database)


def serve(httpserver, path, items):
    httpserver.expect_request(path).respond_with_data(rss(items), content_type="application/rss+xml")


@pytest.mark.parametrize("order", [("wire", "other"), ("other", "wire")])
def test_a_corroborated_change_quotes_the_strongest_story_whichever_feed_committed_first(
        tmp_path, httpserver, receiver, order):
    serve(httpserver, "/wire.xml", [STRONG])
    serve(httpserver, "/other.xml", [WEAK])
    config, ctx, store = build(tmp_path / "-".join(order), httpserver, receiver, outlets=2)
    with store:
        first = poll_feed(ctx, store, config.feed(order[0]), NOW)
        assert first.hits == 1 and first.state_changes == ()  # one outlet is not enough
        second = poll_feed(ctx, store, config.feed(order[1]), NOW + timedelta(minutes=1))
        assert second.state_changes == ("confirmed",)
        assert deliver_due(ctx, store, NOW + timedelta(minutes=1)).sent == 1
    ctx.close()
    body = receiver.received[-1].body
    assert body["story"]["title"] == STRONG["title"] and body["story"]["outlet"] == "wire"
    assert body["score"] > 85 and "united states" in body["matched_terms"]  # 87.8; the weak one 52.9
    assert body["sentence"] == STRONG["title"] and body["cue"]
    assert sorted(e["outlet"] for e in body["evidence"]) == ["other", "wire"]


def test_the_quoted_story_and_alert_id_do_not_depend_on_commit_order(tmp_path, httpserver, receiver):
    serve(httpserver, "/wire.xml", [STRONG])
    serve(httpserver, "/other.xml", [WEAK])
    bodies = []
    for order in (("wire", "other"), ("other", "wire")):
        config, ctx, store = build(tmp_path / "-".join(order), httpserver, receiver, outlets=2)
        with store:
            poll_feed(ctx, store, config.feed(order[0]), NOW)
            poll_feed(ctx, store, config.feed(order[1]), NOW)
            deliver_due(ctx, store, NOW)
        ctx.close()
        bodies.append(receiver.received[-1].body)
    same = ("id", "story", "sentence", "cue", "score", "matched_terms")
    assert [{k: b[k] for k in same} for b in bodies][0] == [{k: b[k] for k in same} for b in bodies][1]


def test_every_payload_timestamp_has_one_format_and_a_first_change_has_no_evidence_since(
        tmp_path, httpserver, receiver):
    serve(httpserver, "/wire.xml", [STRONG])
    config, ctx, store = build(tmp_path / "run", httpserver, receiver, outlets=1)
    with store:
        poll_feed(ctx, store, config.feed("wire"), NOW)
        deliver_due(ctx, store, NOW)
        first = receiver.received[-1].body
        httpserver.clear()
        serve(httpserver, "/wire.xml", [STRONG, COLLAPSED])
        later = NOW + timedelta(hours=2, microseconds=123456)
        assert poll_feed(ctx, store, config.feed("wire"), later, force=True).state_changes == ("rejected",)
        deliver_due(ctx, store, later)
        second = receiver.received[-1].body
    ctx.close()

    assert (first["previous_state"], first["state"]) == ("pending", "confirmed")
    assert "evidence_since" in first and first["evidence_since"] is None  # no earlier state: all evidence counts
    assert (second["previous_state"], second["state"]) == ("confirmed", "rejected")
    assert second["evidence_since"] == "2026-11-27T12:00:00Z"  # when the claim became confirmed
    for body in (first, second):
        stamps = [body["created_at"], body["story"]["published_at"], *(e["published_at"] for e in body["evidence"])]
        stamps += [body["evidence_since"]] if body["evidence_since"] else []
        assert stamps and all(RFC3339_UTC.match(s) for s in stamps), stamps
    assert second["created_at"] == "2026-11-27T14:00:00Z"


def test_operator_alert_timestamps_have_the_same_format(tmp_path, httpserver):
    httpserver.expect_request("/wire.xml").respond_with_data("down", status=503)
    document = {"monitor": {"database": "monitor.db", "allow_private_networks": True, "alert_after_hours": 0,
                            "operator_channels": ["ops"]},
                "feeds": [{"name": "wire", "url": httpserver.url_for("/wire.xml")}],
                "claims": shipped_claims(), "channels": [{"name": "ops", "kind": "console"},
                                                         {"name": "console", "kind": "console"}]}
    config = load_config(write_config(tmp_path, document))
    ctx = Context.build(config)
    with Store(config.database) as store:
        assert poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(microseconds=5)).alerts == 1
        [row] = list(store.db["outbox"].rows)
    ctx.close()
    payload = json.loads(row["payload"])
    assert payload["type"] == "feed.failing"
    assert payload["created_at"] == payload["feed"]["failing_since"] == "2026-11-27T12:00:00Z"


# --- test alerts ----------------------------------------------------------------------------------------------


SAMPLE = alerts.sample("iraq-us-coalition-signing", "Iraq and the United States sign the agreement", NOW).payload


def test_a_test_alert_says_test_on_the_console():
    out = io.StringIO()
    ConsoleNotifier(out).send(SAMPLE["id"], SAMPLE)
    assert out.getvalue().splitlines()[0].startswith("[news-monitor] TEST ALERT: iraq-us-coalition-signing")


def test_a_test_alert_says_test_in_slack_and_discord():
    slack = slack_message(SAMPLE["id"], SAMPLE)
    assert slack["blocks"][0]["text"]["text"].startswith("TEST ALERT: ")
    assert "TEST ALERT" in slack["text"].splitlines()[0]
    discord = discord_message(SAMPLE["id"], SAMPLE)
    assert discord["content"].startswith("TEST ALERT: ") and "TEST ALERT" in discord["embeds"][0]["title"]


def test_a_test_alert_says_test_in_the_apprise_title(receiver):
    address = receiver.url.removeprefix("http://")
    AppriseNotifier(f"json://{address}", timeout_seconds=5, allow_private_networks=True).send(SAMPLE["id"], SAMPLE)
    sent = receiver.received[-1].body  # Apprise's JSON service: {"title", "message", …}
    assert sent["title"].startswith("TEST ALERT: ") and "TEST ALERT" in sent["message"]


def test_a_real_alert_is_not_marked_test():
    real = {**SAMPLE}
    real.pop("test")
    assert "TEST" not in slack_message(real["id"], real)["blocks"][0]["text"]["text"]
    assert "TEST" not in discord_message(real["id"], real)["content"]


def test_test_alert_over_a_webhook_is_flagged_and_its_text_says_test(tmp_path, receiver):
    document = {"monitor": {"database": "monitor.db", "allow_private_networks": True},
                "feeds": [{"name": "wire", "url": "https://wire.example.com/rss"}], "claims": shipped_claims(),
                "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url},
                             {"name": "console", "kind": "console"}]}
    config = write_config(tmp_path, document)
    result = run_cli("test-alert", "hook", config=config)
    assert result.returncode == 0, result.stderr
    body = receiver.received[-1].body
    assert body["test"] is True
    assert body["story"]["title"].startswith("TEST ALERT") and body["sentence"].startswith("TEST ALERT")
    assert RFC3339_UTC.match(body["created_at"]) and body["evidence_since"] is None
    console = run_cli("test-alert", "console", config=config)
    assert console.returncode == 0 and "TEST ALERT" in console.stdout.splitlines()[0]
