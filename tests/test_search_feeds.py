"""Search feeds built from a claim: the URLs and queries built, the config's checks, GDELT's article lists read
as stories, the real polling and scheduler wiring over loopback servers standing in for Google News and GDELT,
and the feeds rebuilt on reload."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from conftest import run_cli, shipped_claims, utc, write_config
from monitor import runtime
from monitor.config import describe, load_config
from monitor.daemon.scheduler import Daemon, feed_job_id
from monitor.errors import ConfigError, ParseError
from monitor.feeds import search
from monitor.feeds.parse import parse_feed
from monitor.feeds.politeness import HostBusy, HostSlots
from monitor.oneshot import poll_all
from monitor.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "search"
NOW = utc(2026, 3, 10, 12, 0)
CLAIM = "iraq-us-coalition-signing"
GOOGLE = f"search:{CLAIM}:google-news"
GDELT = f"search:{CLAIM}:gdelt"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def claim_entry(**extra) -> dict:
    entry = {**shipped_claims()[0], "search": ["google-news", "gdelt"], **extra}
    entry.pop("channels", None)
    return entry


def config_document(httpserver, claim: dict | None = None, **search_extra) -> dict:
    return {"monitor": {"database": "monitor.db", "allow_private_networks": True},
            "search": {"google_news_url": httpserver.url_for("/rss/search"),
                       "gdelt_url": httpserver.url_for("/api/v2/doc/doc"), **search_extra},
            "claims": [claim or claim_entry()],
            "channels": [{"name": "console", "kind": "console"}]}


def serve_engines(httpserver, gdelt_body: bytes = None, gdelt_type: str = "application/json") -> None:
    httpserver.expect_request("/rss/search").respond_with_data(fixture("google-news.xml"),
                                                               content_type="application/rss+xml")
    httpserver.expect_request("/api/v2/doc/doc").respond_with_data(gdelt_body or fixture("gdelt.json"),
                                                                   content_type=gdelt_type)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# --- the URLs built ---------------------------------------------------------------------------------------------

def test_the_shipped_claim_gives_a_query_narrow_on_its_parties_and_broad_on_its_event(tmp_path):
    config = runtime.load(write_config(tmp_path, {"claims": [claim_entry()]})).config
    feeds = {f.name: f for f in config.feeds}
    assert list(feeds) == [GOOGLE, GDELT] and {f.claim for f in feeds.values()} == {CLAIM}
    google, gdelt = query_of(feeds[GOOGLE].url), query_of(feeds[GDELT].url)
    parties = '(Iraq OR Iraqi OR Baghdad) ("United States" OR US OR "U.S." OR USA OR Washington OR American)'
    event = "(sign OR ink OR seal OR agreement OR deal OR accord)"
    assert google == {"q": f"{parties} {event}", "hl": "en-US", "gl": "US", "ceid": "US:en"}
    assert feeds[GOOGLE].url.startswith("https://news.google.com/rss/search?")
    # GDELT refuses words shorter than three letters: "US" is left out, the rest is the same query.
    assert gdelt["query"] == f"{parties.replace(' OR US OR', ' OR')} {event}"
    assert {k: v for k, v in gdelt.items() if k != "query"} == {
        "mode": "artlist", "format": "json", "maxrecords": "75", "timespan": "1d", "sort": "datedesc"}
    assert feeds[GDELT].url.startswith("https://api.gdeltproject.org/api/v2/doc/doc?")


def test_a_claim_without_aliases_searches_its_names_and_without_names_its_event_word(tmp_path):
    entry = {"id": "kishida", "text": "Kishida resigns as prime minister of Japan", "search": ["google-news"],
             "language": "fr-FR"}
    config = runtime.load(write_config(tmp_path, {"claims": [entry]})).config
    (feed,) = config.feeds
    assert feed.name == "search:kishida:google-news"
    assert query_of(feed.url) == {"q": "Kishida Japan", "hl": "fr-FR", "gl": "FR", "ceid": "FR:fr"}
    nameless = {"id": "rates", "text": "will the rates be cut", "search": ["gdelt"]}
    (feed,) = runtime.load(write_config(tmp_path, {"claims": [nameless]})).config.feeds
    assert query_of(feed.url)["query"] == "cut"


def test_names_are_cleaned_and_the_event_noun_is_no_name(tmp_path):
    entry = {"id": "budget", "text": "Ratification of the trade pact by Estrava's parliament and Estrava's senate",
             "search": ["google-news"], "aliases": {"ratification": ["ratify", "ratified"]}}
    (feed,) = runtime.load(write_config(tmp_path, {"claims": [entry]})).config.feeds
    assert query_of(feed.url)["q"] == "Estrava (ratification OR ratify OR ratified)"


def test_search_query_is_sent_as_written_and_search_settings_apply(tmp_path):
    entry = claim_entry(search_query='"coalition withdrawal" Iraq sourcecountry:IZ')
    document = {"defaults": {"interval_seconds": 600},
                "search": {"language": "de-DE", "gdelt_format": "rss", "gdelt_max_records": 20,
                           "gdelt_timespan": "12h", "interval_seconds": 900},
                "claims": [entry]}
    config = runtime.load(write_config(tmp_path, document)).config
    google, gdelt = (query_of(f.url) for f in config.feeds)
    assert google["q"] == gdelt["query"] == '"coalition withdrawal" Iraq sourcecountry:IZ'
    assert (google["hl"], google["ceid"]) == ("de-DE", "DE:de")
    assert (gdelt["format"], gdelt["maxrecords"], gdelt["timespan"]) == ("rss", "20", "12h")
    assert {f.interval_seconds for f in config.feeds} == {900}


def test_search_feeds_read_article_pages_when_the_defaults_say_so(tmp_path):
    document = {"defaults": {"full_text": "hits"}, "claims": [claim_entry()]}
    config = runtime.load(write_config(tmp_path, document)).config
    assert {f.name: f.full_text for f in config.feeds} == {GOOGLE: "hits", GDELT: "hits"}


def test_check_config_show_prints_the_search_feeds_whole_and_a_secret_base_redacted(tmp_path):
    config = runtime.load(write_config(tmp_path, {"claims": [claim_entry()]})).config
    shown = {f["name"]: f for f in describe(config, redact=True)["feeds"]}
    assert shown[GOOGLE] == {"name": GOOGLE, "url": config.feed(GOOGLE).url, "interval_seconds": 300,
                             "max_age_hours": 48.0, "full_text": "off", "claim": CLAIM}
    keyed = {"search": {"gdelt_url": "https://proxy.example/gdelt?key=s3cret"}, "claims": [claim_entry()]}
    config = runtime.load(write_config(tmp_path, keyed)).config
    shown = {f["name"]: f for f in describe(config, redact=True)["feeds"]}
    assert "s3cret" not in json.dumps(shown) and "Iraq" in shown[GOOGLE]["url"]
    assert query_of(config.feed(GDELT).url)["key"] == "s3cret"  # the proxy's own parameter is kept
    assert query_of(config.feed(GDELT).url)["mode"] == "artlist"


def test_adding_the_search_feeds_twice_changes_nothing(tmp_path):
    config = runtime.load(write_config(tmp_path, {"claims": [claim_entry()]})).config
    assert search.with_search_feeds(config) is config
    without = replace(config, claims=(replace(config.claims[0], search=()),))
    assert search.with_search_feeds(without).feeds == ()


# --- config errors ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("document, expected", [
    ({"claims": [claim_entry(search=["bing"])]},
     "claims[0].search: unknown search engine 'bing'; expected one of google-news, gdelt"),
    ({"claims": [claim_entry(search="gdelt")]}, "claims[0].search: must be a list of non-empty strings"),
    ({"claims": [claim_entry(search=["gdelt", "gdelt"])]}, "claims[0].search: names an engine twice"),
    ({"claims": [claim_entry(search=[], search_query="Iraq")]},
     "claims[0].search_query: is set but search is empty: name the engines to ask in search"),
    ({"claims": [claim_entry(language="english")]},
     "claims[0].language: must be a language and region such as en-US or fr-FR, got 'english'"),
    ({"search": {"gdelt_format": "csv"}}, "search.gdelt_format: must be one of json, rss, got 'csv'"),
    ({"search": {"gdelt_timespan": "yesterday"}},
     "search.gdelt_timespan: must be a count and a unit (min, h, d, w, m) such as 1d, got 'yesterday'"),
    ({"search": {"gdelt_max_records": 1000}}, "search.gdelt_max_records: must be between 1 and 250, got 1000"),
    ({"search": {"gdelt_url": "ftp://mirror.example/doc"}},
     "search.gdelt_url: must be an http or https URL with a host, got 'ftp://mirror.example/doc'"),
    ({"search": {"engine": "gdelt"}}, "search.engine: unknown key"),
    ({"feeds": [{"name": "search:mine:gdelt", "url": "https://example.com/rss"}]},
     'feeds[0].name: must not start with "search:": such names are the claims\' search feeds'),
])
def test_a_bad_search_setting_is_a_message_naming_the_key(tmp_path, document, expected):
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, document))
    assert any(p.startswith(expected) for p in error.value.problems), error.value.problems


# --- what the engines answer, read as stories --------------------------------------------------------------------

def test_a_gdelt_json_article_list_becomes_stories_with_their_outlet():
    stories = parse_feed(fixture("gdelt.json"), feed_name=GDELT, headers={"content-type": "application/json"},
                         now=NOW)
    assert [(s.title, s.link, s.outlet, s.published_at) for s in stories] == [
        ("Iraq and the United States sign the agreement on the coalition withdrawal",
         "https://river-post.example/world/2026/03/10/iraq-united-states-sign-coalition-agreement",
         "river-post.example", utc(2026, 3, 10, 9, 45)),
        ("Baghdad, Washington ink pact on withdrawal of US-led coalition",
         "https://valley-herald.example/news/baghdad-washington-ink-pact", "valley-herald.example",
         utc(2026, 3, 10, 10, 15)),
        ("Cup final goes to extra time", "https://coast-daily.example/sport/cup-final", "coast-daily.example", None),
    ]  # the repeat of one URL, the article without one and the non-article are left out
    assert all(s.summary == "" and s.feed == GDELT for s in stories)


def test_gdelt_answering_nothing_matched_is_an_empty_list_and_a_foreign_shape_an_error():
    assert parse_feed(b"{}", feed_name=GDELT, headers={"content-type": "application/json"}, now=NOW) == []
    assert parse_feed(b'{"articles": []}', feed_name=GDELT, now=NOW) == []
    with pytest.raises(ParseError, match="articles is not a list"):
        parse_feed(b'{"articles": {"url": "x"}}', feed_name=GDELT, now=NOW)
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_feed(b'{"items": []}', feed_name=GDELT, now=NOW)


def test_an_engine_refusing_a_query_in_words_is_an_error_that_shows_them():
    answer = b"Your search contained a keyword that was too short.\x1b[2J Please add keywords." + b" x" * 400
    with pytest.raises(ParseError) as error:
        parse_feed(answer, feed_name=GDELT, headers={"content-type": "text/html; charset=utf-8"}, now=NOW)
    message = str(error.value)
    assert message.startswith("not a feed: the server answered with text: Your search contained a keyword")
    assert "\x1b" not in message and len(message) <= 300


def test_gdelt_rss_and_google_news_rss_go_through_the_normal_path_with_their_links_kept():
    gdelt = parse_feed(fixture("gdelt.xml"), feed_name=GDELT, now=NOW)
    assert [s.link for s in gdelt] == [
        "https://river-post.example/world/2026/03/10/iraq-united-states-sign-coalition-agreement",
        "https://coast-daily.example/sport/cup-final"]
    google = parse_feed(fixture("google-news.xml"), feed_name=GOOGLE, now=NOW)
    assert len(google) == 3
    # The redirect links stay as they are: following them would be a request to Google per story.
    assert all(s.link.startswith("https://news.google.com/rss/articles/") and s.link.endswith("?oc=5")
               for s in google)


# --- politeness: GDELT's host spaced ----------------------------------------------------------------------------

def test_a_spaced_host_takes_one_request_per_interval_even_when_backoff_is_ignored():
    clock = [100.0]
    slots = HostSlots(4, clock=lambda: clock[0], spacing={"api.gdelt.example": 5.0})
    first = slots.try_hold("https://api.gdelt.example/doc?q=a")
    assert not isinstance(first, HostBusy)
    first.release()
    clock[0] += 2
    refused = slots.try_hold("https://api.gdelt.example/doc?q=b", ignore_backoff=True)
    assert isinstance(refused, HostBusy) and refused.retry_in_seconds == pytest.approx(3.0)
    other = slots.try_hold("https://news.example/rss")  # other hosts are not spaced
    assert not isinstance(other, HostBusy)
    clock[0] += 3
    assert not isinstance(slots.try_hold("https://api.gdelt.example/doc?q=b"), HostBusy)
    slots.set_spacing({})
    assert not isinstance(slots.try_hold("https://api.gdelt.example/doc?q=c"), HostBusy)


# --- polled for real --------------------------------------------------------------------------------------------

def test_poll_once_polls_both_search_feeds_and_records_the_claims_hits(tmp_path, httpserver):
    serve_engines(httpserver)
    loaded = runtime.load(write_config(tmp_path, config_document(httpserver, gdelt_min_interval_seconds=0.2)))
    ctx = loaded.context()
    try:
        results = poll_all(ctx, loaded.config.feeds, workers=2, now=lambda: NOW)
    finally:
        ctx.close()
    assert [(r.feed, r.status, r.stories) for r in results] == [(GOOGLE, "ok", 3), (GDELT, "ok", 3)]
    asked = {urlsplit(request.url).path: query_of(request.url) for request, _ in httpserver.log}
    assert asked["/rss/search"]["q"].startswith("(Iraq OR Iraqi OR Baghdad)")
    assert asked["/api/v2/doc/doc"]["mode"] == "artlist"
    with Store(loaded.config.database) as store:
        hits = store.hits(claim_id=CLAIM)
    titles = {(h.feed, h.title) for h in hits}
    assert (GDELT, "Baghdad, Washington ink pact on withdrawal of US-led coalition") in titles
    # Google News's " - Publisher" suffix is dropped from the headline: the publisher is the outlet
    assert (GOOGLE, "Iraq and US sign agreement ending coalition mission") in titles
    outlets = {h.title: h.outlet for h in hits}
    assert outlets["Iraq and US sign agreement ending coalition mission"] == "northern-ledger.example"
    assert outlets["Baghdad, Washington ink pact on withdrawal of US-led coalition"].endswith(".example")
    assert not any("Cup final" in t or "oil prices" in t for _, t in titles)


def test_gdelt_rss_is_polled_like_any_feed(tmp_path, httpserver):
    serve_engines(httpserver, gdelt_body=fixture("gdelt.xml"), gdelt_type="application/rss+xml")
    loaded = runtime.load(write_config(tmp_path, config_document(
        httpserver, claim_entry(search=["gdelt"]), gdelt_format="rss")))
    ctx = loaded.context()
    try:
        (result,) = poll_all(ctx, loaded.config.feeds, workers=1, now=lambda: NOW)
    finally:
        ctx.close()
    assert (result.feed, result.status, result.stories, result.hits) == (GDELT, "ok", 2, 1)
    assert query_of(httpserver.log[0][0].url)["format"] == "rss"


def test_the_scheduler_polls_the_search_feeds_and_a_reload_rebuilds_or_removes_them(tmp_path, httpserver):
    serve_engines(httpserver)
    path = write_config(tmp_path, config_document(httpserver))
    daemon = Daemon(runtime.load(path).config, scheduler=BackgroundScheduler())
    daemon.schedule()
    daemon.scheduler.start(paused=True)
    try:
        jobs = {job.id for job in daemon.scheduler.get_jobs()}
        assert {feed_job_id(GOOGLE), feed_job_id(GDELT)} <= jobs
        gdelt_host = urlsplit(httpserver.url_for("/")).hostname
        assert daemon.ctx.hosts.spacing == {gdelt_host: 5.0}  # the test's GDELT host, at GDELT's pace
        daemon.poll(GOOGLE)
        with Store(daemon.config.database) as store:
            assert store.feed_state(GOOGLE).last_ok_at is not None
        before = daemon.config.feed(GOOGLE).url

        # The claim changes: its feeds get new URLs (and are polled afresh).
        changed = claim_entry(search=["google-news"], aliases={"iraq": ["Iraqi"]})
        write_config(tmp_path, config_document(httpserver, changed))
        assert daemon.reload()
        assert [f.name for f in daemon.config.feeds] == [GOOGLE]
        assert daemon.config.feed(GOOGLE).url != before
        assert query_of(daemon.config.feed(GOOGLE).url)["q"].startswith("(Iraq OR Iraqi)")
        jobs = {job.id for job in daemon.scheduler.get_jobs()}
        assert feed_job_id(GOOGLE) in jobs and feed_job_id(GDELT) not in jobs

        # GDELT's pace is a [search] setting: a reload applies it to the hosts kept across reloads.
        write_config(tmp_path, config_document(httpserver, changed, gdelt_min_interval_seconds=12))
        hosts = daemon.ctx.hosts
        assert daemon.reload()
        assert daemon.ctx.hosts is hosts and hosts.spacing == {gdelt_host: 12.0}

        # Its search removed: no search feeds left.
        write_config(tmp_path, config_document(httpserver, claim_entry(search=[])))
        assert daemon.reload()
        assert daemon.config.feeds == ()
        assert not any(job.id.startswith("feed:search:") for job in daemon.scheduler.get_jobs())
    finally:
        daemon.stop()


def test_feeds_lists_the_search_feeds_as_the_claims(tmp_path, httpserver):
    serve_engines(httpserver)
    path = write_config(tmp_path, config_document(httpserver, gdelt_min_interval_seconds=0))
    polled = run_cli("poll-once", config=path)
    assert polled.returncode == 0, polled.stderr
    listed = run_cli("feeds", "--json", config=path)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)["feeds"]}
    assert set(rows) == {GOOGLE, GDELT}
    assert {row["claim"] for row in rows.values()} == {CLAIM}
    assert {row["state"] for row in rows.values()} == {"ok"}
    # The URL is shown whole: its query is the claim's words, not a secret.
    assert query_of(rows[GDELT]["url"])["query"].startswith("(Iraq OR Iraqi OR Baghdad)")
    text = run_cli("feeds", config=path)
    assert f"{GOOGLE} (search for claim {CLAIM}): OK" in text.stdout
