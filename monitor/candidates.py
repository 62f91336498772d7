"""The article-page step of a poll (``full_text = "hits"``): which new stories are candidates, their pages read
(``monitor.feeds.article``), and those stories read again, with the lead of their article
(``monitor.reading.fulltext``).

It runs in ``pipeline.poll_feed`` after the feed's stories have been read from their entries and before the
poll's write transaction: the pages are fetched with no transaction open, and the story, its article text and the
hits read from both are then written together, in the poll's one transaction, as without it. The cost is
bounded by ``ArticleReader`` (pages per poll, seconds per poll, pages a minute per host). A story whose page is
not read keeps the reading of its feed entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from monitor.errors import MonitorError
from monitor.feeds.workers import read_with_budget
from monitor.logs import kv, log
from monitor.models import Story
from monitor.reading import Reading
from monitor.reading import relevance as match
from monitor.reading.fulltext import is_near_miss
from monitor.runtime import Context


def wanted(ctx: Context, story: Story, readings: Sequence[Reading], fresh: bool) -> bool:
    """Whether the story's article page is worth reading: a hit or a near miss of some claim, that can still
    alert (fresh, or undated: the page may give it a date)."""
    if not story.link or not (fresh or story.published_at is None):
        return False
    if readings:
        return True
    claims = ctx.rules.claims
    return any(is_near_miss(match.assess(claims[position][0], story.title, story.summary))
               for position in ctx.rules.index.candidates(story.title, story.summary))


def with_articles(ctx: Context, stories: list[Story], readings: list[list[Reading]], fresh: list[bool],
                  now: datetime, is_fresh: Callable[[Story], bool]) -> tuple[list[Story], list[list[Reading]],
                                                                             list[bool]]:
    """(stories, readings, fresh) of a poll, in the same order, with the candidates' article pages read: a
    story whose page gave text carries it (and its page's date when the feed had none: ``is_fresh`` judges it
    again) and is read again with it; the others carry ``article_error`` or are unchanged."""
    assert ctx.articles is not None
    picked = [i for i, story in enumerate(stories) if wanted(ctx, story, readings[i], fresh[i])]
    if not picked:
        return stories, readings, fresh
    stories, readings, fresh = list(stories), list(readings), list(fresh)
    pages = ctx.articles.read_pages([stories[i] for i in picked], hosts=ctx.hosts, now=now, stop=ctx.stop)
    for i, story in zip(picked, pages.stories):
        stories[i] = story
    got = [i for i in picked if stories[i].article is not None]
    for i in got:
        fresh[i] = is_fresh(stories[i])
    if got:
        try:
            again = read_with_budget(ctx.rules, [stories[i] for i in got], can_alert=[fresh[i] for i in got])
        except MonitorError as exc:  # the feed readings stand; the text is stored all the same
            log.warning("reading with the article text failed %s", kv(feed=stories[got[0]].feed, error=exc))
        else:
            for i, found in zip(got, again):
                readings[i] = found
    log.info("article pages %s", kv(feed=stories[picked[0]].feed, candidates=len(picked), read=pages.read))
    return stories, readings, fresh
