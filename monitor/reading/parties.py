"""The parties a text names: people, places and organisations, read from capital letters. Pure: no I/O.

A claim is about its parties ("Paraguay and Estonia will sign ..."): a story that tells of the same kind of event
between other parties ("Chile and Vietnam ...") shares the event's words but is about something else. The relevance
score (``monitor.reading.relevance``) compares the claim's parties with the story's; this module finds them.

A name is a word written with a capital letter where English would not capitalise it otherwise: not the first
word of a sentence unless that word is neither a stop word nor an everyday word (``DEFAULT_WEIGHER`` below 1), so
"Talks between Chile and Vietnam" names Chile and Vietnam, "Paraguay and Estonia will sign" names both. Acronyms
("US", "EU", "NATO", "U.S.") are names wherever they stand. Consecutive names are read together, so an alias
variant of several words ("United States") becomes its canonical term. A sentence whose everyday words are
capitalised (a Title Case headline) says nothing by its capitals, so only its acronyms count there; nor does a
shouted word longer than an acronym ("INITIAL results").
"""

from __future__ import annotations

import re
from functools import lru_cache

from monitor.reading.text import DEFAULT_WEIGHER, STOP_WORDS, Aliases, stem, terms_of, words_of

_WORD = re.compile(r"[^\W_]+(?:['’][^\W\d_]+)?")  # letters and digits; "O'Brien" and "Iran's" stay one word
_DOTTED = re.compile(r"(?<![\w.])(?:[A-Z]\.){2,}")  # "U.S.", "U.K." -> "US", "UK"
_SENTENCE_END = frozenset(".!?:;\"“”|")
# A sentence is in Title Case when at least this share of its longer everyday words is capitalised, and it has at
# least _TITLE_CASE_MIN of them: a sentence-case headline stays below ("Talks between Chile and Vietnam on debt
# restructuring plan collapse": 1 of 4).
_TITLE_CASE_SHARE = 0.7
_TITLE_CASE_MIN = 3


_HONORIFICS = frozenset("mr mrs ms dr sir st".split())  # they stand before a name, they are none


def _is_acronym(word: str) -> bool:
    """2-5 capitals: "US", "NATO", "NAACP"; a longer all-caps word is a shouted word ("INITIAL results")."""
    return 2 <= len(word) <= 5 and word.isupper() and word.isalpha()


@lru_cache(maxsize=16_384)
def _everyday(word: str) -> bool:
    """True for a stop word, an honorific or an everyday English word (weekdays, months, "President"): it is no
    name even when capitalised."""
    folded = word.casefold()
    return folded in STOP_WORDS or folded in _HONORIFICS or DEFAULT_WEIGHER(stem(folded)) < 1.0


@lru_cache(maxsize=1024)
def name_runs(text: str) -> tuple[str, ...]:
    """The runs of consecutive names in ``text``, each as written (words joined by spaces), in order."""
    if not text:
        return ()
    text = _DOTTED.sub(lambda m: m.group().replace(".", ""), text)
    words = [(m.group(), m.start()) for m in _WORD.finditer(text)]
    runs: list[str] = []
    run: list[str] = []
    previous_end = 0
    title_case = False
    for index, (word, start) in enumerate(words):
        gap = text[previous_end:start]
        initial = index == 0 or any(ch in _SENTENCE_END for ch in gap)
        previous_end = start + len(word)
        if initial:
            title_case = _title_case(words, index, text)
        joined = bool(run) and gap.strip(" -") == ""  # a run continues over a space or hyphen only
        if _is_acronym(word):
            name = True
        elif title_case or not word[0].isupper() or word.isupper():
            name = False  # no capital, or capitals that say nothing: Title Case, a shouted word
        else:  # an everyday word is a name only inside one: "United States", not "President" or "Monday"
            name = joined or not _everyday(word)
        if name and joined:
            run.append(word)
        else:
            if run:
                runs.append(" ".join(run))
            run = [word] if name else []
    if run:
        runs.append(" ".join(run))
    return tuple(runs)


def _title_case(words: list[tuple[str, int]], first: int, text: str) -> bool:
    """Whether the sentence starting at ``words[first]`` is in Title Case: its everyday words of 4 letters or more
    (``_everyday``, which sentence case writes in lowercase) are mostly capitalised (``_TITLE_CASE_SHARE``). A
    sentence full of names but few everyday words ("Mr Mensah met Ms Owusu in Accra") is not."""
    everyday = capitals = 0
    end = words[first][1]
    for word, start in words[first:]:
        if start > end and any(ch in _SENTENCE_END for ch in text[end:start]):
            break
        end = start + len(word)
        if len(word) >= 4 and word.isalpha() and not word.isupper() and _everyday(word):
            everyday += 1
            capitals += word[0].isupper()
    return everyday >= _TITLE_CASE_MIN and capitals >= _TITLE_CASE_SHARE * everyday


def name_terms(text: str, aliases: Aliases, *, acronyms: bool | None = None) -> frozenset[str]:
    """The terms of the names in ``text`` as ``aliases`` read them (stemmed, variants replaced by their
    canonical term), so they compare with the terms ``relevance`` scores. ``acronyms`` as ``words_of``; by
    default taken from the whole text (an all-caps text marks no acronyms)."""
    runs = name_runs(text)
    if not runs:
        return frozenset()
    if acronyms is None:
        acronyms = any(ch.islower() for ch in text)
    out: set[str] = set()
    for run in runs:
        out.update(aliases.apply(terms_of(words_of(run, acronyms=acronyms))))
    return frozenset(out)
