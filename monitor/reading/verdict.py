"""What a story judged relevant says about a tracked claim: confirmed, delayed, rejected or pending. Pure: no I/O.

Claim side: ``monitor.reading.claimcues.prepare_verdict``, once per config load, decides what confirms,
delays or rejects the claim (see there).

Story side (``judge``): the title is split into parts (";", " - ", ": ", "?"), the summary into sentences. Cues
(the claim's, built-in delay and rejection cues, configured ones) are read with the words just before them,
nearest first, up to the first word that is not a negator, modal, auxiliary, adverb or pronoun:

* negation: "did not sign" -> pending (event) / rejected (fact, or a decision such as a vote); "will not sign",
  "refuses to", "denies", "no plans to", "no rate hike" -> rejected; "yet to sign", "not yet signed", "will not
  sign before May", "no signing yet", "still no deal", "have not signed it yet" -> delayed; "failed to" -> rejected
  for facts and decisions, else delayed. A negated delay or rejection ("not postponed") is pending.
* modality: "will", "to", "could", "expected to", "close to", "if" ... -> pending ("will postpone" stays
  delayed). A modal or negator before a verb joined by "and" governs the next verb too ("will meet and sign").
  For a claim that is an intention ("plans to open"), "to open" / "set to open" confirm it.
* form: "signed", "is signing", "after the signing", "announces his resignation", "signing ceremony held",
  "launch went ahead" assert the event, and so does a headline's passive without its auxiliary after an event
  noun heading it ("Agreement on the end of the mission announced"); a bare noun ("the signing", "launch event")
  only names it. "X pushed to /
  moved to / pushed into" is a delay only before a time ("vote pushed to next week"; not "pushes to sign").
* attribution ("reportedly", "sources", "according to", "claims", "Congressman: ...", "... - report") turns a
  confirmation into pending unless the sentence confirms the report ("Pentagon confirms reports ..."); an
  official's word on a cue of the claim ("..., officials said", "the ministry says") is the act announced and does
  not. Denials and delays are nearly always attributed, so they stand. "Alleged" or "suspected" before another
  noun than the claim's, past the sentence's start ("mob attacks alleged thief"), qualifies that noun only. A
  question makes all pending, unless it takes the event as done ("Why did ...?", "How did ...?").
* partial steps (``monitor.reading.steps``): a confirming cue that governs a step towards the event ("agreed to
  begin talks", "announced the formation of a committee", "approves the first reading") is pending.
* paraphrased outcomes (``monitor.reading.outcomes``): for a claim about an ending or an agreement on one, "agree
  on ending X", "decided to wind down X", "X to end by September 2025" confirm.
* consequences (``monitor.reading.consequences``): an event noun causing something ("resignation sparks
  reshuffle") asserts it, and so does a participle clause after a stated act ("Dockers went back, ending the
  strike"; "completing ratification"); "won 41 percent" is no victory. A denial or hedge after "but" that
  follows an asserted cue is of the other clause. A rejection before a time ("rules out a launch before March") is a delay.
* contests (``monitor.reading.contest``): for a claim that someone wins or is elected, "Moss defeats Erdel",
  "Port Calder elects Moss", "Erdel concedes" reject it; "Moss concedes" says nothing of it.
* denial and debunking anywhere ("denies", "hoax", "fake", "not true", "No, ...", "shoots down claims") ->
  rejected; but "real or hoax?" is pending, and so is a denied setback ("denies talks collapsed").

Precedence. Within a sentence: debunking, then the strongest cue reading, rejected > confirmed > delayed ("signed
after months of delay" confirms; "signed, then scrapped" rejects); cue readings beat cue-less hedges, which beat
the cue-less default. Across the story: a decisive title (confirmed, delayed or rejected from a cue or a denial),
or a title saying the claim's event is ahead ("Iraq and US to sign deal on Monday"), wins; else a decisive summary
sentence (but not a summary's confirmation under a question headline on the claim's cue: "Will the bank cut
rates?" over "markets price a cut"); else the strongest reading, the title winning ties. So "Iraq and US sign
deal" over "the accord has not yet been ratified" is confirmed; "Will Iraq sign?" over "the signing was
postponed" is delayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from monitor.reading import consequences, contest, cues, markers, outcomes, steps, timing
# The compiler is imported from here too: callers take both halves of the verdict stage from this module.
from monitor.reading.claimcues import PreparedVerdict, prepare_verdict
from monitor.reading.cues import Entry, match
from monitor.reading.tokens import Tok, headline_parts, sentences, tokens
from monitor.models import Verdict, pickled_by_fields

CONFIRMED, DELAYED, REJECTED, PENDING = Verdict.CONFIRMED, Verdict.DELAYED, Verdict.REJECTED, Verdict.PENDING
__all__ = ["PreparedVerdict", "VerdictResult", "judge", "prepare_verdict"]
_RANK = {PENDING: 0, DELAYED: 1, CONFIRMED: 2, REJECTED: 3}
CLEAR, CUED, HEDGED, DEFAULT = 3, 2, 1, 0  # strength of a reading: decisive, from a cue, from a hedge, default
# From _read_cue only, kept as CUED: a cue said to be ahead ("to sign"), marked ``own``; an attributed cue
# ("reportedly signed"), marked ``hedged``.
AHEAD, ATTRIBUTED = 4, 5

# ---------------------------------------------------------------- one sentence


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class VerdictResult:
    """The story's verdict; the cue that decided it, as written in the story (None for a plain pending, or a fact
    restated without a cue); the sentence or headline part that carried it, as written (None for a plain pending)."""

    verdict: Verdict
    cue: str | None
    sentence: str | None


class _Reading(NamedTuple):
    strength: int
    rank: int
    verdict: Verdict
    cue: str | None
    sentence: str | None
    own: bool = False  # the claim's own verb said to be ahead ("to sign", "will sign"): no summary overrules it
    hedged: bool = False  # a cue reading turned pending by a question or an attribution


def _order(reading: _Reading) -> tuple[int, int]:
    return reading.strength, reading.rank  # max() keeps the first of equals: the earlier part or sentence


def _read_cue(p: PreparedVerdict, text: str, toks: Sequence[Tok], keys: Sequence[str], i: int, end: int,
              entry: Entry) -> tuple[Verdict, int, int] | None:
    """(verdict, strength, index where the quoted cue starts) for one cue, or None when it says nothing. The
    strength may be AHEAD or ATTRIBUTED, which the caller reads as CUED with a mark."""
    m, first = markers.markers(keys, i)
    prev = keys[i - 1] if i else ""
    if not m and entry.form in ("base", "ed"):  # "will meet and sign", "must be finalised and signed"
        m, first = markers.shared_modal(text, toks, keys, i, m, first, passive=entry.form == "ed")
    asserted = False
    if entry.outcome == CONFIRMED and entry.form in ("noun", "ing") and not m:
        for a in range(i - 1, max(i - 4, -1), -1):  # "announces his resignation": read the verb instead
            if keys[a] in cues.PUNCT:
                break
            if keys[a] in cues.NOUN_ASSERTERS and keys[a + 1] not in ("to", "in"):
                (m, first), asserted = markers.markers(keys, a), True
                break
    if p.candidate and not m - {"aux", "be", "did"}:
        said = contest.outcome(p.candidate, p.claim_words, text, keys, first, i, end)
        if said is not None:  # "Moss defeats Erdel" for a claim that Erdel wins; "Moss concedes" says nothing
            return (REJECTED, CLEAR, first) if said == contest.LOST else None
    if entry.outcome != CONFIRMED:
        hyphened = i > 0 and toks[i - 1].end == toks[i].start - 1 and text[toks[i].start - 1] == "-"
        if hyphened or any(k in cues.OVERCOME for k in keys[max(0, i - 3) : i]):
            return None  # "long-delayed", "after months of delay": trouble overcome, not news
        if timing.rescheduled(keys, entry, end) is False:
            return None  # "pushes to sign": a push, not a postponement
        if keys[i] == "no" and ("yet" in m or timing.yet_after(keys, end)):
            return DELAYED, CLEAR, first  # "no deal yet", "still no deal": not yet, rather than never
        if m & {"neg", "deny", "refuse", "fail", "yet", "weak", "hedge", "no"}:
            return PENDING, CUED, first
        if entry.outcome == REJECTED and timing.before_time(keys, end):
            return DELAYED, CLEAR, first  # "rules out a launch before March": not before then
        return Verdict(entry.outcome), CLEAR, first
    neg = "neg" in m
    if neg and not p.fact and not p.negated and any(k in cues.LATER for k in keys[end : end + 6]):
        return DELAYED, CLEAR, first  # "will not be signed before the elections"
    if p.negated:  # the claim itself says "does not": a negated cue agrees with it
        return (CONFIRMED, CLEAR, first) if neg else None
    if m & {"deny", "refuse"}:
        return REJECTED, CLEAR, first
    if "fail" in m:
        return (REJECTED if p.fact or p.decisive else DELAYED), CLEAR, first
    if ("yet" in m or timing.yet_after(keys, end)) and (neg or "no" in m):
        return (PENDING, CUED, first) if p.fact else (DELAYED, CLEAR, first)  # "no signing yet", "still no vote"
    if "no" in m or (neg and prev == "no"):
        return (PENDING, CUED, first) if "weak" in m else (REJECTED, CLEAR, first)  # "no signing this year"
    if "yet" in m and (neg or "strong" in m):
        return (PENDING, CUED, first) if p.fact else (DELAYED, CLEAR, first)
    if neg:
        if "strong" in m and "weak" not in m:
            return REJECTED, CLEAR, first  # "will not be signed", "decided not to sign"
        if "weak" not in m and (p.fact or (p.decisive and "did" in m)):
            return REJECTED, CLEAR, first
        return PENDING, CUED, first
    if steps.names_step(keys, i, end, p.claim_words, future=p.future):
        return PENDING, CUED, first  # "agreed to begin talks", "announced the formation of a committee"
    if p.plan and m & {"weak", "strong"} and not m & {"possible", "hedge"}:
        return CONFIRMED, CLEAR, first  # the claim is an intention and the story states it: "Kim to open"
    if p.future and prev == "to" and i > 1 and keys[i - 2] in cues.INTENT and not m & {"possible", "hedge"}:
        return CONFIRMED, CLEAR, first  # the claim says it will happen and the story states the plan
    if m & {"hedge", "weak", "strong"} or any(k in cues.CONDITIONAL for k in keys[max(0, i - 6) : i]):
        # "to sign", "will sign": the story's own word that the event is ahead, which a summary cannot overrule;
        # "reportedly signed": attributed, which hedges the other parts of a headline too
        modal = m & {"hedge", "weak", "strong"}
        return PENDING, (AHEAD if modal == {"strong"} else ATTRIBUTED if "hedge" in modal else CUED), first
    # No negation or modality: does the word assert the event, or only name it?
    form, nxt = entry.form, keys[end] if end < len(keys) else ""
    before = keys[max(0, i - 3) : i]
    completed = asserted or (
        any(k in cues.COMPLETED_BEFORE for k in before) and not any(k in cues.PUNCT for k in before)
    ) or _completed_after(p, keys, end) \
        or (entry.form in ("noun", "ing") and consequences.headline_passive(keys, i, end))
    # An event noun or gerund, or a verb form read as a noun ("End of the strike ..."), causing something.
    nounish = form in ("noun", "ing") or (form == "base" and (i == 0 or prev in cues.DETERMINERS or nxt == "of"))
    completed = completed or (nounish and not m and consequences.causes(keys, end)) \
        or (form == "ing" and not m and consequences.participle_clause(keys, i, end))
    if consequences.reports_share(keys, i, end):
        return None  # "won 47 percent": a share of the vote, not the victory
    if form == "state" and keys[i] == "over" and nxt and nxt not in cues.PUNCT:
        return None  # "strike over" ends a clause; "talks over pay" are about something
    if form in ("ed", "state", "word") or (form == "ing" and "be" in m) or completed:
        return CONFIRMED, CLEAR, first
    # A verb, unless it reads as a noun: after a determiner or number, before "of" or a noun like "event", or
    # before a verb of its own ("launch slips", "release delayed"), after a compound ("quarter-point cut"). A
    # phrase in the -s form is a verb ("Nova 5 hits shelves").
    follow = match(p.lexicon, keys, end) if end < len(keys) else None
    subject = follow is not None and follow[0].outcome != CONFIRMED
    compound = i > 1 and toks[i - 1].start == toks[i - 2].end + 1 and text[toks[i - 1].start - 1] == "-"
    if form == "s" and entry.rest:
        return CONFIRMED, CLEAR, first
    if form in ("base", "s") and i > 0 and prev not in cues.DETERMINERS and not prev.isdigit() and not subject \
            and not compound and nxt not in cues.NOUN_FOLLOWERS and nxt != "of" \
            and not ((prev in ("close", "near") or keys[i] in ("close", "near")) and nxt == "to"):
        return CONFIRMED, CLEAR, first
    return None  # a noun or gerund naming the event ("the signing", "launch event"): no claim either way


def _completed_after(p: PreparedVerdict, keys: Sequence[str], end: int) -> bool:
    """An event noun ending at ``end`` is followed by a completion phrase ("signing ceremony held in Baghdad",
    "the vote took place"), with only a noun like "ceremony" or an auxiliary between, and the phrase is not part
    of a longer delay cue ("held up")."""
    for o in range(3):
        at = end + o
        for phrase in cues.COMPLETED_AFTER_PHRASES:
            if tuple(keys[at : at + len(phrase)]) == phrase:
                longer = match(p.lexicon, keys, at) if keys[at] in p.lexicon else None
                return longer is None or longer[0].outcome == CONFIRMED or longer[1] <= at + len(phrase)
        if at >= len(keys) or not (keys[at] in cues.NOUN_FOLLOWERS or keys[at] in cues.COMPLETED_BETWEEN):
            return False
    return False


class _Text(NamedTuple):
    """A sentence or headline part as every claim reads it: its tokens, their keys, and the positions where the
    claim-independent scan of ``_read`` finds something (``_scan``)."""

    toks: tuple[Tok, ...]
    keys: tuple[str, ...]
    # (position, SENTENCE_LEXICON hit or None, "speaker says" starts here, sentence modal here); the hit's entry is
    # already "debunk" when a debunking verb has a report as object
    marks: tuple[tuple[int, tuple[Entry, int] | None, bool, bool], ...]


@lru_cache(maxsize=64)
def _text(text: str) -> _Text:
    """``text`` tokenised and scanned once for all claims. Cached: a story relevant to several claims is judged
    once per claim over the same sentences, one claim after another, and a headline part is tokenised by
    ``_title_parts`` too."""
    toks = tuple(tokens(text))
    keys = tuple(t.key for t in toks)
    return _Text(toks, keys, _scan(keys))


def _scan(keys: tuple[str, ...]) -> tuple[tuple[int, tuple[Entry, int] | None, bool, bool], ...]:
    """The positions ``_read``'s first pass acts on, with what it finds there before any claim is known: the
    debunking / hedging / confirming phrase starting there, an attributed speaker ("officials say"), a modal."""
    out = []
    for i, k in enumerate(keys):
        hit = match(cues.SENTENCE_LEXICON, keys, i) if k in cues.SENTENCE_LEXICON else None
        if hit is not None:
            entry, end = hit
            if entry.outcome == "debunk-verb" and cues.REPORT_NOUNS.intersection(keys[end : end + 4]) \
                    and keys[end : end + 1] != ("by",):  # not the passive "killed by a shock, claims ..."
                hit = entry._replace(outcome="debunk"), end
        speaker = k in cues.SPEAKERS and i + 1 < len(keys) and keys[i + 1] in cues.SPEECH
        modal = k in cues.SENTENCE_MODALS and not markers.is_month(keys, i)
        if hit is not None or speaker or modal:
            out.append((i, hit, speaker, modal))
    return tuple(out)


_PAST_AUX = frozenset((k,) for k in ("did", "has", "have", "had"))


def _read(p: PreparedVerdict, text: str, hedge: str | None) -> _Reading:
    """The reading of one sentence; ``hedge`` is an attribution covering it (a headline's "- reports")."""
    toks, keys, marks = _text(text)
    surface = lambda a, b: text[toks[a].start : toks[b - 1].end]  # noqa: E731
    # "Why did X call off ...?", "How did X end up with ...?" take the event as done
    question = "?" in keys and keys[0] != "why" and not (keys[0] == "how" and keys[1:2] in _PAST_AUX)
    debunk = deny_at = debunk_at = hedge_at = confirmer = weak_modal = None
    skip_to = 0
    claim_words = p.claim_words
    for i, hit, speaker, modal in marks:
        k = keys[i]
        if hit is not None and i >= skip_to and not claim_words.intersection((k, *hit[0].rest)):
            entry, end = hit  # a claim's own words are content, not a cue
            skip_to = end
            if entry.outcome == "debunk" and debunk is None:
                debunk, deny_at, debunk_at = surface(i, end), (i if k in cues.DENY else None), i
            elif entry.outcome == "hedge" and hedge is None and not (p.speech and k in cues.SPEECH) \
                    and not markers.describes_a_person(keys, i, end, claim_words):
                official = k in cues.SPEECH and i > 0 and keys[i - 1] in cues.OFFICIAL_SPEAKERS
                hedge, hedge_at = surface(i - official, end), i
            elif entry.outcome == "confirm" and not markers.markers(keys, i)[0] & {"neg", "yet", "weak", "fail"}:
                confirmer = surface(i, end)
        if hedge is None and speaker and k not in claim_words:
            hedge = surface(i, i + 2)  # "militants say", "monitoring group says"
        if weak_modal is None and modal and k not in claim_words:
            weak_modal = surface(i, i + 1)
    if keys[:2] == ("no", ",") or keys[:1] == ("nope",):
        debunk = debunk or surface(0, 1)
    readings: list[_Reading] = []
    lexicon = p.lexicon
    i = setback_until = 0
    done_at = len(keys)  # where the first cue asserting the event stands
    while i < len(keys):
        # Most words are no cue of the claim: test membership before paying for a call to match().
        hit = match(lexicon, keys, i) if keys[i] in lexicon else None
        if hit is None:
            i += 1
            continue
        entry, end = hit
        read = _read_cue(p, text, toks, keys, i, end, entry)
        if read is not None:
            verdict, strength, first = read
            own, hedged = strength == AHEAD, strength == ATTRIBUTED
            strength = CUED if own or hedged else strength
            if deny_at is not None and deny_at < i and entry.outcome in (DELAYED, REJECTED):
                verdict, strength, debunk = PENDING, CUED, None  # "denies talks have collapsed"
            if verdict in (DELAYED, REJECTED) and strength == CLEAR:
                setback_until = end + len(steps.governed(keys, end))
            elif verdict == CONFIRMED and i < setback_until:
                i = end  # "NASA delays Artemis launch": the event is what the setback governs, not news of its own
                continue
            if verdict == CONFIRMED and strength == CLEAR:
                done_at = min(done_at, i)
            readings.append(_Reading(strength, _RANK[verdict], verdict, surface(first, end), text, own, hedged))
        i = end
    if p.ends and not any(r.strength == CLEAR for r in readings):
        ending = outcomes.agreed_end(keys, markers.markers)
        if ending is not None:  # "Iraq and US agree on ending coalition mission"
            readings.append(_Reading(CLEAR, _RANK[CONFIRMED], CONFIRMED, surface(*ending), text))
    if not p.negated and not question and not readings and len(keys) > 1:
        # A headline opening "No ..." denies ("No gender segregation on Saudia"); so, for a rumoured fact, does a
        # negated verb anywhere in the main clause ("Homeland Security says terrorists haven't crossed the
        # border"). Weaker than a cue reading.
        if keys[0] == "no" and keys[1] not in ("one", "doubt", "longer", "more", "matter"):
            # "No agreement yet": not yet, for an event
            verdict = DELAYED if "yet" in keys[1:5] and not p.fact else REJECTED
            readings.append(_Reading(CUED, _RANK[verdict], verdict, surface(0, 2), text))
        for j, k in enumerate(keys if p.fact else ()):
            if k in cues.SUBORDINATORS:
                break  # "adopts a boy so he won't turn into a werewolf": another clause
            if k == "not" and j + 1 < len(keys):
                readings.append(_Reading(CUED, _RANK[REJECTED], REJECTED, surface(j, j + 2), text))
                break
    if debunk is not None and "but" in keys[done_at:debunk_at or 0]:
        debunk = None  # "resigns but denies wrongdoing": the denial is of something else
    if hedge_at is not None and "but" in keys[done_at:hedge_at]:
        hedge = None  # "took effect, but each side accuses the other": so is the hedge
    if debunk is not None:
        if question and "or" in keys:  # "real or hoax?"
            return _Reading(CUED, 0, PENDING, debunk, text)
        return _Reading(CLEAR, _RANK[REJECTED], REJECTED, debunk, text)
    if confirmer is not None:
        hedge = None
    best = max(readings, key=_order, default=None)
    if hedge is not None and best and best.cue is not None and cues.OFFICIAL_SPEAKERS.intersection(_text(hedge).keys):
        hedge = None  # "Iraq and US sign the deal, officials said": the act done, in an official's word
    if best and best.strength == CLEAR and (question or (hedge is not None and best.verdict == CONFIRMED)):
        return _Reading(CUED, 0, PENDING, hedge or best.cue, text, hedged=True)
    if best and best.strength >= CUED:
        return best
    if hedge is not None or question or weak_modal is not None:
        return _Reading(HEDGED, 0, PENDING, hedge or ("?" if question else weak_modal), text)
    if p.fact:
        step = steps.step_in(keys, claim_words)
        if step is not None:
            return _Reading(HEDGED, 0, PENDING, surface(step, step + 1), text)
        return _Reading(DEFAULT, _RANK[CONFIRMED], CONFIRMED, None, text)
    return _Reading(DEFAULT, 0, PENDING, None, None)


# ---------------------------------------------------------------- the story

@lru_cache(maxsize=16)
def _title_parts(title: str) -> tuple[tuple[str, ...], str | None]:
    """Headline parts, and the attribution when a part is only that: "... - reports", "Sources: ...",
    "Congressman: ...", "...: South Korea paper" (not "It's official: ..."). Cached, like ``_sentences``."""
    parts = headline_parts(title)
    content, hedge = [], None
    for part in parts:
        words = [k for k in _text(part).keys if k not in cues.PUNCT]
        if (words and len(words) <= 3 and all(w in cues.ATTRIBUTION_ONLY for w in words)) or (
            len(parts) > 1 and 0 < len(words) <= 4 and words[-1] in cues.SPEAKERS and "is" not in words
        ):
            hedge = hedge or part
        else:
            content.append(part)
    return tuple(content), hedge


@lru_cache(maxsize=16)
def _sentences(summary: str) -> tuple[str, ...]:
    """``sentences(summary)``. Cached: a story relevant to several claims is judged once per claim."""
    return tuple(sentences(summary))


def judge(prepared: PreparedVerdict, title: str, summary: str) -> VerdictResult:
    """The verdict of one relevant story (plain-text title and summary) on the prepared claim. See the module
    docstring for the rules and their precedence."""
    parts, hedge = _title_parts(title or "")
    none = _Reading(-1, 0, PENDING, None, None)
    heads = [_read(prepared, part, hedge) for part in parts]
    head = max(heads, key=_order, default=none)
    if head.verdict == CONFIRMED:  # "Leader killed: X reportedly killed in airstrike": one hedged part hedges all
        head = next((r for r in heads if r.hedged), head)
    # A headline asking whether the claim's event will happen says it has not: a summary may tell of a setback,
    # not of the event ("Will the bank cut rates?" over "markets price a cut").
    asked = head.hedged and "?" in (head.sentence or "")
    if head.strength < CLEAR and not head.own:  # a headline's own cue outranks anything a summary says
        body = max((_read(prepared, s, None) for s in _sentences(summary or "")), key=_order, default=none)
        if (body.strength == CLEAR or body.strength > head.strength) and not (asked and body.verdict == CONFIRMED):
            head = body
    return VerdictResult(head.verdict, head.cue, head.sentence)


def cue_readings(prepared: PreparedVerdict, text: str) -> list[VerdictResult]:
    """Per sentence of ``text``, in order, what its cue says of the claim's event, for the sentences read from a
    cue of the claim or a denial (not from a hedge, an attribution or a question, nor the event said to be
    ahead): ``monitor.reading.fulltext`` weighs an article's lead with them."""
    found = []
    for sentence in (s for line in (text or "").splitlines() for s in _sentences(line)):
        reading = _read(prepared, sentence, None)
        if reading.strength >= CUED and reading.cue and not reading.hedged and not reading.own:
            found.append(VerdictResult(reading.verdict, reading.cue, reading.sentence))
    return found
