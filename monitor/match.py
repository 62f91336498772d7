"""Relevance of a news story to a tracked claim: is this story about it? Pure: no I/O, no network, no database.

Pipeline, the same for claim and story text:

1. ``normalise``: Unicode NFKC, casefold, punctuation and symbols to spaces, whitespace collapsed, Arabic folded.
   Before it, links are dropped and acronyms are protected (see ``_words``).
2. Terms: stop words dropped, the rest reduced by a light stemmer (English inflections, Arabic clitics).
3. Aliases: each variant's term sequence is replaced by one canonical term, in claim and story alike, so
   "U.S.", "US" and "Washington" all become the term "united states" when the config says so.
4. Score: six features of how the claim's terms and the story's terms overlap (see ``_features``), combined by
   logistic weights fitted on labelled pairs from outside this project, giving a 0-100 score that reads as
   "how likely is this story about the claim", with one threshold ``DEFAULT_MIN_SCORE`` for every claim.

``match`` adds the gates (``require_any``, ``exclude``) and the claim's threshold. The module knows nothing
about verdicts (signed / postponed / collapsed): that is the next stage.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial

from rapidfuzz import fuzz, process

from monitor.models import Relevance

# The shipped relevance threshold. Measured with bench/match_quality.py on shared/eval/dev_pairs.tsv: the best
# single global threshold for macro F1 over stsb_headlines, ecbplus, checkthat2020 and mrpc lies at 46-47 (macro
# F1 0.720; 0.67 for plain token_set_ratio at its own best threshold), with F1 within 0.005 of that from 42 to 50.
# In the Iraq-US scenario (tests/test_match.py) unrelated stories score at most 42.1, relevant ones at least 57.8.
DEFAULT_MIN_SCORE: float = 47.0

# ---------------------------------------------------------------- normalisation


class _FoldTable(dict):
    """``str.translate`` table filled on first sight of each character, by Unicode category.

    Punctuation, symbols and separators become spaces; format characters (soft hyphen, bidi marks, zero-width
    joiners) and control characters vanish; letters, digits, marks and private-use characters stay.
    """

    def __missing__(self, code: int) -> str | int | None:
        ch = chr(code)
        cat = unicodedata.category(ch)
        if cat[0] in "PSZ" or ch.isspace():
            out: str | int | None = " "
        elif cat in ("Cf", "Cc"):
            out = None
        else:
            out = code
        self[code] = out
        return out


# Arabic: one alef for its hamza/madda/wasla forms, ya for alef maqsura, ha for ta marbuta (writers and feeds mix
# them freely), and no tashkeel, Quranic marks or tatweel (decoration, not spelling).
_FOLD = _FoldTable({ord(a): b for a, b in {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"}.items()})
_FOLD.update(dict.fromkeys([*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0640, 0x0670, *range(0x06D6, 0x06EE)]))
# Found by its comma, the one character the scanner can jump to; the digit before it is checked by hand.
_DIGIT_GROUP = re.compile(r",(?=\d{3}(?!\d))")


def _join_digits(m: re.Match[str]) -> str:
    i = m.start()
    return "" if i and m.string[i - 1].isdigit() else ","


def normalise(text: str) -> str:
    """Fold ``text`` for comparison: NFKC, casefold, punctuation/symbols to spaces, whitespace collapsed.

    A comma between digit groups is dropped first ("2,000" -> "2000") so a number stays one word. Arabic is
    folded: tashkeel and tatweel removed, أ إ آ ٱ -> ا, ى -> ي, ة -> ه. "U.S." becomes "u s".
    """
    return _fold(unicodedata.normalize("NFKC", text))


def _fold(text: str) -> str:
    return " ".join(_DIGIT_GROUP.sub(_join_digits, text).casefold().translate(_FOLD).split())


# ---------------------------------------------------------------- terms

_STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves us s t d ll m re ve also
    """.split()
)

# Everyday words of news prose, weighed down by _weight. Picked by hand from the words found in most dev pairs,
# leaving out names, places and topics, so the list is about how news is written, not what it was about.
_COMMON_WORDS = """
year years new show shows showed two three four five six seven eight nine ten one first second third last next
people police million billion percent cent report reports reported day days time times call called plan plans
official officials week weeks may court man men woman women government old monday tuesday wednesday thursday
friday saturday sunday today yesterday take took taken make made found find point points house world month months
include including group close get got home like national former case law high told tell near end hit open expect
expected right want talk talks order announce announced chief work back release released run city change officer
statement school country children child family many issue minister help center centre night build use used post
quarter live support public claim claims county pass per meet face leader department stop increase offer record
still ask asked remain part system administration several another need act left set least number life program
die place start leave cut agency receive result even believe early add decision follow around continue cause real
recent return comment pay know later way international director money lead win warn well away look long put
power hour hours turn action test list visit account area major cost effort product press hold top hear must known
word go going due held provide job check try serve think large see letter carry among final person using keep much
total become break stand whether big level begin past went mean thing behind compare largest thousand less let
full great good given read bring watch short view along age previous yet round however gave local version senior
single lot across latest small fact fall special certain better video photo photograph picture image news update
say says said according
"""

_AR_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_AR_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي", "ا")


@lru_cache(maxsize=100_000)
def _stem(word: str) -> str:
    """Light suffix stripping: English inflections (Porter-lite) and Arabic clitics (Larkey's light10).

    It only has to send a word's inflections to the same key; the keys need not be real words.
    """
    if not word.isalpha():
        return word
    if "\u0621" <= word[0] <= "\u064a":
        for p in _AR_PREFIXES:
            if word.startswith(p) and len(word) - len(p) >= 2:
                word = word[len(p):]
                break
        else:
            if word[0] == "و" and len(word) > 3:
                word = word[1:]
        for s in _AR_SUFFIXES:
            if word.endswith(s) and len(word) - len(s) >= 2:
                return word[: -len(s)]
        return word
    if len(word) <= 3:
        return word
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suf in ("ingly", "edly", "ing", "ed"):
        if w.endswith(suf) and len(w) - len(suf) >= 3 and any(v in w[: -len(suf)] for v in "aeiouy"):
            w = w[: -len(suf)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]  # "planned" -> "plan"
            break
    if w.endswith("ly") and len(w) > 5:
        w = w[:-2]
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]  # "agree"/"agreed", "fire"/"fired" -> one key
    if w.endswith("y") and len(w) > 4:
        w = w[:-1] + "i"  # "country"/"countries"
    return w


_COMMON = frozenset(_stem(w) for w in _COMMON_WORDS.split())
_MARK = "\ue000"  # private-use prefix that keeps the acronym "US" apart from the word "us"; survives _fold
_URL = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S*", re.IGNORECASE)
_ACRONYM = re.compile(r"[A-Z](?:[A-Z]+|(?:\.[A-Z])+\.?)")  # "US", "NATO", "U.S.", "U.S.A."
_LOWER = re.compile(r"[a-z]")
def _acronym(m: re.Match[str], *, mark: bool) -> str:
    text, start, end = m.string, m.start(), m.end()
    if (start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
        return m.group()  # part of a longer word ("McDONALD")
    word = m.group().replace(".", "")
    return _MARK + word if mark and word.lower() in _STOP else word


def _words(text: str, *, acronyms: bool | None = None) -> list[str]:
    """Normalised words of ``text``, links dropped, acronyms kept apart from look-alike stop words.

    "U.S." becomes "US" first (else it would be the two letters "u s"). An all-caps word whose lowercase is a
    stop word ("US", "IT", "WHO") is marked, so it survives the stop list and never equals the pronoun "us".
    Case is only trusted when the text also has lowercase letters (``acronyms=None``): in an all-caps headline
    "US" may be the pronoun, so there it is read as one.
    """
    text = unicodedata.normalize("NFKC", text)
    if "://" in text or "www." in text or "pic.twitter" in text:
        text = _URL.sub(" ", text)
    if acronyms is None:
        acronyms = _LOWER.search(text) is not None
    text = _ACRONYM.sub(partial(_acronym, mark=acronyms), text)
    return _DIGIT_GROUP.sub(_join_digits, text).casefold().translate(_FOLD).split()


def _terms(words: Sequence[str]) -> list[str]:
    return [_stem(w) for w in words if w not in _STOP]


def _weight(term: str) -> float:
    """How much a term says about a story's topic: everyday news words ("said", "year", "officials") count
    ``W_COMMON``, everything else 1. A corpus IDF would be better, but matching has no corpus; on the dev pairs,
    using the dev set's own IDF instead of this list raised the best F1 each set can reach by only about 0.01."""
    return W_COMMON if term in _COMMON else 1.0


W_COMMON = 0.3

# ---------------------------------------------------------------- aliases


class _Aliases:
    """Alias variants compiled to term sequences, each replaced by its canonical form (longest variant first).

    An all-caps variant ("US", "U.S.", "WHO") is an acronym: it is tokenised with acronym marking forced on, so
    it matches "US" and "U.S." in mixed-case text but never the word "us". Other variants match whatever their
    case. Matching happens on stemmed terms, so "deals" matches the variant "deal"; the canonical form itself is
    a variant too, so every spelling ends up as the one term ``normalise(canonical)``.
    """

    __slots__ = ("index", "canonicals")

    def __init__(self, items: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        index: dict[str, set[tuple[tuple[str, ...], str]]] = {}
        self.canonicals = frozenset(normalise(canonical) for canonical, _ in items)
        for canonical, variants in items:
            canon = normalise(canonical)
            for variant in (canonical, *variants):
                seq = tuple(_terms(_words(variant, acronyms=not any(ch.islower() for ch in variant))))
                if not seq:
                    raise ValueError(f"alias {variant!r} of {canonical!r} has no content words")
                index.setdefault(seq[0], set()).add((seq, canon))
        self.index = {k: sorted(v, key=lambda p: -len(p[0])) for k, v in index.items()}

    def apply(self, terms: list[str]) -> list[str]:
        if not self.index:
            return terms
        out: list[str] = []
        i, n = 0, len(terms)
        while i < n:
            for seq, canon in self.index.get(terms[i], ()):
                if tuple(terms[i : i + len(seq)]) == seq:
                    out.append(canon)
                    i += len(seq)
                    break
            else:
                out.append(terms[i])
                i += 1
        return out


@lru_cache(maxsize=256)
def _compile_aliases(items: tuple[tuple[str, tuple[str, ...]], ...]) -> _Aliases:
    # Claims with equal alias tables share one object, so _story() prepares a story once for all of them.
    return _Aliases(items)


# ---------------------------------------------------------------- claims


@dataclass(frozen=True, slots=True)
class PreparedClaim:
    """A claim with everything the matcher needs, computed once per config load by ``prepare_claim``.

    ``terms`` are the claim's distinct content terms (stems or alias canonical forms), ``weights`` and
    ``surfaces`` (the word as written, normalised, reported in ``Relevance.matched_terms``) run parallel to it.
    ``require_any`` and ``exclude`` hold each gate phrase as its terms.
    """

    id: str
    text: str
    min_score: float
    terms: tuple[str, ...]
    weights: tuple[float, ...]
    surfaces: tuple[str, ...]
    require_any: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[tuple[str, ...], ...] = ()
    aliases: _Aliases = field(default_factory=lambda: _compile_aliases(()), repr=False, compare=False)


def prepare_claim(
    claim_id: str,
    text: str,
    *,
    aliases: Mapping[str, Sequence[str]] = {},
    require_any: Sequence[str] = (),
    exclude: Sequence[str] = (),
    min_score: float | None = None,
) -> PreparedClaim:
    """Precompute a claim for ``score`` and ``match``.

    ``aliases`` maps a canonical form to its variants (``{"united states": ["US", "U.S.", "Washington"]}``); the
    variants are replaced, as whole words or phrases, in claim and story text and in the gate phrases. All-caps
    variants match case-sensitively (see ``_Aliases``). ``require_any``: a story must contain every term of at
    least one of these phrases, anywhere in title or summary; ``exclude``: it must not contain all terms of any.
    ``min_score`` defaults to ``DEFAULT_MIN_SCORE``.

    Raises ValueError for what cannot work: a claim, gate phrase or alias with no content words (only stop words
    or punctuation), or a min_score outside 0-100.
    """
    if any(isinstance(v, str) for v in aliases.values()):
        raise ValueError(f"claim {claim_id!r}: alias variants must be a list of strings, not one string")
    table = _compile_aliases(tuple(sorted((k, tuple(v)) for k, v in aliases.items())))
    words = [w for w in _words(text) if w not in _STOP]
    terms = table.apply([_stem(w) for w in words])
    if not terms:
        raise ValueError(f"claim {claim_id!r} has no content words")
    surface = {_stem(w): w.lstrip(_MARK) for w in reversed(words)}  # first spelling wins
    unique = tuple(dict.fromkeys(terms))

    def gate(kind: str, phrases: Sequence[str]) -> tuple[tuple[str, ...], ...]:
        out = tuple(tuple(table.apply(_terms(_words(p)))) for p in phrases)
        for phrase, seq in zip(phrases, out):
            if not seq:
                raise ValueError(f"claim {claim_id!r}: {kind} phrase {phrase!r} has no content words")
        return out

    threshold = DEFAULT_MIN_SCORE if min_score is None else float(min_score)
    if not 0.0 <= threshold <= 100.0:
        raise ValueError(f"claim {claim_id!r}: min_score {threshold} is outside 0-100")
    return PreparedClaim(
        id=claim_id,
        text=text,
        min_score=threshold,
        terms=unique,
        weights=tuple(_weight(t) for t in unique),
        surfaces=tuple(t if t in table.canonicals else surface.get(t, t) for t in unique),
        require_any=gate("require_any", require_any),
        exclude=gate("exclude", exclude),
        aliases=table,
    )


# ---------------------------------------------------------------- scoring

# A claim term missing from the story still counts when a story term sharing its first three letters is this
# similar (rapidfuzz ratio): "withdrawal"/"withdraw", "organisation"/"organization", typos. Shorter terms must match
# exactly: at 4 letters one edit is already a different word.
FUZZY_MIN = 85
FUZZY_MIN_LEN = 5


@dataclass(frozen=True, slots=True)
class _Story:
    terms: frozenset[str]  # title and summary
    title: dict[str, float]  # title term -> weight (the summary's when there is no title)
    title_weight: float
    by_prefix: dict[str, tuple[str, ...]]  # candidates for fuzzy matching, keyed by their first 3 letters


@lru_cache(maxsize=16384)
def _story(aliases: _Aliases, title: str, summary: str) -> _Story:
    """The story side of matching. Cached: the daemon scores each new story against every claim."""
    title_terms = aliases.apply(_terms(_words(title)))
    every = frozenset(title_terms).union(aliases.apply(_terms(_words(summary))) if summary else ())
    weights = {t: _weight(t) for t in (title_terms or every)}
    by_prefix: dict[str, list[str]] = {}
    for t in every:
        if len(t) >= FUZZY_MIN_LEN - 1:
            by_prefix.setdefault(t[:3], []).append(t)
    return _Story(every, weights, sum(weights.values()), {k: tuple(v) for k, v in by_prefix.items()})


# Logistic weights for the six _features, fitted with classes balanced and each of the four macro sets weighing
# the same (stsb_headlines, ecbplus, checkthat2020, mrpc from dev_pairs.tsv). Fitting on either random half of the
# rows (three random splits) gives weights within 0.3 of these and the same macro F1 on the other half (0.719).
_WEIGHTS = (1.906, 0.93, 0.83, -0.561, 0.852, -0.641)
_BIAS = -3.288


def _features(claim: PreparedClaim, story: _Story) -> tuple[tuple[float, ...], list[str]]:
    """The evidence, and the surfaces of the claim terms found. Features, in ``_WEIGHTS`` order:

    coverage   weighted share of the claim's terms found in the story (title and summary)
    precision  weighted share of the title's terms that are claim terms (a headline about something else is not)
    evidence   log(1 + weight of the claim terms found): three matched names say more than one
    claim size log(1 + claim weight), title size log(1 + title weight): the same share means less for a short
               text, and a long text matches more terms by chance
    numbers    1 when the claim has numbers and the story none of them (a different date, toll or sum)
    """
    terms = story.terms
    total = got = 0.0
    found: list[str] = []
    fuzzy: set[str] = set()
    for term, weight, surface in zip(claim.terms, claim.weights, claim.surfaces):
        total += weight
        if term in terms:
            got += weight
            found.append(surface)
        elif len(term) >= FUZZY_MIN_LEN and (near := story.by_prefix.get(term[:3])):
            best = process.extractOne(term, near, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN)
            if best is not None:
                got += weight
                found.append(surface)
                fuzzy.add(best[0])
    claimed = set(claim.terms) | fuzzy
    title_got = sum(w for t, w in story.title.items() if t in claimed)
    numbers = [t for t in claim.terms if t.isdigit()]
    return (
        got / total,
        title_got / story.title_weight if story.title_weight else 0.0,
        math.log1p(got),
        math.log1p(total),
        math.log1p(story.title_weight),
        1.0 if numbers and not any(t in terms for t in numbers) else 0.0,
    ), found


def score(claim: PreparedClaim, title: str, summary: str) -> Relevance:
    """Relevance of a story (title, plain-text summary) to the claim, ignoring the gates.

    ``score`` is 0-100, calibrated so that one threshold serves every claim; ``matched_terms`` are the claim
    terms found in the story (canonical alias forms, else the claim's own normalised spelling), sorted.
    """
    feats, found = _features(claim, _story(claim.aliases, title, summary))
    z = _BIAS + sum(w * f for w, f in zip(_WEIGHTS, feats))
    return Relevance(score=round(100.0 / (1.0 + math.exp(-z)), 2), matched_terms=tuple(sorted(set(found))))


def content_terms(claim: PreparedClaim, text: str) -> list[str]:
    """The content terms of ``text`` as this claim reads them: stop words dropped, stemmed, aliases applied.

    Used to compare two stories about the claim with each other (near-duplicate grouping), so that "US" and
    "Washington", or "deal" and "agreement", count as the same word when the claim says they are.
    """
    return claim.aliases.apply(_terms(_words(text)))


def match(claim: PreparedClaim, title: str, summary: str) -> Relevance | None:
    """The story's relevance when it passes the claim's gates and reaches ``claim.min_score``, else None."""
    terms = _story(claim.aliases, title, summary).terms
    if claim.require_any and not any(terms.issuperset(p) for p in claim.require_any):
        return None
    if any(terms.issuperset(p) for p in claim.exclude):
        return None
    relevance = score(claim, title, summary)
    return relevance if relevance.score >= claim.min_score else None
