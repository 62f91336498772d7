"""Which words of a text are names (a claim's parties), as ``monitor.reading.parties`` reads capital letters."""

from __future__ import annotations

import pytest

from monitor.reading.parties import name_runs, name_terms
from monitor.reading.text import compile_aliases

UK_ALIASES = compile_aliases((("united kingdom", ("UK", "Britain", "British")), ("agreement", ("deal", "pact"))))


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Talks between Ghana and Togo on the railway plan collapse", ("Ghana", "Togo")),  # "Talks": everyday
        ("Kenya and Tanzania will approve the railway plan", ("Kenya", "Tanzania")),  # a name may open the text
        ("EU and NATO envoys meet in Lisbon", ("EU", "NATO", "Lisbon")),
        ("The U.S. and the United Kingdom sign a pact", ("US", "United Kingdom")),  # a run of names is one
        ("Ghana and Togo sign. Officials said Monday the President agreed", ("Ghana", "Togo")),  # everyday words
        ("Ghana And Togo Approve Railway Plan With EU Funds", ("EU",)),  # Title Case: only acronyms count
        ("INITIAL results from Accra are in", ("Accra",)),  # a shouted word is no acronym
        ("Mr Mensah met Ms Owusu in Accra", ("Mensah", "Owusu", "Accra")),  # honorifics are not names
        ("", ()),
    ],
)
def test_name_runs(text: str, names: tuple[str, ...]) -> None:
    assert name_runs(text) == names


def test_name_terms_are_read_as_the_scorer_reads_terms() -> None:
    """Stemmed and aliased: "Britain" is the party "united kingdom"; "deal" is no name whatever its alias."""
    assert name_terms("Britain and Peru seal a deal", UK_ALIASES) == {"united kingdom", "peru"}
    assert name_terms("The UK and Peru seal a deal", UK_ALIASES) == {"united kingdom", "peru"}


def test_alias_canonicals_with_a_capitalised_variant_are_names() -> None:
    assert UK_ALIASES.names == {"united kingdom"}
    assert compile_aliases((("sign", ("ink", "seal")),)).names == frozenset()
