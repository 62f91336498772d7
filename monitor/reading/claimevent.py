"""The event a claim is about, in whatever form the claim is written. Pure: no I/O.

People write the same claim many ways: a statement ("Iraq and the US sign the agreement"), a future ("... will
sign ..."), an expectation ("... are expected to sign ..."), a question ("Will Iraq and the US sign the
agreement?"), or a noun phrase ("Signing of the agreement by Iraq and the US", "Kishida's resignation"). Each is
the same event: a verb lemma ("sign"), the parties before it and the object after it. ``claim_event`` finds it so
the verdict compiler (``monitor.reading.verdict.prepare_verdict``) builds the same rules for every form.

How each form is read:

* statement: the main verb (after "will"/"to"/"was"/"has", else the first verb-looking word, else a word in no
  list standing where a verb stands: "The US and Iran revive the deal"). A family verb in the present passive
  ("The deal is ratified") is an event to come, not a fact.
* question: a leading auxiliary or modal ("Will", "Has", "Is", "Did", after an optional "When"/"How soon") is moved
  to the end of the subject, and the statement is read ("Has the pope died?" -> "the pope has died").
* noun phrase: no verb, and the noun phrase's head (before "of"/"by"/..., or last) is an event noun: a family noun
  ("signing", "resignation", ``cues.FAMILIES``) or a nominalisation ("election", "agreement", "approval",
  "delivery"), read as a pending event, like "will sign". A subject event noun with an occurrence or expectation
  verb is the same ("The signing is expected in May", "The vote will take place on Sunday").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from monitor.reading import cues, forms
from monitor.reading.cues import match
from monitor.reading.tokens import tokens


class EventVerb(NamedTuple):
    """One verb of the claim: its candidate base forms and its ``cues.FAMILIES`` index (None: no family)."""

    lemmas: frozenset[str]
    family: int | None


class ClaimEvent(NamedTuple):
    """The claim's event. ``form``: "statement", "question" or "noun"; ``word``: the event word as written in
    the claim ("sign", "Signing"; None when none was found); ``verbs``: the main verb first, then later plain
    verbs; ``noun``: the event noun of a noun-phrase claim ("delivery"), a cue of its own; ``parties`` and
    ``object``: the content words before and after the event word; ``fact``: a past event or a state (not a
    pending event); ``future``: "will", "to", "expected to", or a noun phrase; ``negated``: "does not ...";
    ``plan``: an intention ("plans to open"); ``keys``: the claim's words in statement order."""

    form: str
    word: str | None
    verbs: tuple[EventVerb, ...]
    noun: str | None
    parties: tuple[str, ...]
    object: tuple[str, ...]
    fact: bool
    future: bool
    negated: bool
    plan: bool
    keys: tuple[str, ...]

    @property
    def found(self) -> bool:
        return bool(self.verbs)


# A question opens with one of these (after an optional wh-word).
_QUESTION_AUX = frozenset("will would shall can could may might should must is are was were has have had do does "
                          "did".split())
# Without a "?", a claim opening "Will", "May", "Can" or "Must" may be a name or a noun ("Will Smith ...", "May
# signs ..."): a question only before a determiner ("Will the Fed raise rates").
_AMBIGUOUS_OPENERS = frozenset("will may can must".split())
_WH = frozenset("when how why where what".split())
# With an event noun as subject, these say only that the event happens or is expected: the event is the noun's.
OCCURRENCE = frozenset("happen occur take go proceed come".split())
EXPECTATION = frozenset("expect schedule slate plan set due anticipate forecast".split())
# Words that end a noun phrase's head: the head is the word before them ("signing of the agreement").
_NP_END = cues.PREPOSITIONS | cues.AUX | cues.CLAIM_MODALS | frozenset("between to and or".split())
# Verbs that take an -ing complement ("shares begin trading"): before an -ing word they make a clause.
_CATENATIVE = frozenset("begin begins start starts stop stops resume resumes continue continues finish finishes "
                        "cease ceases end ends keep keeps".split())
# Nominalising suffixes and the verb endings they come from, longest first: "ratification" -> ratify.
_SUFFIXES = (
    ("ification", ("ify",)), ("isation", ("ise",)), ("ization", ("ize",)), ("ation", ("ate", "e", "")),
    ("ition", ("ite", "")), ("ssion", ("ss", "t")), ("sion", ("de", "d")), ("tion", ("te", "t", "")),
    ("ment", ("",)), ("ial", ("y",)), ("al", ("", "e")), ("ure", ("", "e")), ("age", ("",)), ("ery", ("er",)),
)
# Not parties or object: function words, modals, wh-words, adverbs.
_NOT_CONTENT = cues.FUNCTION_WORDS | cues.CLAIM_MODALS | cues.TO_MODALS | _WH | cues.ADVERBS
_FAMILY_NOUNS = {noun: index for index, family in enumerate(cues.FAMILIES) for noun in family.nouns}


def event_noun(word: str) -> EventVerb | None:
    """The verb an event noun names: "signing" -> sign, "ratification" -> ratify, "resignation" -> resign,
    "victory" -> win (a family noun without a derivation gets its family's first verb), "delivery" -> deliver.
    None for a word that is not a recognisable event noun ("agreement" is: agree)."""
    family = _FAMILY_NOUNS.get(word)
    candidates: set[str] = set()
    if word.endswith("ing") and len(word) > 5:
        candidates = forms.lemmas(word)
    else:
        for suffix, endings in _SUFFIXES:
            stem = word[: -len(suffix)]
            if word.endswith(suffix) and len(stem) >= 3:
                candidates = {stem + e for e in endings if len(stem + e) >= 4}
                if suffix in ("ation", "ssion") and len(stem) >= 2 and stem[-1] == stem[-2]:
                    candidates.add(stem[:-1])  # "cancellation" -> cancel
                break
    for candidate in candidates:
        hit = cues.FAMILY_LEXICON.get(candidate, ())
        base = [e for e in hit if e.form == "base" and not e.rest]
        if base and (family is None or int(base[0].outcome) == family):
            return EventVerb(frozenset({candidate}), int(base[0].outcome))
    if family is not None:
        return EventVerb(frozenset({cues.FAMILIES[family].verbs[0]}), family)
    return EventVerb(frozenset(candidates), None) if candidates else None


class _ClaimVerbs(NamedTuple):
    verbs: list[tuple[int, int | None]]  # (position, family index), main verb first
    future: bool
    aux: bool  # the main verb follows an auxiliary: "was killed", "has died", "is dead"
    negated: bool
    plan: bool


def _claim_verbs(keys: Sequence[str], compound: Sequence[bool]) -> _ClaimVerbs:
    """Find a statement's verbs; ``compound[i]`` marks the second half of a hyphenated word ("US-led")."""
    verbs: list[tuple[int, int | None]] = []
    future = aux = negated = plan = False
    ctx: str | None = None  # "modal" or "aux" right before
    start = 1 if keys[:1] == ["claim"] else 0
    for i in range(start, len(keys)):
        k, prev, nxt = keys[i], keys[i - 1] if i else "", keys[i + 1] if i + 1 < len(keys) else ""
        if k in cues.NEGATORS and ctx:
            negated = negated or not verbs
        elif k in cues.INTENT and nxt == "to" and not verbs:
            plan = True
        elif k in cues.ADVERBS or (k.endswith("ly") and len(k) > 4) or (k in cues.TO_MODALS and nxt == "to"):
            pass
        elif k in cues.CLAIM_MODALS or (k == "to" and (prev in cues.TO_MODALS or prev in cues.INTENT)):
            ctx, future = "modal", future or not verbs
        elif k in cues.AUX and k not in ("get", "gets"):
            ctx, aux = "aux", aux or not verbs
        else:
            hit = match(cues.FAMILY_LEXICON, keys, i)
            family = int(hit[0].outcome) if hit and (hit[0].form not in ("ing", "state") or ctx == "aux") else None
            plain = prev not in cues.DETERMINERS and prev not in cues.PREPOSITIONS and i > start
            # Later verbs count only when plainly verbs (after an auxiliary, or past forms): "Apple will shut down
            # Beats Music" must not make "beats" a cue.
            verbish = (
                (ctx is not None and k not in cues.DETERMINERS and k not in cues.PREPOSITIONS and not k.isdigit())
                or (family is not None and plain and not verbs)
                or (k in forms.IRREGULAR_BASE and plain and (not verbs or forms.form_of(k) == "ed"))
                or (k.endswith("ed") and len(k) > 4 and plain)
            )
            if ctx is not None and not verbish and not verbs:
                aux = future = False  # "is a Londoner": a copula, no verb
            ctx = None
            if verbish and not compound[i]:
                verbs.append((i, family))
    return _ClaimVerbs(verbs, future, aux, negated, plan)


def _question_order(keys: list[str], written: list[str], question: bool) -> list[int] | None:
    """For a question, the positions of its words in statement order ("Will X sign Y" -> "X will sign Y");
    None when the claim is not a question."""
    start = 1 if keys[:1] and keys[0] in _WH else 0
    if start and keys[1:2] == ["soon"]:
        start = 2  # "How soon will ..."
    if start >= len(keys) - 2 or keys[start] not in _QUESTION_AUX:
        return None
    if not question and keys[start] in _AMBIGUOUS_OPENERS and keys[start + 1] not in cues.DETERMINERS:
        return None
    moved = [start] + ([start + 1] if keys[start + 1] == "not" else [])
    first = moved[-1] + 1
    content = next((j for j in range(first, len(keys)) if keys[j] not in cues.FUNCTION_WORDS), None)
    if content is None:
        return None
    end = None  # where the subject ends: an auxiliary or negator, else the verb
    for j in range(content + 1, len(keys)):
        k = keys[j]
        if k in cues.AUX or k in cues.CLAIM_MODALS or k in cues.NEGATORS or k == "to":
            end = j
            break
        if k in cues.FAMILY_LEXICON or k in forms.IRREGULAR_BASE or k in forms.IRREGULAR:
            end = j
            break
    if end is None:  # no known verb: the first word written in lower case after the subject's first word
        end = next((j for j in range(content + 1, len(keys)) if written[j][:1].islower()
                    and keys[j] not in cues.FUNCTION_WORDS and keys[j] not in cues.ADVERBS), None)
    if end is None:
        return None
    while end - 1 > content and (keys[end - 1] in cues.ADVERBS or keys[end - 1].endswith("ly")):
        end -= 1  # "Will Iraq finally sign": the adverb stays with the verb
    return list(range(start)) + list(range(first, end)) + moved + list(range(end, len(keys)))


def _head_noun(keys: Sequence[str], written: Sequence[str], stop: int) -> int | None:
    """The position of the event noun heading the claim's first noun phrase (before ``stop``), or None."""
    if not keys or keys[0] == "there":
        return None  # "There was a plot ...": an existential statement, a fact
    end = next((j for j in range(min(stop, len(keys))) if keys[j] in _NP_END and j > 0), min(stop, len(keys)))
    j = end - 1
    while j > 0 and keys[j] in cues.NOUN_FOLLOWERS:
        j -= 1  # "signing ceremony": the event is the signing
    if j < 0 or keys[j] in cues.FUNCTION_WORDS:
        return None
    if any(k in _CATENATIVE or k in forms.IRREGULAR for k in keys[:j]):
        return None  # "shares begin trading", "men keep burger": a clause whose verb is not in a family
    if keys[j].endswith("ing") and j > 0 and not written[j][:1].islower() and keys[j] not in _FAMILY_NOUNS:
        return None  # "... Boeing": a name
    return j if event_noun(keys[j]) is not None else None


# After a verb no list knows, its object often opens with one of these: "Iran and the US revive the deal".
_OBJECT_OPENERS = frozenset("the a an its their his her".split())


def _unlisted_verb(keys: Sequence[str], written: Sequence[str]) -> int | None:
    """In a statement where no listed verb was found and no auxiliary or modal stands, the position of a word
    written in lower case after a content word and right before an object's determiner ("The United States and
    Iran revive the 2015 deal"); None when there is none or the statement is a copula or existential."""
    if any(k in cues.AUX or k in cues.CLAIM_MODALS for k in keys) or keys[:1] == ["there"]:
        return None
    for j in range(1, len(keys) - 1):
        k = keys[j]
        if keys[j + 1] in _OBJECT_OPENERS and written[j][:1].islower() and k not in cues.FUNCTION_WORDS \
                and keys[j - 1] not in cues.FUNCTION_WORDS and k.isalpha():
            return j
    return None


def _present_passive(keys: Sequence[str], main: tuple[int, int | None], aux: bool) -> bool:
    """The main verb is a family verb in the present passive ("The peace deal is ratified and takes effect"): a
    claim written so says what is to happen, as "will be ratified" would; "was ratified", "has been ratified"
    stay facts. (An active present verb outside the families, "ISIS beheads ...", stays a fact: Emergent's
    rumoured claims are written so, and reading them as events lost rows on claims not tuned on.)"""
    at, family = main
    if not aux or family is None or forms.form_of(keys[at]) != "ed":
        return False
    j = at - 1
    while j > 0 and (keys[j] in cues.ADVERBS or keys[j].endswith("ly")):
        j -= 1
    return keys[j] in ("is", "are")


def _content(keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(k for k in keys if k not in _NOT_CONTENT)


def claim_event(claim_text: str) -> ClaimEvent:
    """The event of ``claim_text`` in any form; see the module docstring. Never raises: a claim whose event
    cannot be found gets ``found`` False (no verbs), and is read as a fact."""
    toks = [t for t in tokens(claim_text) if t.key not in cues.PUNCT]
    written = [claim_text[t.start : t.end] for t in toks]
    keys = [t.key for t in toks]
    compound = [i > 0 and t.start == toks[i - 1].end + 1 and claim_text[t.start - 1] == "-"
                for i, t in enumerate(toks)]
    order = _question_order(keys, written, claim_text.rstrip().endswith("?"))
    form = "statement" if order is None else "question"
    order = order or list(range(len(keys)))
    skeys, scompound = [keys[o] for o in order], [compound[o] for o in order]
    found = _claim_verbs(skeys, scompound)
    if not found.verbs and form == "statement":
        at = _unlisted_verb(skeys, [written[o] for o in order])
        if at is not None:
            found = found._replace(verbs=[(at, None)])
    main = found.verbs[0] if found.verbs else None
    lemma_of = lambda i: frozenset(forms.lemmas(skeys[i]))  # noqa: E731
    verbs = [EventVerb(lemma_of(i), f) for i, f in found.verbs]
    main_lemmas = verbs[0].lemmas if verbs else frozenset()
    occurrence = bool(main_lemmas & (OCCURRENCE | EXPECTATION)) and main is not None and main[1] is None
    # A clause without a verb found ("X is now under Sharia law") is a statement of a state, not a noun phrase.
    clause = any(k in cues.AUX or k in cues.CLAIM_MODALS for k in skeys)
    head = _head_noun(skeys, [written[o] for o in order], main[0] if main else len(skeys)) \
        if (main is None and not clause) or occurrence else None
    if head is not None:
        # A noun phrase, or an event noun with "happens" / "is expected": the noun's event, pending unless
        # stated as past ("The signing took place").
        noun_verb = event_noun(skeys[head])
        assert noun_verb is not None
        past = main is not None and not found.future and forms.form_of(skeys[main[0]]) == "ed" \
            and not main_lemmas & EXPECTATION
        # The object runs to the predicate ("The signing of the accord | is expected in May").
        predicate = next((j for j in range(head + 1, len(skeys)) if skeys[j] in cues.AUX
                          or skeys[j] in cues.CLAIM_MODALS), main[0] if main else len(skeys))
        return ClaimEvent(
            form="noun" if main is None else form, word=written[order[head]], verbs=(noun_verb,),
            noun=skeys[head], parties=_content(skeys[:head]), object=_content(skeys[head + 1 : predicate]),
            fact=past, future=not past,
            negated=found.negated, plan=found.plan, keys=tuple(skeys),
        )
    past = main is not None and forms.form_of(skeys[main[0]]) in ("ed", "ing")
    # A fact: no verb at all (a state: "There's an audio recording of ..."), or a main verb that is not future and
    # is past, perfect, passive, progressive, or outside the event families.
    fact = main is None or (not found.future and (found.aux or past or main[1] is None))
    if fact and main is not None and not found.future and _present_passive(skeys, main, found.aux):
        fact = False
    at = main[0] if main else len(skeys)
    return ClaimEvent(
        form=form, word=written[order[main[0]]] if main else None, verbs=tuple(verbs), noun=None,
        parties=_content(skeys[:at]), object=_content(skeys[at + 1 :]),
        fact=fact, future=found.future, negated=found.negated, plan=found.plan, keys=tuple(skeys),
    )
