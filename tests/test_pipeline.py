"""poll_feed and deliver_due over real loopback HTTP and a real SQLite file, with time passed in explicitly."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from conftest import rss, shipped_claims, utc, write_config
from monitor.store import outbox
from monitor.config import load_config
from monitor.feeds.fetch import Fetcher
from monitor.delivery import deliver_due, lease_seconds
from monitor.pipeline import poll_feed
from monitor.runtime import Context
from monitor.store import Store

NOW = utc(2026, 11, 27, 12, 0)
SIGNED = {"guid": "c1", "title": "Iraq and US sign agreement on withdrawal of US-led coalition",
          "summary": "Iraq and the United States signed an agreement on Thursday setting a two-year timetable for "
                     "the withdrawal of the international coalition against ISIS.",
          "link": "https://news.example.com/c1", "published": NOW - timedelta(hours=2)}
POSTPONED = {"guid": "d1", "title": "Signing of Iraq-US coalition withdrawal agreement postponed",
             "summary": "The announcement of the deal has been put off because of the escalation in the region.",
             "link": "https://news.example.com/d1", "published": NOW - timedelta(hours=1)}
UNRELATED = {"guid": "n7", "title": "Iraqi parliament passes 2025 budget after months of delay",
             "summary": "Lawmakers approved spending of 200 trillion dinars in a late-night session.",
             "link": "https://news.example.com/n7", "published": NOW - timedelta(hours=1)}


@pytest.fixture
def setup(tmp_path, httpserver, receiver, database_setting):
    """A config with two loopback feeds, the shipped claim, and a webhook channel."""
    def build(channels=None):
        document = {
            "monitor": {"database": database_setting, "allow_private_networks": True},
            "feeds": [{"name": "wire", "url": httpserver.url_for("/wire.xml")},
                      {"name": "other", "url": httpserver.url_for("/other.xml")}],
            "claims": [{**shipped_claims()[0], "channels": ["hook"]}],
            "channels": channels or [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 2}],
        }
        config = load_config(write_config(tmp_path, document))
        return config, Context.build(config), Store(config.database)
    return build


def count(store, table: str) -> int:
    return store.sql.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def serve(httpserver, path, items, **headers):
    httpserver.expect_request(path).respond_with_data(rss(items), content_type="application/rss+xml",
                                                      headers=headers)


def test_new_relevant_story_is_stored_matched_queued_and_delivered_once(setup, httpserver, receiver):
    config, ctx, store = setup()
    serve(httpserver, "/wire.xml", [SIGNED, UNRELATED])
    result = poll_feed(ctx, store, config.feed("wire"), NOW)
    assert (result.status, result.stories, result.new_stories, result.hits, result.alerts) == ("ok", 2, 2, 1, 1)
    assert [h.title for h in store.hits()] == [SIGNED["title"]]

    assert deliver_due(ctx, store, NOW).sent == 1
    body = receiver.received[0].body
    assert body["claim"]["id"] == "iraq-us-coalition-signing"
    assert body["story"]["title"] == SIGNED["title"] and body["story"]["outlet"] == "example.com"  # its link's domain
    assert body["story"]["link"] == SIGNED["link"] and body["score"] >= config.claims[0].min_score
    assert "iraq" in body["matched_terms"]

    # Polling again finds nothing new and sends nothing.
    again = poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(minutes=5))
    assert (again.new_stories, again.alerts) == (0, 0)
    assert deliver_due(ctx, store, NOW + timedelta(minutes=5)).sent == 0
    assert len(receiver.received) == 1


def test_a_failing_feed_is_recorded_and_does_not_stop_the_others(setup, httpserver):
    config, ctx, store = setup()
    httpserver.expect_request("/wire.xml").respond_with_data("boom", status=500)
    serve(httpserver, "/other.xml", [SIGNED])
    failed = poll_feed(ctx, store, config.feed("wire"), NOW)
    ok = poll_feed(ctx, store, config.feed("other"), NOW)
    assert failed.status == "error" and "500" in failed.error
    assert ok.status == "ok" and ok.hits == 1
    state = store.feed_state("wire")
    assert state.error_count == 1 and "500" in state.last_error and state.last_ok_at is None

    poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(minutes=5), force=True)  # ignore its backoff
    assert store.feed_state("wire").error_count == 2
    httpserver.clear()
    serve(httpserver, "/wire.xml", [POSTPONED])
    recovered = poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(minutes=10), force=True)
    assert recovered.status == "ok"
    state = store.feed_state("wire")
    assert state.error_count == 0 and state.last_error is None and state.last_ok_at is not None


def test_malformed_feed_is_an_error_on_that_feed(setup, httpserver):
    config, ctx, store = setup()
    httpserver.expect_request("/wire.xml").respond_with_data("<html><body>Not a feed</body></html>",
                                                             content_type="text/html")
    result = poll_feed(ctx, store, config.feed("wire"), NOW)
    assert result.status == "error"
    assert store.feed_state("wire").error_count == 1


def test_a_timeout_is_an_error_on_that_feed(tmp_path, receiver):
    # A listening socket that never answers: the fetch must time out, not hang.
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        document = {"monitor": {"database": "monitor.db", "allow_private_networks": True},
                    "feeds": [{"name": "silent", "url": f"http://127.0.0.1:{silent.getsockname()[1]}/feed"}],
                    "claims": shipped_claims(), "channels": [{"name": "console", "kind": "console"}]}
        config = load_config(write_config(tmp_path, document))
        built = Context.build(config)
        ctx = Context(config=config, claims=built.claims, notifiers=built.notifiers,
                      fetcher=Fetcher(allow_private_networks=True, read_timeout_seconds=0.3, deadline_seconds=1))
        with Store(config.database) as store:
            result = poll_feed(ctx, store, config.feed("silent"), NOW)
            assert result.status == "error" and "timed out" in result.error
            assert store.feed_state("silent").error_count == 1
    finally:
        silent.close()


def test_conditional_get_304_is_not_an_error_and_sends_validators(setup, httpserver):
    config, ctx, store = setup()
    serve(httpserver, "/wire.xml", [SIGNED], ETag='"v1"', **{"Last-Modified": "Thu, 26 Nov 2026 10:00:00 GMT"})
    assert poll_feed(ctx, store, config.feed("wire"), NOW).status == "ok"
    httpserver.clear()
    httpserver.expect_request("/wire.xml", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    result = poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(minutes=5))
    assert result.status == "not_modified"
    state = store.feed_state("wire")
    assert state.error_count == 0 and state.etag == '"v1"'
    assert state.last_ok_at == NOW + timedelta(minutes=5)


def test_first_poll_does_not_alert_on_old_stories(setup, httpserver):
    config, ctx, store = setup()
    old = {**SIGNED, "guid": "old", "published": NOW - timedelta(hours=72)}
    undated = {**POSTPONED, "guid": "undated", "published": None}
    serve(httpserver, "/wire.xml", [old, undated])
    result = poll_feed(ctx, store, config.feed("wire"), NOW)
    assert (result.hits, result.alerts) == (2, 0)  # stored and matched, but no flood on a new feed
    httpserver.clear()
    fresh_undated = {**POSTPONED, "guid": "undated-2", "link": "https://news.example.com/d1-update", "published": None}
    serve(httpserver, "/wire.xml", [old, undated, fresh_undated])
    later = poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(minutes=5))
    assert (later.new_stories, later.alerts) == (1, 1)  # after the first poll, an undated new story is news


def test_webhook_500_then_200_delivers_the_alert_exactly_once(setup, httpserver, receiver):
    config, ctx, store = setup()
    serve(httpserver, "/wire.xml", [SIGNED])
    poll_feed(ctx, store, config.feed("wire"), NOW)
    receiver.statuses = [500]
    first = deliver_due(ctx, store, NOW)
    assert (first.sent, first.failed) == (0, 1)
    row = store.sql.execute("SELECT status, attempts, last_error FROM outbox").fetchone()
    assert row[0] == "pending" and row[1] == 1 and "500" in row[2]

    assert deliver_due(ctx, store, NOW + timedelta(seconds=5)).sent == 0  # still backing off
    second = deliver_due(ctx, store, NOW + timedelta(minutes=2))
    assert (second.sent, second.failed) == (1, 0)
    assert len(receiver.received) == 2 and len(set(receiver.ids())) == 1  # the retry carries the same alert id
    assert outbox.counts(store) == {"pending": 0, "sent": 1, "dead": 0}
    assert deliver_due(ctx, store, NOW + timedelta(hours=2)).sent == 0


def test_alerts_of_one_claim_keep_their_order_on_a_channel(setup, httpserver, receiver):
    config, ctx, store = setup()
    serve(httpserver, "/wire.xml", [POSTPONED])
    poll_feed(ctx, store, config.feed("wire"), NOW)
    httpserver.clear()
    signed_later = {**SIGNED, "published": NOW - timedelta(minutes=30)}
    serve(httpserver, "/wire.xml", [POSTPONED, signed_later])
    poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(minutes=1), force=True)
    receiver.statuses = [503]
    result = deliver_due(ctx, store, NOW + timedelta(minutes=1))
    assert (result.sent, result.failed, result.waiting) == (0, 1, 1)  # the later alert waits for the earlier
    deliver_due(ctx, store, NOW + timedelta(hours=1))
    titles = [r.body["story"]["title"] for r in receiver.received]
    assert titles == [POSTPONED["title"], POSTPONED["title"], SIGNED["title"]]


def test_crash_inside_a_poll_writes_nothing_and_the_next_poll_writes_everything_once(setup, httpserver, receiver):
    config, ctx, store = setup()
    serve(httpserver, "/wire.xml", [SIGNED])

    class CrashingStore(Store):
        def record_feed_ok(self, *args, **kwargs):
            raise RuntimeError("power cut")  # the last write of the poll transaction

    crashing = CrashingStore(config.database)
    assert poll_feed(ctx, crashing, config.feed("wire"), NOW).status == "error"
    crashing.close()
    assert count(store, "stories") == 0 and count(store, "outbox") == 0  # all or nothing

    assert poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(minutes=1), force=True).alerts == 1
    assert poll_feed(ctx, store, config.feed("wire"), NOW + timedelta(minutes=2), force=True).alerts == 0
    assert count(store, "outbox") == 1


def test_deliverer_dying_mid_send_leaves_the_alert_to_be_resent_with_the_same_id(setup, httpserver, receiver):
    config, ctx, store = setup()
    serve(httpserver, "/wire.xml", [SIGNED])
    poll_feed(ctx, store, config.feed("wire"), NOW)
    # A deliverer on another machine takes the row ... and dies before recording anything.
    seconds = lease_seconds(ctx, "hook")
    leased = outbox.lease(store, outbox.due(store, NOW), "elsewhere:4242:a1b2", NOW, seconds)
    assert len(leased) == 1
    assert deliver_due(ctx, store, NOW + timedelta(seconds=seconds - 1)).sent == 0  # nobody else sends it meanwhile
    assert deliver_due(ctx, store, NOW + timedelta(seconds=seconds)).sent == 1  # due again one send deadline later
    assert receiver.ids() == [leased[0].alert_id]


def test_unconfigured_channel_keeps_its_alerts_pending(setup, httpserver, receiver):
    config, ctx, store = setup()
    serve(httpserver, "/wire.xml", [SIGNED])
    poll_feed(ctx, store, config.feed("wire"), NOW)
    bare = Context(config=config, claims=ctx.claims, fetcher=ctx.fetcher, notifiers={})
    result = deliver_due(bare, store, NOW)
    assert result.failed == 1
    row = store.sql.execute("SELECT status, last_error FROM outbox").fetchone()
    assert row[0] == "pending" and "not configured" in row[1]


def test_webhook_to_loopback_is_refused_without_allow_private_networks(tmp_path, receiver):
    document = {"monitor": {"database": "monitor.db"},
                "claims": [{**shipped_claims()[0], "channels": ["hook"]}],
                "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url}]}
    config = load_config(write_config(tmp_path, document))
    ctx = Context.build(config)
    with Store(config.database) as store:
        from monitor.models import Alert
        with store.transaction():
            outbox.enqueue(store, Alert(id="a1", claim_id="c", story_id="s", kind="claim.hit",
                                        payload={"id": "a1"}), ["hook"], NOW)
        assert deliver_due(ctx, store, NOW).failed == 1
        error = store.sql.execute("SELECT last_error FROM outbox").fetchone()[0]
    assert "loopback" in error and receiver.received == []
    assert json.dumps(error)  # one line, storable


def test_a_poll_that_cannot_record_its_failure_reports_it_and_returns(setup, httpserver, monkeypatch):
    # Another connection of this process holds the write lock for longer than a writer waits.
    from monitor.store import postgres, sqlite

    monkeypatch.setattr(sqlite, "WRITE_WAIT_SECONDS", 0.05)
    monkeypatch.setattr(postgres, "LOCK_TIMEOUT_MS", 50)
    config, ctx, store = setup()
    httpserver.expect_request("/wire.xml").respond_with_data("boom", status=500)
    with Store(config.database).transaction():
        result = poll_feed(ctx, store, config.feed("wire"), NOW)
    assert result.status == "error" and "500" in result.error and "not recorded" in result.error
    assert store.feed_state("wire") is None  # nothing half-written; the next poll records afresh
