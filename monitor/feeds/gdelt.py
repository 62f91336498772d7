"""GDELT DOC 2.0 API article lists (``mode=artlist&format=json``) → stories. Pure: no I/O.

The body is ``{"articles": [{"url", "title", "seendate", "domain", "language", "sourcecountry", …}]}``, or ``{}``
when nothing matched (an empty list, as for an empty RSS feed). Each article is a story: its ``url`` the link
(and the id), its ``title`` the title (GDELT gives no summary), ``seendate`` (``20240915T123000Z``, when GDELT
saw it) the date, and ``domain`` the outlet. An article without a URL or a title is skipped; a body that is not
this shape is a ``ParseError``. GDELT's RSS output is an ordinary RSS feed and goes through ``monitor.feeds.parse``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from monitor.errors import ParseError
from monitor.feeds.parse import MAX_TITLE_CHARS, _finish, _make_story, _str
from monitor.feeds.text import head, squash
from monitor.models import Story



def artlist_stories(doc: Mapping, feed_name: str, now: datetime) -> list[Story]:
    """The stories of a GDELT artlist document (module docstring)."""
    articles = doc.get("articles", [])
    if not isinstance(articles, list):
        raise ParseError("GDELT answer: articles is not a list")
    candidates = []
    for article in articles:
        if not isinstance(article, dict) or not _str(article.get("url")):
            continue
        seen = seen_date(article.get("seendate"))
        domain = _str(article.get("domain"))
        candidates.append(_make_story(
            feed_name, guid=None, link=article["url"], base=None,
            title=squash(head(_str(article.get("title")), MAX_TITLE_CHARS)), summary="",
            dates=[seen], raw_date=_str(article.get("seendate")), now=now,
            domain=domain))
    if not any(candidates):
        return []  # nothing matched the query: valid and empty
    return _finish(candidates)


def seen_date(value: object) -> datetime | None:
    """GDELT's ``20240915T123000Z`` as aware UTC; None when it is missing or not that shape."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
