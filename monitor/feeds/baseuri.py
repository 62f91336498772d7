"""Base URIs and joins exactly as feedparser makes them (so the fast reader's links and ids equal feedparser's),
and the test that lets most joins be skipped: an absolute link joined onto any base is itself. Pure.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit, uses_relative

from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

XML_NS = "{http://www.w3.org/XML/1998/namespace}"
# URIs urllib's urljoin returns unchanged against any base it can parse (see joins_unchanged): printable ASCII
# without '#', ';', '[' or ']', and either http(s) with a plain host and no empty query, or a scheme urllib
# does not resolve against (group 1, checked against uses_relative) with no "/" after its colon.
_URI_CHAR = r"[\x21\x22\x24-\x3a\x3c-\x5a\x5c\x5e-\x7e]"
_JOINS_UNCHANGED = re.compile(
    rf"(?:https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:[/?]{_URI_CHAR}*)?(?<!\?)|([a-z][a-z0-9+.-]*):(?!/){_URI_CHAR}*)\Z")


def joins_unchanged(base: str | None, uri: str) -> bool:
    """Whether urllib's ``urljoin(base, uri)`` and feedparser's ``_urljoin(base, uri)`` are ``uri`` itself (True
    only when sure; False may be either). So joining can be skipped for the absolute links most feeds hold.

    Why, for a ``uri`` matching _JOINS_UNCHANGED: it has no character urlsplit strips, removes or rejects
    (whitespace, controls, non-ASCII, brackets), so parsing it cannot fail, and feedparser's _urifixer finds no
    extra slash after "scheme://" to drop. Its scheme is read as written. A scheme urljoin does not resolve
    against makes it return ``uri`` as given. An http(s) URI has a host, so urljoin returns it re-assembled
    from its parts (when the base has the same scheme) or as given (when not); re-assembly drops only an empty
    query, fragment or ;params, and the pattern admits no '#', no ';' and no trailing '?'. The base must be
    empty (urljoin returns ``uri``) or parse without the ValueError that would make the join fail."""
    match = _JOINS_UNCHANGED.match(uri)
    if match is None or match.group(1) in uses_relative:  # group 1 is None for http(s), not in the list
        return False
    if base:
        try:
            urlsplit(base, "", True)  # urljoin's own call (urlsplit caches it): the same error, or none
        except ValueError:
            return False
    return True


def join_uri(base: str, uri: str) -> str:
    """feedparser's ``_urljoin(base, uri)``, skipped when it is known to return ``uri`` (joins_unchanged)."""
    return uri if joins_unchanged(base, uri) else _urljoin(base, uri)


@functools.lru_cache(maxsize=1024)
def base_uri(url: str | None) -> str:
    """The base URI of a document without xml:base, as feedparser has it when handed ``url`` as
    Content-Location: api.parse's, then re-applied at every element, where it settles at once. Cached: the
    same feed URLs come back every poll, and the five urllib joins cost ~20 us."""
    base = make_safe_absolute_uri("", url or "") or make_safe_absolute_uri(url or "") or ""
    for _ in range(4):
        if not base:
            break
        base = make_safe_absolute_uri(base, base) or base
    return base


def base_uris(root: etree._Element, base: str) -> dict[etree._Element, str]:
    """feedparser's base URI at each element of a document with xml:base attributes, tracked as its
    unknown_starttag and unknown_endtag do: joined onto the current base at each start tag, restored at the end
    tag only when the enclosing base is not empty (so a base can outlive its element)."""
    bases: dict[etree._Element, str] = {}
    stack: list[str] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(element.tag, str):
            continue
        if event == "end":
            stack.pop()
            if stack and stack[-1]:
                base = stack[-1]
            continue
        declared = declared_base(element) or base
        base = (make_safe_absolute_uri(base, declared) or base) if base else _urljoin(base, declared)
        stack.append(base)
        bases[element] = base
    return bases


def declared_base(element: etree._Element) -> str | None:
    """The attribute feedparser takes as an element's base: xml:base, else one named base in any namespace (its
    SAX parser files every attribute under its bare local name too)."""
    declared = None
    for name, value in element.attrib.items():
        if name.rpartition("}")[2].lower() == "base":
            if name.startswith(XML_NS):
                return value
            declared = value
    return declared
