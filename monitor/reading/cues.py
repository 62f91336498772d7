"""The vocabulary of the verdict stage (``monitor.reading.verdict``): word lists, and how a listed word is found in text.

Lists first. Verbs are written as base forms and inflected by ``monitor.reading.forms`` ("sign" -> signs, signed,
signing; "finalise" -> finalized too). A phrase ("put off") inflects its first word and allows up to two words
before its particle ("put the vote off"). Every list is general English news usage: how journalists phrase outcomes,
hedges and denials. Some words were added after reading misjudged headlines of the tuning half of
shared/eval/emergent_dev.tsv (claims with an even CRC-32; see bench/verdict_quality.py), always as general words,
never phrases lifted from a row.

Then the lexicons built from them: ``Lexicon`` entries added by ``add`` (a verb in all its forms, from
``monitor.reading.forms``; words read by ``monitor.reading.tokens``) and found by ``match`` (longest phrase first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from monitor.reading.forms import inflect
from monitor.reading.tokens import tokens


class Family(NamedTuple):
    """What "it happened" looks like for one kind of event.

    ``verbs``: confirming verbs; ``nouns``: the event nouns (confirming only when the sentence says the event took
    place, e.g. "after the signing"); ``states``: adjectives that assert the outcome ("dead"); ``rejected``: words
    that mean this kind of event failed ("lose" an election, "alive" for a death); ``decisive``: the event is a
    one-shot decision (a vote, a ruling), so "did not pass" / "failed to pass" means it was rejected rather than
    that it has not happened yet; ``delayed``: words that mean this kind of event is put off ("strike extended"
    for an ending, "holds rates" for a cut); ``also``: further confirming verbs too common to place a claim in
    the family ("begin": "shares begin trading" is no coming into force).
    """

    verbs: tuple[str, ...]
    nouns: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    decisive: bool = False
    delayed: tuple[str, ...] = ()
    also: tuple[str, ...] = ()


def _f(verbs: str, nouns: str = "", states: str = "", rejected: str = "", decisive: bool = False,
       delayed: str = "", also: str = "") -> Family:
    split = lambda s: tuple(p.strip() for p in s.split(",") if p.strip())  # noqa: E731
    return Family(split(verbs), split(nouns), split(states), split(rejected), decisive, split(delayed), split(also))


# Each family is found by any of its verbs in the claim; the claim's own verb is always a cue as well.
FAMILIES: tuple[Family, ...] = (
    _f("sign, ink, seal, sign off, put pen to paper", "signing, signature"),
    _f("agree, reach agreement, reach deal, strike deal, clinch deal, seal deal, broker deal, reach accord",
       "agreement"),
    _f("approve, endorse, authorise, greenlight, green-light, sign off on, adopt, clear", "approval",
       rejected="vote down, veto, fail",
       decisive=True),
    _f("pass, enact, adopt, clear", "passage", rejected="vote down, veto, defeat, fail", decisive=True,
       also="approve"),
    _f("ratify", "ratification", rejected="vote down", decisive=True),
    _f("vote", "vote, referendum", decisive=True),
    _f("confirm", "confirmation", rejected="withdraw", decisive=True),
    _f("announce, unveil, reveal", "announcement, unveiling"),
    _f("launch, debut, roll out, unveil, introduce, go on sale, hit shelves, hit stores, lift off, blast off",
       "launch, debut, rollout, liftoff"),
    # A product is released as it is launched: "goes on sale" confirms "will release the phone".
    _f("release, free, set free, hand over, let go, go on sale, hit shelves, hit stores", "release"),
    _f("resign, step down, stand down, quit", "resignation, departure"),
    _f("withdraw, pull out, exit", "withdrawal, pullout"),
    # An ongoing state ending (a strike, a war, a standoff): kept going is a delay.
    _f("end, finish, come to an end, call off", "end", states="over",
       delayed="extend, continue, go on, drag on, rumble on"),
    # A restriction lifted (sanctions, a ban, a freeze): kept in place is a rejection.
    _f("lift, end, remove, scrap, drop, ease, unfreeze, rescind, revoke", "lifting, removal",
       rejected="extend, renew, maintain, uphold, stay in place, remain in place, remain in force, keep in place"),
    # Something coming into force (a ceasefire, a law, a treaty's rules).
    _f("take effect, come into force, enter into force, come into effect, go into effect, kick in",
       "entry into force", states="in force, in effect", also="begin, start"),
    _f("win, elect, re-elect, beat, defeat", "victory, win", rejected="lose, concede", decisive=True),
    _f("complete, finalise, conclude, close", "completion, closing"),
    _f("acquire, buy, purchase, take over, snap up", "acquisition, takeover, purchase, buyout", rejected="withdraw"),
    _f("merge, combine", "merger"),
    _f("ban, outlaw, prohibit", "ban, prohibition"),
    _f("arrest, detain, apprehend, capture, take into custody", "arrest, detention, capture", rejected="safe"),
    _f("die, pass away, perish", "death, funeral", "dead", rejected="alive, safe"),
    _f("kill, slay, assassinate, execute", "killing, death, assassination", "dead", rejected="alive, safe"),
    _f("marry, wed, tie the knot", "marriage, wedding"),
    _f("convict, find guilty, sentence", "conviction", rejected="acquit", decisive=True),
    # A verdict delivered, whichever way it goes ("will deliver its verdict" is found by its first verb).
    _f("deliver verdict, return verdict, reach verdict, convict, acquit, find guilty, find not guilty, clear",
       "conviction, acquittal", decisive=True),
    _f("charge, indict", "indictment"),
    _f("appoint, name, nominate, hire, tap", "appointment, nomination", rejected="withdraw"),
    _f("fire, sack, oust", "firing, ouster, dismissal"),
    _f("shut down, shutter, discontinue, close", "shutdown, closure"),
    _f("split, break up, spin off", "split, breakup, spinoff"),
    _f("open", "opening"),
    _f("hold, stage, host", ""),
    _f("raise, hike, increase", "hike, increase", delayed="hold, keep, leave unchanged"),
    _f("cut, lower, reduce, slash", "cut", delayed="hold, keep, leave unchanged"),
    _f("steal, rob", "theft", rejected="safe"),
    _f("find, discover, uncover", "discovery"),
)

# Outcome cues for every claim. ``verdict.prepare_verdict`` drops any that is also a confirming cue or a word of
# the claim ("An abandoned dog was found" is not a rejection; "Boeing will delay the 777X" confirms on "delay").
DELAYED = (
    "postpone, delay, defer, reschedule, put off, push back, hold up, stall, drag on, drag out, pause, suspend, slip, "
    "scrub, "
    "postponement, deferral, deadlock, impasse, standstill, snag, hitch, setback, stalemate, "
    "no date, no timeline, no timetable, no deal, on hold, behind schedule, miss deadline, bogged down, "
    "push to, push into, push until, push beyond, move to, move into, shift to, bump to"
)
# A delay phrase ending in one of these counts only before a time: "signing pushed to next year", never
# "Iraq pushes to sign" or "moves to block".
RESCHEDULE_PARTICLES = frozenset("to into until beyond".split())
TIME_WORDS = frozenset(
    """next later following early late mid end new tomorrow spring summer autumn fall winter january february
    march april may june july august september october november december jan feb mar apr jun jul aug sep sept oct
    nov dec monday tuesday wednesday thursday friday saturday sunday week weekend month year""".split()
)
REJECTED = (
    "reject, collapse, scrap, cancel, call off, abandon, break down, fall through, fall apart, veto, torpedo, "
    "derail, shelve, terminate, walk away, back out, pull the plug, rule out, vote down, block, "
    "drop plan, drop plans, drop bid, drop proposal, "
    "rejection, cancellation, breakdown"
)

# Sentence-level denial and debunking: the story says the claim is untrue. Read anywhere in the sentence.
DEBUNK = (
    "deny, denial, hoax, fake, false, falsely, untrue, not true, debunk, bogus, myth, fabricate, fabrication, "
    "no evidence, not real, satire, satirical, spoof, parody, baseless, unfounded, refute, rebut, rebuff, "
    "misinformation, disinformation, photoshop, doctored, scam, dupe, fool, troll, fall for, nonsense, fact check, "
    "not happen, never happen, cast doubt, retract, inaccurate, contrary to, set the record straight, make up"
)
# Debunking only with a report as object, within a few words: "shoots down congressman's claims", "kills stolen
# Batmobile rumor" (alone, "shoot down" and "kill" are war news).
DEBUNK_VERBS = "shoot down, kill, dismiss, put to rest, rebuff, slam, mock, make fun of, laugh off, ridicule"
REPORT_NOUNS = frozenset(
    """rumour rumours rumor rumors report reports claim claims story stories assertion assertions allegation
    allegations speculation theory theories""".split()
)

# Attribution and hedging: the sentence reports the claim without asserting it. Read anywhere in the sentence.
HEDGE = (
    "reportedly, report, according to, rumour, rumor, said to, allegedly, alleged, purportedly, purported, "
    "supposedly, apparently, appear to, may have, might have, could have, source, claim, believed to, thought to, "
    "suspected, unconfirmed, unverified, speculation, speculate, suggest, seem to, if true, what we know, insider, "
    "investigate, investigation, probe, accuse, hint, confirm or deny, seemingly, purport, apparent, possible, "
    "believe, think, you decide, everything you need to know"
)
# Matched only as written: plural "say" is attribution ("officials say", "sources say"), while "says"/"said" so
# often introduce a speaker's own denial or decision ("PM says he will not resign") that they stay neutral.
HEDGE_EXACT = "say"
# A colon- or dash-separated headline part made only of these words is an attribution for the whole headline
# ("... - reports", "Sources: ...", "... | officials say").
ATTRIBUTION_ONLY = frozenset(
    "report reports reported sources source officials official insider insiders say says said claim claims "
    "media rumour rumours rumor rumors unconfirmed".split()
)
# Who a headline attributes its content to: "Congressman: ...", "...: South Korea paper", "..., monitor says".
SPEAKERS = frozenset(
    """official officials source sources police report reports paper newspaper media tabloid study survey poll
    book documents expert experts analyst analysts scientist scientists researchers monitor watchdog group activist
    activists witness witnesses lawyer lawyers attorney spokesman spokeswoman spokesperson aide aides insider
    insiders lawmaker lawmakers congressman congresswoman senator rep mp mps parent parents family dad mom mother
    father wife husband friend friends neighbour neighbours neighbor neighbors fans blogger website site residents
    locals militants rebels opposition agency""".split()
)
# Speakers who speak for a party: their word on a done act is the act announced ("..., officials said"), not a
# rumour; anonymous and second-hand speakers (sources, reports, media) keep hedging.
OFFICIAL_SPEAKERS = frozenset(
    """official officials spokesman spokeswoman spokesperson police ministry minister ministers government
    president pm premier authorities army military statement""".split()
)
SPEECH = frozenset("say says said claim claims claimed tell tells told allege alleges alleged insist insists".split())
# Words that assert what a report says ("Pentagon confirms reports ..."), cancelling the attribution hedge.
CONFIRMERS = ("confirm, verify, it is official, officially, turns out, proves, prove")

# Words read backwards from a cue, nearest first; the scan stops at the first word in no list here.
NEGATORS = frozenset("not never no without nearly almost neither nor lack لم لا ليس غير".split())
FUTURE_NEGATORS = frozenset(["لن"])  # "will not" in one word
YET = frozenset(["yet", "still"])
DENY = frozenset("deny denies denied denying dismiss dismisses dismissed refute refutes refuted".split())
REFUSE = frozenset(
    "refuse refuses refused refusing decline declines declined declining reject rejects rejected".split()
)
FAIL = frozenset("fail fails failed failing unable".split())
# "will", "would", "to" and the like: the event is ahead. With a negator they say it will not happen at all.
MODAL_STRONG = frozenset("will shall would going gonna to set due about سوف".split())
# Expectation, intention, progress, possibility: the event may or may not happen.
MODAL_WEAK = frozenset(
    """could may might can should must maybe perhaps possibly probably likely unlikely expect expects expected
    expecting plan plans planned planning poised ready near nears neared nearing close closer hope hopes hoped
    hoping aim aims aimed aiming seek seeks sought seeking want wants wanted wanting intend intends intended
    prepare prepares prepared preparing vow vows vowed pledge pledges pledged promise promises promised threaten
    threatens threatened try tries tried trying agree agrees agreed move moves moving push pushes pushing urge
    urges urged consider considers considering mull mulls weigh weighs eye eyes eyeing scheduled tipped ahead
    signal signals signalled signaled signalling signaling
    before if whether when once until""".split()
)
# Possibility, as opposed to intention or schedule: "may sign" stays pending even for a claim about a plan.
MODAL_POSSIBLE = frozenset(
    "could may might can should must maybe perhaps possibly probably likely unlikely consider considers considering "
    "mull mulls weigh weighs eye eyes eyeing".split()
)
# Anywhere in a sentence without a cue, these leave it open ("Apple's next MacBook could be a 12-inch Air").
SENTENCE_MODALS = frozenset("could may might perhaps maybe possibly whether".split())
# A claim whose main verb is one of these, before "to", is about an intention ("North Korea plans to open a
# restaurant"): a story stating the intention ("Kim to open restaurant") confirms it.
# Present forms only: "threatened to prosecute" is a past event, not an intention.
INTENT = frozenset("plan plans planning intend intends want wants aim aims seek seeks prepare prepares".split())
# Attribution right before a cue: "said to have signed", "appears to sign", "claims to have kept".
HEDGE_LOCAL = frozenset(
    """reportedly allegedly apparently purportedly supposedly said says claim claims claimed claiming appear
    appears appeared seem seems seemed believed thought rumoured rumored alleged reported""".split()
)
AUX = frozenset(
    "be been being is are was were am has have had having do does did 's 're 've get gets got getting".split()
)
BE = frozenset("be been being is are was were am 's 're".split())
PRONOUNS = frozenset("we they he she it i you who which that".split())
ADVERBS = frozenset(
    """also already finally formally officially now then just soon jointly again even ever really actually still
    quickly swiftly reluctantly quietly secretly publicly eventually initially only first""".split()
)
DETERMINERS = frozenset(
    "the a an its their his her our your this that these those any some each every of for 's".split()
)
# "after the signing", "following his resignation": the event took place.
COMPLETED_BEFORE = frozenset("after following since upon amid amidst".split())
# "the signing took place", "his resignation was accepted"; headlines drop the auxiliary ("ceremony held").
COMPLETED_AFTER = (
    "took place, takes place, take place, taking place, was held, were held, held, went ahead, goes ahead, "
    "go ahead, got under way, gets under way, under way, underway, happened, occurred, was completed, completed, "
    "was accepted, is official, became official, became final, confirmed, was confirmed, announced, was announced"
)
# Between an event noun and a completion phrase, only these may stand ("signing ceremony was held"); a modal or
# a negator there ("signing to be held", "ceremony not held") says it has not happened.
COMPLETED_BETWEEN = frozenset("was were is are has have been formally officially finally successfully".split())
# An event noun as the object of these is asserted: "announces his resignation", "complete merger".
NOUN_ASSERTERS = frozenset(
    """announce announces announced confirm confirms confirmed complete completes completed close closes closed
    finalise finalises finalised finalize finalizes finalized seal seals sealed tender tenders tendered submit
    submits submitted accept accepts accepted celebrate celebrates celebrated mark marks marked
    announcing confirming completing closing finalising finalizing sealing accepting celebrating marking""".split()
)
# Negated, then one of these: not cancelled, only later ("will not be signed before the elections").
LATER = frozenset("until till before".split())
# "no plans to", "no intention of": a refusal.
INTENTIONS = frozenset("plan plans intention intentions".split())
# A base-form cue followed by one of these is a noun modifier ("launch event", "signing ceremony").
NOUN_FOLLOWERS = frozenset(
    """event events ceremony ceremonies date dates deadline plan plans talks day party window schedule attempt attempts
    site pad""".split()
)
# A delay or rejection cue after these is past trouble overcome ("passes budget after months of delay").
OVERCOME = frozenset("after despite following long much since".split())
# Month-name "May" is not a modal: "in May", "May 2015".
MONTH_CONTEXT = frozenset("in on by since until from early late mid last next this".split())

# Function words: never claim vocabulary, never a verb.
PREPOSITIONS = frozenset("in on at of for from with by to into under over about after before near as than".split())
PUNCT = frozenset(",;:?!\"“”()")
FUNCTION_WORDS = NEGATORS | AUX | DETERMINERS | PREPOSITIONS | frozenset("to and or".split())
# Claim analysis: modals before the main verb, and verbs that make "to" a modal ("is set to", "is going to").
CLAIM_MODALS = frozenset("will shall would could may might can should must".split())
TO_MODALS = frozenset("going set expected expects plans planning plan due about poised ready likely".split())
CONDITIONAL = frozenset("if whether unless".split())
SUBORDINATORS = frozenset("so that because if when while who which whose where but although though as".split())

# Phrases whose first word is a function word are matched literally ("not true", "no date", "according to").
_LITERAL_FIRST = frozenset("not no on behind what if according said may might could believed thought fact".split())


# ---------------------------------------------------------------- lexicons


class Entry(NamedTuple):
    outcome: str  # a Verdict value, a family index, or "debunk" / "debunk-verb" / "hedge" / "confirm"
    form: str  # "base", "s", "ed", "ing", "noun", "state" or "word" (matched as written, e.g. Arabic)
    rest: tuple[str, ...]  # the phrase's further words
    gap: bool  # up to two words may come before the particle ("put the vote off")


Lexicon = dict[str, list[Entry]]  # first word (any form) -> entries


def phrases(spec: str) -> list[str]:
    return [p.strip() for p in spec.split(",") if p.strip()]


def add(lex: Lexicon, phrase: str, outcome: str, kind: str) -> None:
    """Add ``phrase`` as ``kind``: "verb" (all forms of its first word), "noun" (and plural), or as written."""
    words = [t.key for t in tokens(phrase)]
    if not words:
        raise ValueError(f"cue {phrase!r} has no words")
    first, rest = words[0], tuple(words[1:])
    if not (first.isascii() and first.isalpha()):
        forms = {first: "word"}
    elif kind == "verb" and first not in _LITERAL_FIRST:
        forms = inflect(first)
    elif kind == "noun":
        forms = {first: "noun", **{f: "noun" for f, k in inflect(first).items() if k == "s"}}
    else:
        forms = {first: kind}
    for form_word, form in forms.items():
        entry = Entry(outcome, form, rest, bool(rest) and kind == "verb")
        if entry not in lex.setdefault(form_word, []):
            lex[form_word].append(entry)


def match(lex: Mapping[str, Sequence[Entry]], keys: Sequence[str], i: int) -> tuple[Entry, int] | None:
    """The longest entry starting at ``keys[i]``, and the index after it. A gap before a particle holds an
    object, never punctuation or another listed word."""
    best: tuple[Entry, int] | None = None
    for entry in lex.get(keys[i], ()):
        end: int | None = i + 1
        if entry.rest:
            end = None
            for j in range(i + 1, min(i + 4 if entry.gap else i + 2, len(keys))):
                if tuple(keys[j : j + len(entry.rest)]) == entry.rest:
                    end = j + len(entry.rest)
                    break
                if keys[j] in PUNCT or keys[j] in lex:
                    break
        if end is not None and (best is None or end > best[1]):
            best = (entry, end)
    return best


def _sentence_lexicon() -> Lexicon:
    lex: Lexicon = {}
    for outcome, spec in (("debunk", DEBUNK), ("hedge", HEDGE), ("confirm", CONFIRMERS), ("debunk-verb", DEBUNK_VERBS)):
        for phrase in phrases(spec):
            add(lex, phrase, outcome, "verb")
    for phrase in phrases(HEDGE_EXACT):
        add(lex, phrase, "hedge", "word")
    return lex


def _family_lexicon() -> Lexicon:
    lex: Lexicon = {}
    for index, family in enumerate(FAMILIES):
        for verb in family.verbs:
            add(lex, verb, str(index), "verb")
        for state in family.states:
            add(lex, state, str(index), "state")  # "is dead" belongs to the "die" family
    return lex


SENTENCE_LEXICON = _sentence_lexicon()  # debunking, hedging and confirming words, read anywhere in a sentence
FAMILY_LEXICON = _family_lexicon()  # which family a claim's verb belongs to
COMPLETED_AFTER_PHRASES = [tuple(p.split()) for p in phrases(COMPLETED_AFTER)]
