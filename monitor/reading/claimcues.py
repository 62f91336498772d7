"""The cues one claim is judged by: ``prepare_verdict`` compiles a claim, once per config load, into the
``PreparedVerdict`` that ``monitor.reading.verdict.judge`` reads stories with. Pure: no I/O.

The claim's event (``claimevent.claim_event``: its main verb, found alike in a statement, a question, "will",
"expected to" or a noun phrase) decides what "confirmed" means: its forms, its built-in family ("sign" -> sign, ink,
seal; nouns signing, signature: ``cues.FAMILIES``) and configured cues. The claim is an *event* (future "will sign",
or a family verb in the headline present "Iraq and the US sign the agreement", or a noun phrase "Signing of the
agreement") or a *fact* (past "kept", perfect "has died", passive "was arrested", state "is dead"). "Have not
signed" about an event means not yet (pending); "has not been arrested" about a fact is a denial (rejected). A story
restating a fact without hedging asserts it (confirmed, even without the verb: "World's oldest burger"); one
restating an event without a cue only repeats the expectation (pending).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from monitor.models import Verdict
from monitor.reading import cues, forms, outcomes
from monitor.reading.claimevent import ClaimEvent, claim_event
from monitor.reading.cues import Entry
from monitor.reading.tokens import tokens

OUTCOME_KEYS = ("confirmed", "delayed", "rejected")


@dataclass(frozen=True, slots=True)
class PreparedVerdict:
    """A claim compiled by ``prepare_verdict``. ``verb``: its main verb as written (None if none); ``fact``: it
    states a past event or a state, not a pending event; ``decisive``: its event is a decision (vote, ruling) that
    a "no" resolves; ``negated``: the claim is negative ("doesn't last"); ``plan``: it is an intention ("plans to
    open"); ``speech``: it reports speech ("says he met God"), so "claims" in a story restates rather than hedges;
    ``future``: it says the event will happen ("will split"), so a story announcing the plan confirms it;
    ``ends``: its event is an ending, or an agreement on one, so an agreed or fixed ending in other words confirms it
    (``monitor.reading.outcomes``); ``candidate``: for a claim that someone wins or is elected, the words naming
    them, so a story saying another won rejects it (``monitor.reading.contest``)."""

    claim_text: str
    verb: str | None
    fact: bool
    decisive: bool
    negated: bool
    plan: bool
    speech: bool
    lexicon: Mapping[str, Sequence[Entry]] = field(repr=False)
    claim_words: frozenset[str] = field(repr=False)
    future: bool = False
    ends: bool = False
    candidate: frozenset[str] = field(default=frozenset(), repr=False)


def prepare_verdict(
    claim_text: str, *, outcomes: Mapping[str, Sequence[str]] = {}, replace: bool = False
) -> PreparedVerdict:
    """Compile a claim's cues for ``judge``.

    ``outcomes`` maps "confirmed", "delayed" and "rejected" to cue lists in base form (inflections match: "sign"
    also matches signs/signed/signing, "put off" matches "was put off", "finalise" matches "finalized"; non-Latin
    cues match as written after ``monitor.reading.text.normalise`` folding). They add to the built-in cues, or with
    ``replace=True`` replace the built-ins of each outcome given (the others keep theirs). Raises ValueError for an
    unknown outcome key, a cue list given as one string, or an empty cue.
    """
    for key, values in outcomes.items():
        if key not in OUTCOME_KEYS:
            raise ValueError(f"unknown outcome {key!r}: expected one of {', '.join(OUTCOME_KEYS)}")
        if isinstance(values, str):
            raise ValueError(f"outcome {key!r}: cues must be a list of strings, not one string")
        for cue in values:
            if not isinstance(cue, str) or not tokens(cue):
                raise ValueError(f"outcome {key!r}: empty cue {cue!r}")
    event = claim_event(claim_text)
    families = [cues.FAMILIES[v.family] for v in event.verbs if v.family is not None]
    main = event.verbs[0] if event.verbs else None

    lex: cues.Lexicon = {}
    if not (replace and "confirmed" in outcomes):
        for verb in event.verbs:
            for lemma in verb.lemmas:
                cues.add(lex, lemma, Verdict.CONFIRMED, "verb")
        if event.noun is not None:  # a noun-phrase claim's own event noun: "delivery of the first 777X"
            cues.add(lex, event.noun, Verdict.CONFIRMED, "noun")
        for family in families:
            verbs = family.verbs + family.also
            for word, kind in [(v, "verb") for v in verbs] + [(n, "noun") for n in family.nouns] + [
                (s, "state") for s in family.states
            ]:
                cues.add(lex, word, Verdict.CONFIRMED, kind)
    confirmed_forms = set(lex)
    for outcome, spec, extra in ((Verdict.DELAYED, cues.DELAYED, [f.delayed for f in families]),
                                 (Verdict.REJECTED, cues.REJECTED, [f.rejected for f in families])):
        if not (replace and outcome.value in outcomes):
            for phrase in cues.phrases(spec) + [w for words in extra for w in words]:
                cues.add(lex, phrase, outcome, "verb")
    # A built-in delay or rejection word that is also a confirming cue of this claim, or a word of the claim itself
    # ("An abandoned dog was found"), is part of the claim's event, not news about it.
    keys = event.keys
    own = {f for k in keys if k not in cues.FUNCTION_WORDS for lemma in forms.lemmas(k) for f in forms.inflect(lemma)}
    for form in confirmed_forms | (own & set(lex)):
        lex[form] = [e for e in lex[form] if e.outcome == Verdict.CONFIRMED or e.rest]
    for key, values in outcomes.items():
        for cue in values:
            cues.add(lex, cue, Verdict(key), "verb")
    return PreparedVerdict(
        claim_text=claim_text,
        verb=event.word,
        fact=event.fact,
        decisive=main is not None and main.family is not None and cues.FAMILIES[main.family].decisive,
        negated=event.negated,
        plan=event.plan,
        speech=bool(cues.SPEECH.intersection(keys)),
        lexicon=_shared(lex),
        claim_words=frozenset(keys) - cues.FUNCTION_WORDS,
        future=event.future and event.form != "noun",
        ends=_about_an_ending(event),
        candidate=frozenset(event.parties) - cues.FUNCTION_WORDS if main is not None and main.family == _CONTEST
        else frozenset(),
    )


_CONTEST = next(i for i, f in enumerate(cues.FAMILIES) if f.verbs[0] == "win")  # win, elect, beat, defeat
# The claim is about an agreement when its verb is one of these families or its object names an agreement.
_AGREEMENT_FAMILIES = frozenset(i for i, f in enumerate(cues.FAMILIES) if f.verbs[0] in ("sign", "agree", "complete"))
_AGREEMENT_NOUNS = frozenset("agreement deal accord pact treaty".split())


def _about_an_ending(event: ClaimEvent) -> bool:
    """The claim's event is an ending ("the coalition withdraws", "X ends its mission"), or the signing or
    conclusion of an agreement on one ("sign the agreement on the withdrawal of the coalition")."""
    if any(v.lemmas & outcomes.ENDING_WORDS for v in event.verbs[:1]):
        return True
    main = event.verbs[0] if event.verbs else None
    agreement = (main is not None and main.family in _AGREEMENT_FAMILIES) or bool(_AGREEMENT_NOUNS & set(event.object))
    return agreement and bool(outcomes.ENDING_WORDS & set(event.object))


# Entry lists equal between claims, shared: most of a claim's lexicon is the built-in cues, and a thousand claims
# each with their own copy held about 77 MB (in the daemon and again in each parse worker).
_ENTRIES: dict[tuple[Entry, ...], tuple[Entry, ...]] = {}
_ENTRIES_LOCK = threading.Lock()


def _shared(lex: cues.Lexicon) -> dict[str, tuple[Entry, ...]]:
    with _ENTRIES_LOCK:
        return {sys.intern(form): _ENTRIES.setdefault(tuple(entries), tuple(entries)) for form, entries in lex.items()}
