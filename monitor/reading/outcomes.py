"""Paraphrased outcomes: a story that says an ending was agreed or fixed, in other words than the claim's. Pure.

A claim that something ends ("the coalition withdraws", "X ends its mission"), or that an agreement on its
ending is signed ("Iraq and the US sign the agreement on the withdrawal of the coalition"), is confirmed by the
announcement of the agreed outcome, whatever verb the story uses:

* an agreement or decision on the ending: "Iraq and US agree on ending coalition mission", "agree to end",
  "decided to curtail / wind down", "reach a deal to end";
* the ending fixed to a deadline: "coalition to end Iraq mission by September 2025", "mission will end by 2026".

For the signing claim this is a decision, documented in docs/how-it-works.md (verdicts): on the announcement day
stories report the agreed outcome rather than a signature, and announcement-stage stories must read confirmed. A
step towards the agreement ("agree to begin talks on ending ...") is no outcome (``monitor.reading.steps``), and
the usual hedges still apply: "could agree to end" is pending, "sources say they agreed to end" is pending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from monitor.reading import cues
from monitor.reading.forms import inflect

# An ending, as verb (all forms) or noun. "wind down" / "phase out" / "pull out" are matched by their first word
# with the particle after it.
_END_VERBS = ("end", "curtail", "withdraw", "exit", "conclude", "terminate", "wind down", "phase out", "pull out",
              "draw down")
_END_NOUNS = frozenset("end ending withdrawal exit conclusion termination pullout drawdown".split())
# Agreeing or deciding: the parties settle the outcome.
_AGREE_VERBS = ("agree", "decide", "resolve")
_DEAL_VERBS = frozenset(f for v in ("reach", "strike", "seal", "clinch") for f in inflect(v))
_DEAL_NOUNS = frozenset("agreement agreements deal deals accord accords pact understanding".split())
# Words between "agree on/to" and the ending: "agree on the end of", "agree to a full withdrawal".
_BETWEEN = frozenset("the a an its their full complete gradual formal phased".split())
_BLOCKING = frozenset({"neg", "deny", "refuse", "fail", "yet", "hedge", "possible", "no"})


def _forms(verbs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for verb in verbs:
        first, *rest = verb.split()
        for form in inflect(first):
            out[form] = tuple(rest)
    return out


_END_FORMS = _forms(_END_VERBS)
_AGREE_FORMS = frozenset(_forms(_AGREE_VERBS))
ENDING_WORDS = frozenset(_END_FORMS) | _END_NOUNS  # a claim containing one of these is about an ending


def _ending_at(keys: Sequence[str], j: int) -> int | None:
    """The index after an ending word (with its particle) at ``keys[j]``, skipping a determiner or two first."""
    while j < len(keys) and keys[j] in _BETWEEN:
        j += 1
    if j >= len(keys):
        return None
    if keys[j] in _END_NOUNS:
        return j + 1
    rest = _END_FORMS.get(keys[j])
    if rest is None or tuple(keys[j + 1 : j + 1 + len(rest)]) != rest:
        return None
    return j + 1 + len(rest)


def _by_deadline(keys: Sequence[str], end: int) -> bool:
    """ "by" and a time within a few words: "end Iraq mission by September 2025"."""
    for j in range(end, min(end + 5, len(keys) - 1)):
        if keys[j] in cues.PUNCT:
            return False
        if keys[j] == "by":
            nxt = keys[j + 1]
            return nxt.isdigit() or nxt in cues.TIME_WORDS
    return False


def agreed_end(keys: Sequence[str], markers: Callable[[Sequence[str], int], tuple[set[str], int]]
               ) -> tuple[int, int] | None:
    """(start, end) of the first agreed or fixed ending in a sentence, or None. ``markers(keys, i)`` gives the
    categories of the words before ``keys[i]`` (``markers.markers``): a negated, hedged or possible one is no
    outcome."""
    for i, k in enumerate(keys):
        end = None
        if k in _AGREE_FORMS and i + 1 < len(keys) and keys[i + 1] in ("on", "to", "upon"):
            end = _ending_at(keys, i + 2)  # "agree on ending", "decided to wind down"
        elif k in _DEAL_VERBS:
            j = i + 1 + (i + 1 < len(keys) and keys[i + 1] in _BETWEEN)
            if j + 1 < len(keys) and keys[j] in _DEAL_NOUNS and keys[j + 1] in ("on", "to"):
                end = _ending_at(keys, j + 2)  # "reach a deal to end"
        elif k in _END_FORMS and i > 0 and keys[i - 1] in ("to", "will"):
            after = _ending_at(keys, i)
            end = after if after is not None and _by_deadline(keys, after) else None  # "to end ... by 2025"
        blocking = _BLOCKING if k in _END_FORMS else _BLOCKING | {"weak", "strong"}  # "to agree on ending"
        if end is not None and not markers(keys, i)[0] & blocking:
            return i, end
    return None
