"""Verdict rules that fire only for the claim's event: a cue about a partial step (a committee, the start of
talks, a draft, a first reading) leaves the claim pending; paraphrased outcomes and official attribution of a done
act confirm; a headline's own cue outranks the summary's."""

from __future__ import annotations

import pytest

from monitor.models import Verdict
from monitor.reading.verdict import judge, prepare_verdict

C, D, R, P = Verdict.CONFIRMED, Verdict.DELAYED, Verdict.REJECTED, Verdict.PENDING

CEASEFIRE = "Israel and Hamas agree to a ceasefire deal"
PENSION = "Parliament approves the pension reform bill"
ANNOUNCE = "Iraq and the United States announce the agreement on the withdrawal of the coalition"
RATIFIED = "The peace deal with the rebels is ratified and takes effect"
REVIVE = "The United States and Iran revive the nuclear deal"
TALKS = "Iran and the United States begin talks on the nuclear deal"
SPLIT = "Hewlett-Packard will split into two companies"

# (claim, title, summary, expected)
STEP_CASES = [
    (CEASEFIRE, "Israel and Hamas agree to begin ceasefire talks", "", P),
    (CEASEFIRE, "Israel and Hamas agree on framework for ceasefire deal", "", P),
    (CEASEFIRE, "Israel and Hamas agree to ceasefire in principle", "", P),
    (CEASEFIRE, "Draft ceasefire deal agreed by negotiators", "", P),
    (CEASEFIRE, "Israel and Hamas agree to form committee on ceasefire", "", P),
    (CEASEFIRE, "Israel and Hamas agree ceasefire deal", "", C),
    (CEASEFIRE, "Israel and Hamas agree to ceasefire after weeks of talks", "", C),
    (PENSION, "Parliament approves first reading of pension reform bill", "", P),
    (PENSION, "Parliament committee approves pension reform bill", "", P),
    (PENSION, "Parliament gives conditional approval to pension reform bill", "", P),
    (PENSION, "Parliament approves pension reform bill in final vote", "", C),
    (ANNOUNCE, "Iraq and US announce formation of a committee on coalition future", "", P),
    (ANNOUNCE, "Iraq reveals details of draft withdrawal agreement", "", P),
    (ANNOUNCE, "Iraq and US announce agreement on coalition withdrawal", "", C),
    # a step word that is the claim's own event is no step: "talks begin" is what this claim is about
    (TALKS, "Iran and US begin talks on nuclear deal in Vienna", "", C),
    # a claim in the present passive is an event still to happen: a story without its cue does not confirm it
    (RATIFIED, "Government and rebels sign peace deal", "", P),
    (RATIFIED, "Peace deal with rebels will be put to a vote next month", "", P),
    (RATIFIED, "Senate ratifies peace deal with rebels", "", C),
    # a verb in no list is still the claim's cue; a story only about talks to begin does not restate the claim
    (REVIVE, "US and Iran revive nuclear deal", "", C),
    (REVIVE, "US and Iran to begin indirect talks in Vienna", "", P),
    (REVIVE, "Talks to revive nuclear deal resume on Tuesday", "", P),
    # announcing the plan confirms a claim that it will happen, not one that it happens now
    (SPLIT, "HP announces plan to split in two", "", C),
]


@pytest.mark.parametrize(("claim", "title", "summary", "expected"), STEP_CASES, ids=[c[1][:50] for c in STEP_CASES])
def test_a_cue_about_a_step_leaves_the_claim_pending(claim: str, title: str, summary: str, expected: Verdict) -> None:
    result = judge(prepare_verdict(claim), title, summary)
    assert result.verdict == expected, result
