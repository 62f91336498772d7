"""The Jinja2 environment of the status pages: templates shipped as package data, autoescaping on for every
template (a story's title, sentence or link is text, never markup), and the filters the templates share."""

from __future__ import annotations

from datetime import datetime, timezone

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from monitor.store import from_db_time

_ENV = Environment(loader=PackageLoader("monitor.web", "templates"), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)


def ago(seconds: float) -> str:
    """``3 min ago``, ``in 2 h``: a span for people, rounded down to its largest unit."""
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            text = f"{int(seconds // size)} {unit}"
            break
    else:
        text = f"{int(seconds)} s"
    return f"in {text}" if future else f"{text} ago"


def _moment(value: str | datetime | None) -> datetime | None:
    return from_db_time(value) if isinstance(value, str) else value


def when(value: str | datetime | None, now: datetime) -> Markup:
    """A moment as ``<time>``: relative to ``now`` on the page, the UTC time in its title (shown on hover)."""
    moment = _moment(value)
    if moment is None:
        return Markup("–")
    utc = moment.astimezone(timezone.utc)
    return Markup('<time datetime="{0}" title="{1}">{2}</time>').format(
        utc.isoformat(timespec="seconds"), utc.strftime("%Y-%m-%d %H:%M:%S UTC"), ago((now - moment).total_seconds()))


def safe_href(link: str | None) -> str | None:
    """The link when it is http(s); None otherwise (a ``javascript:`` or ``data:`` link is shown as text)."""
    return link if isinstance(link, str) and link.strip().lower().startswith(("http://", "https://")) else None


def with_cue(sentence: str | None, cue: str | None) -> Markup:
    """The sentence, escaped, with its deciding cue marked (``<mark>``) where it occurs."""
    if not sentence:
        return Markup("")
    if cue:
        at = sentence.lower().find(cue.lower())
        if at >= 0:
            return (escape(sentence[:at]) + Markup("<mark>") + escape(sentence[at:at + len(cue)])
                    + Markup("</mark>") + escape(sentence[at + len(cue):]))
    return escape(sentence)


_ENV.filters.update(safe_href=safe_href, with_cue=with_cue)


def page(template: str, now: datetime, **context: object) -> bytes:
    """A page filled in; ``when(moment)`` in the template is relative to ``now``."""
    return _ENV.get_template(template).render(now=now, when=lambda value: when(value, now), **context).encode()
