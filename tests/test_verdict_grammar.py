"""Verdict rules read from the grammar around a cue: a modal or negator shared by verbs joined with "and", and
who wins a contest (the claim's candidate, or someone else)."""

from __future__ import annotations

import pytest

from monitor.models import Verdict
from monitor.reading.verdict import judge, prepare_verdict

C, D, R, P = Verdict.CONFIRMED, Verdict.DELAYED, Verdict.REJECTED, Verdict.PENDING

TREATY = "Norland and Vesk sign the border treaty"
BUDGET = "The Aldmoor council passes the harbour budget"

# (claim, title, summary, expected)
SHARED_MODAL_CASES = [
    # the modal before the first verb governs the second too
    (TREATY, "Norland and Vesk will meet and sign the border treaty", "", P),
    (TREATY, "Norland and Vesk to meet and sign border treaty on Friday", "", P),
    (TREATY, "Norland and Vesk are expected to meet and sign the border treaty", "", P),
    (BUDGET, "Aldmoor council could debate and pass the harbour budget this week", "", P),
    (TREATY, "Norland and Vesk did not meet and sign the border treaty", "", P),
    (TREATY, "Norland and Vesk will not meet and sign the border treaty", "", R),
    # a passive shares its modal and "be" too
    (TREATY, "Border deal drafted", "The treaty must still be finalised and signed by both leaders.", P),
    (TREATY, "Border deal drafted", "The treaty will be reviewed and signed in May.", P),
    # counter-cases: no modal, or another clause in between
    (TREATY, "Border deal done", "The treaty was finalised and signed by both leaders on Friday.", C),
    (TREATY, "Border deal done", "Norland and Vesk signed and ratified the border treaty.", C),
    (TREATY, "Norland and Vesk meet and sign border treaty", "", C),
    (TREATY, "Leaders flew to Norland and sign the border treaty", "", C),
    (TREATY, "Norland and Vesk met and signed the border treaty", "", C),
    (BUDGET, "Aldmoor council will review the harbour budget", "The council debated and passed it on Monday.", C),
]


@pytest.mark.parametrize(("claim", "title", "summary", "expected"), SHARED_MODAL_CASES)
def test_a_modal_before_and_governs_both_verbs(claim: str, title: str, summary: str, expected: Verdict) -> None:
    assert judge(prepare_verdict(claim), title, summary).verdict == expected


def test_the_shared_modal_is_quoted_with_the_cue() -> None:
    said = judge(prepare_verdict(TREATY), "Norland and Vesk will meet and sign the border treaty", "")
    assert said.cue == "will meet and sign"


MAYOR = "Will Petra Lind be elected mayor of Oskarby?"
WINS = "Jonas Vale wins the Tarrow county election."

CONTEST_CASES = [
    # another name wins, or the claim's candidate loses: rejected
    (MAYOR, "Okafor defeats Lind to become Oskarby mayor", "", R),
    (MAYOR, "Oskarby elects Okafor", "", R),
    (MAYOR, "Lind defeat ends a decade of green rule in Oskarby", "", R),
    (MAYOR, "Lind defeated by Okafor in Oskarby run-off", "", R),
    (MAYOR, "Lind concedes Oskarby mayoral race", "", R),
    (WINS, "Maria Okafor wins Tarrow county election", "", R),
    (WINS, "Tarrow county count complete", "Maria Okafor won the election by 300 votes.", R),
    # the candidate wins: confirmed
    (MAYOR, "Lind defeats Okafor in Oskarby run-off", "", C),
    (MAYOR, "Oskarby elects Lind", "", C),
    (MAYOR, "Lind elected mayor of Oskarby", "", C),
    (WINS, "Vale wins Tarrow county election", "", C),
    (WINS, "Landslide Win For Vale In Tarrow County Election", "", C),
    # another name losing says nothing of the candidate; a modal still leaves it open
    (MAYOR, "Okafor concedes Oskarby race", "", P),
    (MAYOR, "Okafor will defeat Lind, polls suggest", "", P),
]


@pytest.mark.parametrize(("claim", "title", "summary", "expected"), CONTEST_CASES)
def test_a_contest_story_is_read_for_who_won(claim: str, title: str, summary: str, expected: Verdict) -> None:
    assert judge(prepare_verdict(claim), title, summary).verdict == expected


def test_only_claims_about_winning_track_the_candidate() -> None:
    # a signing claim has no candidate: "X defeats Y" is no cue of it, whatever names it holds
    assert not prepare_verdict("Norland and Vesk sign the border treaty").candidate
    assert prepare_verdict(MAYOR).candidate == frozenset({"petra", "lind"})


THEFT = "Thieves stole the bronze statue from the Harlow museum."
SHOOTING = "There is a video of the Harlow bank shooting."

ATTRIBUTIVE_CASES = [
    # "alleged" on another noun of the object: the sentence's own event stands
    (THEFT, "Museum guards tackle alleged accomplice as thieves stole bronze statue", "", C),
    (THEFT, "Thieves stole Harlow statue, police arrest suspected fence", "", C),
    # counter-cases: the subject is alleged, the alleged thing is the claim's, or the alleged one speaks
    (THEFT, "Alleged thieves stole the bronze statue from Harlow museum", "", P),
    (THEFT, "Police probe alleged theft of the bronze statue", "", P),
    (SHOOTING, "TV channel airs alleged video of the Harlow bank shooting", "", P),
    (THEFT, "Harlow museum's alleged insider says thieves stole the statue", "", P),
]


@pytest.mark.parametrize(("claim", "title", "summary", "expected"), ATTRIBUTIVE_CASES)
def test_alleged_before_another_noun_is_no_attribution(claim: str, title: str, summary: str,
                                                       expected: Verdict) -> None:
    assert judge(prepare_verdict(claim), title, summary).verdict == expected


RATIFY = "Ratification of the Lowmarch water treaty by the Senn assembly"
STRIKE = "The Karst dockworkers' strike ends."

PARTICIPLE_CASES = [
    # an -ing asserter and a participle clause after a stated act assert the event
    (RATIFY, "Senn assembly votes on Lowmarch treaty",
     "The assembly approved the treaty by 61 votes to 40, completing ratification.", C),
    (STRIKE, "Karst port busy again", "Dockers went back on Tuesday, ending a strike that lasted nine weeks.", C),
    # counter-cases: before it, a modal or a negation in the main clause, a question, or a bare noun
    (RATIFY, "Senn assembly votes on Lowmarch treaty",
     "The assembly debated the treaty before completing ratification next month.", P),
    (STRIKE, "Karst port waits", "Dockers could go back on Tuesday, ending a strike that lasted nine weeks.", P),
    (STRIKE, "Karst port waits", "Dockers did not go back on Tuesday, ending hopes of a quick deal.", P),
    (STRIKE, "Karst port waits", "Will dockers return, ending the strike?", P),
    (STRIKE, "Karst port waits", "Union leaders met on Tuesday, ending talks early.", P),
]


@pytest.mark.parametrize(("claim", "title", "summary", "expected"), PARTICIPLE_CASES)
def test_a_participle_clause_after_a_done_act_asserts_it(claim: str, title: str, summary: str,
                                                         expected: Verdict) -> None:
    assert judge(prepare_verdict(claim), title, summary).verdict == expected


BLOCKADE = "Orla and Brenn agree to end the naval blockade"
FISHERIES = "Orla and Brenn sign the fisheries treaty"

HEADLINE_PASSIVE_CASES = [
    # the event noun heads the headline and a completion word ends it: the auxiliary is dropped
    (BLOCKADE, "Agreement on the end of the naval blockade announced", "", C),
    (FISHERIES, "The signing of the Orla-Brenn fisheries treaty completed", "", C),
    (BLOCKADE, "Orla and Brenn announce agreement to end blockade", "", C),
    # counter-cases: a modal or negator before the completion word, no completion word, the noun not the head
    (BLOCKADE, "Agreement on the end of the naval blockade to be announced", "", P),
    (BLOCKADE, "Agreement on the end of the naval blockade not yet announced", "", P),
    (BLOCKADE, "Agreement on the end of the naval blockade", "", P),
    (BLOCKADE, "Talks on an agreement on the blockade announced", "", P),
    (FISHERIES, "Date for signing of the fisheries treaty announced", "", P),
]


@pytest.mark.parametrize(("claim", "title", "summary", "expected"), HEADLINE_PASSIVE_CASES)
def test_a_headline_passive_after_an_event_noun_asserts_it(claim: str, title: str, summary: str,
                                                           expected: Verdict) -> None:
    assert judge(prepare_verdict(claim), title, summary).verdict == expected


@pytest.mark.parametrize(("title", "expected"), [
    ("How did Norland and Vesk sign the border treaty so fast?", C),  # the question takes the signing as done
    ("How Norland and Vesk signed the border treaty", C),
    ("How will Norland and Vesk sign the border treaty?", P),
    ("How soon could Norland and Vesk sign the border treaty?", P),
    ("Did Norland and Vesk sign the border treaty?", P),
])
def test_a_how_did_question_presupposes_the_event(title: str, expected: Verdict) -> None:
    assert judge(prepare_verdict(TREATY), title, "").verdict == expected


FARM_BILL = "The Tessaly senate passes the farm bill."


@pytest.mark.parametrize(("title", "summary", "expected"), [
    # a bill or budget approved is a bill passed
    ("Tessaly senate approves the farm bill", "", C),
    ("Tessaly farm bill wrangling over", "The senate approved the bill on Tuesday by 51 votes to 40.", C),
    # counter-cases: a step, a delay, a plan
    ("Tessaly senate committee approves farm bill", "", P),
    ("Tessaly farm bill approval delayed to June", "", D),
    ("Tessaly senate to approve farm bill next week", "", P),
    ("Tessaly senate votes down the farm bill", "", R),
])
def test_approving_a_bill_passes_it(title: str, summary: str, expected: Verdict) -> None:
    assert judge(prepare_verdict(FARM_BILL), title, summary).verdict == expected
