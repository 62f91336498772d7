"""The article pages of candidate stories (``full_text = "hits"``): fetched, their main text extracted.

A poll reads its new stories from the feed entries first. Those that are a hit or a near miss of a claim
(``monitor.reading.fulltext``) then have their article page fetched, before the poll's one write transaction, so
the story, its article text and the hits read from both are still written together and no transaction waits on
the network. ``ArticleReader.read_pages`` bounds what that costs a poll:

- at most ``MAX_PAGES_PER_POLL`` pages, none started once ``POLL_BUDGET_SECONDS`` have passed since the first;
- each page through a ``Fetcher`` of its own: the same address guard (every hop, redirects included), an
  ``ARTICLE_MAX_BYTES`` body cap and an ``ARTICLE_DEADLINE_SECONDS`` deadline;
- per host: one of the host's slots (``HostSlots``, shared with the feeds: a page never waits for one, it is
  skipped), a host backing off after a timeout is skipped, and at most ``PAGES_PER_MINUTE_PER_HOST`` pages in any
  60 seconds (``HostPace``);
- only HTML (``Content-Type`` text/html or application/xhtml+xml, or none) is read, and it is read in a parse
  worker process under its time budget and memory limit (``extract``, run by ``monitor.feeds.workers``).

A page that is refused, fails, is skipped or holds no article text leaves the story as the feed gave it, with
``article_error`` saying why (stored with the story, logged); it never fails the poll. A page's date (htmldate)
is used only for a story whose feed entry has none.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from monitor.errors import FetchError, ParseError
from monitor.feeds.fetch import Fetcher
from monitor.feeds.politeness import HostBusy, HostSlots, host_of
from monitor.logs import kv, log
from monitor.models import Story
from monitor.net import guard as netguard
from monitor.net.urls import redact_url

ARTICLE_MAX_BYTES = 2 * 1024 * 1024
ARTICLE_DEADLINE_SECONDS = 15.0
MAX_PAGES_PER_POLL = 10
POLL_BUDGET_SECONDS = 30.0
PAGES_PER_MINUTE_PER_HOST = 6
MAX_ARTICLE_CHARS = 20_000  # stored; reading uses the lead only (fulltext.LEAD_PARAGRAPHS)
EXTRACT_BUDGET_SECONDS = 10.0
HTML_TYPES = ("text/html", "application/xhtml+xml")
ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


class HostPace:
    """At most ``per_minute`` pages from one host in any 60 seconds of ``clock`` (monotonic seconds).
    Thread-safe."""

    def __init__(self, per_minute: int = PAGES_PER_MINUTE_PER_HOST, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._taken: dict[str, deque[float]] = {}

    def take(self, url: str) -> float | None:
        """Count one page from the URL's host and return None, or, when the host has had its pages this
        minute, count nothing and return the seconds until it may be asked again."""
        now = self._clock()
        with self._lock:
            taken = self._taken.setdefault(host_of(url), deque())
            while taken and now - taken[0] >= 60:
                taken.popleft()
            if len(taken) >= self.per_minute:
                return 60 - (now - taken[0])
            taken.append(now)
            return None


def extract(html: bytes, *, url: str | None, now: datetime) -> tuple[str | None, datetime | None]:
    """(the page's main text, paragraphs one a line, at most MAX_ARTICLE_CHARS; its publication date). Either
    is None when the page has none. Boilerplate (navigation, scripts, comments, tables) is left out by
    trafilatura; a date later than ``now`` is not taken. Runs in a parse worker (``ParsePool.extract``)."""
    import htmldate
    import trafilatura

    text = trafilatura.extract(html, url=url, favor_precision=True, include_comments=False, include_tables=False)
    text = text.strip()[:MAX_ARTICLE_CHARS] if text and text.strip() else None
    # htmldate's max_date is a day (and defaults to today's): the day after the poll, then compared to the poll
    # itself here, so that nothing depends on the clock of the machine.
    found = htmldate.find_date(html, url=url, extensive_search=False, original_date=True,
                               outputformat="%Y-%m-%dT%H:%M:%S%z",
                               max_date=(now + timedelta(days=1)).strftime("%Y-%m-%d"))
    published = None
    if found:
        try:
            published = datetime.fromisoformat(found)
        except ValueError:
            published = None
    if published is not None:
        published = published.replace(tzinfo=timezone.utc) if published.tzinfo is None else published
        published = published.astimezone(timezone.utc)
    return text, published if published is None or published <= now else None


Extractor = Callable[[bytes, str | None, datetime], tuple[str | None, datetime | None]]


@dataclass(frozen=True, slots=True)
class PagesRead:
    """What ``read_pages`` did: the stories (in order, each with its article or its article_error), and how
    many pages gave text."""

    stories: list[Story]
    read: int


class ArticleReader:
    """Fetches and extracts the article pages of candidate stories; one per config load (``Context``), shared by
    the poll threads. ``extractor(html, url, now)`` defaults to ``extract`` in the shared parse workers."""

    def __init__(self, *, allow_private_networks: bool = False, address_policy: netguard.AddressPolicy | None = None,
                 pace: HostPace | None = None, clock: Callable[[], float] = time.monotonic,
                 max_pages: int = MAX_PAGES_PER_POLL, budget_seconds: float = POLL_BUDGET_SECONDS,
                 deadline_seconds: float = ARTICLE_DEADLINE_SECONDS, max_body_bytes: int = ARTICLE_MAX_BYTES,
                 extractor: Extractor | None = None) -> None:
        self.fetcher = Fetcher(allow_private_networks=allow_private_networks, address_policy=address_policy,
                               deadline_seconds=deadline_seconds, read_timeout_seconds=deadline_seconds,
                               connect_timeout_seconds=min(10.0, deadline_seconds), max_body_bytes=max_body_bytes,
                               accept=ACCEPT_HTML)
        self.pace = pace or HostPace(clock=clock)
        self.max_pages = max_pages
        self.budget_seconds = budget_seconds
        self._clock = clock
        self._extract = extractor or _extract_in_worker

    def __enter__(self) -> ArticleReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Abandon the pages in flight and close the fetcher (``Fetcher.close``)."""
        self.fetcher.close()

    def read_pages(self, stories: Sequence[Story], *, hosts: HostSlots, now: datetime,
                   stop: threading.Event | None = None) -> PagesRead:
        """Each story with its article page read (see the module docstring for the limits); a story whose page
        was not read carries ``article_error``. Never raises for a page's failure."""
        start, out, read = self._clock(), [], 0
        for position, story in enumerate(stories):
            if stop is not None and stop.is_set():
                error = "not fetched: the daemon is stopping"
            elif position >= self.max_pages:
                error = f"not fetched: this poll's limit of {self.max_pages} article pages was reached"
            elif self._clock() - start >= self.budget_seconds:
                error = f"not fetched: this poll's {self.budget_seconds:g}s for article pages were spent"
            else:
                story = self.read_page(story, hosts=hosts, now=now)
                read += story.article is not None
                out.append(story)
                continue
            out.append(replace(story, article_error=error))
        return PagesRead(out, read)

    def read_page(self, story: Story, *, hosts: HostSlots, now: datetime) -> Story:
        """The story with its article text (and the page's date, when the feed gave none), or with
        ``article_error``."""
        try:
            text, published = self._page(story, hosts, now)
        except (FetchError, ParseError) as exc:
            log.info("article page not read %s", kv(feed=story.feed, story=story.id, error=exc))
            return replace(story, article_error=str(exc))
        return replace(story, article=text, published_at=story.published_at or published)

    def _page(self, story: Story, hosts: HostSlots, now: datetime) -> tuple[str, datetime | None]:
        url = story.link
        if not url:
            raise FetchError("the story has no link")
        where = redact_url(url)
        if self.pace.take(url) is not None:
            raise FetchError(f"{where}: not fetched: {host_of(url)!r} had its {self.pace.per_minute} article "
                             "pages this minute")
        slot = hosts.try_hold(url)
        if isinstance(slot, HostBusy):
            raise FetchError(f"{where}: not fetched: its host is "
                             f"{'backing off after a timeout' if slot.backing_off else 'busy'}")
        with slot:
            try:
                result = self.fetcher.fetch(url, now=now)
            except FetchError as exc:
                if exc.timed_out:
                    hosts.timed_out(url)
                raise
            hosts.succeeded(url)
        kind = result.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and kind not in HTML_TYPES:
            raise FetchError(f"{where}: not an HTML page (Content-Type {kind[:60]!r})")
        text, published = self._extract(result.body, result.url, now)
        if not text:
            raise ParseError(f"{where}: no article text found on the page")
        return text, published


def _extract_in_worker(html: bytes, url: str | None, now: datetime) -> tuple[str | None, datetime | None]:
    from monitor.feeds.workers import shared_pool
    return shared_pool().extract(html, url=url, now=now, budget_seconds=EXTRACT_BUDGET_SECONDS)
