"""Text as the relevance stage reads it: folding, words, terms, term weights and aliases. Pure: no I/O.

The same steps for claim and story text (``monitor.reading.relevance`` scores with them, ``monitor.reading.index``
keys stories by them):

1. ``normalise``: Unicode NFKC, casefold, punctuation and symbols to spaces, whitespace collapsed, Arabic folded.
   Before it, links are dropped and acronyms are protected (see ``words_of``).
2. Terms (``terms_of``, ``text_terms``): stop words dropped, the rest reduced by a light stemmer (``stem``:
   English inflections, Arabic clitics).
3. Aliases (``Aliases``): each variant's term sequence is replaced by one canonical term, in claim and story
   alike, so "U.S.", "US" and "Washington" all become the term "united states" when the config says so.
4. Weights (``Weigher``): how little an everyday word a term is (``_COMMON_WORDS``, or an ``idf`` table through
   ``custom_weigher``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache, partial

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

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves us s t d ll m re ve also
    """.split()
)

# How much an everyday word says about a story's topic, by hand: the first tier (reporting verbs, dates, counts,
# "people", "new") hardly anything, the second (the common vocabulary of news: "officials", "agreement", "police",
# "election") something. Every other word, name, place and number weighs 1. Written for this project from general
# knowledge of English and news style, not derived from any word list or from the evaluation data.
_COMMON_WORDS = {
    0.2: """
say says said saying tell tells told telling according report reports reported news update updates latest new year
years day days week weeks month months time times today yesterday tomorrow tonight morning night weekend monday
tuesday wednesday thursday friday saturday sunday one two three four five six seven eight nine ten first second
third last next many much several another people person man men woman women thing things way make makes made making
take takes took taken get gets got getting go goes going went gone come comes came coming see sees saw seen look
looks looked know knows knew known think thinks thought want wants wanted use uses used using give gives gave given
find finds found put keep keeps kept let begin begins began start starts started need needs needed like well back
still even ever never always often really part place point lot big small good great best better bad high low long
short large little full whole right left early late later recent recently around along across among per via ahead
away whether however yet already almost nearly least less lots set sets show shows showed shown become became call
calls called ask asks asked mean means hold holds held bring brings brought turn turns turned expect expects
expected seem seems try tries tried leave leaves help helps helped move moves moved live lives run runs ran end ends
ended hour hours minute minutes watch video photo photos picture pictures image images read more
""",
    0.5: """
official officials government country countries state states nation national international world global city town
area region local public president minister ministers prime leader leaders chief head director member members party
group groups company companies firm business market markets police court law laws case cases plan plans deal deals
talk talks meeting meet meets agreement agree agrees agreed announce announces announced announcement statement
decision decide decides decided issue issues problem problems question questions answer change changes changed
support supports supported oppose opposition claim claims claimed warn warns warned home house family families child
children kid kids life death die dies died dead kill kills killed killing attack attacks attacked war wars fight
fighting forces force military army troops security safety officer officers arrest arrested charge charged trial
judge jury prison money cost costs price prices pay paid fund funds budget tax taxes billion million thousand
hundred percent rate rates rise rises rose risen fall falls fell drop drops increase increases increased cut cuts
growth economy economic financial bank banks trade jobs job work works worked worker workers school schools student
students university college health hospital doctor doctors patient patients care medical water food power energy oil
gas fuel car cars road roads center centre street building buildings land service services system systems program
programme programs project projects policy policies rule rules ruled bill bills vote votes voted election elections
campaign candidate candidates win wins won lose loses lost loss team teams game games match season player players
coach club league final cup title record records top open opens opened close closes closed return returns returned
release released visit visits visited trip travel plane flight airport ship boat train crash fire storm weather rain
snow heat cold face faces faced deny denies denied accuse accused reject rejects rejected accept accepts accepted
approve approved allow allows allowed ban banned block blocked stop stops stopped offer offers offered sign signs
signed seek seeks sought push pushes pushed urge urges urged reach reached hit hits lead leads led follow follows
followed continue continues continued remain remains remained include includes included including add adds added
provide provides provided receive receives received serve serves served hope hopes hoped fear fears feared concern
concerns worry worries crisis risk risks threat threats danger result results effect effects impact reason reasons
action actions effort efforts step steps event events history future past present period age era level levels number
numbers amount total half major main key senior former current special certain possible likely real true free fresh
strong weak hard easy clear different same similar entire own private personal social political foreign federal
central general common human natural community society culture media press tv television radio online internet
website north south east west northern southern eastern western january february march april june july august
september october november december story stories source sources data information detail details list word words
name names office department agency council committee board union association organisation organization review study
studies research test tests tested
""",
}

_AR_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_AR_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي", "ا")


# The common words of news hit it; a miss costs ~0.6 us. 100,000 entries would grow to ~12 MB in every parse
# worker as a real vocabulary accumulated over days.
@lru_cache(maxsize=16_384)
def stem(word: str) -> str:
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


MARK = "\ue000"  # private-use prefix that keeps the acronym "US" apart from the word "us"; survives _fold
_URL = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S*", re.IGNORECASE)
_ACRONYM = re.compile(r"[A-Z](?:[A-Z]+|(?:\.[A-Z])+\.?)")  # "US", "NATO", "U.S.", "U.S.A."
_LOWER = re.compile(r"[a-z]")
# A hashtag or handle written in camel case is words run together ("#StayHome", "@realDonaldTrump"): split where
# a lowercase letter meets a capital, so its words can match a claim's.
_TAG = re.compile(r"(?<!\w)[#@](\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _acronym(m: re.Match[str], *, mark: bool) -> str:
    text, start, end = m.string, m.start(), m.end()
    if (start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
        return m.group()  # part of a longer word ("McDONALD")
    word = m.group().replace(".", "")
    return MARK + word if mark and word.lower() in STOP_WORDS else word


def words_of(text: str, *, acronyms: bool | None = None) -> list[str]:
    """Normalised words of ``text``, links dropped, acronyms kept apart from look-alike stop words.

    "U.S." becomes "US" first (else it would be the two letters "u s"). An all-caps word whose lowercase is a
    stop word ("US", "IT", "WHO") is marked, so it survives the stop list and never equals the pronoun "us".
    Case is only trusted when the text also has lowercase letters (``acronyms=None``): in an all-caps headline
    "US" may be the pronoun, so there it is read as one.
    """
    text = unicodedata.normalize("NFKC", text)
    if "://" in text or "www." in text or "pic.twitter" in text:
        text = _URL.sub(" ", text)
    if "#" in text or "@" in text:
        text = _TAG.sub(lambda m: _CAMEL.sub(" ", m.group(1)), text)
    if acronyms is None:
        acronyms = _LOWER.search(text) is not None
    text = _ACRONYM.sub(partial(_acronym, mark=acronyms), text)
    return _DIGIT_GROUP.sub(_join_digits, text).casefold().translate(_FOLD).split()


def terms_of(words: Sequence[str]) -> list[str]:
    """The terms of these words, in order: stop words dropped, the rest stemmed."""
    return [stem(w) for w in words if w not in STOP_WORDS]


@lru_cache(maxsize=512)
def text_terms(text: str) -> tuple[str, ...]:
    """The terms of a story's title or summary, before aliases. Cached: the claim index, each alias table's
    story preparation and grouping all read the same new story."""
    return tuple(terms_of(words_of(text)))


class Weigher:
    """Term -> weight (0-1): how much a term says about a story's topic. Hashable by identity, so the scorer can
    cache a story's preparation per weight table. The shipped table is ``DEFAULT_WEIGHER``."""

    __slots__ = ("table", "__weakref__")

    def __init__(self, table: Mapping[str, float]) -> None:
        self.table = table

    def __call__(self, term: str) -> float:
        return self.table.get(term, 1.0)


DEFAULT_WEIGHER = Weigher({stem(w): weight for weight, words in sorted(_COMMON_WORDS.items(), reverse=True)
                             for w in words.split()})  # a stem in both tiers gets the lower weight


@lru_cache(maxsize=64)
def custom_weigher(items: tuple[tuple[str, float], ...]) -> Weigher:
    """The shipped weights with these (word, weight) entries over them, each weight clamped to 0-1. Cached, so
    claims with the same table share one ``Weigher`` (and one story cache entry)."""
    table = dict(DEFAULT_WEIGHER.table)
    for word, weight in items:
        for term in terms_of(words_of(word)):
            table[term] = min(1.0, max(0.0, float(weight)))
    return Weigher(table)


# ---------------------------------------------------------------- aliases


class Aliases:
    """Alias variants compiled to term sequences, each replaced by its canonical form (longest variant first).

    An all-caps variant ("US", "U.S.", "WHO") is an acronym: it is tokenised with acronym marking forced on, so
    it matches "US" and "U.S." in mixed-case text but never the word "us". Other variants match whatever their
    case. Matching happens on stemmed terms, so "deals" matches the variant "deal"; the canonical form itself is
    a variant too, so every spelling ends up as the one term ``normalise(canonical)``.

    ``names`` are the canonical terms that stand for a name (a party of a claim, see ``monitor.reading.parties``):
    those with a variant, or a canonical form, that starts with a capital letter ("US", "Baghdad").
    """

    __slots__ = ("index", "canonicals", "names")

    def __init__(self, items: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        index: dict[str, set[tuple[tuple[str, ...], str]]] = {}
        self.canonicals = frozenset(normalise(canonical) for canonical, _ in items)
        self.names = frozenset(normalise(canonical) for canonical, variants in items
                               if any(v[:1].isupper() for v in (canonical, *variants)))
        for canonical, variants in items:
            canon = normalise(canonical)
            for variant in (canonical, *variants):
                seq = tuple(terms_of(words_of(variant, acronyms=not any(ch.islower() for ch in variant))))
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
def compile_aliases(items: tuple[tuple[str, tuple[str, ...]], ...]) -> Aliases:
    """``Aliases`` for (canonical, variants) pairs. Cached: claims with equal alias tables share one object, so
    the scorer prepares a story once for all of them."""
    return Aliases(items)
