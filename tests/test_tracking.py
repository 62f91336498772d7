"""Claim tracking through the real pipeline: loopback feeds, a real SQLite file, a webhook receiver."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from conftest import rss, shipped_claims, utc, write_config
from monitor.config import load_config
from monitor.notify.console import ConsoleNotifier
from monitor.delivery import deliver_due
from monitor.pipeline import check_deadlines, poll_feed
from monitor.runtime import Context
from monitor.store import Store

NOW = utc(2026, 11, 27, 12, 0)


def story(guid, title, summary="", hours_ago=1.0):
    return {"guid": guid, "title": title, "summary": summary, "link": f"https://news.example.com/{guid}",
            "published": NOW - timedelta(hours=hours_ago)}


SIGNED = story("c1", "Iraq and US sign agreement on withdrawal of US-led coalition",
               "Iraq and the United States signed an agreement on Thursday setting a two-year timetable.")
REPRINT = story("c3", "Iraq and US sign agreement on withdrawal of US-led coalition - reports",
                "Iraq and the United States signed an agreement on Thursday setting a two-year timetable.")
INDEPENDENT = story("c5", "Coalition forces to leave Baghdad bases by September 2025 under newly signed accord",
                    "Troops will remain in the Kurdistan region until September 2026, according to the agreement "
                    "signed by the two governments.")
PENDING = story("p2", "Iraq expects to sign coalition withdrawal deal with US within days",
                "Officials in Baghdad said the agreement could be signed as early as next week.")
COLLAPSED = story("r1", "Iraq-US talks on coalition exit collapse; no withdrawal agreement this year",
                  "Officials said negotiations broke down and the agreement would not be signed.")


@pytest.fixture
def monitor(tmp_path, httpserver, receiver, database_setting):
    """Build a config (claim overrides as keyword arguments) over feeds a, b, c; returns (config, ctx, store)."""
    opened = []

    def build(**claim_overrides):
        document = {
            "monitor": {"database": database_setting, "allow_private_networks": True},
            # Each feed is a publisher of its own (its ``outlet``): their stories all link to news.example.com.
            "feeds": [{"name": name, "url": httpserver.url_for(f"/{name}.xml"), "outlet": name}
                      for name in ("a", "b", "c")],
            "claims": [{**shipped_claims()[0], "channels": ["hook"], **claim_overrides}],
            "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 5}],
        }
        config = load_config(write_config(tmp_path, document))
        store = Store(config.database)
        opened.append(store)
        return config, Context.build(config), store

    yield build
    for store in opened:
        store.close()


def publish(httpserver, feeds: dict[str, list[dict]]):
    httpserver.clear()
    for name, items in feeds.items():
        httpserver.expect_request(f"/{name}.xml").respond_with_data(rss(items), content_type="application/rss+xml")


def poll_all(config, ctx, store, at):
    for feed in config.feeds:
        poll_feed(ctx, store, feed, at)


def test_two_outlets_required_and_reprints_count_once(monitor, httpserver, receiver):
    config, ctx, store = monitor(confirm_after_outlets=2)
    publish(httpserver, {"a": [SIGNED], "b": [REPRINT], "c": []})
    poll_all(config, ctx, store, NOW)
    deliver_due(ctx, store, NOW)
    assert receiver.received == []  # the wire story and its reprint are one report, not two
    assert store.claim_state(config.claims[0].id) is None

    publish(httpserver, {"a": [SIGNED], "b": [REPRINT], "c": [INDEPENDENT]})
    poll_all(config, ctx, store, NOW + timedelta(minutes=5))
    deliver_due(ctx, store, NOW + timedelta(minutes=5))
    [alert] = [r.body for r in receiver.received]
    assert (alert["previous_state"], alert["state"], alert["verdict"]) == ("pending", "confirmed", "confirmed")
    assert {e["outlet"] for e in alert["evidence"]} == {"a", "b", "c"}
    # The alert quotes the strongest report, not the one that happened to tip the claim over (c's).
    strongest = max(store.hits(claim_id=config.claims[0].id), key=lambda h: h.score)
    assert alert["story"]["id"] == strongest.story_id and alert["story"]["outlet"] == "a" and alert["sentence"]


def test_a_trusted_outlet_is_enough(monitor, httpserver, receiver):
    config, ctx, store = monitor(confirm_after_outlets=3, trusted_outlets=["b"])
    publish(httpserver, {"a": [], "b": [SIGNED], "c": []})
    poll_all(config, ctx, store, NOW)
    deliver_due(ctx, store, NOW)
    assert [r.body["state"] for r in receiver.received] == ["confirmed"]


def test_notify_all_sends_one_alert_per_story_group_not_per_outlet(monitor, httpserver, receiver):
    config, ctx, store = monitor(notify="all")
    publish(httpserver, {"a": [PENDING], "b": [], "c": []})
    poll_all(config, ctx, store, NOW)
    publish(httpserver, {"a": [PENDING, SIGNED], "b": [REPRINT], "c": []})
    poll_all(config, ctx, store, NOW + timedelta(minutes=5))
    deliver_due(ctx, store, NOW + timedelta(minutes=5))
    kinds = [(r.body["type"], r.body["story"]["outlet"]) for r in receiver.received]
    # The pending story is news (notify = "all"); the signing is a state change; its reprint joins its group.
    assert kinds == [("claim.hit", "a"), ("claim.state_changed", "a")]


def test_stale_stories_are_recorded_but_neither_alert_nor_move_the_claim(monitor, httpserver, receiver):
    config, ctx, store = monitor()
    old = {**SIGNED, "published": NOW - timedelta(days=10)}
    publish(httpserver, {"a": [old], "b": [], "c": []})
    poll_all(config, ctx, store, NOW)
    deliver_due(ctx, store, NOW)
    [hit] = store.hits()
    assert hit.verdict == "confirmed"
    assert store.claim_state(config.claims[0].id) is None and receiver.received == []


def test_overdue_alert_is_sent_once_per_date(monitor, httpserver, receiver):
    config, ctx, store = monitor(expect_by=date(2026, 11, 20))
    assert check_deadlines(ctx, store, NOW) == 1
    assert check_deadlines(ctx, store, NOW + timedelta(hours=1)) == 0
    deliver_due(ctx, store, NOW)
    [alert] = [r.body for r in receiver.received]
    assert alert["type"] == "claim.overdue" and alert["expect_by"] == "2026-11-20" and alert["state"] == "pending"

    # A confirmed claim is not overdue.
    config, ctx, store = monitor(expect_by=date(2026, 11, 26))
    publish(httpserver, {"a": [SIGNED], "b": [], "c": []})
    poll_all(config, ctx, store, NOW)
    assert check_deadlines(ctx, store, NOW) == 0


def test_claim_state_and_history_survive_a_config_edit(monitor, httpserver):
    config, ctx, store = monitor()
    publish(httpserver, {"a": [SIGNED], "b": [], "c": []})
    poll_all(config, ctx, store, NOW)
    assert store.claim_state(config.claims[0].id).state == "confirmed"
    # The claim's wording and rules change; its id does not: the state and history stay.
    config, ctx, store = monitor(text="Iraq and the US sign the coalition withdrawal agreement",
                                 confirm_after_outlets=2)
    publish(httpserver, {"a": [SIGNED], "b": [COLLAPSED], "c": []})
    poll_all(config, ctx, store, NOW + timedelta(hours=1))
    history = store.claim_history(config.claims[0].id)
    assert [(h.previous_state, h.state) for h in history] == [("pending", "confirmed")]
    assert store.claim_state(config.claims[0].id).state == "confirmed"  # one rejection of two needed


def test_console_alert_says_what_changed_and_who_reported_it(monitor, httpserver):
    config, ctx, store = monitor()
    publish(httpserver, {"a": [SIGNED], "b": [REPRINT], "c": []})
    poll_all(config, ctx, store, NOW)
    out = io.StringIO()
    console = Context(config=config, claims=ctx.claims, fetcher=ctx.fetcher, notifiers={"hook": ConsoleNotifier(out)})
    deliver_due(console, store, NOW)
    text = out.getvalue()
    assert "pending → CONFIRMED" in text
    assert "also reported by b" in text
    assert SIGNED["title"] in text and "cue: " in text


def test_a_poll_that_started_earlier_but_committed_later_still_counts(monitor, httpserver, receiver):
    """Poll stamps never go back before the claim's current state: evidence is not lost to commit order."""
    config, ctx, store = monitor(confirm_after_outlets=2, trusted_outlets=["b"])
    postponed = story("d1", "Signing of Iraq-US coalition withdrawal agreement postponed",
                      "The announcement of the deal has been put off.", hours_ago=3)
    publish(httpserver, {"a": [SIGNED], "b": [postponed], "c": [INDEPENDENT]})
    poll_feed(ctx, store, config.feed("b"), NOW + timedelta(seconds=10))  # b moves the claim to delayed
    poll_feed(ctx, store, config.feed("a"), NOW)  # a started before b but commits after it
    poll_feed(ctx, store, config.feed("c"), NOW + timedelta(seconds=20))
    assert store.claim_state(config.claims[0].id).state == "confirmed"
