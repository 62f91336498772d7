"""OPML subscription lists: read one into feeds, write feeds as one, render new feeds as config entries. Pure.

``read_opml(data)`` gives every ``<outline>`` that has an ``xmlUrl``, at any depth: folders (outlines without
``xmlUrl``) are flattened and their titles kept as the feed's ``category`` ("News / World"). Parsing is safe on
hostile files: every DOCTYPE and ENTITY declaration before the root is removed first, as for feeds
(``parse.strip_dtd``), so no entity is expanded (billion laughs) and nothing is fetched or read (XXE).

``write_opml(feeds, title)`` gives an OPML 2.0 document; ``feeds_toml(feeds, existing_names, existing_urls)`` the
``[[feeds]]`` entries for the feeds not configured yet, with unique slug names, ready to append to the config.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from feedparser.encodings import convert_to_utf8

from monitor.configtext import array_table
from monitor.errors import ParseError, one_line
from monitor.feeds.parse import strip_dtd
from monitor.net.urls import is_http_url

MAX_OUTLINES = 10_000  # a real subscription list has hundreds; more is a hostile or broken file
_MAX_NAME_CHARS = 60
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One subscription: its title (``title``, else ``text``, else the URL), feed URL, and folder path."""

    title: str
    url: str
    category: str | None = None


def read_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds of an OPML document, in document order. Outlines whose ``xmlUrl`` is not http(s) are skipped
    (``feed://host/x`` is read as ``http://host/x``). Raises ParseError with a one-line reason when ``data`` is
    not an OPML document."""
    result: dict = {}
    text = convert_to_utf8({}, data, result)  # BOM, declaration, UTF-16 … → UTF-8 with a matching declaration
    if not result.get("encoding"):
        raise ParseError("OPML: character encoding unknown")
    try:
        root = ET.fromstring(strip_dtd(text))
    except ET.ParseError as exc:
        raise ParseError(f"OPML: not well-formed XML: {exc}") from exc
    if _local(root.tag) != "opml":
        raise ParseError(f"not an OPML document (root element <{_local(root.tag)}>)")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise ParseError("OPML document has no <body>")
    feeds: list[OpmlFeed] = []
    # Depth-first with an explicit stack (children pushed in reverse, so popped in document order): nesting depth
    # is the file's choice, and recursion would let it choose a RecursionError.
    stack: list[tuple[ET.Element, tuple[str, ...]]] = [(c, ()) for c in reversed(_outlines(body))]
    seen = len(stack)
    while stack:
        if seen > MAX_OUTLINES:
            raise ParseError(f"OPML document has more than {MAX_OUTLINES} outlines")
        node, folders = stack.pop()
        attrs = {k.lower(): v for k, v in node.attrib.items()}
        label = _clean(attrs.get("title")) or _clean(attrs.get("text"))
        if "xmlurl" in attrs:
            url = _feed_url(attrs["xmlurl"])
            if url:
                category = " / ".join(folders) or _clean(attrs.get("category")) or None
                feeds.append(OpmlFeed(title=label or url, url=url, category=category))
            continue
        children = _outlines(node)
        seen += len(children)
        inner = folders + ((label,) if label else ())
        stack.extend((child, inner) for child in reversed(children))
    return feeds


def write_opml(feeds: Iterable[tuple[str, str]], title: str) -> bytes:
    """An OPML 2.0 document (UTF-8) listing ``(name, url)`` pairs as ``type="rss"`` outlines, in the order given."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for name, url in feeds:
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=url)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def feeds_toml(feeds: Iterable[OpmlFeed], existing_names: Iterable[str], existing_urls: Iterable[str]) -> str:
    """``[[feeds]]`` entries for every feed whose URL is neither configured nor listed earlier in ``feeds``.

    Names are slugs of the title (lowercase ASCII letters, digits, hyphens; the host name when the title has no
    ASCII letters or digits), made unique against ``existing_names`` and each other with "-2", "-3" … A comment
    above each entry keeps the original title and folder. "" when nothing is new.
    """
    taken = set(existing_names)
    known = {_url_key(u) for u in existing_urls}
    blocks = []
    for feed in feeds:
        key = _url_key(feed.url)
        if key in known:
            continue
        known.add(key)
        name = _unique(_slug(feed.title) or _slug(urlsplit(feed.url).hostname or "") or "feed", taken)
        taken.add(name)
        note = feed.title + (f" ({feed.category})" if feed.category else "")
        comment = one_line("".join(c if c.isprintable() else " " for c in note), 200)  # a TOML comment is one line
        blocks.append(f"# {comment}\n" + array_table("feeds", {"name": name, "url": feed.url}))
    return "\n".join(blocks)


# --- helpers ----------------------------------------------------------------------------------------------


def _outlines(node: ET.Element) -> list[ET.Element]:
    return [child for child in node if _local(child.tag) == "outline"]


def _local(tag: object) -> str:
    """An element's name without namespace, lowercased ("{ns}Outline" → "outline")."""
    return str(tag).rsplit("}", 1)[-1].lower()


def _clean(value: str | None) -> str:
    return " ".join(value.split()) if value else ""


def _feed_url(value: str | None) -> str | None:
    """An http(s) URL from an xmlUrl attribute, or None."""
    url = (value or "").strip()
    lowered = url.lower()
    if lowered.startswith("feed:"):  # feed://host/x and feed:https://host/x, from old desktop readers
        url = url[5:].lstrip("/") if lowered.startswith(("feed:http:", "feed:https:")) else "http:" + url[5:]
    return url if is_http_url(url) and not any(c.isspace() for c in url) else None


def _url_key(url: str) -> str:
    """What makes two feed URLs the same subscription: host and path; http vs https, host case, a trailing slash
    and the default port do not matter."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url.strip()
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    netloc = host if port in (None, default) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return f"{netloc}{path}?{parts.query}" if parts.query else f"{netloc}{path}"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = _SLUG_JUNK.sub("-", ascii_text).strip("-")
    return slug[:_MAX_NAME_CHARS].rstrip("-")


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate
