"""Verdict rules of round two: event families for endings, lifted restrictions, coming into force and verdicts
delivered (with the words that keep such a state going); event nouns asserted by what they cause; a question
headline that a summary's cue does not answer; a share of the vote that is no victory; a denial after "but"."""

from __future__ import annotations

import pytest

from monitor.models import Verdict
from monitor.reading.verdict import judge, prepare_verdict

C, D, R, P = Verdict.CONFIRMED, Verdict.DELAYED, Verdict.REJECTED, Verdict.PENDING

TRUCE = "A truce between Norland and the Eastern Alliance takes effect."
WALKOUT = "The dockworkers' strike in Port Ravel ends."
EMBARGO = "The UN lifts its arms embargo on Qesh."
TRIAL = "The tribunal will deliver its verdict in the Orlov bribery case."
TABLET = "Brightline is expected to release the Pixa 2 tablet."
PROBE = "The agency will launch the Tessera-3 space probe."
DRUG = "The drug regulator approves Caldex for severe asthma."
RATES = "Will the Reserve Bank of Kalor raise interest rates?"
MAYOR = "Lena Vos wins the Harwick mayoral election."
QUIT = "Transport Minister Omar Pell resigns."
MERGE = "Northway Insurance and Brell Mutual complete their merger."

# (claim, title, summary, expected)
CASES = [
    # something coming into force, however it is said
    (TRUCE, "Norland truce comes into force at dawn", "", C),
    (TRUCE, "Truce starts in Norland after weeks of fighting", "", C),
    (TRUCE, "No truce yet in Norland as shelling goes on", "", D),
    # an ongoing state that ends, or goes on
    (WALKOUT, "Port Ravel dock strike comes to an end", "", C),
    (WALKOUT, "Port Ravel dock strike to continue into next month", "", D),
    (WALKOUT, "Port Ravel dockworkers extend strike for ten more days", "", D),
    # a restriction lifted, or kept in place
    (EMBARGO, "UN scraps Qesh arms embargo after vote", "", C),
    (EMBARGO, "Arms embargo on Qesh to remain in place, Security Council says", "", R),
    (EMBARGO, "UN will not lift Qesh arms embargo before the summer", "", D),
    # a verdict delivered, whichever way it goes
    (TRIAL, "Orlov acquitted of all bribery charges", "", C),
    (TRIAL, "Tribunal finds Orlov guilty in bribery case", "", C),
    # a product released when it goes on sale; a phrase in the -s form is a verb even after a model number
    (TABLET, "Pixa 2 hits shelves in Europe", "A shortage of chips has delayed the larger model.", C),
    (TABLET, "Brightline Pixa 2 goes on sale", "", C),
    # a probe lifting off is launched
    (PROBE, "Tessera-3 blasts off from the coast", "", C),
    # cleared is approved
    (DRUG, "Caldex cleared for severe asthma", "Insurers said coverage may be delayed.", C),
    # a question headline on the event is not answered by a summary's cue; a compound before a cue makes a noun
    (RATES, "Will Kalor's central bank raise rates on Tuesday?", "Traders see a good chance of a rate hike.", P),
    (RATES, "Kalor central bank poised to raise rates, analysts say", "Most expect a half-point hike.", P),
    # holding rates while signalling a move later is a delay for a claim of change
    (RATES, "Kalor central bank holds rates, signals hike next year", "", D),
    # a share of the vote is not a victory
    (MAYOR, "Harwick mayoral race heads to second round", "Vos won 44 percent and faces a run-off.", P),
    # a denial after "but" is of something else
    (QUIT, "Pell resigns but denies any misconduct", "", C),
    # an event noun as the subject of what it caused asserts the event
    (QUIT, "Pell resignation sparks cabinet reshuffle", "", C),
    (MERGE, "Completion of Northway-Brell deal creates a new market leader", "", C),
    # ... a gerund or a verb read as a noun likewise
    (EMBARGO, "Lifting of the Qesh embargo opens way for arms sales", "", C),
    (WALKOUT, "End of dock strike brings relief to Port Ravel traders", "", C),
    # ... but not when it is said to be ahead, and a bare noun still only names it
    (MERGE, "Completion of Northway-Brell deal will create a new market leader", "", P),
    (QUIT, "Pell resignation rumours swirl in the capital", "", P),
    # a why-question takes the event as done
    (TABLET, "Why did Brightline call off the Pixa 2?", "", R),
    # dropping the plan is a rejection
    (TABLET, "Brightline drops its tablet plan", "", R),
    # ruling something out before a time is a delay
    (PROBE, "Tessera-3 team reviews faulty valve", "Engineers are ruling out a launch before April.", D),
    # "close to" is no verb of closing; a hedge after "but" is of the other clause
    (MERGE, "Northway weighs walking away from Brell deal, report says",
     "People close to Northway said the board was losing patience.", P),
    (TRUCE, "Guns fall silent across Norland",
     "The truce took effect at six, but each side accuses the other of shelling.", C),
    # a strike "over" at the end of a clause ends it; "talks over pay" do not
    (WALKOUT, "Port Ravel dock strike over", "Some ferries will be delayed for a day.", C),
    (WALKOUT, "Port Ravel talks over pay resume", "", P),
    # an event noun followed by "confirmed" asserts it
    (MAYOR, "Vos victory confirmed by election board", "The board rejected a recount request.", C),
]


@pytest.mark.parametrize("claim,title,summary,expected", CASES)
def test_round_two_rules(claim: str, title: str, summary: str, expected: Verdict) -> None:
    assert judge(prepare_verdict(claim), title, summary).verdict == expected
