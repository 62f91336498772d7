"""The learned verdict layer over the rules (monitor.evaluate.stance): it only gives a verdict it can quote, keeps
the rules' reading when the model agrees, and its shipped weights are what bench/fit_verdicts.py fits."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from conftest import REPO, shared_path
from monitor.evaluate.logistic import BIAS, Model
from monitor.models import Verdict
from monitor.evaluate import stance
from monitor.reading.verdict import VerdictResult, judge, prepare_verdict

C, D, R, P = Verdict.CONFIRMED, Verdict.DELAYED, Verdict.REJECTED, Verdict.PENDING
KILLED = prepare_verdict("The rebel commander was killed")
SIGN = prepare_verdict("Iraq and the United States sign the withdrawal agreement")


def _prefers(verdict: Verdict) -> Model:
    """A model that finds ``verdict`` most probable for every story."""
    classes = tuple(sorted(v.value for v in Verdict))
    return Model(classes, {BIAS: {c: (5.0 if c == verdict.value else 0.0) for c in classes}}, l2=0.0)


def test_each_verdict_is_quoted_with_its_own_word_and_sentence():
    title = "Rebel commander killed; officials say more raids will follow"
    summary = "It was not filmed there. The army calls the video a hoax."
    said = judge(KILLED, title, summary)
    found = stance.quotes(KILLED, title, summary, said)
    assert found[said.verdict] == said  # the rules' own reading, untouched
    assert found[C] == VerdictResult(C, "killed", "Rebel commander killed")
    assert found[P] == VerdictResult(P, "say", "officials say more raids will follow")
    # a denial word is preferred to a plain negator, even a later one
    assert found[R] == VerdictResult(R, "hoax", "The army calls the video a hoax.")


def test_the_layer_only_overrides_with_a_verdict_it_can_quote():
    hedged = ("Rebel commander reportedly killed", "")
    plain = ("Rebel commander killed in air strike", "")
    rules_hedged, rules_plain = judge(KILLED, *hedged), judge(KILLED, *plain)
    assert rules_plain.verdict == C
    said = stance.choose(_prefers(P), KILLED, *hedged, rules_hedged)
    assert said.verdict == P and said.cue in said.sentence and said.sentence in hedged[0]
    # nothing in the plain headline can be quoted for "pending": the rules' reading stands
    assert stance.choose(_prefers(P), KILLED, *plain, rules_plain) == rules_plain
    # nor for "rejected": no denial or negator
    assert stance.choose(_prefers(R), KILLED, *plain, rules_plain) == rules_plain
    # the model agreeing with the rules returns the rules' reading itself
    assert stance.choose(_prefers(C), KILLED, *plain, rules_plain) == rules_plain


def test_a_delay_the_rules_read_stands():
    title = "Iraq and US postpone the signing of the withdrawal agreement"
    said = judge(SIGN, title, "")
    assert said.verdict == D
    assert stance.quotes(SIGN, title, "", said) == {D: said}
    assert stance.choose(_prefers(C), SIGN, title, "", said) == said


def test_features_name_no_claim_and_say_where_the_rules_cue_was():
    title, summary = "Talks continue", "Iraq and the US signed the agreement on Monday, officials said."
    said = judge(SIGN, title, summary)
    names = stance.features(SIGN, title, summary, said)
    assert f"rule={said.verdict}" in names and f"rule_cue_in_summary&{said.verdict}" in names
    assert {"summary:speech", "summary:past", "summary:claim_verb"} <= set(names)
    other = prepare_verdict("The minister will resign")
    words = {w for name in stance.features(other, title, summary, judge(other, title, summary)) for w in name.split(":")}
    assert not words & {"iraq", "sign", "minister", "resign"}


@pytest.mark.parametrize("claim, title, summary", [
    ("The rebel commander was killed", "Rebel commander reportedly killed", ""),
    ("The rebel commander was killed", "Army denies rebel commander was killed", ""),
    ("Iraq and the United States sign the withdrawal agreement", "Will Iraq and US sign?",
     "Officials said a signing could come in May."),
    ("Iraq and the United States sign the withdrawal agreement", "Iraq and US sign withdrawal deal", ""),
])
def test_the_shipped_weights_give_a_quotable_verdict(claim, title, summary):
    prepared = prepare_verdict(claim)
    said = stance.judge_story(prepared, title, summary)
    assert isinstance(said, VerdictResult)
    if said != judge(prepared, title, summary):  # an override quotes a word of the story and its sentence
        assert said.cue and said.cue in said.sentence and (said.sentence in title or said.sentence in summary)


def test_broken_weights_are_refused_with_the_file_named(tmp_path):
    with pytest.raises(ValueError, match="outside"):
        Model.from_json({"classes": ["confirmed"], "weights": {"x": {"pending": 1.0}}, "l2": 0.1})
    assert stance.shipped_model().classes == tuple(sorted(v.value for v in Verdict))


@pytest.mark.corpus
def test_the_shipped_weights_are_what_the_fitting_script_writes(tmp_path, monkeypatch):
    fit_verdicts = _bench("fit_verdicts", monkeypatch)
    out = tmp_path / "weights.json"
    shipped = json.loads((REPO / "monitor" / "evaluate" / stance.WEIGHTS_FILE).read_text(encoding="utf-8"))
    # the L2 strength the script's grouped CV chose (rerunning that search is the slow half of the script)
    fit_verdicts.main(["--emergent", str(shared_path("eval", "emergent_dev.tsv")),
                       "--realnews", str(shared_path("eval", "realnews_dev.tsv")), "--out", str(out), "--top", "0", "--l2", str(shipped["l2"])])
    refitted = json.loads(out.read_text(encoding="utf-8"))
    assert refitted["classes"] == shipped["classes"]
    assert refitted["weights"].keys() == shipped["weights"].keys()
    for feature, row in shipped["weights"].items():
        assert row == pytest.approx(refitted["weights"][feature], abs=1e-4), feature


def _bench(name: str, monkeypatch):
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def test_the_fitting_script_reads_the_own_table_with_its_split(tmp_path, monkeypatch):
    fit_verdicts = _bench("fit_verdicts", monkeypatch)
    head = "set\tid\tclaim\tstory\tsummary\tlabel\tverdict\tsplit\tkind\tnote\n"
    table = tmp_path / "table.tsv"
    table.write_text(head + "sign\t1\tThe minister will resign\tMinister resigns\t\t1\tconfirmed\ttune\tplain\t\n"
                     "sign\t2\tThe minister will resign\tMinister may resign\tSources say so.\t1\tpending\theldout\t"
                     "hedge\t\n", encoding="utf-8")
    rows = fit_verdicts.load_table(table)
    assert [(r.split, r.gold, r.group) for r in rows] == [
        ("tune", "confirmed", "table:The minister will resign"), ("heldout", "pending", "table:The minister will resign")]
    assert "summary:hedge" in rows[1].features
    assert fit_verdicts.load_table(tmp_path / "absent.tsv") == []
    table.write_text(head + "sign\t1\tThe minister will resign\tMinister resigns\t\t1\tconfirmed\ttrain\t\t\n",
                     encoding="utf-8")
    with pytest.raises(ValueError, match="'train'"):
        fit_verdicts.load_table(table)
