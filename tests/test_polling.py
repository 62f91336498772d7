"""Polite, self-healing polling through the real pipeline: backoff, Retry-After, cache lifetimes, moved and gone
feeds, unchanged bodies, operator alerts, per-host limits. Loopback HTTP, a real SQLite file, explicit time."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from conftest import rss, run_cli, utc, write_config
from monitor.store import outbox
from monitor.feeds import polling
from monitor.config import load_config
from monitor.delivery import deliver_due
from monitor.pipeline import poll_feed
from monitor.runtime import Context
from monitor.store import Store

NOW = utc(2026, 11, 27, 12, 0)
ITEM = {"guid": "s1", "title": "Acme and Globex sign merger agreement", "summary": "The deal closed today.",
        "link": "https://news.example.com/s1", "published": NOW - timedelta(hours=1)}


@pytest.fixture
def setup(tmp_path, httpserver, receiver):
    def build(path="/feed.xml", **monitor):
        document = {"monitor": {"database": "monitor.db", "allow_private_networks": True,
                                "operator_channels": ["ops"], **monitor},
                    "feeds": [{"name": "wire", "url": httpserver.url_for(path), "interval_seconds": 300}],
                    "claims": [{"id": "deal", "text": "Acme and Globex sign the merger agreement", "channels": []}],
                    "channels": [{"name": "ops", "kind": "webhook", "url": receiver.url}]}
        config = load_config(write_config(tmp_path, document))
        return config, Context.build(config), Store(config.database)
    return build


def requests_to(httpserver, path):
    return sum(1 for request, _ in httpserver.log if request.path == path)


def test_failures_back_off_exponentially_and_recover(setup, httpserver):
    config, ctx, store = setup()
    feed = config.feed("wire")
    httpserver.expect_request("/feed.xml").respond_with_data("down", status=503)
    waits, at = [], NOW
    for _ in range(6):
        assert poll_feed(ctx, store, feed, at).status == "error"
        state = store.feed_state("wire")
        waits.append((state.next_poll_at - at).total_seconds())
        assert poll_feed(ctx, store, feed, at + timedelta(seconds=1)).status == "waiting"  # no request meanwhile
        at = state.next_poll_at
    assert requests_to(httpserver, "/feed.xml") == 6
    for n, wait in enumerate(waits):
        expected = min(300 * 2 ** n, polling.DEFAULT_MAX_BACKOFF_SECONDS)
        assert expected * 0.89 <= wait <= expected * 1.11
    httpserver.clear()
    httpserver.expect_request("/feed.xml").respond_with_data(rss([ITEM]), content_type="application/rss+xml")
    assert poll_feed(ctx, store, feed, at).status == "ok"
    state = store.feed_state("wire")
    assert state.error_count == 0 and state.next_poll_at == at + timedelta(seconds=300)


def test_backoff_is_capped_at_a_day():
    at = polling.after_error(NOW, 300, 40, rng=random.Random(1))
    assert at <= NOW + timedelta(seconds=polling.DEFAULT_MAX_BACKOFF_SECONDS)


def test_retry_after_is_honoured(setup, httpserver):
    config, ctx, store = setup()
    httpserver.expect_request("/feed.xml").respond_with_data("slow down", status=429,
                                                             headers={"Retry-After": "7200"})
    poll_feed(ctx, store, config.feed("wire"), NOW)
    assert store.feed_state("wire").next_poll_at >= NOW + timedelta(seconds=7200)


@pytest.mark.parametrize("cache_control,expected_wait", [
    ("max-age=900", 900),  # lengthens the 300 s interval
    ("max-age=60", 300),  # never shortens it
    ("max-age=86400", 1200),  # capped at four intervals
    ("no-cache", 300),
])
def test_cache_lifetime_may_lengthen_the_interval(setup, httpserver, cache_control, expected_wait):
    config, ctx, store = setup()
    httpserver.expect_request("/feed.xml").respond_with_data(rss([ITEM]), content_type="application/rss+xml",
                                                             headers={"Cache-Control": cache_control})
    poll_feed(ctx, store, config.feed("wire"), NOW)
    assert store.feed_state("wire").next_poll_at == NOW + timedelta(seconds=expected_wait)


def test_an_identical_body_is_not_parsed_again(setup, httpserver):
    config, ctx, store = setup()
    httpserver.expect_request("/feed.xml").respond_with_data(rss([ITEM]), content_type="application/rss+xml")
    assert poll_feed(ctx, store, config.feed("wire"), NOW).status == "ok"
    again = poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(minutes=5))
    assert again.status == "unchanged" and store.feed_state("wire").last_ok_at == NOW + timedelta(minutes=5)


def test_consistent_permanent_redirect_moves_the_feed_and_temporary_does_not(setup, httpserver):
    config, ctx, store = setup(path="/old.xml")
    httpserver.expect_request("/old.xml").respond_with_data("", status=301,
                                                            headers={"Location": httpserver.url_for("/new.xml")})
    httpserver.expect_request("/new.xml").respond_with_data(rss([ITEM]), content_type="application/rss+xml")
    httpserver.expect_request("/temp.xml").respond_with_data("", status=302,
                                                             headers={"Location": httpserver.url_for("/new.xml")})
    at = NOW
    for poll in range(polling.REDIRECT_CONFIRMATIONS):
        assert store.feed_state("wire") is None or store.feed_state("wire").fetch_url is None
        poll_feed(ctx, store, config.feed("wire"), at, force=True)
        at += timedelta(minutes=5)
    assert store.feed_state("wire").fetch_url == httpserver.url_for("/new.xml")
    before = requests_to(httpserver, "/old.xml")
    poll_feed(ctx, store, config.feed("wire"), at, force=True)
    assert requests_to(httpserver, "/old.xml") == before  # polled at its new address now

    config, ctx, store = setup(path="/temp.xml")
    for poll in range(polling.REDIRECT_CONFIRMATIONS + 1):
        poll_feed(ctx, store, config.feed("wire"), at, force=True)
        at += timedelta(minutes=5)
    assert store.feed_state("wire").fetch_url is None


def test_410_disables_the_feed_until_its_url_changes_and_tells_the_operator(setup, httpserver, receiver):
    config, ctx, store = setup(path="/gone.xml")
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=410)
    result = poll_feed(ctx, store, config.feed("wire"), NOW)
    assert result.status == "error" and result.alerts == 1
    assert "gone" in store.feed_state("wire").disabled_reason
    for later in (NOW + timedelta(days=2), NOW + timedelta(days=30)):
        assert poll_feed(ctx, store, config.feed("wire"), later, force=True).status == "disabled"
    assert requests_to(httpserver, "/gone.xml") == 1  # no further requests
    deliver_due(ctx, store, NOW, sleep=lambda s: None)
    [alert] = [r.body for r in receiver.received]
    assert alert["type"] == "feed.failing" and "DISABLED" in alert["headline"]

    httpserver.expect_request("/feed.xml").respond_with_data(rss([ITEM]), content_type="application/rss+xml")
    config, ctx, store = setup(path="/feed.xml")  # the operator fixed the URL
    assert poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(days=31)).status == "ok"


def test_operator_hears_once_when_a_feed_stays_broken_and_once_when_it_recovers(setup, httpserver, receiver):
    config, ctx, store = setup(alert_after_hours=6)
    httpserver.expect_request("/feed.xml").respond_with_data("oops", status=500)
    at = NOW
    for _ in range(8):  # about 21 hours of failures, polled at the backoff's pace
        poll_feed(ctx, store, config.feed("wire"), at, force=True)
        at += timedelta(hours=3)
    assert outbox.counts(store)["pending"] == 1
    httpserver.clear()
    httpserver.expect_request("/feed.xml").respond_with_data(rss([ITEM]), content_type="application/rss+xml")
    poll_feed(ctx, store, config.feed("wire"), at, force=True)
    poll_feed(ctx, store, config.feed("wire"), at + timedelta(hours=1), force=True)
    deliver_due(ctx, store, at + timedelta(hours=2), sleep=lambda s: None)
    assert [r.body["type"] for r in receiver.received] == ["feed.failing", "feed.recovered"]
    assert "failing since" in receiver.received[0].body["headline"]


def test_feeds_command_lists_health(setup, httpserver):
    config, ctx, store = setup()
    httpserver.expect_request("/feed.xml").respond_with_data("oops", status=500)
    poll_feed(ctx, store, config.feed("wire"), NOW)
    result = run_cli("feeds", "--json", config=config.path)
    [row] = json.loads(result.stdout)["feeds"]
    assert row["state"] == "failing" and row["error_count"] == 1 and "500" in row["last_error"]
    assert row["next_poll_at"] and row["failing_since"]
    text = run_cli("feeds", config=config.path).stdout
    assert text.startswith("wire: FAILING") and "1 errors since" in text


def test_a_guid_that_changes_on_every_fetch_does_not_make_old_entries_new(setup, httpserver):
    config, ctx, store = setup()
    for poll, guid in enumerate(("random-1", "random-2", "random-3")):
        httpserver.clear()
        httpserver.expect_request("/feed.xml").respond_with_data(rss([{**ITEM, "guid": guid}]),
                                                                 content_type="application/rss+xml")
        result = poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(hours=poll), force=True)
        assert result.new_stories == (1 if poll == 0 else 0)


def test_opml_import_and_export_through_the_cli(setup, tmp_path):
    config, ctx, store = setup()
    opml = tmp_path / "subs.opml"
    opml.write_text('<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>'
                    '<outline text="World"><outline text="BBC World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>'
                    f'<outline text="Wire again" xmlUrl="{config.feed("wire").url}"/></outline></body></opml>',
                    encoding="utf-8")
    preview = run_cli("import-opml", str(opml), config=config.path)
    assert 'name = "bbc-world"' in preview.stdout and config.feed("wire").url not in preview.stdout
    written = run_cli("import-opml", str(opml), "--write", config=config.path)
    assert "appended 1 feeds" in written.stdout
    assert run_cli("check-config", config=config.path).returncode == 0
    assert "nothing new" in run_cli("import-opml", str(opml), config=config.path).stderr
    exported = run_cli("export-opml", config=config.path).stdout
    assert exported.count("<outline") == 2 and "https://feeds.bbci.co.uk/news/world/rss.xml" in exported


def test_backoff_cap_is_configurable(setup, httpserver):
    config, ctx, store = setup(max_backoff_hours=0.5)
    httpserver.expect_request("/feed.xml").respond_with_data("down", status=500)
    at = NOW
    for _ in range(8):
        poll_feed(ctx, store, config.feed("wire"), at, force=True)
        at += timedelta(hours=1)
    assert store.feed_state("wire").next_poll_at - (at - timedelta(hours=1)) <= timedelta(minutes=30)


def test_retention_prunes_old_stories_without_hits_and_keeps_hits(setup, httpserver):
    config, ctx, store = setup()
    unrelated = {"guid": "u1", "title": "Local bakery wins regional bread award", "summary": "Crusty.",
                 "link": "https://news.example.com/u1", "published": NOW - timedelta(hours=1)}
    httpserver.expect_request("/feed.xml").respond_with_data(rss([ITEM, unrelated]),
                                                             content_type="application/rss+xml")
    poll_feed(ctx, store, config.feed("wire"), NOW)
    assert store.db["stories"].count == 2
    with store.transaction():
        assert store.prune_stories(NOW + timedelta(days=1)) == 1  # the unmatched story; the hit's story stays
    assert [h.title for h in store.hits()] == [ITEM["title"]]
    with store.transaction():
        assert store.prune_stories(NOW - timedelta(days=1)) == 0  # nothing younger is touched


def test_a_new_url_in_the_config_forgets_the_old_address(setup, httpserver):
    config, ctx, store = setup(path="/old.xml")
    httpserver.expect_request("/old.xml").respond_with_data("", status=301,
                                                            headers={"Location": httpserver.url_for("/moved.xml")})
    httpserver.expect_request("/moved.xml").respond_with_data(rss([ITEM]), content_type="application/rss+xml")
    at = NOW
    for _ in range(polling.REDIRECT_CONFIRMATIONS):
        poll_feed(ctx, store, config.feed("wire"), at, force=True)
        at += timedelta(minutes=5)
    assert store.feed_state("wire").fetch_url == httpserver.url_for("/moved.xml")
    config, ctx, store = setup(path="/new.xml")  # the operator points the feed somewhere else
    httpserver.expect_request("/new.xml").respond_with_data("oops", status=500)
    poll_feed(ctx, store, config.feed("wire"), at, force=True)
    state = store.feed_state("wire")
    assert (state.fetch_url, state.error_count, state.etag) == (None, 1, None)
    before = requests_to(httpserver, "/moved.xml")
    poll_feed(ctx, store, config.feed("wire"), at + timedelta(minutes=5), force=True)
    assert requests_to(httpserver, "/moved.xml") == before  # the new URL is polled, not the old address


def test_secrets_in_feed_urls_are_not_shown(setup, tmp_path):
    config, ctx, store = setup()
    path = tmp_path / "monitor.toml"
    path.write_text(path.read_text().replace("http://localhost", "http://reader:s3cret@localhost"), encoding="utf-8")
    for command in (["feeds", "--json"], ["status", "--json"], ["check-config", "--show"]):
        result = run_cli(*command, config=path)
        assert result.returncode == 0, result.stderr
        assert "s3cret" not in result.stdout + result.stderr, command


def test_a_poll_due_on_its_interval_is_not_skipped_for_waking_a_little_early(setup, httpserver):
    config, ctx, store = setup()
    httpserver.expect_request("/feed.xml").respond_with_data(rss([ITEM]), content_type="application/rss+xml")
    poll_feed(ctx, store, config.feed("wire"), NOW)
    early = NOW + timedelta(seconds=300 - 10)  # the scheduler woke ten seconds before next_poll_at
    assert poll_feed(ctx, store, config.feed("wire"), early).status == "unchanged"
    assert poll_feed(ctx, store, config.feed("wire"), early + timedelta(seconds=30)).status == "waiting"


def test_a_changed_interval_is_measured_again_from_the_last_poll():
    after_interval_change = polling.after_interval_change
    last = utc(2030, 1, 1)
    minutes = lambda n: last + timedelta(minutes=n)  # noqa: E731
    assert after_interval_change(minutes(5), last, 0, 300, 30) == last + timedelta(seconds=30)
    # A wait the server's max-age stretched past the old interval still counts, within the new stretch cap.
    assert after_interval_change(minutes(10), last, 0, 300, 240) == minutes(10)
    assert after_interval_change(minutes(10), last, 0, 300, 60) == minutes(4)
    # A failing feed keeps its backoff; so does one that never succeeded.
    assert after_interval_change(minutes(40), last, 3, 300, 30) == minutes(40)
    assert after_interval_change(minutes(40), None, 0, 300, 30) == minutes(40)
