"""Text folding as the relevance stage reads it (``monitor.reading.text``)."""

from __future__ import annotations

import pytest

from monitor.reading.text import normalise


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
