"""The words just before a cue, read backwards: negators, modals, hedges and auxiliaries, and what else
governs the cue from a little further off. Pure: no I/O. Used by ``monitor.reading.verdict``."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.reading import cues
from monitor.reading.tokens import Tok


def is_month(keys: Sequence[str], j: int) -> bool:
    """Whether ``keys[j]`` is the month "May" ("in May", "May 3"), not the modal."""
    nxt = keys[j + 1] if j + 1 < len(keys) else ""
    return keys[j] == "may" and (nxt.isdigit() or (j > 0 and keys[j - 1] in cues.MONTH_CONTEXT))


def markers(keys: Sequence[str], i: int) -> tuple[set[str], int]:
    """Categories of the words read backwards from ``keys[i]``, and where the quoted cue starts: the furthest
    word that decided, auxiliaries left out ("have not signed" -> "not signed")."""
    found: set[str] = set()
    first = i
    for j in range(i - 1, max(i - 7, -1), -1):
        k = keys[j]
        if k in cues.NEGATORS or k in cues.FUTURE_NEGATORS:
            cat = "neg"
            if k in cues.FUTURE_NEGATORS:
                found.add("strong")
        elif k in cues.YET:
            cat = "yet"
        elif k in cues.DENY:
            cat = "deny"
        elif k in cues.REFUSE or (k in cues.INTENTIONS and j > 0 and keys[j - 1] == "no"):
            cat = "refuse"
        elif k in cues.FAIL:
            cat = "fail"
        elif k in cues.HEDGE_LOCAL:
            cat = "hedge"
        elif k in cues.MODAL_STRONG:
            cat = "strong"
        elif k in cues.MODAL_WEAK:
            if is_month(keys, j):
                break
            cat = "weak"
            if k in cues.MODAL_POSSIBLE:
                found.add("possible")
        elif k in cues.AUX:
            cat = "did" if k == "did" else "be" if k in cues.BE else "aux"
        elif k in cues.ADVERBS or k in cues.PRONOUNS or (k.endswith("ly") and len(k) > 4):
            continue
        else:
            if j > 0 and keys[j - 1] == "no" and not found:
                found.add("no")  # "no rate hike": the determiner negates the whole noun phrase
                first = j - 1
            break
        found.add(cat)
        if cat not in ("aux", "be", "did"):
            first = j
    return found, first


def shared_modal(text: str, toks: Sequence[Tok], keys: Sequence[str], i: int, m: set[str],
                 first: int, *, passive: bool = False) -> tuple[set[str], int]:
    """The markers of a base-form verb joined by "and" to a verb after a modal: "will meet and sign", "are
    expected to meet and sign", "did not meet and sign": the modal (and a negator with it) governs both verbs.
    The verb between must be lower-case and no function word ("flew to Baghdad and sign..." is another
    clause). With ``passive`` (the cue is a past participle) the verb between must be one too, after "be": "must
    still be finalised and signed", not "signed and ratified". With no modal there, ``m`` and ``first`` are
    returned unchanged."""
    if i < 3 or keys[i - 1] != "and":
        return m, first
    other = keys[i - 2]
    if other in cues.FUNCTION_WORDS or other in cues.PRONOUNS or not text[toks[i - 2].start].islower():
        return m, first
    if passive and not other.endswith(("ed", "en", "t")):
        return m, first
    shared, at = markers(keys, i - 2)
    if passive and "be" not in shared:
        return m, first
    if shared & {"weak", "strong", "hedge", "neg"}:
        return shared, at
    return m, first


# "alleged", "suspected" before a noun: what they qualify is that noun ("mob attacks alleged thief").
ATTRIBUTIVE = frozenset("alleged suspected purported".split())


def describes_a_person(keys: Sequence[str], i: int, end: int, claim_words: frozenset[str]) -> bool:
    """Whether the hedge ``keys[i:end]`` is an adjective on a noun that is not the claim's, after the sentence's
    start: "Vigilantes beat alleged thief", unlike "Alleged audio of the shooting" (the subject), "plays alleged
    tape of the shooting" or "alleged theft" for a claim about a shooting or a theft (the claim's own words)."""
    nxt = keys[end] if end < len(keys) else ""
    if keys[i] not in ATTRIBUTIVE or end != i + 1 or i < 2 or not nxt.isalpha() or nxt in cues.FUNCTION_WORDS:
        return False
    phrase = list(keys[end : end + 2])  # the noun qualified, and an "of" phrase after it ("alleged tape of ...")
    if cues.SPEECH.intersection(phrase):
        return False  # "alleged victim says ...": the one qualified is the sentence's speaker
    if "of" in phrase:
        at = end + phrase.index("of")
        phrase = phrase[: phrase.index("of")] + list(keys[at + 1 : at + 5])
    return not claim_words.intersection(phrase)
