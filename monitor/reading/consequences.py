"""Event nouns that assert their event by what they cause or by what ends the headline, participle clauses that
tell what an act did, and win verbs that only report a share. Pure.

A headline often names the event as the subject of what it brought about: "Minister's resignation leaves a gap",
"Completion of the deal creates the largest lender", "End of the strike brings relief". The noun alone only names
the event ("the resignation", "launch event"); as the subject of a verb of consequence it says the event took
place. The noun phrase may run on a few words first ("of the deal", "'s"), never past a clause break or a modal.

A headline drops the auxiliary of a passive: "Agreement on the end of the mission announced" asserts the
agreement (``headline_passive``).

A participle clause after a main clause that states an act tells what the act did: "Services resumed on Monday,
ending a walkout" asserts the walkout's end (``participle_clause``).

"Won 47 percent of the vote" reports a share of a vote, not a victory (``reports_share``).
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.reading import cues

# Verbs of consequence, present and past: what an event that happened does. General headline usage.
CONSEQUENCE_VERBS = frozenset(
    """brings brought creates created leaves left ends ended opens opened paves paved sparks sparked triggers
    triggered ushers ushered clears cleared marks marked means meant sends sent prompts prompted""".split()
)
_NOUN_PHRASE_WORDS = 5
_STOP = cues.PUNCT | cues.MODAL_STRONG | cues.MODAL_WEAK | cues.NEGATORS | cues.AUX
_WIN_FORMS = frozenset("win wins won winning".split())
_SHARE_WORDS = frozenset("percent per %".split())


def causes(keys: Sequence[str], end: int) -> bool:
    """Whether the event noun ending at ``end`` is the subject of a verb of consequence within a few words."""
    for k in keys[end : end + _NOUN_PHRASE_WORDS]:
        if k in CONSEQUENCE_VERBS:
            return True
        if k in _STOP:
            return False
    return False


def reports_share(keys: Sequence[str], i: int, end: int) -> bool:
    """Whether the win cue at ``keys[i]`` is followed by a share ("won 47 percent", "won 41 per cent")."""
    return keys[i] in _WIN_FORMS and end + 1 < len(keys) and keys[end].replace(".", "").isdigit() \
        and keys[end + 1] in _SHARE_WORDS


# In the main clause, these leave what it did open, and so what a participle clause after it says it did.
_OPEN_CLAUSE = cues.MODAL_POSSIBLE | cues.NEGATORS | cues.CONDITIONAL | frozenset("will would shall".split())


def participle_clause(keys: Sequence[str], i: int, end: int) -> bool:
    """Whether the -ing cue ``keys[i:end]`` opens a participle clause with an object after a main clause that
    states an act ("Services resumed on Monday, ending a walkout that lasted 26 days"): the clause tells what the
    act did. Not after a modal, negator or condition in the main clause, nor in a question."""
    if i < 3 or keys[i - 1] != "," or end >= len(keys) or keys[end] in cues.PUNCT \
            or keys[end] in cues.NOUN_FOLLOWERS or "?" in keys:
        return False
    return not any(k in _OPEN_CLAUSE for k in keys[: i - 1])


_ARTICLES = frozenset("the a an".split())


def headline_passive(keys: Sequence[str], i: int, end: int) -> bool:
    """The event noun ending at ``end`` heads the sentence ("Agreement on the end of the mission announced"), a
    phrase of its own follows, and the sentence ends in a completion phrase: a headline's passive without its
    auxiliary. No punctuation, modal or negator between ("Agreement on the mission not announced")."""
    if not (i == 0 or (i == 1 and keys[0] in _ARTICLES)) or end >= len(keys) or keys[end] not in cues.PREPOSITIONS:
        return False
    for phrase in cues.COMPLETED_AFTER_PHRASES:
        n = len(phrase)
        if len(keys) - n > end + 1 and tuple(keys[-n:]) == phrase:
            between = keys[end + 1 : len(keys) - n]
            return not any(k in cues.PUNCT or k in cues.MODAL_STRONG or k in cues.MODAL_WEAK or k in cues.NEGATORS
                           or k in cues.AUX for k in between)
    return False
