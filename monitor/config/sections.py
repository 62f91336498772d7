"""The ``[[feeds]]``, ``[[claims]]`` and ``[[channels]]`` entries: each parsed into its settings dataclass by a
``Validator`` that records what is wrong with it. A claim is checked here as settings only; whether its text
and cues compile for the matcher is ``runtime``'s check.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import MappingProxyType

from monitor.config.kinds import CHANNEL_KEYS, KINDS
from monitor.config.settings import (DEFAULT_WEBHOOK_TIMEOUT_SECONDS, FULL_TEXT_MODES, GDELT_FORMATS, NOTIFY_MODES,
                                     OUTCOMES, SEARCH_ENGINES, ChannelConfig, ClaimConfig, FeedConfig, SearchConfig,
                                     SemanticConfig)
from monitor.config.validator import Validator
from monitor.net.outlets import known_suffix, looks_like_domain, outlet_name
from monitor.net.urls import channel_url_shown


def feed(v: Validator, item: Mapping, where: str, interval: float, max_age: float,
         full_text: str = "off") -> FeedConfig:
    """A ``[[feeds]]`` entry; ``interval``, ``max_age`` and ``full_text`` are the ``[defaults]`` it inherits."""
    v.keys(item, where, {"name", "url", "interval_seconds", "max_age_hours", "full_text", "outlet"})
    name = v.string(item, where, "name", required=True)
    if name.startswith("search:"):
        v.problem(f"{where}.name", "must not start with \"search:\": such names are the claims' search feeds")
    outlet = v.string(item, where, "outlet", default="")
    return FeedConfig(
        name=name,
        url=v.url(item, where, "url", required=True),
        interval_seconds=int(v.number(item, where, "interval_seconds", default=interval,
                                      minimum=10, maximum=7 * 86400, integer=True)),
        max_age_hours=float(v.number(item, where, "max_age_hours", default=max_age, minimum=0, maximum=24 * 365)),
        full_text=full_text_mode(v, item, where, full_text),
        outlet=outlet_name(outlet) if outlet else None,
    )


def full_text_mode(v: Validator, table: Mapping, where: str, default: str) -> str:
    """The ``full_text`` of a feed or of ``[defaults]``: one of FULL_TEXT_MODES."""
    mode = v.string(table, where, "full_text", default=default)
    if mode not in FULL_TEXT_MODES:
        v.problem(f"{where}.full_text", f"must be one of {', '.join(FULL_TEXT_MODES)}, got {mode!r}")
        return default
    return mode


def claim(v: Validator, item: Mapping, where: str, min_score: float, channel_names: list[str],
           feed_names: list[str], feed_outlets: list[str] = ()) -> ClaimConfig:
    """A ``[[claims]]`` entry, its channels and trusted outlets checked against those defined (``feed_outlets``:
    the feeds' ``outlet`` settings)."""
    v.keys(item, where, {"id", "text", "aliases", "require_any", "exclude", "channels", "min_score", "outcomes",
                         "replace_outcomes", "confirm_after_outlets", "trusted_outlets", "notify", "expect_by",
                         "search", "search_query", "language"})
    aliases: dict[str, tuple[str, ...]] = {}
    raw_aliases = item.get("aliases", {})
    if not isinstance(raw_aliases, Mapping):
        v.problem(f"{where}.aliases", "must be a table of canonical term = [variants]")
    else:
        for canonical, variants in raw_aliases.items():
            if isinstance(variants, str):
                variants = [variants]
            if not isinstance(variants, list) or not all(isinstance(x, str) and x.strip() for x in variants):
                v.problem(f"{where}.aliases.{canonical}", "must be a list of non-empty strings")
                continue
            aliases[canonical] = tuple(variants)
    outcomes: dict[str, tuple[str, ...]] = {}
    raw_outcomes = v.table(item, "outcomes", where=where)
    v.keys(raw_outcomes, f"{where}.outcomes", set(OUTCOMES))
    for outcome in OUTCOMES:
        cues = v.string_list(raw_outcomes, f"{where}.outcomes", outcome, default=None)
        if cues is not None:
            outcomes[outcome] = tuple(cues)
    trusted = [trusted_outlet(v, f"{where}.trusted_outlets", name, feed_names, feed_outlets)
               for name in v.string_list(item, where, "trusted_outlets", default=[])]
    notify = v.string(item, where, "notify", default="changes")
    if notify not in NOTIFY_MODES:
        v.problem(f"{where}.notify", f"must be one of {', '.join(NOTIFY_MODES)}, got {notify!r}")
    expect_by = item.get("expect_by")
    if expect_by is not None and (not isinstance(expect_by, date) or hasattr(expect_by, "hour")):
        v.problem(f"{where}.expect_by", "must be a date such as 2024-09-15 (no quotes)")
        expect_by = None
    search = v.string_list(item, where, "search", default=[])
    for engine in search:
        if engine not in SEARCH_ENGINES:
            v.problem(f"{where}.search", f"unknown search engine {engine!r}; expected one of {', '.join(SEARCH_ENGINES)}")
    if len(set(search)) != len(search):
        v.problem(f"{where}.search", "names an engine twice")
    search_query = v.string(item, where, "search_query", default="") or None
    if search_query and not search:
        v.problem(f"{where}.search_query", "is set but search is empty: name the engines to ask in search")
    language = v.string(item, where, "language", default="") or None
    if language:
        language_problem(v, f"{where}.language", language)
    channels = v.string_list(item, where, "channels", default=None)
    for name in channels or ():
        if name not in channel_names:
            v.problem(f"{where}.channels", f"names channel {name!r}, which is not defined in [[channels]]")
    return ClaimConfig(
        id=v.string(item, where, "id", required=True),
        text=v.string(item, where, "text", required=True),
        aliases=MappingProxyType(aliases),
        require_any=tuple(v.string_list(item, where, "require_any", default=[])),
        exclude=tuple(v.string_list(item, where, "exclude", default=[])),
        channels=tuple(channels) if channels is not None else tuple(channel_names),
        min_score=float(v.number(item, where, "min_score", default=min_score, minimum=0, maximum=100)),
        outcomes=MappingProxyType(outcomes),
        replace_outcomes=v.boolean(item, where, "replace_outcomes", default=False),
        confirm_after_outlets=int(v.number(item, where, "confirm_after_outlets", default=1, minimum=1, maximum=100,
                                           integer=True)),
        trusted_outlets=tuple(trusted),
        notify=notify,
        expect_by=expect_by,
        search=tuple(e for e in dict.fromkeys(search) if e in SEARCH_ENGINES),
        search_query=search_query,
        language=language,
    )


_LANGUAGE = re.compile(r"[a-z]{2,3}-[A-Z]{2}")
_TIMESPAN = re.compile(r"[1-9][0-9]*(min|h|d|w|m)")


def language_problem(v: Validator, key: str, value: str) -> None:
    if not _LANGUAGE.fullmatch(value):
        v.problem(key, f"must be a language and region such as en-US or fr-FR, got {value!r}")


def search(v: Validator, table: Mapping, *, interval: int, max_age: float, full_text: str = "off") -> SearchConfig:
    """The ``[search]`` table: the engines' base URLs and how claims' search feeds ask them. ``interval``,
    ``max_age`` and ``full_text`` are the ``[defaults]`` the search feeds inherit."""
    where = "search"
    v.keys(table, where, {"google_news_url", "gdelt_url", "language", "interval_seconds", "gdelt_format",
                          "gdelt_max_records", "gdelt_timespan", "gdelt_min_interval_seconds"})
    default = SearchConfig()
    language = v.string(table, where, "language", default=default.language)
    language_problem(v, "search.language", language)
    gdelt_format = v.string(table, where, "gdelt_format", default=default.gdelt_format)
    if gdelt_format not in GDELT_FORMATS:
        v.problem("search.gdelt_format", f"must be one of {', '.join(GDELT_FORMATS)}, got {gdelt_format!r}")
        gdelt_format = default.gdelt_format
    timespan = v.string(table, where, "gdelt_timespan", default=default.gdelt_timespan)
    if not _TIMESPAN.fullmatch(timespan):
        v.problem("search.gdelt_timespan", f"must be a count and a unit (min, h, d, w, m) such as 1d, got {timespan!r}")
        timespan = default.gdelt_timespan
    return SearchConfig(
        google_news_url=v.url(table, where, "google_news_url", required=False) or default.google_news_url,
        gdelt_url=v.url(table, where, "gdelt_url", required=False) or default.gdelt_url,
        language=language, gdelt_format=gdelt_format,
        interval_seconds=int(v.number(table, where, "interval_seconds", default=interval, minimum=10,
                                      maximum=7 * 86400, integer=True)),
        max_age_hours=max_age,
        full_text=full_text,
        gdelt_max_records=int(v.number(table, where, "gdelt_max_records", default=default.gdelt_max_records,
                                       minimum=1, maximum=250, integer=True)),
        gdelt_timespan=timespan,
        gdelt_min_interval_seconds=float(v.number(table, where, "gdelt_min_interval_seconds",
                                                  default=default.gdelt_min_interval_seconds, minimum=0,
                                                  maximum=3600)),
    )


def trusted_outlet(v: Validator, key: str, name: str, feed_names: list[str], feed_outlets: list[str]) -> str:
    """One ``trusted_outlets`` entry as outlets are named: a feed's name or ``outlet`` as written, a publisher's
    domain by its registrable domain ("www.reuters.com" → "reuters.com"). A problem for what can only be a typo:
    a name that is neither a feed nor a domain, or a domain under no known suffix ("reuters.con")."""
    if name in feed_names or name in feed_outlets:
        return name
    if not looks_like_domain(name):
        v.problem(key, f"names {name!r}, which is neither a feed defined in [[feeds]] nor a domain such as "
                       "reuters.com")
    elif not known_suffix(name):
        v.problem(key, f"names {name!r}, whose ending .{name.rsplit('.', 1)[-1]} is not a known domain suffix")
    return outlet_name(name)


def semantic(v: Validator, table: Mapping, base: Path) -> SemanticConfig:
    """The ``[semantic]`` table (``base``: the config's folder). Its values only: whether the model can be loaded
    is ``runtime.load``'s question (``check-config``, and every load of the config)."""
    where = "semantic"
    v.keys(table, where, {"model", "revision", "sha256", "cache_dir", "min_score", "max_tokens"})
    revision = v.string(table, where, "revision", default="") or None
    if revision and not re.fullmatch(r"[0-9a-f]{40}", revision):
        v.problem("semantic.revision", f"must be a commit (40 lowercase hex digits), got {revision!r}")
    sha256 = v.string(table, where, "sha256", default="") or None
    if sha256 and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        v.problem("semantic.sha256", "must be 64 hex digits (the sha256 of model.onnx)")
    cache_dir = v.string(table, where, "cache_dir", default="") or None
    min_score = table.get("min_score")
    if min_score is not None:
        min_score = float(v.number(table, where, "min_score", default=0, minimum=0, maximum=100))
    return SemanticConfig(
        model=v.string(table, where, "model", required=True),
        base=base,
        revision=revision,
        sha256=sha256.lower() if sha256 else None,
        cache_dir=(base / Path(cache_dir).expanduser()) if cache_dir else None,
        min_score=min_score,
        max_tokens=int(v.number(table, where, "max_tokens", default=128, minimum=8, maximum=512, integer=True)),
    )


def channel(v: Validator, item: Mapping, where: str, environ: Mapping[str, str]) -> ChannelConfig:
    """A ``[[channels]]`` entry, its URL and secrets resolved from ``environ`` where it names a variable."""
    # The kinds, the keys each takes and their default pace come from the registry (config/kinds.py).
    v.keys(item, where, CHANNEL_KEYS)
    name = v.string(item, where, "name", required=True)
    kind = v.string(item, where, "kind", required=True)
    spec = KINDS.get(kind) if kind else None
    if kind and spec is None:
        v.problem(f"{where}.kind", f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    a_kind = f"{'an' if kind and kind[0] in 'aeiou' else 'a'} {kind}"
    url, url_env = None, None
    if spec is not None and spec.url == "env":
        # Such a URL is not http(s) (tgram://, mailto://, …) and always holds credentials.
        if "url" in item:
            v.problem(f"{where}.url", f"{a_kind} channel takes its URL from the environment: use url_env")
        url_env = v.env_name(item, where, "url_env", required=True)
        url = environ.get(url_env, "").strip() or None if url_env else None
        if url_env and not url:
            v.problem(f"{where}.url_env", f"environment variable {url_env} is not set")
    elif spec is not None and spec.url == "http":
        if ("url" in item) == ("url_env" in item):
            v.problem(where, f"{a_kind} channel needs exactly one of url or url_env")
        elif "url" in item:
            url = v.url(item, where, "url", required=True, shown=channel_url_shown)
        else:
            url_env = v.env_name(item, where, "url_env", required=True)
            value = environ.get(url_env, "").strip() if url_env else ""
            if url_env and not value:
                v.problem(f"{where}.url_env", f"environment variable {url_env} is not set")
            elif value:
                url = v.check_url(value, f"{where}.url_env", shown=f"${url_env}")
    elif spec is not None:
        for key in ("url", "url_env"):
            if key in item:
                v.problem(f"{where}.{key}", f"{a_kind} channel takes no URL")
    secret_env, secrets = None, ()
    if "secret_env" in item:
        if spec is None or not spec.signed:
            signed = " and ".join(k.name for k in KINDS.values() if k.signed)
            v.problem(f"{where}.secret_env", f"only {signed} channels are signed")
        secret_env = v.env_name(item, where, "secret_env", required=True)
        secrets = tuple(environ.get(secret_env, "").split()) if secret_env else ()
        if secret_env and not secrets:
            v.problem(f"{where}.secret_env", f"environment variable {secret_env} is not set")
        bad = [i for i, secret in enumerate(secrets) if not _is_webhook_secret(secret)]
        if bad:
            v.problem(f"{where}.secret_env", f"secret {bad[0] + 1} in ${secret_env} is not whsec_<base64>")
    interval, per_minute = (spec.min_interval_seconds, spec.max_per_minute) if spec else (0.0, 0)
    return ChannelConfig(name=name, kind=kind, url=url, url_env=url_env, secret_env=secret_env, secrets=secrets,
                         timeout_seconds=float(v.number(item, where, "timeout_seconds",
                                                        default=DEFAULT_WEBHOOK_TIMEOUT_SECONDS,
                                                        minimum=1, maximum=600)),
                         min_interval_seconds=float(v.number(item, where, "min_interval_seconds", default=interval,
                                                             minimum=0, maximum=3600)),
                         max_per_minute=int(v.number(item, where, "max_per_minute", default=per_minute, minimum=0,
                                                     maximum=10_000, integer=True)),
                         group_wait_seconds=float(v.number(item, where, "group_wait_seconds", default=0, minimum=0,
                                                           maximum=86400)))


def _is_webhook_secret(secret: str) -> bool:
    """Standard Webhooks secrets are ``whsec_`` followed by base64 of at least 24 random bytes."""
    if not secret.startswith("whsec_"):
        return False
    try:
        return len(base64.b64decode(secret[len("whsec_"):], validate=True)) >= 24
    except ValueError:
        return False
