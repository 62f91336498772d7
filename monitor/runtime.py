"""What a config needs at run time, built once per load: its claims compiled for the matcher and the verdict
reader (``TrackedClaim``), the fetcher, the notifiers and their rate limiters, the per-host request slots and
the stop flag (``Context``, shared by every job).

``load`` is how the CLI and the daemon read a config: the settings (``config``'s checks), then every claim
compiled, with each problem of either kind reported at once in one ``ConfigError`` (a claim that cannot be
compiled as ``claims[i]: why``), so a daemon reload refuses a config whose claims do not compile. The claims
compiled there are kept (``Loaded.claims``) and handed to ``Context.build``: one compile per load.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from monitor import reading
from monitor.config import ClaimConfig, Config, load_config_leniently
from monitor.errors import ConfigError
from monitor.feeds.article import ArticleReader
from monitor.feeds.fetch import Fetcher
from monitor.feeds.politeness import HostSlots, host_of
from monitor.feeds.search import with_search_feeds
from monitor.notify import Notifier, build_notifiers
from monitor.ratelimit import RateLimiter
from monitor.reading import relevance
from monitor.reading.claimevent import claim_event
from monitor.reading.verdict import PreparedVerdict, prepare_verdict
from monitor.semantic import stage as semantic_stage

NO_EVENT_WARNING = ("no event found (a verb such as 'sign', or a noun such as 'signing of'): a story restating "
                    "the claim reads as confirmed and one denying it as rejected; write the event as "
                    "'X will <verb> Y', or list outcomes.confirmed cues")


def utc_now() -> datetime:
    """The wall clock, for the jobs and commands that act now; everything below them takes ``now``."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class TrackedClaim:
    """A claim as configured, with its relevance and verdict rules prepared."""

    config: ClaimConfig
    relevance: relevance.PreparedClaim
    verdict: PreparedVerdict

    @property
    def id(self) -> str:
        return self.config.id

    @classmethod
    def prepare(cls, claim: ClaimConfig) -> TrackedClaim:
        """Compile ``claim``; ValueError saying what the matcher or the verdict reader cannot use (a claim or
        alias made only of stop words, an empty cue)."""
        prepared = relevance.prepare_claim(claim.id, claim.text, aliases=claim.aliases,
                                           require_any=claim.require_any, exclude=claim.exclude,
                                           min_score=claim.min_score)
        return cls(config=claim, relevance=prepared,
                   verdict=prepare_verdict(claim.text, outcomes=claim.outcomes, replace=claim.replace_outcomes))


@dataclass(frozen=True, slots=True)
class Loaded:
    """A config whose claims all compiled: its settings (``warnings`` included) and its claims, compiled."""

    config: Config
    claims: tuple[TrackedClaim, ...]
    semantic: semantic_stage.SemanticRules | None = None  # the [semantic] stage, prepared at load

    def context(self, *, stop: threading.Event | None = None) -> Context:
        """The run-time context of this config, with the claims compiled at load."""
        return Context.build(self.config, claims=self.claims, semantic=self.semantic, stop=stop)


def prepare_semantic(config: Config) -> tuple[semantic_stage.SemanticRules | None, list[str], list[str]]:
    """The ``[semantic]`` stage's rules (None without the table), its problems (the model not found, the extra
    not installed) and its warnings. The model is found, not loaded: the reading workers load it."""
    if config.semantic is None or not config.semantic.model:
        return None, [], []
    try:
        rules, warnings = semantic_stage.prepare(config.semantic)
    except ConfigError as exc:
        return None, list(exc.problems), []
    return rules, [], warnings


def compile_claims(config: Config) -> tuple[list[TrackedClaim | None], list[str], list[str]]:
    """Each configured claim compiled (None where it cannot be, or has no text: a problem ``config`` reported),
    the problems (``claims[i]: why``) and the warnings (``claims[i].text``: its event cannot be found, so a
    story restating it reads as confirmed)."""
    compiled: list[TrackedClaim | None] = []
    problems: list[str] = []
    warnings: list[str] = []
    for i, claim in enumerate(config.claims):
        tracked = None
        if claim.text:
            try:
                tracked = TrackedClaim.prepare(claim)
            except ValueError as exc:
                problems.append(f"claims[{i}]: {exc}")
            if not claim_event(claim.text).found and not claim.outcomes.get("confirmed"):
                warnings.append(f"claims[{i}].text: {NO_EVENT_WARNING}")
        compiled.append(tracked)
    return compiled, problems, warnings


def prepare(config: Config) -> Loaded:
    """``config`` with its claims compiled, their warnings added to ``config.warnings``; ConfigError naming
    each claim that does not compile."""
    config = with_search_feeds(config)
    compiled, problems, warnings = compile_claims(config)
    semantic, semantic_problems, semantic_warnings = prepare_semantic(config)
    if problems or semantic_problems:
        raise ConfigError([*problems, *semantic_problems], path=str(config.path))
    return Loaded(replace(config, warnings=(*config.warnings, *warnings, *semantic_warnings)),
                  tuple(c for c in compiled if c), semantic)


def load(path: str | os.PathLike, *, environ: Mapping[str, str] | None = None) -> Loaded:
    """Read the config at ``path`` and compile its claims; ConfigError listing every problem, the settings'
    first and then the claims' that do not compile."""
    config, error = load_config_leniently(path, environ=environ)
    if config is None:
        assert error is not None
        raise error
    config = with_search_feeds(config)
    compiled, problems, warnings = compile_claims(config)
    semantic, semantic_problems, semantic_warnings = prepare_semantic(config)
    problems += semantic_problems
    if error is not None or problems:
        raise ConfigError([*(error.problems if error else ()), *problems], path=str(config.path))
    return Loaded(replace(config, warnings=(*config.warnings, *warnings, *semantic_warnings)),
                  tuple(c for c in compiled if c), semantic)


def load_leniently(path: str | os.PathLike, *,
                   environ: Mapping[str, str] | None = None) -> tuple[Config | None, ConfigError | None]:
    """``config.load_config_leniently`` with the claims that do not compile among the problems: for commands
    that only read the database (see there)."""
    config, error = load_config_leniently(path, environ=environ)
    if config is None:
        return None, error
    config = with_search_feeds(config)
    _, problems, warnings = compile_claims(config)
    _, semantic_problems, semantic_warnings = prepare_semantic(config)
    problems += semantic_problems
    config = replace(config, warnings=(*config.warnings, *warnings, *semantic_warnings))
    if error is None and not problems:
        return config, None
    return config, ConfigError([*(error.problems if error else ()), *problems], path=str(config.path))


def host_spacing(config: Config) -> dict[str, float]:
    """The hosts that take requests no closer together than a minimum interval: GDELT's API."""
    seconds = config.search.gdelt_min_interval_seconds
    return {host_of(config.search.gdelt_url): seconds} if seconds else {}


@dataclass(frozen=True, slots=True)
class Context:
    """Everything prepared once per config load and shared by all jobs (thread-safe to read)."""

    config: Config
    claims: tuple[TrackedClaim, ...]
    fetcher: Fetcher
    notifiers: Mapping[str, Notifier]
    limiters: Mapping[str, RateLimiter] = field(default_factory=dict)
    hosts: HostSlots = field(default_factory=HostSlots)
    stop: threading.Event = field(default_factory=threading.Event)  # set: polls give up before writing
    semantic: semantic_stage.SemanticRules | None = None
    articles: ArticleReader | None = None  # reads article pages; None when no feed has full_text on
    rules: reading.Rules = field(init=False, repr=False, compare=False)  # the claims as the parse workers read

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", reading.Rules(tuple((c.relevance, c.verdict) for c in self.claims),
                                                        semantic=self.semantic))

    @classmethod
    def build(cls, config: Config, *, claims: Sequence[TrackedClaim] | None = None,
              semantic: semantic_stage.SemanticRules | None = None, stop: threading.Event | None = None) -> Context:
        """The context of ``config``: ``claims`` (and the ``[semantic]`` stage) as ``load`` prepared them, or
        prepared here when not given (ConfigError, as from ``prepare``, when one does not compile)."""
        if claims is None:
            loaded = prepare(config)
            claims, semantic = loaded.claims, loaded.semantic
        elif semantic is None and config.semantic is not None:
            semantic, problems, _ = prepare_semantic(config)
            if problems:
                raise ConfigError(problems, path=str(config.path))
        fetcher = Fetcher(allow_private_networks=config.allow_private_networks)
        notifiers = build_notifiers(config.channels, allow_private_networks=config.allow_private_networks)
        limiters = {c.name: RateLimiter(min_interval_seconds=c.min_interval_seconds, max_per_minute=c.max_per_minute)
                    for c in config.channels if c.min_interval_seconds or c.max_per_minute}
        articles = (ArticleReader(allow_private_networks=config.allow_private_networks)
                    if any(f.full_text != "off" for f in config.feeds) else None)
        return cls(config=config, claims=tuple(claims), fetcher=fetcher, notifiers=notifiers, limiters=limiters,
                   hosts=HostSlots(config.max_per_host, spacing=host_spacing(config)), stop=stop or threading.Event(),
                   semantic=semantic, articles=articles)

    def succeeded_by(self, loaded: Loaded, config: Config | None = None) -> Context:
        """The context of a reloaded config (``config``, default ``loaded.config``), with this one's host slots and
        the rate limiters of unchanged channels: politeness and rate limits span reloads, since polls and sends
        of the old config may still be running."""
        config = config or loaded.config
        new = Context.build(config, claims=loaded.claims, semantic=loaded.semantic, stop=self.stop)
        limiters = {name: self.limiters[name] if name in self.limiters and self.config.channel(name) ==
                    config.channel(name) else limiter for name, limiter in new.limiters.items()}
        self.hosts.set_spacing(new.hosts.spacing)
        return replace(new, hosts=self.hosts, limiters=limiters)

    @property
    def fingerprints(self) -> dict[str, str]:
        """Per channel, a digest of its destination: a channel disabled for one URL is enabled by a new one."""
        return {c.name: hashlib.sha256((c.url or c.kind).encode()).hexdigest()[:16] for c in self.config.channels}

    def close(self) -> None:
        self.fetcher.close()
        if self.articles is not None:
            self.articles.close()
