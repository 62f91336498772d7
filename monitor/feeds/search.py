"""Search feeds built from a claim: a claim's ``search = ["google-news", "gdelt"]`` becomes one feed per engine,
named ``search:<claim-id>:<engine>``, whose URL asks the engine for the news about the claim. They are feeds
like the others (same polling, politeness, backoff and conditional GET); ``with_search_feeds`` adds them to a
config's ``feeds``, so a reload that changes a claim changes their URLs and the daemon re-polls them.

The query (unless the claim sets ``search_query``) is narrow on the parties and broad on the event:

- one group per name in the claim's text ("Iraq", "United States"; at most ``MAX_NAME_GROUPS``; a possessive
  "'s" dropped, the event word never a name), each the name OR its alias variants written in Latin letters OR,
  for a name of several words, each of its words that is not an everyday word (a name that is a variant of an alias term joins that term's
  group, so "US" and "United States" are one group);
- one event group, when the claim gives aliases for it (or has no name): the event word as written (the verb,
  or the event noun) and the alias variants of it or of its base form, OR the first word after it that has
  aliases (the agreement, the ceasefire) and its variants;
- the groups are ANDed; a phrase of several words is quoted; at most ``MAX_VARIANTS`` words per group.

Google News: ``<google_news_url>?q=<query>&hl=<language>&gl=<region>&ceid=<region>:<lang>`` ("en-US" gives
``hl=en-US&gl=US&ceid=US:en``). GDELT DOC 2.0: ``<gdelt_url>?query=<query>&mode=artlist&format=json|rss&
maxrecords=N&timespan=1d&sort=datedesc``; words shorter than 3 letters are left out (GDELT refuses them).
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlencode

from monitor.config import ClaimConfig, Config, FeedConfig, SearchConfig
from monitor.reading.claimevent import ClaimEvent, claim_event
from monitor.reading.parties import _everyday, name_runs

MAX_NAME_GROUPS = 3
MAX_VARIANTS = 6
GDELT_MIN_WORD = 3  # GDELT answers "too short" to a shorter keyword
_LATIN = re.compile(r"[A-Za-z]")
_NON_LATIN_LETTER = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f]")
_QUOTE_NEEDED = re.compile(r"[^\w]")
_POSSESSIVE = re.compile(r"['’]s$")


def search_feed_name(claim_id: str, engine: str) -> str:
    return f"search:{claim_id}:{engine}"


def with_search_feeds(config: Config) -> Config:
    """``config`` with its claims' search feeds in ``feeds`` (after the configured ones), replacing any built
    before: calling it again on its own result changes nothing."""
    own = tuple(f for f in config.feeds if f.claim is None)
    built = tuple(feed for claim in config.claims for feed in search_feeds(claim, config.search))
    if own + built == config.feeds:
        return config
    return replace(config, feeds=own + built)


def search_feeds(claim: ClaimConfig, settings: SearchConfig) -> list[FeedConfig]:
    """The feeds of ``claim``'s ``search`` engines, in the order it names them; none for a claim without text."""
    if not claim.id or not claim.text:
        return []
    language = claim.language or settings.language
    feeds = []
    for engine in claim.search:
        if engine == "google-news":
            url = google_news_url(claim_query(claim, engine), language, base=settings.google_news_url)
        elif engine == "gdelt":
            url = gdelt_url(claim_query(claim, engine), base=settings.gdelt_url, format=settings.gdelt_format,
                            max_records=settings.gdelt_max_records, timespan=settings.gdelt_timespan)
        else:
            continue  # the config refused it already
        feeds.append(FeedConfig(name=search_feed_name(claim.id, engine), url=url,
                                interval_seconds=settings.interval_seconds, max_age_hours=settings.max_age_hours,
                                full_text=settings.full_text, claim=claim.id))
    return feeds


def google_news_url(query: str, language: str, *, base: str) -> str:
    """The Google News RSS search URL of ``query`` in ``language`` ("en-US": hl=en-US, gl=US, ceid=US:en)."""
    lang, _, region = language.partition("-")
    return _with_query(base, {"q": query, "hl": language, "gl": region, "ceid": f"{region}:{lang}"})


def gdelt_url(query: str, *, base: str, format: str, max_records: int, timespan: str) -> str:
    """The GDELT DOC 2.0 API article-list URL of ``query``, newest first."""
    params = {"query": query, "mode": "artlist", "format": format, "maxrecords": max_records,
              "timespan": timespan, "sort": "datedesc"}
    return _with_query(base, params)


def _with_query(base: str, params: dict) -> str:
    """``base`` with ``params`` added to its query (a proxy's base URL may carry parameters of its own)."""
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


def claim_query(claim: ClaimConfig, engine: str) -> str:
    """The query ``engine`` is asked for ``claim``: its ``search_query`` as written, else built (module doc)."""
    if claim.search_query:
        return claim.search_query
    groups = query_groups(claim)
    if engine == "gdelt":
        groups = [[w for w in g if len(w) >= GDELT_MIN_WORD] for g in groups]
    return " ".join(_group_text(g) for g in groups if g)


def query_groups(claim: ClaimConfig) -> list[list[str]]:
    """The query's groups of alternatives (names first, then the event), each without repeats."""
    variants = {canonical.lower(): [canonical, *forms] for canonical, forms in claim.aliases.items()}
    owner = {form.lower(): canonical for canonical, forms in variants.items() for form in forms}
    groups: list[list[str]] = []
    owners: list[str | None] = []
    event = claim_event(claim.text)
    taken = {(event.word or "").lower()}  # a capitalised event noun at the start is no name ("Ratification of")
    for name in name_runs(claim.text):
        name = _POSSESSIVE.sub("", name)  # "Estrava's parliament": Estrava
        canonical = owner.get(name.lower())
        if name.lower() in taken or (canonical is not None and canonical in owners):
            continue  # the event word, a name given twice, or "US" after "United States": the same party
        taken.add(name.lower())
        if len(groups) == MAX_NAME_GROUPS:
            break
        # A name of several words is also found by its own words ("Hallam" for "Hallam Bank", "Roslan" for "Amina
        # Roslan"): stories shorten names. Everyday words ("Bank", "Minister") are no name of their own.
        own = [w for w in name.split() if len(w) >= GDELT_MIN_WORD and not _everyday(w)] if " " in name else []
        group = [name, *(variants[canonical] if canonical else []), *own]
        groups.append(_alternatives(group))
        owners.append(canonical)
    event_group = _event_group(claim, event, variants, owner)
    # The event narrows the query only where the claim says how else it is told (aliases): stories tell an event
    # in many words, and the bare event word let through 26% of the verdict table's stories against 57% without
    # it (its tune claims; bench/search_reach.py). With no name, the event word is the query.
    if len(event_group) > 1 or (event_group and not groups):
        groups.append(event_group)
    if not groups:  # no name, no event word: the claim's own words
        groups = [[word] for word in re.findall(r"[^\W_]{4,}", claim.text)[:4]]
    return groups


def _event_group(claim: ClaimConfig, event: ClaimEvent, variants: dict[str, list[str]],
                 owner: dict[str, str]) -> list[str]:
    if event.word is None:
        return []
    # The word as written: a verb's candidate base forms may be stems ("approv"), which no engine matches; they
    # only find the aliases a user gave under the base form ("sign" = ["ink"]).
    words = [event.word.lower(), *(sorted(event.verbs[0].lemmas) if event.verbs else ())]
    group: list[str] = [event.word.lower()]
    for word in words:
        canonical = owner.get(word, word if word in variants else None)
        group += variants[canonical] if canonical else []
    names = {n.lower() for n in name_runs(claim.text)}
    for word in event.object:  # the thing the event is about, when the user gave it aliases
        canonical = owner.get(word, word if word in variants else None)
        if canonical and word not in names and canonical not in names:
            group += variants[canonical]
            break
    return _alternatives(group)


def _alternatives(words: list[str]) -> list[str]:
    """Words in Latin letters, each once (case-insensitive), at most ``MAX_VARIANTS``."""
    seen: set[str] = set()
    out = []
    for word in words:
        word = word.strip()
        key = word.lower()
        if not word or key in seen or not _LATIN.search(word) or _NON_LATIN_LETTER.search(word):
            continue
        seen.add(key)
        out.append(word)
    return out[:MAX_VARIANTS]


def _group_text(group: list[str]) -> str:
    words = [f'"{w}"' if _QUOTE_NEEDED.search(w) else w for w in group]
    return words[0] if len(words) == 1 else "(" + " OR ".join(words) + ")"
