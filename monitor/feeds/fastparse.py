"""fastfeedparser as the primary reader of XML feeds, for the documents it reads exactly as feedparser does.

``read(data, url)`` takes a document prepared by ``monitor.feeds.parse.prepare_xml`` (decoded to UTF-8, every DOCTYPE
and ENTITY declaration before the root removed) and returns its entries in the shape ``monitor.feeds.parse`` reads
from feedparser (``id``, ``link``, ``title``, ``summary``, ``content``, ``published[_parsed]``,
``updated[_parsed]``), or raises ``Fallback(reason)``: the document must go to feedparser.

fastfeedparser (lxml plus a native extractor) is ~20x faster than feedparser, but it reads only some
documents as feedparser does, and it reports too little to rebuild a story id: with no guid it reports the link
as the id, and dates only normalised. So one strict, safe lxml parse of the same bytes comes first. It decides,
by explicit rules, whether the document is one fastfeedparser reads as feedparser's strict parser would, and
supplies what fastfeedparser's output lacks. The fast path is taken only when every rule passes:

* no ``<!DOCTYPE`` or ``<!ENTITY`` anywhere: neither lxml nor fastfeedparser ever sees a DTD, so no entity is
  declared, expanded or fetched (``strip_dtd`` has removed those before the root; this refuses any left);
* the document is well-formed (lxml strict; no DTD, no network, libxml2's default limits on text size and
  depth). feedparser reads a broken document with its loose parser, whose output differs: those fall back;
* it is RSS (root ``rss``, one ``channel``, items its children) or Atom 1.0 (entries children of ``feed``), and
  nothing else in it is an item or entry to feedparser. RSS 1.0 and 0.90 (RDF), Atom 0.3 and CDF fall back;
* fastfeedparser reads it without error and finds one entry per item;
* every element of an item has a feedparser meaning known here: a field read below (at most one of each:
  feedparser keeps the last, fastfeedparser the first), an element feedparser has no handler for, or one whose
  handler feeds only fields not read here (category, author, enclosure, media:content, ...). Fields are leaves
  (no child element, comment or markup), except Atom xhtml content; text fields carry no attribute that makes
  feedparser decode them differently (an Atom ``type`` other than text/html/xhtml, ``src``, ``mode``).

Field by field: title, summary (description or Atom summary, else content:encoded or Atom content) and content
come from fastfeedparser. The fields a story id is made of come from the tree, by feedparser's rules and with
its own helpers, so ids cannot drift: the guid (RSS guid or id, Atom id) only when the item has one, resolved
against the base URI unless ``isPermaLink`` is not "true"; the link feedparser picks (RSS ``<link>`` text,
even empty; Atom the last alternate HTML link; else a permalink guid); base URIs tracked through ``xml:base``
as feedparser tracks them; the raw date strings, parsed by feedparser's date parser. feedparser's clean-up of
every stored value (UTF-8 read as Latin-1 re-decoded, C1 characters read as windows-1252, ``&amp;`` in links)
is applied to each field as its ``pop`` applies it.
"""

from __future__ import annotations

import re

import fastfeedparser
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from lxml import etree

from monitor.feeds.baseuri import XML_NS as _XML_NS
from monitor.feeds.baseuri import base_uri, base_uris, join_uri


class Fallback(Exception):  # noqa: N818 - not an error: the document goes to feedparser
    """The document must be read by feedparser; the message names the rule that sent it there."""


# Strict, and reading nothing but the bytes: no DTD loaded, no entity resolved, no network. huge_tree stays off,
# so libxml2's limits on text size (10 MB) and depth (256) hold; a document past them falls back.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          collect_ids=False)
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
# Any attribute named base, in any namespace and letter case: feedparser takes one on any element as its base.
_HAS_BASE = "boolean(//@*[translate(local-name(), 'BASE', 'base') = 'base'])"
_LINK_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")
# The characters feedparser's windows-1252 table re-maps: text without any is left as it is by the translation.
_CP1252_KEYS = re.compile("[" + re.escape("".join(map(chr, sorted(_cp1252)))) + "]")
_ATOM = "{http://www.w3.org/2005/Atom}"
_XHTML = "{http://www.w3.org/1999/xhtml}"

# feedparser's namespace table (URI in lower case → its standard prefix) and the elements it has handlers for.
_PREFIXES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_HANDLED = frozenset(name[len(kind):] for name in dir(_FeedParserMixin)
                     for kind in ("_start_", "_end_") if name.startswith(kind))
# The local part of every handled name, with or without its prefix ("title", "encoded", ...).
_HANDLED_LOCALS = frozenset(part for key in _HANDLED for part in (key, key.partition("_")[2]) if part)

TITLE, SUMMARY, CONTENT, GUID, LINK, PUBLISHED, UPDATED, PERSON, IGNORED, REFUSED, SOURCE = range(11)
# Item children by the name feedparser dispatches on (see _Kinds).
_RSS_ROLES = {
    "title": TITLE, "description": SUMMARY, "summary": SUMMARY, "content_encoded": CONTENT,
    "guid": GUID, "id": GUID, "link": LINK,
    "pubdate": PUBLISHED, "published": PUBLISHED, "issued": PUBLISHED, "dcterms_issued": PUBLISHED,
    "updated": UPDATED, "modified": UPDATED, "lastbuilddate": UPDATED, "dc_date": UPDATED,
    "dcterms_modified": UPDATED, "source": SOURCE,
}
_ATOM_ROLES = {
    "title": TITLE, "summary": SUMMARY, "content": CONTENT, "id": GUID, "link": LINK,
    "published": PUBLISHED, "issued": PUBLISHED, "updated": UPDATED, "modified": UPDATED,
    "author": PERSON, "contributor": PERSON,
}
# Elements feedparser has handlers for that touch none of the fields read here (tags, people, enclosures, media).
_HARMLESS = frozenset((
    "category", "author", "comments", "enclosure", "dc_creator", "dc_subject", "dc_publisher", "dc_rights",
    "dc_contributor", "itunes_author", "itunes_subtitle", "itunes_explicit", "itunes_keywords",
    "itunes_duration", "itunes_image", "itunes_block", "media_content", "media_thumbnail",
))
_PERSON_PARTS = frozenset(("name", "email", "uri"))
# Inside media:content. media:title is a title to feedparser, but loses to the item's own non-empty title.
_MEDIA_PARTS = frozenset(("media_title", "media_thumbnail", "media_credit"))
# fastfeedparser reads an RSS item's title and description by local name, in any namespace, first one wins;
# content:encoded and every Atom field by exact tag.
_FFP_RSS_LOCALS = frozenset(("title", "description", "summary"))
_FFP_TAGS = {(False, CONTENT): "{http://purl.org/rss/1.0/modules/content/}encoded", (True, TITLE): _ATOM + "title",
             (True, SUMMARY): _ATOM + "summary", (True, CONTENT): _ATOM + "content"}
_TEXT_TYPES = frozenset(("text", "html", "text/plain", "text/html"))  # feedparser copies these to the summary
_XHTML_TYPES = frozenset(("xhtml", "application/xhtml+xml"))
_HTML_LINK_TYPES = frozenset(("text/html", "application/xhtml+xml", "html", "xhtml"))
_LINK_ATTRS = frozenset(("rel", "type", "href", "url", "uri"))
def read(data: bytes, url: str | None = None) -> list[dict]:
    """The entries of a prepared document, in feedparser's shape; see the module docstring. ``url`` is the
    feed's URL (feedparser's Content-Location): the base for relative links and permalink guids.
    Raises Fallback when feedparser must read the document."""
    try:
        return _read(data, url)
    except (Fallback, MemoryError):
        raise  # MemoryError: the worker's memory limit (monitor.feeds.workers), not a reason to try feedparser too
    except Exception as exc:  # noqa: BLE001 - untrusted bytes this module did not foresee: feedparser decides
        raise Fallback(f"unexpected {type(exc).__name__}: {exc}") from exc


def _read(data: bytes, url: str | None) -> list[dict]:
    if _DECLARATION.search(data):
        raise Fallback("DOCTYPE or ENTITY declaration")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise Fallback(f"not well-formed: {exc}") from None
    items, kinds = _items(root)
    base = base_uri(url)
    bases = base_uris(root, base) if root.xpath(_HAS_BASE) else None
    facts = [_item_facts(item, kinds, bases, base) for item in items]
    del root, items, bases  # the tree is not needed past here: fastfeedparser builds its own

    try:
        # bytes, so never taken as a URL; only the fields read here are asked for.
        parsed = fastfeedparser.parse(data, include_content=True, include_tags=False, include_media=False,
                                      include_enclosures=False)
    except ValueError as exc:  # its "not a feed" and "cannot parse" errors
        raise Fallback(f"fastfeedparser failed: {exc}") from None
    entries = parsed.get("entries") or []
    if len(entries) != len(facts):
        raise Fallback(f"fastfeedparser found {len(entries)} entries, feedparser would find {len(facts)}")
    return [_entry(found, fact) for found, fact in zip(entries, facts)]


class _Kinds:
    """What each element is to feedparser, by tag and prefix (cached): ``kind(element)`` gives

    * the name feedparser dispatches it on (``title``, ``dc_creator``, ``wfw_commentrss`` ...), built as its
      strict parser builds it: the standard prefix of a namespace it knows, else the document's own; lower case;
    * its role as a child of an item: a field read here, IGNORED, or REFUSED (the document falls back);
    * whether feedparser has no handler for it, whatever prefix it gives it (for a namespace it does not know it
      takes the first prefix the document declared for it, maybe not this one).
    """

    def __init__(self, atom: bool) -> None:
        self.atom = atom
        self._roles = _ATOM_ROLES if atom else _RSS_ROLES
        self._cache: dict[tuple[str, str | None], tuple[str, int, bool]] = {}

    def kind(self, element: etree._Element) -> tuple[str, int, bool]:
        tag = element.tag
        if not isinstance(tag, str):
            return "", IGNORED, True  # a comment or processing instruction: feedparser skips them
        found = self._cache.get((tag, element.prefix))
        if found is None:
            found = self._cache[(tag, element.prefix)] = self._classify(tag, element.prefix)
        return found

    def _classify(self, tag: str, doc_prefix: str | None) -> tuple[str, int, bool]:
        namespace, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
        if "backend.userland.com/rss" in namespace.lower():
            namespace = "http://backend.userland.com/rss"
        prefix = _PREFIXES.get(namespace.lower())
        known = prefix is not None
        if not known:
            prefix = doc_prefix or ""
        key = f"{prefix}_{local}".lower() if prefix else local.lower()
        unhandled = key not in _HANDLED and (known or local.lower() not in _HANDLED_LOCALS)
        role = self._roles.get(key)
        if role is None:
            role = IGNORED if key in _HARMLESS or unhandled else REFUSED
        if role not in (TITLE, SUMMARY) and not self.atom and local.lower() in _FFP_RSS_LOCALS:
            role = REFUSED  # fastfeedparser would read it as the title or description
        expected = _FFP_TAGS.get((self.atom, role))
        if expected and tag != expected:
            role = REFUSED  # feedparser reads it as the field, fastfeedparser does not
        return key, role, unhandled


def _items(root: etree._Element) -> tuple[list[etree._Element], _Kinds]:
    """The items (RSS) or entries (Atom 1.0) fastfeedparser and feedparser both read."""
    if root.tag == "rss":
        kinds = _Kinds(atom=False)
        channels = [child for child in root if kinds.kind(child)[0] == "channel"]
        if len(channels) != 1 or channels[0].tag != "channel":
            raise Fallback("RSS without exactly one channel")
        outside = [child for child in root if child is not channels[0]]
        parent, item_tag = channels[0], "item"
    elif root.tag == _ATOM + "feed":
        kinds = _Kinds(atom=True)
        outside, parent, item_tag = [], root, _ATOM + "entry"
    else:
        raise Fallback(f"not RSS or Atom 1.0: root {root.tag!r}")
    items = [child for child in parent if child.tag == item_tag]
    # feedparser starts an entry at an item or entry element at any depth, in any namespace it maps to none.
    for element in outside + [child for child in parent if child.tag != item_tag]:
        if any(kinds.kind(descendant)[0] in ("item", "entry") for descendant in element.iter()):
            raise Fallback("an item or entry outside the list of entries")
    if not items:
        raise Fallback("no entries")  # feedparser tells an empty feed from a broken one
    return items, kinds


def _item_facts(item: etree._Element, kinds: _Kinds, bases: dict | None, base: str) -> dict:
    """The fields of one item that come from the tree, in feedparser's shape, and what ``_entry`` needs to know
    of the others. Raises Fallback when the item holds anything this module cannot vouch for."""
    for name in item.keys():
        # feedparser reads rdf:about (the id), href (the link) and lastmod (a date) on an item, and files every
        # attribute under its bare local name too.
        if name.rpartition("}")[2].lower() in ("about", "href", "lastmod"):
            raise Fallback(f"attribute {name!r} on an item")
    atom = kinds.atom
    fields: dict[int, etree._Element] = {}
    links: list[etree._Element] = []
    media_title = False
    for child in item:
        key, role, _ = kinds.kind(child)
        if role == IGNORED:
            if len(child):
                if key != "media_content":
                    raise Fallback(f"elements inside {key!r}")
                media_title |= _leaves(child, kinds, _MEDIA_PARTS)
        elif role == REFUSED:
            raise Fallback(f"element {key!r} ({child.tag!r}) in an item")
        elif role == PERSON:
            _leaves(child, kinds, _PERSON_PARTS)
        elif len(child) and not (atom and role == CONTENT and _plain_xhtml(child)):
            raise Fallback(f"markup or comments inside {key!r}")
        elif role == LINK and atom:
            if any(name[0] == "{" and name.rpartition("}")[2].lower() in _LINK_ATTRS for name in child.keys()):
                raise Fallback("a namespaced rel, type or href on a link")  # filed under the bare name too
            links.append(child)
        elif role in fields:
            raise Fallback(f"two {key!r} in an item")
        else:
            if child.keys():
                _check_attributes(child, role, atom)
            fields[role] = child

    base_of = bases.__getitem__ if bases is not None else lambda element: base
    facts: dict = {"summary": None, "content": CONTENT in fields, "media_title": media_title}
    if SUMMARY in fields:  # fastfeedparser makes a description up from the content when this one is empty
        facts["summary"] = bool((fields[SUMMARY].text or "").strip())
    permalink = False
    if GUID in fields:
        guid = fields[GUID]
        flags = [v for k, v in guid.attrib.items() if k.lower() == "ispermalink"]
        if len(flags) > 1:  # feedparser keeps the last of names equal but for case, lxml lists them all
            raise Fallback("isPermaLink given more than once")
        permalink = (flags[0] if flags else "true") == "true"
        value = (guid.text or "").strip()
        facts["id"] = _fp_text(join_uri(base_of(guid), value) if permalink and value else value)
    if LINK in fields:  # RSS <link>: its text, even empty, wins over a permalink guid
        value = (fields[LINK].text or "").strip()
        value = _fp_text(join_uri(base_of(fields[LINK]), value) if value else value)
        facts["link"] = _LINK_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&")) if "&" in value else value
    for link in links:  # Atom: the last alternate HTML link wins, as in feedparser's _start_link
        attrs = {k.lower(): (v.lower() if k.lower() in ("rel", "type") else v) for k, v in link.attrib.items()}
        rel = attrs.get("rel", "alternate")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs["href"] = href
        if "href" not in attrs:
            raise Fallback("a link without href")  # feedparser reads its text instead
        if rel == "alternate" and attrs.get("type", "text/html") in _HTML_LINK_TYPES:
            facts["link"] = join_uri(base_of(link), attrs["href"])
    if SOURCE in fields:  # the publisher of an aggregator's item: feedparser's entry.source {href, title}
        source = fields[SOURCE]
        facts["source"] = {key: value for key, value in (("href", source.get("url")),
                                                         ("title", _fp_text((source.text or "").strip())))
                           if value}
    if "link" not in facts and permalink:
        facts["link"] = facts["id"]
    parsed: dict[str, tuple | None] = {}  # an entry's published and updated are often the same string
    for role, name in ((PUBLISHED, "published"), (UPDATED, "updated")):
        if role in fields:
            value = _fp_text((fields[role].text or "").strip())
            facts[name] = value
            if value not in parsed:
                parsed[value] = _parse_date(value)
            facts[f"{name}_parsed"] = parsed[value]
    return facts


def _leaves(parent: etree._Element, kinds: _Kinds, allowed: frozenset[str]) -> bool:
    """Fallback unless every child of ``parent`` is a leaf, allowed or unknown to feedparser. Whether one is a
    media:title."""
    titled = False
    for part in parent:
        key, _, unhandled = kinds.kind(part)
        if len(part) or not (key in allowed or unhandled):
            raise Fallback(f"{key!r} inside {kinds.kind(parent)[0]!r}")
        titled |= key == "media_title"
    return titled


def _plain_xhtml(content: etree._Element) -> bool:
    """Atom xhtml content that fastfeedparser serialises as feedparser does, as far as plain_text can tell: XHTML
    elements without a prefix (feedparser drops prefixes, lxml keeps them, and plain_text would see other tags),
    and no comment or processing instruction (feedparser drops them, plain_text reads them as a space)."""
    return (content.get("type") or "").lower() in _XHTML_TYPES and all(
        isinstance(element.tag, str) and element.tag.startswith(_XHTML) and element.prefix is None
        for element in content.iterdescendants())


def _check_attributes(element: etree._Element, role: int, atom: bool) -> None:
    for name, value in element.attrib.items():
        if name.startswith(_XML_NS) or (role == GUID and name.lower() == "ispermalink"):
            continue  # xml:lang, xml:base (tracked by baseuri.base_uris), isPermaLink (read by _item_facts)
        if atom and role in (TITLE, SUMMARY, CONTENT) and name == "type" and (
                value.lower() in _TEXT_TYPES or role == CONTENT and value.lower() in _XHTML_TYPES):
            continue
        if role in (PUBLISHED, UPDATED) or (role == SOURCE and name == "url"):
            continue  # feedparser ignores the attributes of dates; a source's url is read by _item_facts
        raise Fallback(f"attribute {name!r} on {element.tag!r}")


def _entry(found: dict, facts: dict) -> dict:
    """One entry in feedparser's shape: the tree's fields and fastfeedparser's title, summary and content."""
    entry = {k: v for k, v in facts.items() if k not in ("summary", "content", "media_title")}
    entry["title"] = _fp_text(found.get("title") or "")
    if facts["media_title"] and not entry["title"]:
        raise Fallback("a media:title and no title")
    content = ""
    if facts["content"]:
        content = _fp_text(((found.get("content") or [{}])[0].get("value") or "").strip())
        entry["content"] = [{"value": content}]
    if facts["summary"] is not None:
        entry["summary"] = _fp_text(found.get("description") or "") if facts["summary"] else ""
    elif facts["content"]:
        entry["summary"] = content  # feedparser copies text or HTML content to a missing summary
    return entry


def _fp_text(text: str) -> str:
    """feedparser's clean-up of every value it stores: text that is UTF-8 read as Latin-1 is re-decoded, and C1
    characters are read as windows-1252."""
    if text.isascii():
        return text  # neither applies (and this is most text)
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    # translate looks up every character in the table (~15 us for a summary); most text has none of its keys.
    return text.translate(_cp1252) if _CP1252_KEYS.search(text) else text
