"""How the verdict stage cuts text up: ``tokens`` (words with their offsets, folded, contractions expanded),
``sentences`` (a summary's sentences) and ``headline_parts`` (a headline's parts). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from monitor.reading.text import normalise

# A full stop after one of these ends no sentence ("Mr. Abbasi", "U.S. Army").
ABBREVIATIONS = frozenset(
    "mr mrs ms dr st gen sen rep gov lt col sgt capt no vs etc inc ltd co corp jan feb mar apr jun jul aug sep "
    "sept oct nov dec u.s u.k e.g i.e a.m p.m".split()
)

_MARKS = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640"  # Arabic diacritics and tatweel: inside a word
_TOKEN = re.compile(rf"(?:[^\W_]|[{_MARKS}])+(?:['’](?:[^\W_]|[{_MARKS}])+)*|[?!;:,\"“”()]")
_NT = {"wo": "will", "ca": "can", "sha": "shall", "ai": "is"}
_CLITIC = {"ll": "will", "ve": "have", "re": "are", "d": "would", "m": "am"}
_IS_AFTER = frozenset("it there that what who he she here where".split())


class Tok(NamedTuple):
    key: str  # casefolded, Arabic folded (``normalise``), contractions expanded
    start: int
    end: int


def tokens(text: str) -> list[Tok]:
    """Words and the punctuation that matters (``cues.PUNCT``), with their offsets in ``text``. "hasn't" -> has + not,
    "won't" -> will + not, "it's" -> it + is; a possessive "'s" is dropped."""
    out: list[Tok] = []
    for m in _TOKEN.finditer(text):
        word, s, e = m.group(), m.start(), m.end()
        low = word.casefold().replace("’", "'")
        if not low.isascii():
            low = normalise(low) or low
        head, _, tail = low.rpartition("'")
        if not head:
            out.append(Tok(low, s, e))
        elif low.endswith("n't"):
            out += [Tok(_NT.get(low[:-3], low[:-3]), s, e - 3), Tok("not", e - 3, e)]
        elif tail == "s":
            out.append(Tok(head, s, e - 2))
            if head in _IS_AFTER:
                out.append(Tok("is", e - 2, e))
        elif tail in _CLITIC:
            out += [Tok(head, s, e - len(tail) - 1), Tok(_CLITIC[tail], e - len(tail) - 1, e)]
        else:
            out.append(Tok(low, s, e))
    return out


# Summary sentences end at . ! ? ; before a space; headline parts at ; - : ? and a full stop.
_TITLE_SPLIT = re.compile(r"\s*;\s*|\s+[-–—|]+\s+|(?<=\S):\s+|(?<=[?!])[\"”’']?\s+|(?<=[a-z0-9])\.\s+(?=[A-Z])")
_SENTENCE_END = re.compile(r"[.!?;][\"”’')\]]*\s+")


def sentences(summary: str) -> Iterator[str]:
    """Summary sentences, as written; no split after an abbreviation or initial ("U.S. Army", "Mr. Abbasi") or
    before a lowercase word."""
    start = 0
    for m in _SENTENCE_END.finditer(summary):
        before = summary[start : m.start()].rsplit(None, 1)
        last = before[-1].casefold().rstrip(".") if before else ""
        after = summary[m.end() : m.end() + 1]
        if summary[m.start()] == "." and (last in ABBREVIATIONS or len(last) == 1 or after.islower()):
            continue
        yield summary[start : m.end()].strip()
        start = m.end()
    if summary[start:].strip():
        yield summary[start:].strip()


def headline_parts(title: str) -> list[str]:
    """A headline's parts, as written: "A; B", "A - B", "A: B", "A? B", "A. B"."""
    return [s.strip() for s in _TITLE_SPLIT.split(title) if s and s.strip()]
