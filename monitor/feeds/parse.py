"""Feed bytes + response headers → list[Story]. Pure: no network, no filesystem, no database.

RSS and Atom 1.0 documents that fastfeedparser reads exactly as feedparser does go through fastfeedparser
(``monitor.feeds.fastparse``: the parser alone is ~20x faster, a whole 50-entry parse_feed ~4x); everything else XML
(broken XML, RSS 1.0/0.90, Atom 0.3, CDF, shapes it reads differently) goes through feedparser, as before.
Both paths give the same stories, ids included (``parse_feed_with_feedparser`` is the feedparser-only path;
tests/test_fastparse.py holds them equal on the shared corpus). JSON Feed 1/1.1 is read here with ``json``
(feedparser 6 does not know it).

Every entry of the body is kept: the fetcher's body cap (10 MiB), the parse worker's time budget and memory limit
bound the work, not a count of entries (a 1,044-entry feed once lost its 544 oldest to such a count).

Each story names its outlet, the publisher (``monitor.net.outlets``): an RSS item's ``<source url="…">`` (how
Google News and Bing News name the publisher of each item), a JSON Feed item's ``domain`` (GDELT's field), else
the registrable domain of its link. A feed's ``outlet`` setting overrides it (``parse_feed(outlet=…)``).

Entity policy: before any XML parser sees the bytes, every ``<!DOCTYPE …>`` (with its internal subset) and
``<!ENTITY …>`` declaration before the root element is removed. No DTD or external entity is ever read
(no XXE) and no declared entity is expanded, so billion-laughs and quadratic blow-up cannot happen by
construction. feedparser alone is not enough: it keeps "safe" text entities and its loose parser expands
them without limit (a 40 KB body became a 100 MB title in testing). Cost: a feed's own custom entity
(``&id;``) stays literal; HTML named entities (``&nbsp;`` ``&eacute;``) still decode. The fast path
additionally refuses any document with a declaration left anywhere in it.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.encodings import convert_to_utf8
from feedparser.sanitizer import replace_doctype

from monitor.feeds import fastparse
from monitor.feeds.baseuri import joins_unchanged
from monitor.net.outlets import story_outlet
from monitor.feeds.text import CONTROL, cap, head, plain_text, squash
from monitor.errors import ParseError, one_line
from monitor.models import Story

MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 5_000
_MAX_LINK_CHARS = 2_048
_FALLBACK_TITLE_CHARS = 100
_EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
_MAX_AHEAD = timedelta(days=2)

_SPACE = re.compile(r"\s+")
# What can precede the root element, and the root element's start.
_PROLOG_ITEM = re.compile(rb"<!--|<\?|<!DOCTYPE|<!ENTITY|<[A-Za-z_:]", re.I)
# An unterminated comment runs to the end (one scan), not rescanned from each later "<!--".
_DECL_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?(?:-->|\Z)|[\[\]>]", re.S)
_RSS_PREFIX = re.compile(rb"<(/?)rss:(?=[a-zA-Z])")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([^"']*)""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.I)


def parse_feed(body: bytes, *, feed_name: str, headers: Mapping[str, str] | None = None,
               url: str | None = None, now: datetime | None = None, outlet: str | None = None) -> list[Story]:
    """Parse one fetched feed body into stories, one per usable entry, in feed order.

    A well-formed feed with no entries gives [] (a quiet feed is not a broken one).

    ``headers`` (any case) supply the charset (Content-Type); ``url`` is the base for relative links.
    ``now`` (default: current UTC time) sets the "too far in the future" cut-off for dates.
    ``outlet``: every story's outlet (a publisher's own feed), instead of the one each entry names.
    Raises ParseError with a one-line reason when the body yields no usable story.
    """
    return _parse(body, feed_name, headers, url, now, outlet, fast=True)[0]


def parse_feed_traced(body: bytes, *, feed_name: str, headers: Mapping[str, str] | None = None,
                      url: str | None = None, now: datetime | None = None,
                      outlet: str | None = None) -> tuple[list[Story], str]:
    """``parse_feed``, and which parser read the entries: "fastfeedparser", "feedparser" or "json"."""
    return _parse(body, feed_name, headers, url, now, outlet, fast=True)


def parse_feed_with_feedparser(body: bytes, *, feed_name: str, headers: Mapping[str, str] | None = None,
                               url: str | None = None, now: datetime | None = None,
                               outlet: str | None = None) -> list[Story]:
    """``parse_feed`` with every XML feed read by feedparser, as before fastfeedparser was added: the reference
    the fast path is held to (tests/test_fastparse.py) and measured against (bench/parser_compare.py)."""
    return _parse(body, feed_name, headers, url, now, outlet, fast=False)[0]


def _parse(body: bytes, feed_name: str, headers: Mapping[str, str] | None, url: str | None,
           now: datetime | None, outlet: str | None, *, fast: bool) -> tuple[list[Story], str]:
    stories, parser = _parse_entries(body, feed_name, headers, url, now, fast=fast)
    if outlet:
        stories = [replace(story, outlet=outlet) for story in stories]
    return stories, parser


def _parse_entries(body: bytes, feed_name: str, headers: Mapping[str, str] | None, url: str | None,
                   now: datetime | None, *, fast: bool) -> tuple[list[Story], str]:
    now = _utc(now) if now else datetime.now(timezone.utc)
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    if not body or not body.strip(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"):
        raise ParseError("empty body")
    if _looks_like_json(body, hdrs.get("content-type", "")):
        return _parse_json_feed(body, feed_name, url, now), "json"
    if b"<" not in body:
        # No markup at all: a service's message in words (GDELT answers a query it refuses so). Shown, capped.
        text = squash(body[:400].decode("utf-8", "replace"))
        raise ParseError(one_line(f"not a feed: the server answered with text: {CONTROL.sub('', text)}", 300))
    data = prepare_xml(body, hdrs)
    if fast:
        try:
            entries = fastparse.read(data, url)
        except fastparse.Fallback:
            pass  # a document fastfeedparser does not read as feedparser does
        else:
            stories = _stories(entries, feed_name, url, now)
            if any(stories):  # else feedparser gives the verdict, and the same error as before
                return _finish(stories), "fastfeedparser"
    return _parse_xml_feed(data, feed_name, url, now), "feedparser"


def story_id(feed_name: str, *, guid: str | None, link: str | None, title: str,
             published: str | None) -> str:
    """Stable id: sha256 of the feed name and the first of guid, link, title+date; 32 hex chars."""
    if guid and guid.strip():
        key = "guid\x1f" + guid.strip()
    elif link and link.strip():
        key = "link\x1f" + link.strip()
    else:
        key = f"title\x1f{title}\x1f{published or ''}"
    raw = f"{feed_name}\x1e{key}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:32]


# --- XML feeds (feedparser) ---------------------------------------------------------------------

def prepare_xml(body: bytes, hdrs: Mapping[str, str]) -> bytes:
    """The bytes every XML parser here is handed: ``body`` decoded by feedparser's rules and re-encoded as UTF-8,
    invalid UTF-8 repaired (``repair_utf8``), declarations before the root removed (``strip_dtd``).
    ``hdrs``: response headers, lower-case names. Raises ParseError."""
    # Decode with feedparser's own rules (BOM, HTTP charset, XML declaration, fallbacks) first, so
    # the DTD strip below sees UTF-8 whatever the body's encoding (UTF-16, EBCDIC ...).
    enc_result: dict = {}
    data = convert_to_utf8(hdrs, repair_utf8(body, hdrs.get("content-type", "")), enc_result)
    if not enc_result.get("encoding"):
        raise ParseError(one_line(squash(f"character encoding unknown: {enc_result.get('bozo_exception')}"), 300))
    data = strip_dtd(data)
    # Defence in depth: feedparser hands its loose parser the entities its regexes find before the
    # first tag (even inside comments). Anything still found there is hostile; refuse it.
    if replace_doctype(data)[2]:
        raise ParseError("entity declarations hidden before the root element")
    return data


def _parse_xml_feed(data: bytes, feed_name: str, url: str | None, now: datetime) -> list[Story]:
    parsed = _feedparse(data, url)
    if not parsed.entries and b"xmlns:rss" not in data and _RSS_PREFIX.search(data):
        # Seen in the wild (dylanharris.org): RSS elements written as <rss:item> with the prefix
        # never declared; neither feedparser parser reads them. Drop the prefix and retry once.
        parsed = _feedparse(_RSS_PREFIX.sub(rb"<\1", data), url)
    if not parsed.entries:
        if parsed.get("version") and not parsed.get("bozo"):
            return []  # a well-formed feed with nothing in it yet: quiet, not broken
        if not parsed.get("version") and re.search(rb"<html[\s>]", data[:4096], re.I):
            raise ParseError("HTML page, not a feed")
        exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
        raise ParseError(one_line(squash(f"not a feed: {exc}"), 300) if exc else "no feed entries found")
    return _finish(_stories(parsed.entries, feed_name, url, now))


def _stories(entries: list, feed_name: str, url: str | None, now: datetime) -> list[Story | None]:
    """Stories from entries in feedparser's shape (feedparser's own, or monitor.feeds.fastparse's)."""
    stories = []
    for entry in entries:
        content = entry.get("content") or [{}]
        # dict.get: FeedParserDict maps a missing "updated*" to "published*" with a warning.
        dated = [dict.get(entry, "published_parsed"), dict.get(entry, "updated_parsed")]
        source = entry.get("source")
        source = source if isinstance(source, Mapping) else {}
        stories.append(_make_story(
            feed_name, guid=entry.get("id"), link=entry.get("link"), base=url,
            source_url=source.get("href"), source_name=source.get("title"),
            title=plain_text(head(entry.get("title"), MAX_TITLE_CHARS)),
            summary=plain_text(head(entry.get("summary") or content[0].get("value"),
                                     MAX_SUMMARY_CHARS)),
            dates=[_from_struct(t) for t in dated],
            raw_date=dict.get(entry, "published") or dict.get(entry, "updated"), now=now))
    return stories


def _feedparse(data: bytes, url: str | None) -> feedparser.FeedParserDict:
    headers = {"content-type": "application/xml; charset=utf-8"}  # data is UTF-8 by now
    if url:
        headers["content-location"] = url  # base for relative links
    try:
        # Only a BytesIO ever reaches feedparser: a str would be taken as a URL or file name.
        # Its HTML sanitizer and in-content URI rewriting are off: plain_text drops all markup
        # anyway, and they cost ~5x on large bodies (6 s vs 1.2 s for a 6 MB description).
        return feedparser.parse(io.BytesIO(data), response_headers=headers,
                                sanitize_html=False, resolve_relative_uris=False)
    except MemoryError:  # not the feed's fault alone: the worker's heap may be in any state (parsebudget)
        raise
    except Exception as exc:  # noqa: BLE001 - third-party parser fed untrusted bytes: any failure
        raise ParseError(one_line(squash(f"feed parser failed: {type(exc).__name__}: {exc}"), 300)) from exc


def repair_utf8(body: bytes, content_type: str = "") -> bytes:
    """``body`` with invalid UTF-8 bytes replaced by U+FFFD, when it is a UTF-8 document with a few bad bytes.

    A truncated multibyte character or a stray Latin-1 byte pasted into a UTF-8 template makes the whole body
    invalid UTF-8, and feedparser then reads all of it as windows-1252, garbling every correct non-ASCII
    character ("é" → "Ã©"). So: when neither the HTTP charset nor the XML declaration names another encoding,
    there is no UTF-16/32 BOM, and valid UTF-8 multibyte sequences outnumber the invalid bytes, the bad bytes are
    replaced. A body with no valid multibyte sequence is a legacy 8-bit encoding mislabelled (or unlabelled) and
    is left to the windows-1252 fallback, which reads it right.
    """
    if body[:2] in (b"\xfe\xff", b"\xff\xfe") or b"\x00" in body[:4]:
        return body  # UTF-16/32
    charset = _CHARSET.search(content_type)
    declared = _XML_ENCODING.match(body[:300].lstrip(b"\xef\xbb\xbf \t\r\n"))
    for name in (charset.group(1) if charset else "", declared.group(1).decode("latin-1") if declared else ""):
        if name and name.lower().replace("_", "-") not in ("utf-8", "utf8"):
            return body
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        pass
    valid = len(_UTF8_MULTIBYTE.findall(body))
    text = body.decode("utf-8", "replace")
    invalid = text.count("\ufffd") - body.count("\ufffd".encode())
    return text.encode("utf-8") if valid > invalid else body


def strip_dtd(data: bytes) -> bytes:
    """Remove every DOCTYPE (with internal subset) and ENTITY declaration before the root element, from an
    ASCII-compatible (e.g. UTF-8) document. Linear on hostile input. Also used for OPML (``monitor.feeds.opml``)."""
    kept, copied_to, pos = [], 0, 0
    missing: set[bytes] = set()  # closers known absent from here on: keeps hostile input linear
    while (m := _PROLOG_ITEM.search(data, pos)) is not None:
        opener = m.group().upper()
        if opener in (b"<!--", b"<?"):
            closer = b"-->" if opener == b"<!--" else b"?>"
            close = -1 if closer in missing else data.find(closer, m.end())
            if close < 0:
                missing.add(closer)
            # An unterminated comment/PI skips only its opener, so nothing can hide behind it.
            pos = close + len(closer) if close >= 0 else m.end()
        elif opener in (b"<!DOCTYPE", b"<!ENTITY"):
            kept.append(data[copied_to:m.start()])
            copied_to = pos = _declaration_end(data, m.end())
        else:
            break  # the root element: declarations after it are never honoured
    kept.append(data[copied_to:])
    return b"".join(kept)


def _declaration_end(data: bytes, start: int) -> int:
    """Index just past the '>' closing a declaration, skipping quoted text, comments and [subset]."""
    depth = 0
    for tok in _DECL_TOKEN.finditer(data, start):
        char = tok.group()
        if char == b"[":
            depth += 1
        elif char == b"]":
            depth -= 1
        elif char == b">" and depth <= 0:
            return tok.end()
    return len(data)  # unterminated: drop the rest, the document is broken anyway


# --- JSON Feed ----------------------------------------------------------------------------------

def _looks_like_json(body: bytes, content_type: str) -> bool:
    # Strip BOMs/NULs too, so UTF-16/32 JSON ('{\x00' ...) is recognised.
    start = body[:64].lstrip(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff")
    if start[:1] in (b"{", b"["):  # no XML document starts like this
        return True
    return "json" in content_type.lower() and not start.startswith(b"<")


def _parse_json_feed(body: bytes, feed_name: str, url: str | None, now: datetime) -> list[Story]:
    """JSON Feed 1 / 1.1 (https://jsonfeed.org/version/1.1). title, summary, content_text are plain
    text per the spec; content_html is markup."""
    try:
        # bytes: json detects UTF-8/16/32 itself. A stray invalid byte costs a U+FFFD, not the whole feed.
        encoding = json.detect_encoding(body)
        doc = json.loads(body.decode(encoding, "replace") if encoding.startswith("utf-8") else body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ParseError(one_line(squash(f"invalid JSON: {exc}"), 300)) from exc
    if isinstance(doc, dict) and "version" not in doc and ("articles" in doc or not doc):
        from monitor.feeds.gdelt import artlist_stories  # here: it builds on this module
        return artlist_stories(doc, feed_name, now)
    if not isinstance(doc, dict) or "jsonfeed.org/version/" not in str(doc.get("version", "")):
        raise ParseError("JSON body is not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed has no items list")
    if not items:
        return []  # valid and empty, as for XML feeds
    base = url or _str(doc.get("feed_url")) or _str(doc.get("home_page_url"))
    stories = []
    for item in items:
        if not isinstance(item, dict):
            continue
        text = _str(item.get("summary")) or _str(item.get("content_text"))
        summary = (squash(head(text, MAX_SUMMARY_CHARS)) if text
                   else plain_text(head(_str(item.get("content_html")), MAX_SUMMARY_CHARS)))
        raw_dates = [_str(item.get("date_published")), _str(item.get("date_modified"))]
        raw_id = item.get("id")
        stories.append(_make_story(
            feed_name, link=_str(item.get("url")) or _str(item.get("external_url")), base=base,
            domain=item.get("domain"),
            guid=str(raw_id) if isinstance(raw_id, (str, int, float)) and not isinstance(raw_id, bool) else None,
            title=squash(head(_str(item.get("title")), MAX_TITLE_CHARS)), summary=summary,
            dates=[_from_iso(d) for d in raw_dates], raw_date=raw_dates[0] or raw_dates[1], now=now))
    return _finish(stories)


# --- shared -------------------------------------------------------------------------------------

def _make_story(feed_name: str, *, guid: object, link: object, base: str | None, title: str,
                summary: str, dates: list[datetime | None], raw_date: object,
                now: datetime, source_url: object = None, source_name: object = None,
                domain: object = None) -> Story | None:
    """One Story from cleaned text, or None when the entry has neither title nor summary. ``source_url`` and
    ``source_name``: the item's ``<source>``; ``domain``: a domain field; with the link, they name the outlet."""
    if not title and not summary:
        return None
    if isinstance(source_name, str) and source_name.strip() and title.endswith(f" - {source_name.strip()}"):
        # Google News appends the publisher to each headline; it is the outlet now, and left in the headline it
        # would keep the same wire copy from different publishers out of one story group.
        title = title[:-len(source_name.strip()) - 3].rstrip() or title
    if not title:
        title = cap(summary, _FALLBACK_TITLE_CHARS)
    guid = CONTROL.sub("", guid).strip() if isinstance(guid, str) else None
    link = _clean_link(link, base)
    given = [d for d in dates if d is not None]
    # The id uses the date as the feed states it, not the sanity-checked one, so it cannot change
    # when `now` moves past a date that was first dropped as "in the future".
    date_key = given[0].isoformat() if given else (raw_date if isinstance(raw_date, str) else None)
    latest = now + _MAX_AHEAD
    published_at = next((d for d in given if _EARLIEST <= d <= latest), None)
    return Story(
        id=story_id(feed_name, guid=guid, link=link, title=title, published=date_key),
        feed=feed_name, title=cap(title, MAX_TITLE_CHARS), summary=cap(summary, MAX_SUMMARY_CHARS),
        link=link, published_at=published_at,
        outlet=story_outlet(source_url=source_url, source_name=source_name, domain=domain, link=link))


def _finish(candidates: list[Story | None]) -> list[Story]:
    """Drop unusable entries and repeated ids (first wins)."""
    stories: list[Story] = []
    seen: set[str] = set()
    for story in candidates:
        if story is None or story.id in seen:
            continue
        seen.add(story.id)
        stories.append(story)
    if not stories:
        raise ParseError("no entry has a title or summary")
    return stories


def _clean_link(link: object, base: str | None) -> str | None:
    """Absolute http(s) URL, or None (javascript:, data:, mailto:, relative without base, junk)."""
    if not isinstance(link, str):
        return None
    link = CONTROL.sub("", link).strip()
    if not link or len(link) > _MAX_LINK_CHARS:
        return None
    if link.startswith(("http://", "https://")) and joins_unchanged(base, link):
        # Joined it stays itself, and such a link has no space, its scheme is http(s) and it has a host: every
        # check below passes. Most links are like this; urljoin and urlsplit cost ~8 us each time.
        return link
    try:
        # Unescaped spaces are common in real feeds; other whitespace inside a URL means junk.
        absolute = (urljoin(base, link) if base else link).replace(" ", "%20")
        parts = urlsplit(absolute)
    except ValueError:  # e.g. "http://[broken"
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or _SPACE.search(absolute):
        return None
    return absolute


def _from_struct(value: object) -> datetime | None:
    # feedparser's *_parsed are UTC struct_times; timegm copes with tm_sec=60, datetime() would not.
    if value is None:
        return None  # the usual missing date, without the cost of timegm's TypeError
    try:
        return datetime.fromtimestamp(calendar.timegm(value), timezone.utc)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _from_iso(value: str | None) -> datetime | None:
    """RFC 3339 as JSON Feed requires; a missing offset is read as UTC."""
    try:
        return _utc(datetime.fromisoformat(value)) if value else None
    except (ValueError, OverflowError):  # OverflowError: year 9999 with a negative offset
        return None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
