"""The outlet of a story is its publisher: read from the feed (``<source>``, a domain field, the link), stored with
the story, counted by corroboration, named by ``trusted_outlets`` and shown in alerts; and big feeds keep every
entry. Feeds are fixtures written for these tests (tests/fixtures/feeds), served over loopback HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from conftest import rss, shipped_claims, utc, write_config
from monitor.config import ConfigError, load_config
from monitor.delivery import deliver_due
from monitor.net.outlets import outlet_name, registrable_domain, story_outlet
from monitor.feeds.parse import parse_feed, parse_feed_traced, parse_feed_with_feedparser
from monitor.models import Story
from monitor.pipeline import poll_feed
from monitor.runtime import Context
from monitor.store import Store
from monitor.store.schema import MIGRATIONS

NOW = utc(2026, 12, 3, 9, 30)
GOOGLE_NEWS = (Path(__file__).parent / "fixtures" / "feeds" / "google_news_search.xml").read_bytes()


# --- naming the outlet ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("host, expected", [
    ("www.bbc.co.uk", "bbc.co.uk"), ("feeds.bbci.co.uk", "bbci.co.uk"), ("News.Example.COM.", "example.com"),
    ("valley.blogspot.com", "valley.blogspot.com"),  # a private suffix: each blog its own publisher
    ("www.tigris-herald.example", "tigris-herald.example"),  # an unknown suffix: the last two labels
    ("127.0.0.1", "127.0.0.1"), ("localhost", "localhost"), ("co.uk", "co.uk"), ("", ""),
])
def test_registrable_domain(host, expected):
    assert registrable_domain(host) == expected


def test_what_names_the_outlet_in_order():
    link = "https://news.google.com/rss/articles/x"
    assert story_outlet(source_url="https://www.reuters.com/", source_name="Reuters", link=link) == "reuters.com"
    assert story_outlet(domain="www.apnews.com", link=link) == "apnews.com"  # GDELT's domain field
    assert story_outlet(source_name=" Evening\x00 Courier ", link=link) == "Evening Courier"
    assert story_outlet(source_url="javascript:alert(1)", link="https://www.bbc.co.uk/news/1") == "bbc.co.uk"
    assert story_outlet(link="not a url") == "" and story_outlet() == ""
    assert len(story_outlet(source_name="x" * 10_000)) <= 200


def test_google_news_items_name_their_publishers_and_keep_their_links():
    stories, parser = parse_feed_traced(GOOGLE_NEWS, feed_name="google-news", url="https://news.google.com/rss",
                                        now=NOW)
    assert parser == "fastfeedparser"  # <source> no longer sends Google News feeds to the slow parser
    assert [s.outlet for s in stories] == ["harbour-times.com", "plains-gazette.co.uk", "harbour-times.com",
                                           "valley.blogspot.com", "Evening Courier"]
    assert all(s.link.startswith("https://news.google.com/rss/articles/") for s in stories)
    assert all(s.feed == "google-news" for s in stories)
    # The publisher Google News appends to each headline is the outlet now, not part of the headline.
    assert stories[0].title == "Iraq and US sign coalition withdrawal agreement in Baghdad"
    assert stories[4].title == "Withdrawal talks: what comes next"
    # feedparser, the reference the fast path is held to, reads the same stories.
    assert parse_feed_with_feedparser(GOOGLE_NEWS, feed_name="google-news", url="https://news.google.com/rss",
                                      now=NOW) == stories


def test_a_feed_without_sources_is_named_by_its_links_and_a_setting_overrides_it():
    body = rss([{"guid": "1", "title": "One", "link": "https://www.bbc.co.uk/news/1"},
                {"guid": "2", "title": "Two", "link": "https://feeds.bbci.co.uk/news/2"},
                {"guid": "3", "title": "Three"}])
    assert [s.outlet for s in parse_feed(body, feed_name="bbc", now=NOW)] == ["bbc.co.uk", "bbci.co.uk", ""]
    assert [s.reported_by for s in parse_feed(body, feed_name="bbc", now=NOW)][2] == "bbc"  # no link: the feed
    assert {s.outlet for s in parse_feed(body, feed_name="bbc", now=NOW, outlet="bbc.co.uk")} == {"bbc.co.uk"}


def test_json_feed_items_are_named_by_their_domain_field():
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "GDELT", "items": [
        {"id": "a", "title": "Deal signed", "url": "https://www.harbour-times.com/a", "domain": "harbour-times.com"},
        {"id": "b", "title": "Deal signed too", "url": "https://example.net/b", "domain": "www.plains-gazette.co.uk"},
        {"id": "c", "title": "No domain", "url": "https://www.example.org/c", "domain": ["junk"]}]}
    stories = parse_feed(json.dumps(doc).encode(), feed_name="gdelt", now=NOW)
    assert [s.outlet for s in stories] == ["harbour-times.com", "plains-gazette.co.uk", "example.org"]


@pytest.mark.parametrize("source", [
    '<source url="javascript:alert(1)">Evil</source>', '<source url="http://[broken">Broken</source>',
    '<source url="">' + "A" * 50_000 + "</source>", "<source><b>markup</b></source>", "<source/>",
])
def test_a_hostile_source_never_breaks_the_parse(source):
    body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>Headline</title>'
            f"<link>https://www.example.com/1</link>{source}</item></channel></rss>").encode()
    [story] = parse_feed(body, feed_name="f", now=NOW)
    assert story.title == "Headline" and len(story.outlet) <= 200
    assert story.outlet in ("example.com", "Evil", "Broken", "A" * 200, "markup")


# --- configuration ----------------------------------------------------------------------------------------------

def config_document(httpserver, receiver, **claim_settings) -> dict:
    return {
        "monitor": {"database": "monitor.db", "allow_private_networks": True},
        "feeds": [{"name": "google-news", "url": httpserver.url_for("/news.xml")},
                  {"name": "own-site", "url": httpserver.url_for("/own.xml"), "outlet": "www.harbour-times.com"}],
        "claims": [{**shipped_claims()[0], "channels": ["hook"], **claim_settings}],
        "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 5}],
    }


def test_trusted_outlets_take_feeds_and_domains_and_catch_typos(tmp_path, httpserver, receiver):
    good = config_document(httpserver, receiver, trusted_outlets=["google-news", "WWW.Reuters.com", "bbc.co.uk"])
    config = load_config(write_config(tmp_path, good))
    assert config.claims[0].trusted_outlets == ("google-news", "reuters.com", "bbc.co.uk")
    assert config.feed("own-site").outlet == "harbour-times.com" and config.feed("google-news").outlet is None
    bad = config_document(httpserver, receiver, trusted_outlets=["google-newz", "reuters.con"])
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, bad))
    problems = "\n".join(caught.value.problems)
    assert "claims[0].trusted_outlets: names 'google-newz', which is neither a feed" in problems
    assert "claims[0].trusted_outlets: names 'reuters.con', whose ending .con is not a known domain suffix" in problems
    assert outlet_name("news.bbc.co.uk") == "bbc.co.uk" and outlet_name("Evening Courier") == "Evening Courier"


# --- through a poll ----------------------------------------------------------------------------------------------

def signed(guid: str, publisher: str, site: str, hours: float) -> dict:
    return {"guid": guid, "title": f"Iraq and US sign agreement on withdrawal of US-led coalition - {publisher}",
            "summary": "Iraq and the United States signed the agreement on the withdrawal of the coalition.",
            "link": f"https://news.google.com/rss/articles/{guid}", "source": (publisher, f"https://www.{site}/"),
            "published": NOW - timedelta(hours=hours)}


def reworded(guid: str, publisher: str, site: str, hours: float) -> dict:
    return {**signed(guid, publisher, site, hours),
            "title": f"Historic day in Baghdad as coalition exit deal is inked after years of talks - {publisher}"}


def poll(tmp_path, httpserver, receiver, items, **claim_settings):
    config = load_config(write_config(tmp_path, config_document(httpserver, receiver, **claim_settings)))
    ctx, store = Context.build(config), Store(config.database)
    httpserver.expect_request("/news.xml").respond_with_data(rss(items), content_type="application/rss+xml")
    result = poll_feed(ctx, store, config.feed("google-news"), NOW)
    assert result.status == "ok", result
    deliver_due(ctx, store, NOW)
    return store, [r.body for r in receiver.received]


def test_two_publishers_inside_one_feed_corroborate_and_the_alert_names_them(tmp_path, httpserver, receiver):
    items = [signed("a", "Harbour Times", "harbour-times.com", 2), reworded("b", "Plains Gazette", "plains-gazette.co.uk", 1)]
    store, alerts = poll(tmp_path, httpserver, receiver, items, confirm_after_outlets=2)
    # Different words, so two story groups, from two publishers: corroborated.
    assert len({h.group_id for h in store.hits()}) == 2, store.hits()
    [alert] = alerts
    assert alert["state"] == "confirmed"
    assert {e["outlet"] for e in alert["evidence"]} == {"harbour-times.com", "plains-gazette.co.uk"}
    assert alert["story"]["outlet"] in {"harbour-times.com", "plains-gazette.co.uk"}
    assert {h.outlet for h in store.hits()} == {"harbour-times.com", "plains-gazette.co.uk"}
    assert {h.feed for h in store.hits()} == {"google-news"}


def test_one_publisher_twice_is_one_outlet(tmp_path, httpserver, receiver):
    items = [signed("a", "Harbour Times", "harbour-times.com", 2), reworded("b", "Harbour Times", "harbour-times.com", 1)]
    _, alerts = poll(tmp_path, httpserver, receiver, items, confirm_after_outlets=2)
    assert alerts == []


def test_wire_copy_from_many_publishers_is_one_group_and_one_report(tmp_path, httpserver, receiver):
    items = [signed(str(i), f"Paper {i}", f"paper-{i}.com", 1 + i / 10) for i in range(5)]
    store, alerts = poll(tmp_path, httpserver, receiver, items, confirm_after_outlets=2)
    assert len({h.group_id for h in store.hits()}) == 1 and len({h.outlet for h in store.hits()}) == 5
    assert alerts == []  # five reprints of one wire story are one report


def test_a_trusted_publisher_inside_the_aggregator_is_enough(tmp_path, httpserver, receiver):
    items = [signed("a", "Harbour Times", "harbour-times.com", 2)]
    _, alerts = poll(tmp_path, httpserver, receiver, items, confirm_after_outlets=5,
                     trusted_outlets=["harbour-times.com"])
    assert [a["state"] for a in alerts] == ["confirmed"]


def test_stories_stored_before_outlets_count_as_their_feed(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    before_outlets = 8  # schema version 9 stores outlets: a database of the release before
    for migration in MIGRATIONS[:before_outlets]:
        migration(db)
    db.execute(f"PRAGMA user_version = {before_outlets}")
    db["stories"].insert({"id": "old", "feed": "wire", "title": "Deal signed", "seen_at": "2026-12-01T00:00:00+00:00"})
    db.conn.commit()
    db.close()
    store = Store(path)
    with store.transaction():
        store.insert_stories([Story("new", "google-news", "Deal signed too", "", "https://news.google.com/x",
                                    outlet="harbour-times.com")], NOW)
    assert store.story("old").reported_by == "wire" and store.story("new").reported_by == "harbour-times.com"


# --- big feeds --------------------------------------------------------------------------------------------------

def test_a_feed_of_1500_entries_keeps_every_one(tmp_path, httpserver, receiver):
    items = [{"guid": f"g{i}", "title": f"Market report number {i}", "link": f"https://www.example.com/{i}",
              "published": NOW - timedelta(minutes=i)} for i in range(1500)]
    config = load_config(write_config(tmp_path, config_document(httpserver, receiver)))
    ctx, store = Context.build(config), Store(config.database)
    httpserver.expect_request("/news.xml").respond_with_data(rss(items), content_type="application/rss+xml")
    result = poll_feed(ctx, store, config.feed("google-news"), NOW)
    assert (result.status, result.stories, result.new_stories) == ("ok", 1500, 1500)
    stored = {s.id for s in store.stories_since(NOW - timedelta(days=1))}
    assert len(stored) == 1500
    oldest = parse_feed(rss(items[-1:]), feed_name="google-news", now=NOW)[0]
    assert oldest.id in stored  # the last entry of the feed, once beyond the cap, is kept too
