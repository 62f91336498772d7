"""The article's own text for candidate stories (full_text = "hits"): real loopback servers serving article
pages written here, the real extractor (trafilatura, htmldate) in the real parse workers, a real SQLite file."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest

from conftest import rss, run_cli, shipped_claims, utc, write_config
from hostile import HostileServer
from monitor.config import load_config
from monitor.delivery import deliver_due
from monitor.errors import ConfigError
from monitor.feeds.article import ArticleReader, HostPace, extract
from monitor.feeds.politeness import HostSlots
from monitor.models import Story
from monitor.net.guard import default_policy
from monitor.pipeline import poll_feed
from monitor.runtime import Context, TrackedClaim
from monitor.reading.fulltext import NEAR_MISS_MARGIN, is_candidate, judge_with_article, lead
from monitor.store import Store

NOW = utc(2026, 11, 27, 12, 0)
QUALIFIER = ("Iraq and the United States have agreed on a two-year plan for the withdrawal of the US-led "
             "coalition, but have not signed the final agreement, the defence minister said on Sunday.")
# A headline and summary that leave the qualifier out: read alone, they confirm the signing.
HEADLINE = {"guid": "q1", "title": "Iraq and US sign coalition withdrawal agreement",
            "summary": "The defence minister spoke on a television channel on Sunday.",
            "link": None, "published": NOW - timedelta(hours=2)}
SIGNED = {"guid": "c1", "title": "Iraq and US sign coalition withdrawal agreement",
          "summary": "Officials in Baghdad spoke to reporters.", "link": None, "published": NOW - timedelta(hours=1)}


def page(*paragraphs: str, title: str = "News", head: str = "", noise: str = "") -> bytes:
    """An article page as news sites write them: navigation, a script, the article, a footer."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html><head><title>{title}</title>{head}"
            "<script>var tracker = 'TRACKER-SCRIPT-TEXT'; document.write('INJECTED-BY-SCRIPT');</script></head>"
            "<body><nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/sport'>Sport</a></nav>"
            f"<article><h1>{title}</h1>{body}</article>{noise}"
            "<footer>Copyright Example News. All rights reserved. Privacy policy. Cookie settings.</footer>"
            "</body></html>").encode()


QUALIFIED_PAGE = page(QUALIFIER,
                      "The minister said that after seven or eight rounds of talks between the two militaries the "
                      "principles of the withdrawal had been settled and a security partnership would follow.",
                      "He added that the announcement had been held back by the escalation in the region over the "
                      "summer, and that the two delegations would meet again within days.",
                      title="Iraq and US agree coalition withdrawal plan")
SIGNED_PAGE = page("Iraq and the United States signed the agreement on the withdrawal of the US-led coalition on "
                   "Thursday in Baghdad, in a ceremony attended by both foreign ministers.",
                   "The agreement sets a two-year timetable, with the bases in Baghdad handed over first and the "
                   "northern region following a year later, officials from both sides said.",
                   title="Iraq and US sign coalition withdrawal agreement")


@pytest.fixture
def setup(tmp_path, httpserver, receiver):
    def build(full_text="hits", per_feed=None):
        feed = {"name": "wire", "url": httpserver.url_for("/wire.xml")}
        if per_feed is not None:
            feed["full_text"] = per_feed
        document = {"monitor": {"database": "monitor.db", "allow_private_networks": True},
                    "defaults": {"full_text": full_text},
                    "feeds": [feed],
                    "claims": [{**shipped_claims()[0], "channels": ["hook"]}],
                    "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 2}]}
        config = load_config(write_config(tmp_path, document))
        return config, Context.build(config), Store(config.database)
    return build


def serve_feed(httpserver, *items):
    httpserver.expect_request("/wire.xml").respond_with_data(rss(items), content_type="application/rss+xml")


def with_link(item, httpserver, path):
    return {**item, "link": httpserver.url_for(path)}


def test_the_article_qualifier_makes_a_confirming_headline_pending(setup, httpserver, receiver):
    config, ctx, store = setup()
    httpserver.expect_request("/q1").respond_with_data(QUALIFIED_PAGE, content_type="text/html; charset=utf-8")
    serve_feed(httpserver, with_link(HEADLINE, httpserver, "/q1"))
    result = poll_feed(ctx, store, config.feed("wire"), NOW)
    assert (result.status, result.hits, result.verdicts, result.state_changes) == ("ok", 1, ("pending",), ())
    [hit] = store.hits()
    assert hit.verdict == "pending" and hit.cue == "not signed"
    assert hit.sentence == QUALIFIER and hit.sentence_source == "article"
    stored = store.story(hit.story_id)
    assert QUALIFIER in stored.article_text and stored.article_error is None
    assert "TRACKER-SCRIPT-TEXT" not in stored.article_text and "Cookie settings" not in stored.article_text
    assert deliver_due(ctx, store, NOW).sent == 0  # no "confirmed" alert: the article says it is not signed

    explained = run_cli("--db", str(config.database), "explain", hit.story_id)
    assert explained.returncode == 0, explained.stderr
    assert f'verdict pending (cue: not signed): "{QUALIFIER}" (from the article page)' in explained.stdout
    assert "article page read:" in explained.stdout


def test_without_full_text_the_same_story_is_read_from_the_feed_alone(setup, httpserver):
    config, ctx, store = setup(full_text="off")
    serve_feed(httpserver, with_link(HEADLINE, httpserver, "/q1"))
    result = poll_feed(ctx, store, config.feed("wire"), NOW)
    assert result.verdicts == ("confirmed",) and ctx.articles is None
    assert not [r for r in httpserver.log if r[0].path == "/q1"]  # no page was asked for


def test_a_per_feed_setting_overrides_the_default(setup, httpserver):
    config, ctx, store = setup(full_text="hits", per_feed="off")
    assert config.feed("wire").full_text == "off"
    serve_feed(httpserver, with_link(HEADLINE, httpserver, "/q1"))
    assert poll_feed(ctx, store, config.feed("wire"), NOW).verdicts == ("confirmed",)


def test_the_alert_quotes_the_article_sentence_that_decided(setup, httpserver, receiver):
    config, ctx, store = setup()
    httpserver.expect_request("/c1").respond_with_data(SIGNED_PAGE, content_type="text/html")
    # The feed entry alone says nothing decisive; the article tells of the signing.
    quiet = {**SIGNED, "title": "Iraq and US coalition withdrawal agreement: what we know"}
    serve_feed(httpserver, with_link(quiet, httpserver, "/c1"))
    result = poll_feed(ctx, store, config.feed("wire"), NOW)
    assert result.state_changes == ("confirmed",)
    assert deliver_due(ctx, store, NOW).sent == 1
    body = receiver.received[0].body
    assert body["sentence"].startswith("Iraq and the United States signed the agreement")
    assert body["sentence_source"] == "article" and body["cue"] == "signed"


def test_a_refused_page_keeps_the_feed_reading_and_says_why(setup, httpserver, receiver):
    config, ctx, store = setup()
    httpserver.expect_request("/gone").respond_with_data("not here", status=404)
    serve_feed(httpserver, with_link(SIGNED, httpserver, "/gone"))
    result = poll_feed(ctx, store, config.feed("wire"), NOW)
    assert (result.status, result.verdicts, result.state_changes) == ("ok", ("confirmed",), ("confirmed",))
    [hit] = store.hits()
    assert hit.sentence_source is None
    stored = store.story(hit.story_id)
    assert stored.article_text is None and "HTTP 404" in stored.article_error
    assert store.feed_state("wire").error_count == 0  # the feed did not fail
    explained = run_cli("--db", str(config.database), "explain", hit.story_id)
    assert explained.returncode == 0, explained.stderr
    assert "article page not read:" in explained.stdout and "HTTP 404" in explained.stdout
    assert "(from the article page)" not in explained.stdout
    assert deliver_due(ctx, store, NOW).sent == 1
    assert receiver.received[0].body["sentence_source"] == "feed"


def test_a_near_miss_whose_article_tells_of_the_event_becomes_a_hit(setup, httpserver, receiver):
    config, ctx, store = setup()
    httpserver.expect_request("/m1").respond_with_data(SIGNED_PAGE, content_type="text/html")
    near = {"guid": "m1", "title": "Iraq discusses the coalition", "summary": "",
            "link": httpserver.url_for("/m1"), "published": NOW - timedelta(hours=1)}
    serve_feed(httpserver, near)
    result = poll_feed(ctx, store, config.feed("wire"), NOW)
    assert (result.hits, result.state_changes) == (1, ("confirmed",))
    [hit] = store.hits()
    assert hit.score >= config.claims[0].min_score and hit.sentence_source == "article"


def test_an_undated_story_takes_the_date_of_its_page(setup, httpserver):
    config, ctx, store = setup()
    dated = page("Iraq and the United States signed the agreement on the withdrawal of the US-led coalition.",
                 head='<meta property="article:published_time" content="2026-11-27T09:30:00+00:00">')
    httpserver.expect_request("/u1").respond_with_data(dated, content_type="text/html")
    undated = {**SIGNED, "guid": "u1", "published": None, "link": httpserver.url_for("/u1")}
    serve_feed(httpserver, undated)
    poll_feed(ctx, store, config.feed("wire"), NOW)
    [hit] = store.hits()
    assert store.story(hit.story_id).published_at == utc(2026, 11, 27, 9, 30)


def test_an_unrelated_story_fetches_no_page(setup, httpserver):
    config, ctx, store = setup()
    unrelated = {"guid": "n1", "title": "Heavy rain floods streets of Lisbon", "summary": "Traffic stopped.",
                 "link": httpserver.url_for("/n1"), "published": NOW - timedelta(hours=1)}
    serve_feed(httpserver, unrelated)
    assert poll_feed(ctx, store, config.feed("wire"), NOW).hits == 0
    assert not [r for r in httpserver.log if r[0].path == "/n1"]


def test_a_near_miss_is_a_candidate_and_a_far_miss_is_not():
    claim = TrackedClaim.prepare(load_claim())
    near = ("Iraq discusses the coalition", "")  # scored below min_score, within the margin
    from monitor.reading import relevance as match
    assessment = match.assess(claim.relevance, *near)
    assert assessment.failed == match.BELOW_MIN_SCORE
    assert assessment.score >= assessment.min_score - NEAR_MISS_MARGIN
    assert is_candidate(claim.relevance, *near)
    assert not is_candidate(claim.relevance, "Iraq wins football match", "")


def load_claim():
    from monitor.config.settings import ClaimConfig
    from types import MappingProxyType
    raw = shipped_claims()[0]
    return ClaimConfig(id=raw["id"], text=raw["text"],
                       aliases=MappingProxyType({k: tuple(v) for k, v in raw.get("aliases", {}).items()}),
                       require_any=tuple(raw.get("require_any", ())), exclude=tuple(raw.get("exclude", ())),
                       channels=(), min_score=43.0, outcomes=MappingProxyType({}), replace_outcomes=False,
                       confirm_after_outlets=1, trusted_outlets=(), notify="changes", expect_by=None)


def test_an_article_that_tells_of_the_event_keeps_the_confirmation():
    claim = TrackedClaim.prepare(load_claim())
    article = ("Iraq and the United States signed the agreement on Thursday in Baghdad.\n"
               "It had not been signed for months because of the escalation.")
    said = judge_with_article(claim.verdict, HEADLINE["title"], "", article)
    assert said.verdict == "confirmed"
    said = judge_with_article(claim.verdict, HEADLINE["title"], "", QUALIFIER)
    assert (said.verdict, said.sentence) == ("pending", QUALIFIER)


def test_the_lead_is_the_first_paragraphs_only():
    article = "\n".join(f"Paragraph {i} of the story." for i in range(10))
    assert lead(article) == "Paragraph 0 of the story.\nParagraph 1 of the story.\nParagraph 2 of the story."


def test_the_page_date_is_used_where_the_feed_has_none():
    html = page("A story.", head='<meta property="article:published_time" content="2026-11-27T09:30:00+00:00">')
    text, published = extract(html, url="https://news.example.com/a", now=NOW)
    assert text == "A story." or "A story." in text
    assert published == utc(2026, 11, 27, 9, 30)
    _, future = extract(page("x", head='<meta property="article:published_time" content="2027-01-01T00:00:00Z">'),
                        url=None, now=NOW)
    assert future is None  # never later than the poll


def test_a_feed_is_not_an_article_page():
    with HostileServer() as server, reader_for(server) as reader:
        story = Story(id="u1", feed="wire", title="t", summary="", link=server.url("/feed"))
        read = reader.read_page(story, hosts=HostSlots(), now=NOW)  # RSS: refused by its type, not extracted
        assert read.article is None and "not an HTML page" in read.article_error


def reader_for(server: HostileServer, **kwargs) -> ArticleReader:
    """A reader whose address guard lets through the hostile server's port only (not its canary's)."""
    def only_server(ip: str, port: int) -> str | None:
        return None if port == server.port else "not the test server"
    return ArticleReader(address_policy=only_server, **kwargs)


@pytest.mark.parametrize("path, expected", [
    ("/gzip-bomb", "exceeds"),                 # huge: cut at the size cap
    ("/endless-chunked", "exceeds"),
    ("/endless-trickle", "deadline"),          # slow: cut at the deadline
    ("/redirect-to-loopback", "refused"),      # a redirect to another (internal) address
])
def test_hostile_pages_are_refused_and_recorded(path, expected):
    with HostileServer() as server, reader_for(server, deadline_seconds=1.0, max_body_bytes=256 * 1024) as reader:
        story = Story(id="h1", feed="wire", title="t", summary="", link=server.url(path))
        read = reader.read_page(story, hosts=HostSlots(), now=NOW)
        assert read.article is None and expected in read.article_error, read.article_error
        assert server.canary.hits == []


def test_a_binary_page_and_a_private_address_are_refused(httpserver):
    httpserver.expect_request("/photo").respond_with_data(bytes(range(256)) * 64, content_type="image/jpeg")
    httpserver.expect_request("/octets").respond_with_data(b"\x00\x01\xff" * 5000, content_type="")
    with ArticleReader(allow_private_networks=True) as reader:
        photo = reader.read_page(Story(id="b1", feed="w", title="t", summary="", link=httpserver.url_for("/photo")),
                                 hosts=HostSlots(), now=NOW)
        assert "not an HTML page" in photo.article_error
        octets = reader.read_page(Story(id="b2", feed="w", title="t", summary="",
                                        link=httpserver.url_for("/octets")), hosts=HostSlots(), now=NOW)
        assert octets.article is None and "no article text" in octets.article_error
    with ArticleReader(address_policy=default_policy(False)) as guarded:  # the daemon's default: public only
        local = guarded.read_page(Story(id="b3", feed="w", title="t", summary="", link=httpserver.url_for("/photo")),
                                  hosts=HostSlots(), now=NOW)
        assert "refused" in local.article_error


def test_pages_per_host_are_paced_and_a_poll_is_bounded(httpserver):
    clock = [1000.0]
    httpserver.expect_request("/a").respond_with_data(SIGNED_PAGE, content_type="text/html")
    pace = HostPace(2, clock=lambda: clock[0])
    stories = [Story(id=f"s{i}", feed="w", title="t", summary="", link=httpserver.url_for("/a")) for i in range(4)]
    with ArticleReader(allow_private_networks=True, pace=pace, clock=lambda: clock[0], max_pages=3) as reader:
        done = reader.read_pages(stories, hosts=HostSlots(), now=NOW)
        assert done.read == 2
        assert [s.article is not None for s in done.stories] == [True, True, False, False]
        assert "article pages this minute" in done.stories[2].article_error
        assert "limit of 3 article pages" in done.stories[3].article_error
        clock[0] += 61  # a minute later the host may be asked again
        assert reader.read_pages(stories[:1], hosts=HostSlots(), now=NOW).read == 1


def test_a_poll_stops_starting_pages_when_its_time_is_spent(httpserver):
    clock = [0.0]
    httpserver.expect_request("/a").respond_with_data(SIGNED_PAGE, content_type="text/html")

    def extractor(html, url, now):
        clock[0] += 20  # each page costs 20 s of the poll's 30
        return extract(html, url=url, now=now)
    stories = [Story(id=f"s{i}", feed="w", title="t", summary="", link=httpserver.url_for("/a")) for i in range(3)]
    with ArticleReader(allow_private_networks=True, clock=lambda: clock[0], extractor=extractor) as reader:
        done = reader.read_pages(stories, hosts=HostSlots(), now=NOW)
    assert done.read == 2 and "were spent" in done.stories[2].article_error


def test_a_page_is_not_fetched_while_its_host_is_busy(httpserver):
    hosts = HostSlots(1)
    url = httpserver.url_for("/a")
    held = hosts.try_hold(url)
    with held, ArticleReader(allow_private_networks=True) as reader:
        read = reader.read_page(Story(id="s", feed="w", title="t", summary="", link=url), hosts=hosts, now=NOW)
    assert "host is busy" in read.article_error
    assert httpserver.log == []


def test_full_text_values_are_checked(tmp_path):
    document = {"defaults": {"full_text": "always"}, "feeds": [], "claims": [], "channels": []}
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, document))
    assert "defaults.full_text: must be one of off, hits, got 'always'" in str(error.value)


def test_full_text_without_the_extra_names_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # as when the extra is not installed
    document = {"feeds": [{"name": "wire", "url": "https://news.example.com/rss", "full_text": "hits"}],
                "claims": [], "channels": []}
    with pytest.raises(ConfigError) as error:
        load_config(write_config(tmp_path, document))
    assert ("feeds[0].full_text: needs the article extractor, which is not installed: "
            "pip install 'news-monitor[fulltext]'") in str(error.value)
    document["feeds"][0]["full_text"] = "off"
    assert load_config(write_config(tmp_path, document)).feeds[0].full_text == "off"


def test_check_config_shows_the_setting(tmp_path):
    document = {"defaults": {"full_text": "hits"},
                "feeds": [{"name": "wire", "url": "https://news.example.com/rss"}],
                "claims": [], "channels": [{"name": "console", "kind": "console"}]}
    from monitor.config import describe
    assert describe(load_config(write_config(tmp_path, document)))["feeds"][0]["full_text"] == "hits"
