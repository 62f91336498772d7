"""The verdict compiler: what a claim is read as, configured cues, bad outcome tables, every claim form's rules."""

from __future__ import annotations

import pytest

from monitor.reading import forms
from monitor.reading.verdict import judge, prepare_verdict

from test_verdict import ARABIC_CUES, C, CLAIM_FORMS, D, IRAQ_CLAIM, P, R


def test_claim_analysis() -> None:
    event = prepare_verdict(IRAQ_CLAIM)
    assert (event.verb, event.fact, event.decisive) == ("sign", False, False)
    assert prepare_verdict("Two Australian men kept a McDonald's Quarter Pounder for 20 years").verb == "kept"
    assert prepare_verdict("Fidel Castro has died").fact
    assert prepare_verdict("The Senate will pass the bill").decisive
    resign = prepare_verdict("The minister will resign")
    assert judge(resign, "Minister tenders resignation", "").verdict == C
    kept = prepare_verdict("Two men kept a burger for 20 years")
    assert judge(kept, "Men keep burger for two decades", "").cue == "keep"


def test_configured_cues_add_to_the_built_ins() -> None:
    p = prepare_verdict(IRAQ_CLAIM, outcomes={"confirmed": ["finalise"], "delayed": ["put off"]})
    assert judge(p, "Iraq and US finalized the withdrawal agreement", "").verdict == C
    assert judge(p, "Iraq and US sign the withdrawal agreement", "").verdict == C  # the built-in still counts
    assert judge(p, "Iraq and US put off the signing again", "").verdict == D
    assert judge(p, "Iraq-US withdrawal signing was put off", "").cue == "put off"
    assert judge(p, "Iraq and US have not finalised the agreement", "").verdict == P


def test_configured_cues_replace_the_built_ins() -> None:
    outcomes = {"confirmed": ["ink"], "rejected": ["torn up"]}
    p = prepare_verdict(IRAQ_CLAIM, outcomes=outcomes, replace=True)
    assert judge(p, "Iraq and US ink the withdrawal agreement", "").verdict == C
    assert judge(p, "Iraq and US sign the withdrawal agreement", "").verdict == P  # "sign" replaced
    assert judge(p, "Iraq-US withdrawal deal torn up", "").verdict == R
    assert judge(p, "Iraq-US withdrawal talks collapse", "").verdict == P  # built-in rejected cues replaced
    assert judge(p, "Iraq-US withdrawal signing postponed", "").verdict == D  # delayed was not given: kept


def test_arabic_needs_configured_cues() -> None:
    title = "العراق والولايات المتحدة يوقعان اتفاقا لانسحاب التحالف الدولي"
    assert judge(prepare_verdict(IRAQ_CLAIM), title, "").verdict == P
    assert judge(prepare_verdict(IRAQ_CLAIM, outcomes=ARABIC_CUES), title, "").verdict == C
    # Arabic negation before the cue: "did not sign".
    arabic = prepare_verdict(IRAQ_CLAIM, outcomes=ARABIC_CUES)
    assert judge(arabic, "العراق لم يوقع الاتفاق", "").verdict == P


@pytest.mark.parametrize(
    ("outcomes", "message"),
    [
        ({"signed": ["sign"]}, "unknown outcome 'signed'"),
        ({"confirmed": ["sign", "  "]}, "empty cue"),
        ({"delayed": [""]}, "empty cue"),
        ({"rejected": "collapse"}, "list of strings"),
    ],
)
def test_bad_outcomes_are_rejected(outcomes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prepare_verdict(IRAQ_CLAIM, outcomes=outcomes)


def test_every_claim_form_compiles_the_same_rules() -> None:
    for lemma, (claims, _) in CLAIM_FORMS.items():
        compiled = {form: prepare_verdict(text) for form, text in claims.items()}
        statement = compiled["statement"]
        for form, p in compiled.items():
            assert (p.fact, p.decisive, p.negated, p.plan) == (False, statement.decisive, False, False), form
            confirming = {w for w, entries in p.lexicon.items() if any(e.outcome == C for e in entries)}
            assert set(forms.inflect(lemma)) <= confirming, form
