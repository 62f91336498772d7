"""A claim's state history as a timeline chart: bands of state along time, drawn as inline SVG on the server.

``layout`` does the geometry only; the template draws it, so every label goes through Jinja2's escaping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.store import ClaimChange

WIDTH, BAND_TOP, BAND_HEIGHT, HEIGHT = 640, 18, 28, 76
COLOURS = {"pending": "#9aa5b1", "delayed": "#e0a32e", "confirmed": "#2e8b57", "rejected": "#c0392b"}


@dataclass(frozen=True, slots=True)
class Band:
    state: str
    start: datetime
    end: datetime
    x: float
    width: float
    colour: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A change made by hand (mute, unmute, reset): a tick on the chart."""

    kind: str
    at: datetime
    x: float


@dataclass(frozen=True, slots=True)
class Timeline:
    width: int
    height: int
    band_top: int
    band_height: int
    bands: tuple[Band, ...]
    marks: tuple[Mark, ...]
    start: datetime
    end: datetime


def layout(history: list[ClaimChange], first_state: str, start: datetime | None, now: datetime) -> Timeline:
    """The chart from ``start`` (the first change, when None) to ``now``: one band per state the claim was in.
    A claim never moved is one band of ``first_state``."""
    moves = sorted(history, key=lambda change: change.at)
    begin = start or (moves[0].at if moves else now)
    begin = min([begin, now, *(m.at for m in moves)])
    span = max((now - begin).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        return round((moment - begin).total_seconds() / span * WIDTH, 2)

    edges: list[tuple[datetime, str]] = [(begin, str(moves[0].previous_state or first_state) if moves
                                          else first_state)]
    for move in moves:
        if move.kind in ("change", "reset"):
            edges.append((move.at, str(move.state)))
    bands = []
    for (at, state), following in zip(edges, [*edges[1:], (now, "")]):
        bands.append(Band(state=state, start=at, end=following[0], x=x(at),
                          width=max(round(x(following[0]) - x(at), 2), 0.5), colour=COLOURS.get(state, "#777")))
    marks = tuple(Mark(kind=m.kind, at=m.at, x=x(m.at)) for m in moves if m.kind != "change")
    return Timeline(width=WIDTH, height=HEIGHT, band_top=BAND_TOP, band_height=BAND_HEIGHT, bands=tuple(bands),
                    marks=marks, start=begin, end=now)
