"""monitor.feeds.parse over a grid of feeds of our own: every format we read, crossed with the ways a title, a summary,
a date, a link and an encoding are written in the wild. Each case states the story it must give, exactly, and the
fast path must give what the feedparser-only path gives (ids included).

This is the clone-only counterpart of the shared corpus tests (tests/test_parse.py, marked ``corpus``): smaller
documents, but each with a known answer.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from xml.sax.saxutils import escape

import pytest

from monitor.feeds.parse import parse_feed, parse_feed_with_feedparser

UTC = timezone.utc
NOW = datetime(2024, 6, 2, tzinfo=UTC)
URL = "https://grid.example/feeds/main.xml"


@dataclass(frozen=True)
class Title:
    name: str
    xml: str  # as written inside the XML element (already escaped as a feed would escape it)
    json: str  # as written in a JSON feed's string
    text: str  # the plain text the story must carry
    ascii_only: bool = True


TITLES = [
    Title("plain", "Talks resume in Geneva", "Talks resume in Geneva", "Talks resume in Geneva"),
    Title("ampersand", "Trade &amp; tariffs: ministers meet", "Trade & tariffs: ministers meet",
          "Trade & tariffs: ministers meet"),
    Title("char-ref", "Minister&#8217;s plan approved", "Minister\u2019s plan approved",
          "Minister\u2019s plan approved", ascii_only=False),
    Title("cdata", "<![CDATA[Vote <b>delayed</b> again]]>", "Vote delayed again", "Vote delayed again"),
    Title("escaped-markup", "Vote &lt;em&gt;delayed&lt;/em&gt; again", "Vote delayed again", "Vote delayed again"),
    Title("accents", "Café owners protest in Zürich", "Café owners protest in Zürich",
          "Café owners protest in Zürich", ascii_only=False),
    Title("arabic", "محادثات جديدة في بغداد", "محادثات جديدة في بغداد", "محادثات جديدة في بغداد", ascii_only=False),
]


@dataclass(frozen=True)
class Summary:
    name: str
    raw: str  # the HTML (or text) the feed carries, unescaped
    text: str


SUMMARIES = [
    Summary("text", "Delegates met for a third day.", "Delegates met for a third day."),
    Summary("html", "<p>Delegates met for a <b>third</b> day.</p>", "Delegates met for a third day."),
    Summary("none", "", ""),
]

# (name, RFC 822 form, ISO 8601 form, the moment), or no date at all.
DATES = [
    ("utc", "Sat, 01 Jun 2024 10:00:00 GMT", "2024-06-01T10:00:00Z", datetime(2024, 6, 1, 10, 0, tzinfo=UTC)),
    ("offset", "Sat, 01 Jun 2024 12:30:00 +0200", "2024-06-01T12:30:00+02:00",
     datetime(2024, 6, 1, 10, 30, tzinfo=UTC)),
    ("none", None, None, None),
]

# (name, the link as written, the link the story must carry)
LINKS = [
    ("absolute", "https://news.example/2024/06/talks", "https://news.example/2024/06/talks"),
    ("relative", "/2024/06/talks?page=2&amp;ref=feed", "https://grid.example/2024/06/talks?page=2&ref=feed"),
    ("none", None, None),
]

ENCODINGS = ["utf-8", "utf-8-bom", "utf-16", "iso-8859-1"]


def rss20(title: Title, summary: Summary, date, link) -> str:
    parts = [f"<title>{title.xml}</title>", '<guid isPermaLink="false">urn:grid:1</guid>']
    if link[1]:
        parts.append(f"<link>{link[1]}</link>")
    if summary.raw:
        parts.append(f"<description>{escape(summary.raw)}</description>")
    if date[1]:
        parts.append(f"<pubDate>{date[1]}</pubDate>")
    return ('<rss version="2.0"><channel><title>Grid</title><link>https://grid.example/</link>'
            f"<description>d</description><item>{''.join(parts)}</item></channel></rss>")


def rss10(title: Title, summary: Summary, date, link) -> str:
    about = link[1] or "urn:grid:1"
    parts = [f"<title>{title.xml}</title>"]
    if link[1]:
        parts.append(f"<link>{link[1]}</link>")
    if summary.raw:
        parts.append(f"<description>{escape(summary.raw)}</description>")
    if date[2]:
        parts.append(f"<dc:date>{date[2]}</dc:date>")
    return ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<channel rdf:about="https://grid.example/"><title>Grid</title><link>https://grid.example/</link>'
            "<description>d</description></channel>"
            f'<item rdf:about="{about}">{"".join(parts)}</item></rdf:RDF>')


def atom10(title: Title, summary: Summary, date, link) -> str:
    parts = [f'<title type="html">{title.xml}</title>' if title.name == "escaped-markup"
             else f"<title>{title.xml}</title>", "<id>urn:grid:1</id>"]
    if link[1]:
        parts.append(f'<link rel="alternate" href="{link[1]}"/>')
    if summary.raw:
        parts.append(f'<summary type="html">{escape(summary.raw)}</summary>')
    if date[2]:
        parts.append(f"<published>{date[2]}</published><updated>{date[2]}</updated>")
    return ('<feed xmlns="http://www.w3.org/2005/Atom"><title>Grid</title><id>urn:grid</id>'
            f"<updated>2024-06-01T00:00:00Z</updated><entry>{''.join(parts)}</entry></feed>")


XML_FORMATS = {"rss20": rss20, "rss10": rss10, "atom10": atom10}


def encode(document: str, encoding: str) -> bytes:
    codec = {"utf-8-bom": "utf-8"}.get(encoding, encoding)
    declared = f'<?xml version="1.0" encoding="{codec}"?>'
    body = (declared + document).encode(codec)
    return b"\xef\xbb\xbf" + body if encoding == "utf-8-bom" else body


def json_feed(title: Title, summary: Summary, date, link) -> bytes:
    item: dict = {"id": "urn:grid:1", "title": title.json}
    if link[1]:
        item["url"] = link[1].replace("&amp;", "&")
    if summary.raw:
        item["content_html" if summary.name == "html" else "content_text"] = summary.raw
    if date[2]:
        item["date_published"] = date[2]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Grid", "items": [item]},
                      ensure_ascii=False).encode("utf-8")


def _cases():
    for fmt, title, summary, date, link, encoding in itertools.product(
            [*XML_FORMATS, "json11"], TITLES, SUMMARIES, DATES, LINKS, ENCODINGS):
        if fmt == "json11" and encoding not in ("utf-8", "utf-8-bom"):
            continue  # a JSON feed is UTF-8 (RFC 8259)
        if encoding == "iso-8859-1" and not title.ascii_only and title.name != "accents":
            continue  # not representable in Latin-1
        yield pytest.param(fmt, title, summary, date, link, encoding,
                           id="-".join((fmt, title.name, summary.name, date[0], link[0], encoding)))


def body_of(fmt, title, summary, date, link, encoding) -> bytes:
    if fmt == "json11":
        body = json_feed(title, summary, date, link)
        return b"\xef\xbb\xbf" + body if encoding == "utf-8-bom" else body
    return encode(XML_FORMATS[fmt](title, summary, date, link), encoding)


@pytest.mark.parametrize(("fmt", "title", "summary", "date", "link", "encoding"), list(_cases()))
def test_grid_feed_gives_its_story(fmt, title, summary, date, link, encoding):
    body = body_of(fmt, title, summary, date, link, encoding)
    stories = parse_feed(body, feed_name="grid", url=URL, now=NOW)
    assert [(s.title, s.summary, s.link, s.published_at) for s in stories] == [
        (title.text, summary.text, link[2], date[3])]
    reference = parse_feed_with_feedparser(body, feed_name="grid", url=URL, now=NOW)
    assert stories == reference


def test_grid_is_large_and_covers_every_format():
    cases = list(_cases())
    assert len(cases) > 1500
    assert {case.values[0] for case in cases} == {*XML_FORMATS, "json11"}
