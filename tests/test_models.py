"""Plain data crosses process boundaries (the parse workers) pickled: it must come back equal."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from monitor.models import Relevance, Story, Verdict
from monitor.reading import Reading
from monitor.reading.verdict import VerdictResult


@pytest.mark.parametrize("value", [
    Story("s1", "feed", "Iraq and US sign deal", "The text.", "https://example.com/1",
          datetime(2026, 11, 27, 8, 30, tzinfo=timezone.utc)),
    Story("s2", "feed", "Untitled", ""),
    Relevance(44.25, ("iraq", "sign")),
    Relevance(0.0),
    Reading(3, Relevance(51.0, ("sign",)), VerdictResult(Verdict.CONFIRMED, "signed", "They signed."), "iraq sign"),
    VerdictResult(Verdict.PENDING, None, None),
])
def test_pickled_data_comes_back_equal_with_every_field(value):
    copy = pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == value and type(copy) is type(value)
    assert copy.__reduce__()[1] == value.__reduce__()[1]  # field by field, in order



@dataclass(frozen=True, slots=True)
class Tagged(Story):
    """A subclass adding a field (pickle needs it at module level)."""

    tag: str = ""


def test_a_subclass_with_its_own_fields_pickles_whole():
    value = Tagged("s1", "feed", "Title", "Summary", tag="x")
    copy = pickle.loads(pickle.dumps(value))
    assert type(copy) is Tagged and copy == value and copy.tag == "x"
