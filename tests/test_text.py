"""Text folding as the relevance stage reads it (``monitor.reading.text``)."""

from __future__ import annotations

import pytest

from monitor.reading.text import normalise, text_terms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello,   World!", "hello world"),
        ("ﬁnal ＡＢＣ １２３", "final abc 123"),  # NFKC: ligature, full-width letters and digits
        ("STRASSE Straße", "strasse strasse"),  # casefold, not lower
        ("U.S.-led coalition; \"talks\" (2nd round)", "u s led coalition talks 2nd round"),
        ("a\u00adb\u200bc\td\n\ne", "abc d e"),  # soft hyphen and zero-width space vanish, whitespace collapses
        ("$27 billion — 2,000 troops, 0.7%", "27 billion 2000 troops 0 7"),
        ("أَمْرِيكَا", "امريكا"),  # tashkeel stripped, hamza alef unified
        ("العـــراق", "العراق"),  # tatweel
        ("إتفاقية آمنة ٱلسلام مستشفى", "اتفاقيه امنه السلام مستشفي"),  # alef variants, ة -> ه, ى -> ي
        ("", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#StayHome says @realDonaldTrump", ["stay", "hom", "say", "real", "donald", "trump"]),
        ("#COVID19 and #Brexit", ["covid19", "brexit"]),  # nothing run together: kept whole
        ("@WHO warns", ["\ue000who", "warn"]),  # an acronym handle stays an acronym
        ("write to press@AcmeCorp.example", ["writ", "press", "acmecorp", "exampl"]),  # an address is no handle
    ],
)
def test_camel_case_hashtags_and_handles_are_read_as_their_words(text: str, expected: list[str]) -> None:
    assert list(text_terms(text)) == expected
