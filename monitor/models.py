"""Plain data passed between the pipeline stages. No I/O here."""

from __future__ import annotations

import copyreg
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import TypeVar

T = TypeVar("T", bound=type)


def pickled_by_fields(cls: T) -> T:
    """Pickle instances of a dataclass as a call of the class with its fields in order (every field must be an
    ``__init__`` argument). What ``dataclass(slots=True)`` generates instead walks ``fields()`` for every object
    and takes about three times as long; the parse workers hand tens of thousands of stories and readings across
    processes in a cold poll cycle."""
    names = tuple(f.name for f in fields(cls))
    values = attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))

    def __reduce__(self: object) -> tuple:
        if type(self) is not cls:  # a subclass may add fields: pickled whole, the generic way
            return copyreg.__newobj__, (type(self),), self.__getstate__()  # type: ignore[attr-defined]
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment]
    return cls


class Verdict(StrEnum):
    """What a story says about a claim. ``PENDING``: it only restates the expectation or reports progress."""

    CONFIRMED = "confirmed"
    DELAYED = "delayed"
    REJECTED = "rejected"
    PENDING = "pending"


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Story:
    """One feed entry, reduced to what matching and alerting need.

    ``id`` is stable across polls: derived from the feed name and the entry's guid, else its link,
    else its title and date (see ``parse.story_id``). ``summary`` is plain text, never markup.
    ``published_at`` is timezone-aware UTC, or None when the feed gave no usable date (or its article page's
    date, see below).
    ``outlet`` is who published it (``monitor.net.outlets``): a registrable domain such as "reuters.com", or a
    feed's ``outlet`` setting; "" when nothing names one, and then the feed is the outlet (``reported_by``).

    ``article``: the main text of the story's article page (``full_text = "hits"``, ``monitor.feeds.article``),
    paragraphs separated by newlines; None when it was not fetched. ``article_error``: why the page gave no text
    (a refused, failed or empty page), None when it did or was not tried.
    """

    id: str
    feed: str
    title: str
    summary: str
    link: str | None = None
    published_at: datetime | None = None
    article: str | None = None
    article_error: str | None = None
    outlet: str = ""

    @property
    def reported_by(self) -> str:
        """The outlet corroboration counts and alerts name: ``outlet``, else the feed's name."""
        return self.outlet or self.feed


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Relevance:
    """How well a story matches a claim: a 0–100 score and the claim terms found in the story."""

    score: float
    matched_terms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    """A story judged relevant to a claim, with the evidence for it: why it matched (score, terms), what it
    says about the claim (verdict, and the cue and sentence that carried it), and its near-duplicate group."""

    story_id: str
    claim_id: str
    score: float
    matched_terms: tuple[str, ...] = ()
    verdict: Verdict = Verdict.PENDING
    cue: str | None = None
    sentence: str | None = None
    group_id: str | None = None
    headline_key: str | None = None
    fresh: bool = True  # False: older than the feed's max_age_hours, so it neither alerts nor moves the claim
    sentence_source: str | None = None  # "article": ``sentence`` is quoted from the article page; None: the feed


@dataclass(frozen=True, slots=True)
class Alert:
    """A message to send to one or more channels. ``id`` is content-derived, so re-creating it is a no-op."""

    id: str
    claim_id: str
    story_id: str | None
    kind: str
    payload: dict = field(default_factory=dict, hash=False, compare=False)
