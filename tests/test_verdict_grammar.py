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
    # counter-cases: no modal, or another clause in between
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
