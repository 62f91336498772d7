"""The settings table: every key of ``monitor.toml`` as a frozen dataclass field, with its default. Pure data.

``Config.warnings`` holds what loads but may not work as meant (filled by ``runtime.load``, which compiles the
claims). Secrets (a channel's resolved URL and signing secrets) are fields kept out of ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from monitor.config.database import Database

NOTIFY_MODES = ("changes", "all")
OUTCOMES = ("confirmed", "delayed", "rejected")
DEFAULT_GROUP_SIMILARITY = 80.0
DEFAULT_GROUP_WINDOW_HOURS = 48.0
DEFAULT_INTERVAL_SECONDS = 300
DEFAULT_MAX_AGE_HOURS = 48.0
# full_text: "off" reads the feed entry only; "hits" also fetches the article page of a story that is a hit or a
# near miss (monitor/feeds/article.py) and reads its lead paragraphs too.
FULL_TEXT_MODES = ("off", "hits")
FULL_TEXT_EXTRA = "pip install 'news-monitor[fulltext]'"
DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10.0
DEFAULT_DELIVER_INTERVAL_SECONDS = 30
# The relevance threshold a claim gets when neither it nor [defaults] sets one: the matcher's own
# ``reading.relevance.DEFAULT_MIN_SCORE`` (tests/test_runtime.py checks that they agree).
DEFAULT_MIN_SCORE = 43.0


@dataclass(frozen=True, slots=True)
class FeedConfig:
    name: str
    url: str
    interval_seconds: int
    max_age_hours: float
    full_text: str = "off"  # one of FULL_TEXT_MODES
    claim: str | None = None  # a search feed: the id of the claim it was built from (``[search]``)
    outlet: str | None = None  # every story's outlet (a publisher's own feed); None: the one each story names


@dataclass(frozen=True, slots=True)
class ClaimConfig:
    id: str
    text: str
    aliases: Mapping[str, tuple[str, ...]]
    require_any: tuple[str, ...]
    exclude: tuple[str, ...]
    channels: tuple[str, ...]
    min_score: float
    outcomes: Mapping[str, tuple[str, ...]]  # extra (or, with replace_outcomes, replacing) verdict cues
    replace_outcomes: bool
    confirm_after_outlets: int
    trusted_outlets: tuple[str, ...]
    notify: str  # "changes": state changes only; "all": also every new relevant story group
    expect_by: date | None
    search: tuple[str, ...] = ()  # search engines to build feeds from this claim on (``SEARCH_ENGINES``)
    search_query: str | None = None  # the query as written by the user, instead of the one built from the claim
    language: str | None = None  # "en-US": the search feeds' language and region (None: ``[search] language``)


SEARCH_ENGINES = ("google-news", "gdelt")
GDELT_FORMATS = ("json", "rss")


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """The ``[search]`` table: where the search engines of claims' ``search`` feeds answer, and how they are asked.

    The base URLs are the public services; a mirror or a proxy (or a test server) can stand in for them.
    ``gdelt_min_interval_seconds`` spaces the requests to GDELT's host (its rate limit is one every 5 s)."""

    google_news_url: str = "https://news.google.com/rss/search"
    gdelt_url: str = "https://api.gdeltproject.org/api/v2/doc/doc"
    language: str = "en-US"
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS  # the search feeds' (by default [defaults] interval_seconds)
    max_age_hours: float = DEFAULT_MAX_AGE_HOURS  # the search feeds' ([defaults] max_age_hours)
    full_text: str = "off"  # the search feeds' ([defaults] full_text)
    gdelt_format: str = "json"
    gdelt_max_records: int = 75
    gdelt_timespan: str = "1d"
    gdelt_min_interval_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    name: str
    kind: str
    timeout_seconds: float
    url_env: str | None = None
    # The resolved destination URL and signing secrets; kept out of repr so they never reach a log line.
    url: str | None = field(default=None, repr=False)
    secret_env: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    min_interval_seconds: float = 0.0
    max_per_minute: int = 0
    group_wait_seconds: float = 0.0  # > 0: alerts raised within this window go out as one digest message


@dataclass(frozen=True, slots=True)
class SemanticConfig:
    """The ``[semantic]`` table: the sentence-embedding model of the optional semantic relevance stage.

    ``model`` is a directory (resolved against the config's folder) or a Hugging Face hub name, ``revision`` the
    hub commit it is pinned to, ``sha256`` the digest its ``model.onnx`` must have, ``cache_dir`` where hub files
    are kept (None: huggingface_hub's own cache). ``min_score`` overrides the model's fitted threshold for every
    claim; ``max_tokens`` is where a text is cut."""

    model: str
    base: Path  # the config's folder: a relative model directory or cache_dir is read from here
    revision: str | None = None
    sha256: str | None = None
    cache_dir: Path | None = None
    min_score: float | None = None
    max_tokens: int = 128


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    database: Database  # a SQLite file or a PostgreSQL database (config.database)
    allow_private_networks: bool
    deliver_interval_seconds: int
    group_similarity: float
    group_window_hours: float
    feeds: tuple[FeedConfig, ...]
    claims: tuple[ClaimConfig, ...]
    channels: tuple[ChannelConfig, ...]
    operator_channels: tuple[str, ...] = ()  # where "feed failing / recovered" alerts go
    alert_after_hours: float = 24.0  # a feed failing this long raises one operator alert
    max_per_host: int = 1  # requests in flight to one host
    workers: int = 8  # poll and delivery threads
    listen: str | None = None  # host:port of /healthz and /metrics; None: no HTTP server
    log_format: str = "text"
    retention_days: float = 30.0  # stories without hits are pruned after this long
    max_backoff_hours: float = 24.0  # the longest wait between polls of a failing feed
    delivery_stuck_seconds: float = 300.0  # a channel's oldest alert waiting longer: /healthz says degraded
    semantic: SemanticConfig | None = None  # None: relevance is lexical only
    search: SearchConfig = field(default_factory=SearchConfig)
    status_token_env: str | None = None  # the variable holding the status pages' token (off loopback)
    status_token: str | None = field(default=None, repr=False)  # its value: a secret, never printed
    warnings: tuple[str, ...] = ()  # "key.path: what may not work as meant"; the config still loads

    def feed(self, name: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.name == name), None)

    def claim(self, claim_id: str) -> ClaimConfig | None:
        return next((c for c in self.claims if c.id == claim_id), None)

    def channel(self, name: str) -> ChannelConfig | None:
        return next((c for c in self.channels if c.name == name), None)
