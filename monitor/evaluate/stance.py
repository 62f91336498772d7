"""A learned verdict layer over the rules: ``judge_story`` takes the rules' reading of a story
(``monitor.reading.verdict.judge``) and a few claim-independent text features, and lets a small multinomial
logistic regression (``monitor.evaluate.logistic``; weights shipped in ``stance_weights.json``, refitted by
``bench/fit_verdicts.py`` with claim-grouped cross-validation) choose the final verdict. Pure: no I/O after the
weights are read once.

Features (``features``), all 0/1: the rules' verdict, whether it named a cue and where (a headline part or a
summary sentence), crossed with the claim's kind (a fact or an event); the claim's kind (fact, intention, negated,
question); and, separately for the headline and the summary, words of five families found with
``monitor.reading.tokens``: hedges ("reportedly", "allegedly", "rumour", "report", "sources", "claims", "could",
"may"), attributed speech ("says", "according to"), denials and debunking ("denies", "hoax", "fake"), negators
("not", "no", "never") and future or modal forms ("will", "plans", "expected"); a question; a past form ("-ed");
whether the claim's own verb appears; each family also crossed with the rules' verdict; the share of the claim's
longer words the headline repeats, in quarters. No feature names a particular claim or story.

Explainable and quotable. An alert quotes the cue and the sentence that decided, so the layer only picks a verdict
it can quote (``quotes``):

* the rules' own verdict, with the rules' cue and sentence: always available, and returned unchanged when the
  model agrees with the rules;
* ``pending``: the first hedge, modal or question mark in the story (headline parts first, then summary
  sentences), quoted as written with its headline part or sentence;
* ``rejected``: the first denial or debunking word, else the first negator, with its sentence;
* ``confirmed``: the first form of the claim's own verb in the story ("killed" for "... was killed"), with its
  sentence;
* ``delayed``: only ever the rules' own (the layer has no delay words of its own), and a delay the rules read
  stands: the training data hold too few delays (none in Emergent) for the model to overrule one.

Of the verdicts it can quote, the layer takes the one the model finds most probable. So every verdict it gives
comes with a cue and a sentence a reader can check, and ``VerdictResult`` keeps its shape.

Not applied in the reading stage: on claim-grouped cross-validation it did not beat the rules alone (figures in
bench/README.md, from ``bench/verdict_quality.py``), so stories are judged by ``judge``. ``judge_story`` is the
call to wire in should a refit beat them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

from monitor.evaluate.logistic import Model
from monitor.models import Verdict
from monitor.reading.tokens import headline_parts, sentences, tokens
from monitor.reading.verdict import PreparedVerdict, VerdictResult, judge

WEIGHTS_FILE = "stance_weights.json"

HEDGES = frozenset("reportedly allegedly alleged purportedly supposedly apparently rumour rumours rumor rumors "
                   "rumoured rumored report reports reported sources source claims claim claimed could may might "
                   "possibly unconfirmed speculation leak leaked".split())
SPEECH = frozenset("says said say according tells told insists suggests believes".split())
DENIALS = frozenset("deny denies denied denial hoax fake false debunk debunked debunks untrue myth satire "
                    "satirical fabricated bogus".split())
NEGATORS = frozenset("not no never".split())
FUTURE = frozenset("will would plans plan planning expected set going soon upcoming".split())
_COMMON = frozenset("will would that this with from have been their there about after over into than them "
                    "they were what when which year years".split())
_CLAIM_QUESTION = frozenset("will would is are does do did can could has have".split())


def _root(key: str) -> str:
    """A crude stem, enough to find a claim's verb in another form: "signed", "signing", "signs" -> "sign"."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if key.endswith(suffix) and len(key) - len(suffix) >= 3:
            return key[: -len(suffix)]
    return key


def _units(title: str, summary: str) -> list[tuple[str, str]]:
    """("title" | "summary", text) for each headline part, then each summary sentence."""
    return [("title", part) for part in headline_parts(title or "")] + [
        ("summary", s) for s in sentences(summary or "")]


def _verb_root(prepared: PreparedVerdict) -> str | None:
    # The claim's analysis (verb, fact, plan, negated) is read with getattr throughout: the layer only needs what
    # PreparedVerdict documents, and a claim compiled without one of them still gets the other features.
    verb = getattr(prepared, "verb", None)
    if not verb:
        return None
    keys = [t.key for t in tokens(verb)]
    return _root(keys[-1]) if keys else None


def features(prepared: PreparedVerdict, title: str, summary: str, said: VerdictResult) -> dict[str, float]:
    """The layer's 0/1 features of one story (see the module docstring)."""
    fact = bool(getattr(prepared, "fact", False))
    kind = "fact" if fact else "event"
    out: dict[str, float] = {f"rule={said.verdict}": 1.0, f"rule={said.verdict}&{kind}": 1.0}
    if fact:
        out["claim:fact"] = 1.0
    for flag in ("plan", "negated"):
        if getattr(prepared, flag, False):
            out[f"claim:{flag}"] = 1.0
    claim_keys = [t.key for t in tokens(prepared.claim_text)]
    if "?" in claim_keys or (claim_keys and claim_keys[0] in _CLAIM_QUESTION):
        out["claim:question"] = 1.0
    units = _units(title, summary)
    if said.cue is not None:
        where = "title" if any(text == said.sentence for place, text in units if place == "title") else "summary"
        out[f"rule_cue_in_{where}&{said.verdict}"] = 1.0
    content = {k for k in claim_keys if len(k) > 3 and k not in _COMMON}
    root = _verb_root(prepared)
    for place, text in units:
        keys = [t.key for t in tokens(text)]
        found = set(keys)
        for family, words in (("hedge", HEDGES), ("speech", SPEECH), ("denial", DENIALS), ("negator", NEGATORS),
                              ("future", FUTURE)):
            if found & words:
                out[f"{place}:{family}"] = 1.0
                out[f"{place}:{family}&rule={said.verdict}"] = 1.0
        if "?" in found:
            out[f"{place}:question"] = 1.0
        if any(k.endswith("ed") and len(k) > 4 for k in keys):
            out[f"{place}:past"] = 1.0
        if root and any(_root(k) == root for k in keys):
            out[f"{place}:claim_verb"] = 1.0
        if place == "title" and content:
            share = len(content & found) / len(content)
            out[f"title:claim_words<{min(4, int(share * 4)) + 1}/4"] = 1.0
    return out


def quotes(prepared: PreparedVerdict, title: str, summary: str, said: VerdictResult) -> dict[Verdict, VerdictResult]:
    """For each verdict the layer may give, the result it would give, with the cue and sentence it quotes (see
    the module docstring). The rules' own verdict is always there, as the rules gave it."""
    if said.verdict == Verdict.DELAYED:
        return {said.verdict: said}
    found: dict[Verdict, VerdictResult] = {}
    root = _verb_root(prepared)
    fallback_negator: VerdictResult | None = None
    for _, text in _units(title, summary):
        for tok in tokens(text):
            k, surface = tok.key, text[tok.start : tok.end]
            if Verdict.PENDING not in found and (k in HEDGES or k in SPEECH or k in FUTURE or k == "?"):
                found[Verdict.PENDING] = VerdictResult(Verdict.PENDING, surface, text)
            if Verdict.REJECTED not in found and k in DENIALS:
                found[Verdict.REJECTED] = VerdictResult(Verdict.REJECTED, surface, text)
            if fallback_negator is None and k in NEGATORS:
                fallback_negator = VerdictResult(Verdict.REJECTED, surface, text)
            if Verdict.CONFIRMED not in found and root and _root(k) == root:
                found[Verdict.CONFIRMED] = VerdictResult(Verdict.CONFIRMED, surface, text)
    if Verdict.REJECTED not in found and fallback_negator is not None:
        found[Verdict.REJECTED] = fallback_negator
    found[said.verdict] = said
    return found


def pick(proba: Mapping[str, float], available: Mapping[Verdict, VerdictResult], rules: Verdict) -> Verdict:
    """Of the ``available`` verdicts, the one the model finds most probable; the rules' verdict on a tie."""
    return max(available, key=lambda v: (proba.get(str(v), 0.0), v == rules))


def choose(model: Model, prepared: PreparedVerdict, title: str, summary: str, said: VerdictResult) -> VerdictResult:
    """The verdict the model finds most probable among those the layer can quote; the rules' result itself when
    the model agrees with the rules or prefers a verdict it cannot quote."""
    available = quotes(prepared, title, summary, said)
    return available[pick(model.predict_proba(features(prepared, title, summary, said)), available, said.verdict)]


@lru_cache(maxsize=1)
def shipped_model() -> Model:
    """The weights shipped with the package. Raises ValueError naming the file when they cannot be read."""
    where = resources.files("monitor.evaluate").joinpath(WEIGHTS_FILE)
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
        return Model.from_json(data)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{where}: cannot read the verdict layer's weights: {exc}") from exc


def judge_story(prepared: PreparedVerdict, title: str, summary: str, model: Model | None = None) -> VerdictResult:
    """The verdict of one relevant story: the rules' reading (``judge``), revised by the layer (``model``, by
    default the shipped weights)."""
    said = judge(prepared, title, summary)
    return choose(model or shipped_model(), prepared, title, summary, said)

