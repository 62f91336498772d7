"""Who a contest story says won: the claim's candidate, or someone else. Pure: no I/O.

A claim that a candidate wins or is elected ("Tomas Erdel is elected mayor", "Amina Roslan wins the election")
names the winner; a story about the same race uses the same verbs for whoever won. Read from the grammar around
the cue, in general news usage:

* "X wins", "X victory", "X elected" (headline passive): X won; "X defeats Y", "X beats Y": X won, Y lost;
* "voters elect X", "Port Calder elects X": the object X won;
* "Y defeated by X", "Y defeat", "defeat of Y": Y lost; "Y loses", "Y concedes": Y lost.

``outcome`` compares the winner or loser with the claim's candidate (the claim's words before its event verb):
the candidate lost, or another name won, rejects the claim; another name lost says nothing about it. A name is a
word of a name in the story (``parties.name_runs``: capitalised where English would not capitalise it) that is not
one of the claim's words.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.reading import cues, forms
from monitor.reading.parties import name_runs


def _all(*verbs: str) -> frozenset[str]:
    return frozenset(f for v in verbs for f in forms.inflect(v)) | frozenset(["beaten"])


WIN = _all("win") | frozenset("victory victories".split())  # the subject won
ELECT = _all("elect", "re-elect", "reelect")  # the object won; in the passive the subject
BEAT = _all("beat", "defeat")  # the subject won and the object lost; as a noun, the one named lost
LOSE = _all("lose", "concede")  # the subject lost
WORDS = WIN | ELECT | BEAT | LOSE

LOST, OTHER = "lost", "other"  # the claim's candidate lost (or another won); another name lost


def outcome(candidate: frozenset[str], claim_words: frozenset[str], text: str, keys: Sequence[str], first: int,
            i: int, end: int) -> str | None:
    """LOST when the contest cue ``keys[i:end]`` (quoted from ``first``) says the claim's ``candidate`` lost or
    another name won; OTHER when it says another name lost; None when it names neither (the cue reads as usual)."""
    k = keys[i]
    if k not in WORDS or not candidate:
        return None
    names = {w.casefold() for run in name_runs(text) for w in run.split()}

    def who(at: int) -> str | None:  # "candidate", "name" or None for the word at ``at``
        if not 0 <= at < len(keys):
            return None
        word = keys[at]
        if word in candidate:
            return "candidate"
        if word in names and word not in claim_words and word not in cues.FUNCTION_WORDS:
            return "name"
        return None

    obj_at = end + (end < len(keys) and keys[end] in cues.DETERMINERS)
    subject, obj = who(first - 1), who(obj_at)
    winner = loser = None
    if k in LOSE:
        loser = subject
    elif k in WIN:
        winner = who(end + 1) if keys[end : end + 1] == ("for",) else subject  # "a win for Moss"
    elif k in ELECT:
        winner = obj or (subject if forms.form_of(k) == "ed" else None)
    elif end < len(keys) and keys[end] == "by" and k in ("defeated", "beaten"):
        loser, winner = subject, who(end + 1)  # "Erdel defeated by Moss"
    elif k in ("defeat", "defeats") and (keys[end : end + 1] == ("of",) or (subject and not obj)):
        loser = who(end + 1) if keys[end : end + 1] == ("of",) else subject  # "Erdel defeat", "defeat of Erdel"
    else:
        winner, loser = subject, obj
    if loser == "candidate" or (winner == "name" and loser != "candidate"):
        return LOST
    if loser == "name" and winner != "candidate":
        return OTHER
    return None
