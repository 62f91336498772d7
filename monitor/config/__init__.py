"""Load ``monitor.toml`` into frozen dataclasses, reporting every problem at once with its key path.

A config either loads completely or raises ``ConfigError`` listing each problem as ``key.path: what is wrong``
(``feeds[2].url: must be an http or https URL``). Unknown keys are errors, so a typo never silently does
nothing. Relative paths resolve against the config file's folder. Secrets are read from the environment
(``url_env``, ``secret_env``) and never appear in ``repr``, in ``describe(redact=True)`` or in an error: a
problem with a URL shows it redacted (a feed's with ``net.urls.redact_url``, a channel's as its scheme and host
only), and a problem with a ``*_env`` key never shows the value, which may be a secret put in the wrong place.

This package imports none of the stages: the settings are ``config.settings``, the entry parsers
``config.sections``, the value checks ``config.validator``. Whether each claim compiles for the matcher and the
verdict reader is checked where it is compiled, by ``runtime.load``, which is how the CLI and the daemon read a
config.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.config import sections
from monitor.config.database import Database, PostgresDatabase, is_postgres_url, url_problem
from monitor.config.kinds import KINDS
from monitor.config.settings import (DEFAULT_DELIVER_INTERVAL_SECONDS, DEFAULT_GROUP_SIMILARITY,
                                     DEFAULT_GROUP_WINDOW_HOURS, DEFAULT_INTERVAL_SECONDS, DEFAULT_MAX_AGE_HOURS,
                                     DEFAULT_MIN_SCORE, DEFAULT_WEBHOOK_TIMEOUT_SECONDS, FULL_TEXT_EXTRA, NOTIFY_MODES,
                                     OUTCOMES, ChannelConfig, ClaimConfig, Config, FeedConfig, SearchConfig,
                                     SemanticConfig)
from monitor.config.validator import Validator, env_name_problem
from monitor.errors import ConfigError
from monitor.logs import FORMATS
from monitor.net.urls import host_only, parse_listen, redact_url, search_url_shown

__all__ = ["DEFAULT_DELIVER_INTERVAL_SECONDS", "DEFAULT_GROUP_SIMILARITY", "DEFAULT_GROUP_WINDOW_HOURS",
           "DEFAULT_INTERVAL_SECONDS", "DEFAULT_MAX_AGE_HOURS", "DEFAULT_MIN_SCORE", "DEFAULT_WEBHOOK_TIMEOUT_SECONDS",
           "KINDS", "NOTIFY_MODES", "OUTCOMES", "ChannelConfig", "ClaimConfig", "Config", "FeedConfig",
           "SearchConfig", "SemanticConfig",
           "describe", "env_name_problem", "load_config", "load_config_leniently", "parse_config"]


def load_config(path: str | os.PathLike, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the TOML file at ``path``; raise ``ConfigError`` naming every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror or exc}", path=str(path)) from exc
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", path=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already carries "(at line N, column M)".
        raise ConfigError(f"TOML syntax error: {exc}", path=str(path)) from exc
    return parse_config(document, path=path, environ=os.environ if environ is None else environ)


def load_config_leniently(path: str | os.PathLike, *,
                          environ: Mapping[str, str] | None = None) -> tuple[Config | None, ConfigError | None]:
    """(config, its problems) for commands that only read the database and must work while the file holds an
    edit the daemon refused, or a channel's environment variable is unset.

    A file that parses as TOML gives a ``Config`` even when invalid: each bad value is replaced by its default
    (an unusable item may be left with empty fields), and the error lists what is wrong. A file that cannot be
    read or parsed gives (None, the error). A valid file gives (config, None).
    """
    try:
        return load_config(path, environ=environ), None
    except ConfigError as error:
        try:
            document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None, error
        config, _ = _parse_config(document, path=Path(path), environ=os.environ if environ is None else environ)
        return config, error


def parse_config(document: Mapping[str, Any], *, path: Path, environ: Mapping[str, str]) -> Config:
    """Validate an already-parsed TOML document. ``path`` anchors relative paths."""
    config, problems = _parse_config(document, path=path, environ=environ)
    if problems:
        raise ConfigError(problems, path=str(path))
    return config


def _parse_config(document: Mapping[str, Any], *, path: Path, environ: Mapping[str, str]) -> tuple[Config, list[str]]:
    """The config, with defaults in place of bad values, and every problem found."""
    v = Validator()
    v.keys(document, "", {"monitor", "defaults", "feeds", "claims", "channels", "semantic", "search"})
    monitor = v.table(document, "monitor")
    defaults = v.table(document, "defaults")
    v.keys(monitor, "monitor", {"database", "allow_private_networks", "deliver_interval_seconds",
                                "group_similarity", "group_window_hours", "operator_channels", "alert_after_hours",
                                "max_per_host", "workers", "listen", "log_format", "retention_days",
                                "max_backoff_hours", "delivery_stuck_seconds", "status_token_env",
                                "database_password_env"})
    v.keys(defaults, "defaults", {"interval_seconds", "min_score", "max_age_hours", "full_text"})

    database = v.string(monitor, "monitor", "database", default="data/monitor.db")
    allow_private = v.boolean(monitor, "monitor", "allow_private_networks", default=False)
    deliver_interval = v.number(monitor, "monitor", "deliver_interval_seconds",
                                default=DEFAULT_DELIVER_INTERVAL_SECONDS, minimum=1, maximum=3600, integer=True)
    group_similarity = v.number(monitor, "monitor", "group_similarity", default=DEFAULT_GROUP_SIMILARITY,
                                minimum=50, maximum=100)
    group_window = v.number(monitor, "monitor", "group_window_hours", default=DEFAULT_GROUP_WINDOW_HOURS,
                            minimum=1, maximum=24 * 30)
    interval = v.number(defaults, "defaults", "interval_seconds", default=DEFAULT_INTERVAL_SECONDS,
                        minimum=10, maximum=7 * 86400, integer=True)
    min_score = v.number(defaults, "defaults", "min_score", default=DEFAULT_MIN_SCORE, minimum=0, maximum=100)
    max_age = v.number(defaults, "defaults", "max_age_hours", default=DEFAULT_MAX_AGE_HOURS,
                       minimum=0, maximum=24 * 365)

    full_text = sections.full_text_mode(v, defaults, "defaults", "off")

    channels = tuple(sections.channel(v, item, f"channels[{i}]", environ)
                     for i, item in enumerate(v.array_of_tables(document, "channels")))
    raw_feeds = v.array_of_tables(document, "feeds")
    feeds = tuple(sections.feed(v, item, f"feeds[{i}]", interval, max_age, full_text)
                  for i, item in enumerate(raw_feeds))
    _check_fulltext_extra(v, full_text, [(f"feeds[{i}]", f.full_text, "full_text" in item)
                                         for i, (f, item) in enumerate(zip(feeds, raw_feeds))])
    channel_names = [c.name for c in channels if c.name]
    operator_channels = v.string_list(monitor, "monitor", "operator_channels", default=[])
    for name in operator_channels:
        if name not in channel_names:
            v.problem("monitor.operator_channels", f"names channel {name!r}, which is not defined in [[channels]]")
    feed_names = [f.name for f in feeds if f.name]
    feed_outlets = [f.outlet for f in feeds if f.outlet]
    claims = tuple(sections.claim(v, item, f"claims[{i}]", min_score, channel_names, feed_names, feed_outlets)
                   for i, item in enumerate(v.array_of_tables(document, "claims")))

    v.unique([f.name for f in feeds], "feeds", "name")
    v.unique([c.id for c in claims], "claims", "id")
    v.unique([c.name for c in channels], "channels", "name")
    alert_after = v.number(monitor, "monitor", "alert_after_hours", default=24.0, minimum=0, maximum=24 * 365)
    max_per_host = v.number(monitor, "monitor", "max_per_host", default=1, minimum=1, maximum=64, integer=True)
    workers = v.number(monitor, "monitor", "workers", default=8, minimum=1, maximum=256, integer=True)
    retention = v.number(monitor, "monitor", "retention_days", default=30.0, minimum=1, maximum=3650)
    max_backoff = v.number(monitor, "monitor", "max_backoff_hours", default=24.0, minimum=0.1, maximum=24 * 30)
    stuck = v.number(monitor, "monitor", "delivery_stuck_seconds", default=300, minimum=5, maximum=7 * 86400)
    listen = v.string(monitor, "monitor", "listen", default="") or None
    if listen:
        try:
            parse_listen(listen)
        except ValueError as exc:
            v.problem("monitor.listen", str(exc))
    # The status pages' token (monitor/web): named here, read from the environment, never written in the file.
    token_env = v.env_name(monitor, "monitor", "status_token_env", required=False) or None
    status_token = environ.get(token_env, "").strip() or None if token_env else None
    if token_env and not status_token:
        v.problem("monitor.status_token_env", f"environment variable {token_env} is not set")
    semantic = (sections.semantic(v, v.table(document, "semantic"), path.resolve().parent)
                if "semantic" in document else None)
    search = sections.search(v, v.table(document, "search"), interval=int(interval), max_age=float(max_age),
                             full_text=full_text)
    log_format = v.string(monitor, "monitor", "log_format", default="text")
    if log_format not in FORMATS:
        v.problem("monitor.log_format", f"must be one of {', '.join(FORMATS)}, got {log_format!r}")
    db_target = _database(v, monitor, database, path, environ)
    return Config(path=path, database=db_target, allow_private_networks=allow_private,
                  deliver_interval_seconds=int(deliver_interval), group_similarity=float(group_similarity),
                  group_window_hours=float(group_window), feeds=feeds, claims=claims, channels=channels,
                  operator_channels=tuple(operator_channels), alert_after_hours=float(alert_after),
                  max_per_host=int(max_per_host), workers=int(workers), listen=listen, log_format=log_format,
                  retention_days=float(retention), max_backoff_hours=float(max_backoff),
                  delivery_stuck_seconds=float(stuck), semantic=semantic, search=search, status_token_env=token_env,
                  status_token=status_token), v.problems


def _database(v: Validator, monitor: Mapping[str, Any], database: str, path: Path,
              environ: Mapping[str, str]) -> Database:
    """``monitor.database``: a SQLite file (relative to the config's folder) or a PostgreSQL URL, whose password
    is read from the variable ``monitor.database_password_env`` names."""
    password_env = v.env_name(monitor, "monitor", "database_password_env", required=False) or None
    if is_postgres_url(database):
        problem = url_problem(database)
        if problem:
            v.problem("monitor.database", problem)
            return Path("data/monitor.db")
        if password_env and not environ.get(password_env):
            v.problem("monitor.database_password_env", f"environment variable {password_env} is not set")
        return PostgresDatabase(database, password_env=password_env,
                                password=environ.get(password_env) if password_env else None)
    if password_env:
        v.problem("monitor.database_password_env", "is only for a PostgreSQL database (monitor.database = "
                                                    "\"postgresql://…\"); a SQLite file has no password")
    db_path = Path(database).expanduser()
    return db_path if db_path.is_absolute() else path.resolve().parent / db_path


def _check_fulltext_extra(v: Validator, default: str, feeds: list[tuple[str, str, bool]]) -> None:
    """One problem, at the key that turned full_text on, when it is on and the ``fulltext`` extra is missing."""
    keys = ["defaults.full_text"] if default != "off" else []
    keys += [f"{where}.full_text" for where, mode, own in feeds if own and mode != "off"]
    if keys and not fulltext_installed():
        v.problem(keys[0], f"needs the article extractor, which is not installed: {FULL_TEXT_EXTRA}")


def fulltext_installed() -> bool:
    """Whether the ``fulltext`` extra (trafilatura, htmldate) can be imported."""
    try:
        import htmldate  # noqa: F401
        import trafilatura  # noqa: F401
    except ImportError:
        return False
    return True


def describe(config: Config, *, redact: bool = True) -> dict[str, Any]:
    """The effective config as plain data (defaults filled in), with secret URLs redacted unless asked."""
    def channel(c: ChannelConfig) -> dict[str, Any]:
        out: dict[str, Any] = {"name": c.name, "kind": c.kind, "timeout_seconds": c.timeout_seconds,
                               "min_interval_seconds": c.min_interval_seconds, "max_per_minute": c.max_per_minute,
                               "group_wait_seconds": c.group_wait_seconds}
        if c.url_env:
            out["url_env"] = c.url_env
        if c.url and c.kind in KINDS and KINDS[c.kind].url == "env":  # a credential URL: its "host" is often a token
            out["url"] = f"{urlsplit(c.url).scheme}://…" if redact else c.url
        elif c.url:  # a destination's path or query is usually its credential, inline in the file or not
            out["url"] = host_only(c.url) if redact else c.url
        if c.secret_env:
            out["secret_env"] = c.secret_env
            out["secrets"] = len(c.secrets) if redact else list(c.secrets)
        return out

    search_bases = (config.search.google_news_url, config.search.gdelt_url)
    return {
        "monitor": {"database": str(config.database), "allow_private_networks": config.allow_private_networks,
                    "deliver_interval_seconds": config.deliver_interval_seconds,
                    "group_similarity": config.group_similarity, "group_window_hours": config.group_window_hours,
                    "operator_channels": list(config.operator_channels), "alert_after_hours": config.alert_after_hours,
                    "max_per_host": config.max_per_host, "workers": config.workers, "listen": config.listen,
                    "log_format": config.log_format, "retention_days": config.retention_days,
                    "max_backoff_hours": config.max_backoff_hours,
                    "delivery_stuck_seconds": config.delivery_stuck_seconds,
                    "status_token_env": config.status_token_env},
        "feeds": [{"name": f.name, "url": f.url if not redact else search_url_shown(f.url, search_bases)
                   if f.claim else redact_url(f.url),
                   "interval_seconds": f.interval_seconds, "max_age_hours": f.max_age_hours,
                   "full_text": f.full_text, **({"outlet": f.outlet} if f.outlet else {}),
                   **({"claim": f.claim} if f.claim else {})}
                  for f in config.feeds],
        "claims": [{"id": c.id, "text": c.text, "aliases": {k: list(a) for k, a in c.aliases.items()},
                    "require_any": list(c.require_any), "exclude": list(c.exclude),
                    "channels": list(c.channels), "min_score": c.min_score,
                    "outcomes": {k: list(cues) for k, cues in c.outcomes.items()},
                    "replace_outcomes": c.replace_outcomes, "confirm_after_outlets": c.confirm_after_outlets,
                    "trusted_outlets": list(c.trusted_outlets), "notify": c.notify,
                    "expect_by": c.expect_by.isoformat() if c.expect_by else None,
                    "search": list(c.search), "search_query": c.search_query, "language": c.language}
                   for c in config.claims],
        "channels": [channel(c) for c in config.channels],
        "search": {"google_news_url": config.search.google_news_url, "gdelt_url": config.search.gdelt_url,
                   "language": config.search.language, "interval_seconds": config.search.interval_seconds,
                   "gdelt_format": config.search.gdelt_format, "gdelt_max_records": config.search.gdelt_max_records,
                   "gdelt_timespan": config.search.gdelt_timespan,
                   "gdelt_min_interval_seconds": config.search.gdelt_min_interval_seconds},
        **({"semantic": {"model": config.semantic.model, "revision": config.semantic.revision,
                         "sha256": config.semantic.sha256,
                         "cache_dir": str(config.semantic.cache_dir) if config.semantic.cache_dir else None,
                         "min_score": config.semantic.min_score, "max_tokens": config.semantic.max_tokens}}
           if config.semantic else {}),
    }
