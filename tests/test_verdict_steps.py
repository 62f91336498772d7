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
IRAQ = "Iraq and the United States sign the agreement on the withdrawal of the US-led coalition"
ENDS = "The US-led coalition ends its mission in Iraq"
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



# The signing claim is confirmed by the announcement of the agreed outcome in other words (a decision, documented
# in docs/how-it-works.md: on the announcement day stories report the agreed ending, not a signature); talks never.
OUTCOME_CASES = [
    (IRAQ, "Iraq and US agree on ending coalition mission", "", C),
    (IRAQ, "Iraq and US decide to wind down coalition mission", "", C),
    (IRAQ, "Iraq and US agree to a full withdrawal of the coalition", "", C),
    (IRAQ, "Baghdad and Washington reach a deal to end the coalition mission", "", C),
    (IRAQ, "US-led coalition to end Iraq mission by September 2025, officials say", "", C),
    (IRAQ, "Iraq-US talks conclude", "The coalition mission in Iraq will end by September 2025, officials said.", C),
    (IRAQ, "Iraq and US agree to begin talks on ending coalition mission", "", P),
    (IRAQ, "Iraq and US could agree on ending coalition mission", "", P),
    (IRAQ, "Iraq and US expected to agree on ending the coalition mission", "", P),
    (IRAQ, "Iraq and US did not agree on ending the coalition mission", "", P),
    (IRAQ, "Iraq and US reach agreement to end coalition mission, sources say", "", P),
    (IRAQ, "Coalition mission could end next year", "", P),
    (ENDS, "Coalition decides to curtail its Iraq mission", "", C),
    (ENDS, "Coalition to end Iraq mission by 2026, ministry says", "", C),
]



# Official or party attribution of a done act is the act announced; anonymous or second-hand attribution hedges.
SPEECH_CASES = [
    (IRAQ, "Iraq and US sign withdrawal agreement, officials said", "", C),
    (IRAQ, "Iraq and US signed the withdrawal agreement, a government spokesman said", "", C),
    (IRAQ, "Iraq and US sign withdrawal agreement - officials", "", C),
    (IRAQ, "Iraq and US sign withdrawal agreement, sources say", "", P),
    (IRAQ, "Iraq and US reportedly sign withdrawal agreement", "", P),
    (IRAQ, "Report: Iraq and US sign withdrawal agreement", "", P),
    (IRAQ, "Iraq and US sign withdrawal agreement, state media claims", "", P),
    (IRAQ, "Officials deny Iraq and US signed the withdrawal agreement", "", R),
]



# A headline's own cue outranks the summary's, even a summary cue of a stronger verdict; a question or a hedged
# headline leaves the summary to decide.
HEADLINE_CASES = [
    (IRAQ, "Iraq and US to sign withdrawal agreement on Monday", "The two countries signed a security pact in 2008.",
     P),
    (IRAQ, "Iraq and US will sign withdrawal agreement next week", "An earlier accord collapsed in 2019.", P),
    (IRAQ, "Iraq and US sign withdrawal agreement", "Opponents said a similar deal had collapsed once before.", C),
    (IRAQ, "Signing of withdrawal agreement postponed", "Talks on an earlier accord collapsed in 2019.", D),
    (IRAQ, "Will Iraq sign the US withdrawal deal?", "The signing has been postponed until after the holidays.", D),
    (IRAQ, "Iraq and US sign withdrawal deal - reports", "Iraq and the United States signed the deal on Tuesday.", C),
]



@pytest.mark.parametrize("claim", [
    IRAQ,
    "Will Iraq and the United States sign the agreement on the withdrawal of the US-led coalition?",
    "Iraq and the United States are expected to sign the agreement on the withdrawal of the US-led coalition",
    "Signing of the agreement on the withdrawal of the US-led coalition by Iraq and the United States",
])
def test_the_shipped_claim_in_every_form_reads_the_new_user_probes_alike(claim: str) -> None:
    """The fresh-clone probes: "No signing yet" is delayed (not rejected), "have not signed" is pending, and the
    rules above read the same whatever form the claim is written in."""
    p = prepare_verdict(claim)
    probes = [
        ("No signing yet for Iraq-US coalition withdrawal agreement", "", D),
        ("Iraq-US talks continue", "Baghdad and Washington have not signed the final agreement, officials said.", P),
        ("Signing ceremony held in Baghdad for Iraq-US coalition withdrawal agreement", "", C),
        ("Iraq and US agree on ending coalition mission", "", C),
        ("Iraq and US agree to begin talks on ending coalition mission", "", P),
        ("Iraq and US sign withdrawal agreement, officials said", "", C),
        ("Iraq and US to sign withdrawal agreement on Monday", "The two sides signed a security pact in 2008.", P),
    ]
    for title, summary, expected in probes:
        assert judge(p, title, summary).verdict == expected, (claim, title)


ARTEMIS = "NASA launches the Artemis II mission to the Moon"
DEBT = "Congress raises the debt ceiling"

# A setback governs the event it names ("delays Artemis launch": the launch is its object, no news of its own);
# a scrubbed launch and talks ending with no deal are not yet, not never.
SETBACK_CASES = [
    (ARTEMIS, "NASA delays Artemis II launch as storm nears Florida", "", D),
    (ARTEMIS, "NASA scrubs Artemis II launch after engine problem", "", D),
    (ARTEMIS, "Artemis II mission delayed again as storm heads for launch site", "", D),
    (ARTEMIS, "NASA launches Artemis II after two delays", "", C),
    (ARTEMIS, "NASA launches Artemis II", "", C),
    (DEBT, "Leaders' meeting ends with no deal on the debt ceiling", "", D),
    (DEBT, "Congress votes down debt ceiling increase", "", R),
]



@pytest.mark.parametrize("title", [
    "Militia leader killed: commander reportedly killed in airstrike",
    "Commander killed in airstrike? Officials cannot confirm",
    "Commander killed: rebels claim to have killed him in airstrike",
])
def test_one_hedged_headline_part_hedges_the_others(title: str) -> None:
    """A headline that says it in one part and hedges it in another reports the claim without asserting it."""
    assert judge(prepare_verdict("The militia commander was killed in an airstrike"), title, "").verdict == P


RULE_CASES = [(group, *case) for group, cases in (
    ("step", STEP_CASES), ("outcome", OUTCOME_CASES), ("speech", SPEECH_CASES), ("headline", HEADLINE_CASES),
    ("setback", SETBACK_CASES),
) for case in cases]


@pytest.mark.parametrize(("group", "claim", "title", "summary", "expected"), RULE_CASES,
                         ids=[f"{c[0]}-{c[2][:45]}" for c in RULE_CASES])
def test_rule_cases(group: str, claim: str, title: str, summary: str, expected: Verdict) -> None:
    result = judge(prepare_verdict(claim), title, summary)
    assert result.verdict == expected, result
