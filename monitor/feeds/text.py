"""Feed text made plain and bounded: markup to one line of readable text, control characters out, whitespace
collapsed, long text cut at a word with a visible marker. Pure; every function is linear in its input, however
hostile (feeds are untrusted).
"""

from __future__ import annotations

import re
from html import unescape

# Raw markup read per character of capped output: bounds plain_text's work on a 5 MB field.
RAW_PER_CHAR = 50

# C0/C1 controls (tab/newline/CR become spaces later), lone surrogates (unencodable, e.g. from JSON
# "\ud800"), BOM and non-characters.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_DROPPED_BLOCK = re.compile(r"<(script|style|template|noscript)\b[^<>]*>.*?(?:</\1\s*>|\Z)", re.S | re.I)
# A tag (quoted attribute values may hold '<' and '>': feedparser re-serialises them raw), or a
# declaration: <!DOCTYPE>, <![if ...]>, <?php ?>, CDATA markers.
_TAG = re.compile(r"""</?([A-Za-z][\w:.-]*)(?:[\s/](?:"[^"]*"|'[^']*'|[^<>"'])*)?>|<[!?][^<>]*>""")
_MAX_TAG_CHARS = 4_096
_INLINE = frozenset("a abbr b bdi bdo big cite code data del dfn em font i ins kbd mark q s samp"
                    " small span strike strong sub sup time tt u var wbr".split())


def plain_text(html: str) -> str:
    """Markup → one line of readable text: tags, comments, declarations and the bodies of
    script/style/template/noscript dropped, entities decoded, control characters removed,
    whitespace collapsed and stripped. Non-inline tags become a space so words in adjacent blocks do
    not run together. A '<' that does not open a tag (``a < b``, ``x <y``) is kept as text.
    """
    # Not html.parser: it is quadratic on unclosed tags (96 KB of '<a href="x" ' took 10 s).
    # Comments and dropped blocks run to the end when unterminated (one scan); each tag is matched
    # within a _MAX_TAG_CHARS window, so hostile input costs at most that per '<'.
    if not html:
        return ""
    if "<" not in html:
        return squash(unescape(html))  # comments, dropped blocks and tags all start with '<': nothing to drop
    text = _COMMENT.sub(" ", html) if "<!--" in html else html
    text = _DROPPED_BLOCK.sub(" ", text)
    out: list[str] = []
    append, find, match_tag = out.append, text.find, _TAG.match
    pos = 0
    while (start := find("<", pos)) >= 0:
        tag = match_tag(text, start, start + _MAX_TAG_CHARS)
        if tag:
            append(text[pos:start])
            append("" if (tag.group(1) or "").lower() in _INLINE else " ")
            pos = tag.end()
        else:
            append(text[pos:start + 1])
            pos = start + 1
    append(text[pos:])
    return squash(unescape("".join(out)))


def head(text: object, cap: int) -> str:
    """At most cap * RAW_PER_CHAR characters of a raw field (str only)."""
    return text[: cap * RAW_PER_CHAR] if isinstance(text, str) else ""


def squash(text: str) -> str:
    """``text`` without control characters, its whitespace runs collapsed to one space, stripped."""
    # str.split() and strip() use the same whitespace as the regex \s (Py_UNICODE_ISSPACE), so this equals
    # _SPACE.sub(" ", ...).strip(), at a fifth of the cost on prose (one regex match per word there).
    return " ".join(CONTROL.sub("", text).split())


def cap(text: str, limit: int) -> str:
    """Text of at most `limit` characters, cut at a word boundary when one is near, marked '…'."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"
