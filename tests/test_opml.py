"""monitor.feeds.opml: reading subscription lists, writing them, and rendering new feeds as config entries."""

from __future__ import annotations

import tomllib
import tracemalloc

import pytest
from conftest import shared_path

from monitor.errors import ParseError
from monitor.feeds.opml import MAX_OUTLINES, OpmlFeed, feeds_toml, read_opml, write_opml

FEEDS = shared_path("feeds")

# Shaped like the exports of Feedly / Inoreader / NetNewsWire: OPML 1.0 or 2.0, a head, folders as outlines
# with only text, feeds with type/text/title/xmlUrl/htmlUrl, entities in titles, a duplicate across folders.
REAL_WORLD = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head>
    <title>Reader subscriptions</title>
    <dateCreated>Mon, 03 Jun 2024 09:12:44 GMT</dateCreated>
  </head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="BBC News - Middle East" title="BBC News - Middle East"
               xmlUrl="https://feeds.bbci.co.uk/news/world/middle_east/rss.xml"
               htmlUrl="https://www.bbc.co.uk/news/world/middle_east"/>
      <outline type="rss" text="Al Jazeera &#8211; Breaking News" title="Al Jazeera &#8211; Breaking News"
               xmlUrl="https://www.aljazeera.com/xml/rss/all.xml" htmlUrl="https://www.aljazeera.com"/>
      <outline text="Regional">
        <outline type="rss" text="Rudaw English" xmlUrl="https://www.rudaw.net/rss/english"/>
      </outline>
    </outline>
    <outline text="Tech &amp; Science" title="Tech &amp; Science">
      <outline type="rss" text="Ars Technica" title="Ars Technica" xmlUrl="http://feeds.arstechnica.com/arstechnica/index"/>
      <outline type="rss" text="BBC again" title="BBC again"
               xmlUrl="https://feeds.bbci.co.uk/news/world/middle_east/rss.xml/"/>
    </outline>
    <outline type="rss" text="Top-level blog" xmlUrl="feed://blog.example.org/atom.xml"/>
    <outline type="rss" text="Old gopher" xmlUrl="gopher://example.org/1"/>
    <outline type="link" text="Just a link" url="https://example.org/"/>
    <outline type="rss" text="الجزيرة" xmlUrl="https://www.aljazeera.net/aljazeerarss/a7c186be-1baa-4bd4-9d80-a84db769f779/73d0e1b4-532f-45ef-b135-bfdff8b8cab9"/>
  </body>
</opml>
""".encode()


def test_real_world_shape_flattens_folders_and_keeps_categories():
    feeds = read_opml(REAL_WORLD)
    assert [(f.title, f.category) for f in feeds] == [
        ("BBC News - Middle East", "World"),
        ("Al Jazeera – Breaking News", "World"),
        ("Rudaw English", "World / Regional"),
        ("Ars Technica", "Tech & Science"),
        ("BBC again", "Tech & Science"),
        ("Top-level blog", None),
        ("الجزيرة", None),
    ]
    assert feeds[5].url == "http://blog.example.org/atom.xml"  # feed:// read as http://
    assert all(f.url.startswith(("http://", "https://")) for f in feeds)  # gopher: skipped


def test_feeds_toml_skips_duplicates_and_makes_unique_slug_names():
    feeds = read_opml(REAL_WORLD)
    text = feeds_toml(feeds, existing_names=["ars-technica"],
                      existing_urls=["https://FEEDS.ARSTECHNICA.com/arstechnica/index"])
    entries = tomllib.loads(text)["feeds"]
    assert [(e["name"], e["url"]) for e in entries] == [
        ("bbc-news-middle-east", "https://feeds.bbci.co.uk/news/world/middle_east/rss.xml"),
        ("al-jazeera-breaking-news", "https://www.aljazeera.com/xml/rss/all.xml"),
        ("rudaw-english", "https://www.rudaw.net/rss/english"),
        # "BBC again" is the BBC feed with a trailing slash; Ars Technica is configured (scheme and case differ).
        ("top-level-blog", "http://blog.example.org/atom.xml"),
        ("www-aljazeera-net", entries[4]["url"]),  # no ASCII in the title: named after the host
    ]
    assert "# Rudaw English (World / Regional)\n[[feeds]]" in text


def test_feeds_toml_name_clashes_and_nothing_new():
    feeds = [OpmlFeed("News", "https://a.example/rss"), OpmlFeed("NEWS!", "https://b.example/rss"),
             OpmlFeed("news", "https://c.example/rss")]
    entries = tomllib.loads(feeds_toml(feeds, existing_names=["news"], existing_urls=[]))["feeds"]
    assert [e["name"] for e in entries] == ["news-2", "news-3", "news-4"]
    assert feeds_toml(feeds, existing_names=[], existing_urls=[f.url for f in feeds]) == ""


def test_feeds_toml_escapes_hostile_titles_and_urls():
    feeds = [OpmlFeed('a"]\n[[channels]]\nname = "x', 'https://e.example/?q="\\\n'),
             OpmlFeed("\x00\x7f", "https://f.example/")]
    parsed = tomllib.loads(feeds_toml(feeds, existing_names=[], existing_urls=[]))
    assert list(parsed) == ["feeds"] and len(parsed["feeds"]) == 2
    assert parsed["feeds"][0]["url"] == 'https://e.example/?q="\\\n'
    assert parsed["feeds"][1]["name"] == "f-example"


def test_round_trip():
    pairs = [("bbc", "https://feeds.bbci.co.uk/news/rss.xml"), ("a & <b>", "https://x.example/?a=1&b=2"),
             ("عربي", "https://ar.example/feed")]
    document = write_opml(pairs, title="news-monitor feeds")
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<opml version=\"2.0\">")
    assert [(f.title, f.url, f.category) for f in read_opml(document)] == [(n, u, None) for n, u in pairs]


def test_deep_nesting_is_flattened_without_recursion():
    depth = 5_000
    document = ('<opml version="2.0"><body>' + '<outline text="f">' * depth
                + '<outline text="deep" xmlUrl="https://deep.example/rss"/>' + "</outline>" * depth + "</body></opml>")
    (feed,) = read_opml(document.encode())
    assert feed.url == "https://deep.example/rss" and feed.category.count(" / ") == depth - 1


def test_too_many_outlines():
    outline = '<outline text="x" xmlUrl="https://e.example/"/>'
    document = "<opml><body>" + outline * (MAX_OUTLINES + 1) + "</body></opml>"
    with pytest.raises(ParseError, match="more than"):
        read_opml(document.encode())


@pytest.mark.parametrize("encoding", ["utf-16", "iso-8859-1"])
def test_encodings(encoding):
    document = f'<?xml version="1.0" encoding="{encoding}"?><opml><body><outline text="Café" xmlUrl="https://e.example/"/></body></opml>'
    assert read_opml(document.encode(encoding))[0].title == "Café"


LOLS = "".join([' <!ENTITY lol "lol">'] + [
    f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)])


@pytest.mark.parametrize("prolog, title", [
    (f"<!DOCTYPE opml [{LOLS}]>", "&lol9;"),
    ('<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"),
], ids=["billion-laughs", "xxe"])
def test_hostile_opml_neither_expands_nor_reads(prolog, title):
    document = f'<?xml version="1.0"?>{prolog}<opml><body><outline text="{title}" xmlUrl="https://e.example/"/></body></opml>'
    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match="not well-formed.*undefined entity"):
            read_opml(document.encode())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20


def test_declarations_are_stripped_so_a_plain_list_behind_them_still_reads():
    document = f'<?xml version="1.0"?><!DOCTYPE opml [{LOLS}]><opml><body><outline text="ok" xmlUrl="https://e.example/"/></body></opml>'
    assert read_opml(document.encode()) == [OpmlFeed("ok", "https://e.example/")]


def test_external_dtd_is_never_fetched(httpserver):
    httpserver.expect_request("/evil.dtd").respond_with_data('<!ENTITY x "FETCHED">')
    document = (f'<!DOCTYPE opml SYSTEM "{httpserver.url_for("/evil.dtd")}"><opml><body>'
                '<outline text="ok" xmlUrl="https://e.example/"/></body></opml>')
    assert read_opml(document.encode())[0].title == "ok"
    assert httpserver.log == []


@pytest.mark.parametrize("data, reason", [
    (b"", "not well-formed"),
    (b"<opml><body>", "not well-formed"),
    (b'<rss version="2.0"><channel/></rss>', r"not an OPML document \(root element <rss>\)"),
    (b"<opml><head/></opml>", "no <body>"),
    (b"\xff\xfe\x00\x00garbage", "OPML"),
], ids=["empty", "truncated", "rss", "no-body", "garbage"])
def test_not_opml(data, reason):
    with pytest.raises(ParseError, match=reason):
        read_opml(data)


@pytest.mark.corpus
def test_google_reader_export_from_the_corpus():
    feeds = read_opml((FEEDS / "feedjira_sample_feeds" / "google-reader-subscriptions.xml").read_bytes())
    assert len(feeds) == 300 and feeds[0] == OpmlFeed("Afterthought",
                                                      "http://www.gilhildebrand.com/afterthought/?feed=rss2")
    names = [e["name"] for e in tomllib.loads(feeds_toml(feeds, [], []))["feeds"]]
    assert len(names) == len(set(names)) and all(n == n.lower() and " " not in n for n in names)
