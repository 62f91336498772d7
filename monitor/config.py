"""Load ``monitor.toml`` into frozen dataclasses, reporting every problem at once with its key path.

A config either loads completely or raises ``ConfigError`` listing each problem as ``key.path: what is wrong``
(``feeds[2].url: must be an http or https URL``). What loads but may not work as meant (a claim whose event
cannot be found) is listed in ``Config.warnings``. Unknown keys are errors, so a typo never silently does
nothing. Relative paths resolve against the config file's folder. Secrets are read from the environment
(``url_env``, ``secret_env``) and never appear in ``repr``, in ``describe(redact=True)`` or in an error: a
problem with a URL shows it redacted (a feed's with ``fetch.redact_url``, a channel's as its scheme and host
only), and a problem with a ``*_env`` key never shows the value, which may be a secret put in the wrong place.
"""

from __future__ import annotations

import base64
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from monitor.reading.claimevent import claim_event
from monitor.errors import ConfigError
from monitor.feeds.fetch import redact_url
from monitor.logs import FORMATS
from monitor.reading.relevance import DEFAULT_MIN_SCORE, prepare_claim
from monitor.daemon.health import parse_listen
from monitor.notify import CHANNEL_KEYS, KINDS
from monitor.reading.verdict import prepare_verdict

NOTIFY_MODES = ("changes", "all")
OUTCOMES = ("confirmed", "delayed", "rejected")
DEFAULT_GROUP_SIMILARITY = 80.0
DEFAULT_GROUP_WINDOW_HOURS = 48.0
DEFAULT_INTERVAL_SECONDS = 300
DEFAULT_MAX_AGE_HOURS = 48.0
DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10.0
DEFAULT_DELIVER_INTERVAL_SECONDS = 30


@dataclass(frozen=True, slots=True)
class FeedConfig:
    name: str
    url: str
    interval_seconds: int
    max_age_hours: float


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
class Config:
    path: Path
    database: Path
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
    warnings: tuple[str, ...] = ()  # "key.path: what may not work as meant"; the config still loads

    def feed(self, name: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.name == name), None)

    def claim(self, claim_id: str) -> ClaimConfig | None:
        return next((c for c in self.claims if c.id == claim_id), None)

    def channel(self, name: str) -> ChannelConfig | None:
        return next((c for c in self.channels if c.name == name), None)


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
    v = _Validator()
    v.keys(document, "", {"monitor", "defaults", "feeds", "claims", "channels"})
    monitor = v.table(document, "monitor")
    defaults = v.table(document, "defaults")
    v.keys(monitor, "monitor", {"database", "allow_private_networks", "deliver_interval_seconds",
                                "group_similarity", "group_window_hours", "operator_channels", "alert_after_hours",
                                "max_per_host", "workers", "listen", "log_format", "retention_days",
                                "max_backoff_hours"})
    v.keys(defaults, "defaults", {"interval_seconds", "min_score", "max_age_hours"})

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

    channels = tuple(_channel(v, item, f"channels[{i}]", environ)
                     for i, item in enumerate(v.array_of_tables(document, "channels")))
    feeds = tuple(_feed(v, item, f"feeds[{i}]", interval, max_age)
                  for i, item in enumerate(v.array_of_tables(document, "feeds")))
    channel_names = [c.name for c in channels if c.name]
    operator_channels = v.string_list(monitor, "monitor", "operator_channels", default=[])
    for name in operator_channels:
        if name not in channel_names:
            v.problem("monitor.operator_channels", f"names channel {name!r}, which is not defined in [[channels]]")
    feed_names = [f.name for f in feeds if f.name]
    claims = tuple(_claim(v, item, f"claims[{i}]", min_score, channel_names, feed_names)
                   for i, item in enumerate(v.array_of_tables(document, "claims")))

    v.unique([f.name for f in feeds], "feeds", "name")
    v.unique([c.id for c in claims], "claims", "id")
    v.unique([c.name for c in channels], "channels", "name")
    alert_after = v.number(monitor, "monitor", "alert_after_hours", default=24.0, minimum=0, maximum=24 * 365)
    max_per_host = v.number(monitor, "monitor", "max_per_host", default=1, minimum=1, maximum=64, integer=True)
    workers = v.number(monitor, "monitor", "workers", default=8, minimum=1, maximum=256, integer=True)
    retention = v.number(monitor, "monitor", "retention_days", default=30.0, minimum=1, maximum=3650)
    max_backoff = v.number(monitor, "monitor", "max_backoff_hours", default=24.0, minimum=0.1, maximum=24 * 30)
    listen = v.string(monitor, "monitor", "listen", default="") or None
    if listen:
        try:
            parse_listen(listen)
        except ValueError as exc:
            v.problem("monitor.listen", str(exc))
    log_format = v.string(monitor, "monitor", "log_format", default="text")
    if log_format not in FORMATS:
        v.problem("monitor.log_format", f"must be one of {', '.join(FORMATS)}, got {log_format!r}")
    db_path = Path(database).expanduser()
    if not db_path.is_absolute():
        db_path = path.resolve().parent / db_path
    return Config(path=path, database=db_path, allow_private_networks=allow_private,
                  deliver_interval_seconds=int(deliver_interval), group_similarity=float(group_similarity),
                  group_window_hours=float(group_window), feeds=feeds, claims=claims, channels=channels,
                  operator_channels=tuple(operator_channels), alert_after_hours=float(alert_after),
                  max_per_host=int(max_per_host), workers=int(workers), listen=listen, log_format=log_format,
                  retention_days=float(retention), max_backoff_hours=float(max_backoff),
                  warnings=tuple(v.warnings)), v.problems


def _feed(v: _Validator, item: Mapping, where: str, interval: float, max_age: float) -> FeedConfig:
    v.keys(item, where, {"name", "url", "interval_seconds", "max_age_hours"})
    return FeedConfig(
        name=v.string(item, where, "name", required=True),
        url=v.url(item, where, "url", required=True),
        interval_seconds=int(v.number(item, where, "interval_seconds", default=interval,
                                      minimum=10, maximum=7 * 86400, integer=True)),
        max_age_hours=float(v.number(item, where, "max_age_hours", default=max_age, minimum=0, maximum=24 * 365)),
    )


def _claim(v: _Validator, item: Mapping, where: str, min_score: float, channel_names: list[str],
           feed_names: list[str]) -> ClaimConfig:
    v.keys(item, where, {"id", "text", "aliases", "require_any", "exclude", "channels", "min_score", "outcomes",
                         "replace_outcomes", "confirm_after_outlets", "trusted_outlets", "notify", "expect_by"})
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
    trusted = v.string_list(item, where, "trusted_outlets", default=[])
    for name in trusted:
        if name not in feed_names:
            v.problem(f"{where}.trusted_outlets", f"names feed {name!r}, which is not defined in [[feeds]]")
    notify = v.string(item, where, "notify", default="changes")
    if notify not in NOTIFY_MODES:
        v.problem(f"{where}.notify", f"must be one of {', '.join(NOTIFY_MODES)}, got {notify!r}")
    expect_by = item.get("expect_by")
    if expect_by is not None and (not isinstance(expect_by, date) or hasattr(expect_by, "hour")):
        v.problem(f"{where}.expect_by", "must be a date such as 2024-09-15 (no quotes)")
        expect_by = None
    channels = v.string_list(item, where, "channels", default=None)
    for name in channels or ():
        if name not in channel_names:
            v.problem(f"{where}.channels", f"names channel {name!r}, which is not defined in [[channels]]")
    claim = ClaimConfig(
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
    )
    if claim.text:
        try:  # the matcher knows what it cannot use, e.g. a claim or alias made only of stop words
            prepare_claim(claim.id, claim.text, aliases=claim.aliases, require_any=claim.require_any,
                          exclude=claim.exclude, min_score=claim.min_score)
            prepare_verdict(claim.text, outcomes=claim.outcomes, replace=claim.replace_outcomes)
        except ValueError as exc:
            v.problem(where, str(exc))
        if not claim_event(claim.text).found and not claim.outcomes.get("confirmed"):
            v.warn(f"{where}.text", "no event found (a verb such as 'sign', or a noun such as 'signing of'): a "
                   "story restating the claim reads as confirmed and one denying it as rejected; write the event "
                   "as 'X will <verb> Y', or list outcomes.confirmed cues")
    return claim


def _channel(v: _Validator, item: Mapping, where: str, environ: Mapping[str, str]) -> ChannelConfig:
    # The kinds, the keys each takes and their default pace come from the notifier registry (monitor.notify).
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

    return {
        "monitor": {"database": str(config.database), "allow_private_networks": config.allow_private_networks,
                    "deliver_interval_seconds": config.deliver_interval_seconds,
                    "group_similarity": config.group_similarity, "group_window_hours": config.group_window_hours,
                    "operator_channels": list(config.operator_channels), "alert_after_hours": config.alert_after_hours,
                    "max_per_host": config.max_per_host, "workers": config.workers, "listen": config.listen,
                    "log_format": config.log_format, "retention_days": config.retention_days,
                    "max_backoff_hours": config.max_backoff_hours},
        "feeds": [{"name": f.name, "url": redact_url(f.url) if redact else f.url,
                   "interval_seconds": f.interval_seconds, "max_age_hours": f.max_age_hours}
                  for f in config.feeds],
        "claims": [{"id": c.id, "text": c.text, "aliases": {k: list(a) for k, a in c.aliases.items()},
                    "require_any": list(c.require_any), "exclude": list(c.exclude),
                    "channels": list(c.channels), "min_score": c.min_score,
                    "outcomes": {k: list(cues) for k, cues in c.outcomes.items()},
                    "replace_outcomes": c.replace_outcomes, "confirm_after_outlets": c.confirm_after_outlets,
                    "trusted_outlets": list(c.trusted_outlets), "notify": c.notify,
                    "expect_by": c.expect_by.isoformat() if c.expect_by else None} for c in config.claims],
        "channels": [channel(c) for c in config.channels],
    }


def host_only(url: str) -> str:
    """Keep scheme and host so a reader can tell destinations apart; hide credentials, path and query (a
    channel's path is usually its secret). ``fetch.redact_url`` only strips credentials, for feed URLs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    hidden = parts.username or parts.password or parts.path not in ("", "/") or parts.query
    return f"{parts.scheme}://{host}/…" if hidden else f"{parts.scheme}://{host}/"


def channel_url_shown(url: str) -> str | None:
    """A channel URL as an error may show it: scheme and host at most (its path or query is the credential);
    None when it has no recognisable host, so nothing of it can be shown."""
    try:
        parts = urlsplit(url)
        return host_only(url) if parts.scheme and parts.hostname else None
    except ValueError:
        return None


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_name_problem(value: str) -> str | None:
    """Why ``value`` cannot be the name of an environment variable, in words that never repeat it; None if it
    can. A URL or a secret where a name belongs is the usual mistake, and the value is then the secret."""
    if "://" in value or "/" in value or value.lower().startswith(("http:", "https:")):
        return "looks like a URL, not an environment variable name; set the variable to the URL and name it here"
    if value.startswith("whsec_") or _looks_like_token(value):
        return ("looks like a secret value, not an environment variable name; set the variable to the secret and "
                "name it here")
    if not _ENV_NAME.fullmatch(value):
        return "is not an environment variable name (letters, digits and _, not starting with a digit)"
    return None


def _looks_like_token(value: str) -> bool:
    # Names are words joined by "_" (SLACK_WEBHOOK_URL); a long run of letters and digits without one is a key.
    return len(value) >= 20 and "_" not in value and any(c.isdigit() for c in value) and any(
        c.isalpha() for c in value)


class _Validator:
    """Collects problems instead of raising, so one run reports all of them."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}" if key else message)

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{key}: {message}")

    def keys(self, table: Mapping, where: str, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                hint = f"; expected one of {', '.join(sorted(allowed))}"
                self.problem(f"{where}.{key}" if where else key, f"unknown key{hint}")

    def table(self, document: Mapping, key: str, *, where: str = "") -> Mapping:
        value = document.get(key, {})
        if not isinstance(value, Mapping):
            self.problem(f"{where}.{key}" if where else key, "must be a table")
            return {}
        return value

    def array_of_tables(self, document: Mapping, key: str) -> list[Mapping]:
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, Mapping) for x in value):
            self.problem(key, f"must be an array of tables ([[{key}]])")
            return []
        return value

    def string(self, table: Mapping, where: str, key: str, *, required: bool = False, default: str = "") -> str:
        if key not in table:
            if required:
                self.problem(f"{where}.{key}", "is required")
            return default
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{where}.{key}", "must be a non-empty string")
            return default
        return value.strip()

    def string_list(self, table: Mapping, where: str, key: str, *, default: list[str] | None) -> list[str] | None:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
            self.problem(f"{where}.{key}", "must be a list of non-empty strings")
            return default
        return [x.strip() for x in value]

    def boolean(self, table: Mapping, where: str, key: str, *, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{where}.{key}", "must be true or false")
            return default
        return value

    def number(self, table: Mapping, where: str, key: str, *, default: float, minimum: float, maximum: float,
               integer: bool = False) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            self.problem(f"{where}.{key}", "must be a whole number" if integer else "must be a number")
            return default
        if not minimum <= value <= maximum:
            self.problem(f"{where}.{key}", f"must be between {minimum:g} and {maximum:g}, got {value:g}")
            return default
        return value

    def url(self, table: Mapping, where: str, key: str, *, required: bool,
            shown: Callable[[str], str | None] = redact_url) -> str:
        """An http(s) URL; a problem shows it through ``shown`` (redacted)."""
        value = self.string(table, where, key, required=required)
        return self.check_url(value, f"{where}.{key}", shown=shown(value)) if value else value

    def check_url(self, value: str, key: str, *, shown: str | None) -> str:
        try:
            parts = urlsplit(value)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
        except ValueError:  # "http://[::1", a port out of range
            valid = False
        if not valid:
            got = f"got {shown!r}" if shown else "got a value not shown here (it may hold a secret)"
            self.problem(key, f"must be an http or https URL with a host, {got}")
        return value

    def env_name(self, table: Mapping, where: str, key: str, *, required: bool) -> str:
        """The name of an environment variable; "" (with a problem that does not repeat it) if it is not one."""
        value = self.string(table, where, key, required=required)
        problem = env_name_problem(value) if value else None
        if problem:
            self.problem(f"{where}.{key}", problem)
            return ""
        return value

    def unique(self, values: list[str], section: str, key: str) -> None:
        seen: dict[str, int] = {}
        for i, value in enumerate(values):
            if value and value in seen:
                self.problem(f"{section}[{i}].{key}", f"duplicate {key} {value!r} (also {section}[{seen[value]}])")
            seen.setdefault(value, i)
