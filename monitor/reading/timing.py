"""Time words after a cue: whether a delay phrase names a new time, and "yet" or "before <time>" after a cue. Pure.

Read by ``monitor.reading.verdict``: "signing pushed to next year" is a delay, "pushes to sign" is not
(``rescheduled``); "no signing yet" is not yet (``yet_after``); "rules out a launch before March" is not before
then (``before_time``).
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.reading import cues
from monitor.reading.cues import Entry


def rescheduled(keys: Sequence[str], entry: Entry, end: int) -> bool | None:
    """For a delay phrase ending in "to"/"into"/... ("pushed to"), whether a time follows ("next year", "2027",
    "the spring", "a later date"); None for any other cue."""
    if not entry.rest or entry.rest[-1] not in cues.RESCHEDULE_PARTICLES:
        return None
    j = end + 1 if end < len(keys) and keys[end] in ("the", "a", "an", "early", "late", "mid") else end
    return j < len(keys) and (keys[j].isdigit() or keys[j] in cues.TIME_WORDS or keys[j] == "later")


def before_time(keys: Sequence[str], end: int) -> bool:
    """ "before"/"until" and a time within a few words after a cue, in the same clause: "... before March"."""
    for j, k in enumerate(keys[end : end + 5], end):
        if k in cues.PUNCT:
            return False
        if k in cues.LATER and j + 1 < len(keys):
            return keys[j + 1].isdigit() or keys[j + 1] in cues.TIME_WORDS
    return False


def yet_after(keys: Sequence[str], end: int) -> bool:
    """ "yet" within a few words after a cue, in the same clause: "no signing yet", "have not signed it yet"."""
    for k in keys[end : end + 4]:
        if k in cues.PUNCT:
            return False
        if k == "yet":
            return True
    return False
