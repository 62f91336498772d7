"""Partial steps: whether a confirming cue is about the claim's event or only about a step towards it. Pure.

A generic cue ("announced", "agreed", "approved", "reveals") fires whatever it governs. "Iraq and the US
announce the agreement" states the event; "announce the formation of a committee", "agree to begin talks",
"reveal details of the draft" and "approve the first reading" state a step on the way to it, and so leave the
claim pending. What a cue governs is read as the words after it up to a clause break ("after", "as", a comma …),
and the few words before it in the same clause ("draft deal agreed", "preliminary accord reached").

A step word that is a word of the claim itself is the claim's event, not a step towards it: for "Iran and the US
begin talks", "talks begin" is the event.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from monitor.reading import cues

# Nouns and modifiers that name a step short of an agreed, signed, passed or completed event. General news usage.
STEP_WORDS = frozenset(
    """committee commission panel subcommittee taskforce talks negotiation negotiations negotiators dialogue
    discussion discussions consultation consultations framework draft drafts roadmap memorandum mou outline
    outlines blueprint preliminary tentative interim provisional conditional principle details text proposal
    proposals formation creation establishment reading mechanism timetable""".split()
)
# Step words that are a step only for a claim about the event happening now: announcing a plan or an intention
# confirms a claim that something "will" happen ("HP announces plan to split" for "HP will split").
PLAN_WORDS = frozenset("plan plans intention intentions intent".split())
# "to" + one of these after a cue is the start of a process, not its outcome: "agree to begin talks".
START_VERBS = frozenset(
    """begin begins start starts resume resumes restart restarts open opens launch launches hold holds continue
    pursue explore discuss negotiate form set establish create work study consider seek prepare draft""".split()
)
# Where the phrase a cue governs ends: a clause or an adjunct of its own.
_CLAUSE_BREAK = cues.PUNCT | frozenset(
    "as after while but amid despite following because when before since by ending over that which who".split()
)
_GOVERNED_WORDS = 8
_SUBJECT_WORDS = 3


def governed(keys: Sequence[str], end: int) -> Sequence[str]:
    """The words a cue ending at ``end`` governs: up to a clause break, at most a few words."""
    out = keys[end : end + _GOVERNED_WORDS]
    for j, k in enumerate(out):
        if k in _CLAUSE_BREAK:
            return out[:j]
    return out


def names_step(keys: Sequence[str], start: int, end: int, claim_words: Collection[str], *, future: bool) -> bool:
    """Whether the cue at ``keys[start:end]`` is about a step towards the event rather than the event: a step word
    in what it governs or just before it in the same clause, "to begin ..." after it, or "in principle"."""
    steps = STEP_WORDS if future else STEP_WORDS | PLAN_WORDS
    after = governed(keys, end)
    if after[:1] == ("to",) and len(after) > 1 and after[1] in START_VERBS and after[1] not in claim_words:
        return True
    before: list[str] = []
    for k in reversed(keys[max(0, start - _SUBJECT_WORDS) : start]):
        if k in cues.PUNCT:
            break
        before.append(k)
    return any(k in steps and k not in claim_words for k in (*after, *before))


def step_in(keys: Sequence[str], claim_words: Collection[str]) -> int | None:
    """The position of a verb opening a process ahead, "to begin" / "will resume", that is not a word of the claim;
    None when there is none. A sentence restating a rumoured fact without a cue asserts it, but not one saying
    only that talks are to begin ("US, Iran to begin indirect talks")."""
    for j in range(1, len(keys)):
        if keys[j] in START_VERBS and keys[j - 1] in ("to", "will") and keys[j] not in claim_words:
            return j
    return None
