"""The ``news-monitor`` command line. It parses arguments, calls the library and prints; no logic of its own.

This module holds the root group, what every command shares (``App``, ``Duration``, the output helpers) and
``main``; the commands live beside it: ``daemon`` (run, poll-once, deliver, healthcheck, test-alert), ``inspect``
(status, feeds, hits, claims, explain, outbox) and ``tuning`` (check-config, eval, backtest, import/export-opml).

Exit codes: 0 ok, 1 runtime error, 2 usage or config error. Expected errors (``MonitorError``) print one line
(a config error one line per problem) and no traceback.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from datetime import timedelta

import click

from monitor import __version__, runtime, views

from monitor.config import Config
from monitor.config.database import database_option
from monitor.daemon import earlysignals
from monitor.errors import MonitorError
from monitor.logs import FORMATS, configure
from monitor.store import Store

DEFAULT_CONFIG = "config/monitor.toml"


class Duration(click.ParamType):
    """A span such as ``90m``, ``24h``, ``30d`` or ``2w``."""

    name = "duration"
    _units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

    def convert(self, value, param, ctx):
        if isinstance(value, timedelta):
            return value
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(value))
        if not found:
            self.fail(f"{value!r} is not a duration like 90m, 24h, 30d or 2w", param, ctx)
        return timedelta(seconds=float(found.group(1)) * self._units[found.group(2)])


class App:
    """What every command needs: where the config and the database are."""

    def __init__(self, config_path: str, db_path: str | None) -> None:
        self.config_path = config_path
        self.db_path = db_path

    def load(self) -> runtime.Loaded:
        """The config, every claim compiled (``runtime.load``), with ``--db`` in place of its database."""
        loaded = runtime.load(self.config_path)
        if not self.db_path:
            return loaded
        return replace(loaded, config=replace(loaded.config, database=database_option(self.db_path)))

    def config(self) -> Config:
        return self.load().config

    def store(self, config: Config) -> Store:
        return Store(config.database)

    def reading(self) -> views.ReadSource:
        """For a command that only reads: the database (which must exist) and the config as far as it can be
        read, its problem printed as one warning line."""
        source = views.ReadSource.load(self.config_path, self.db_path)
        warning = source.warning()
        if warning:
            click.echo(f"news-monitor: {warning}", err=True)
        return source

    def read(self, view):
        """What ``view(source, store)`` returns, for a command that only reads (see ``reading``)."""
        source = self.reading()
        with source.open() as store:
            return view(source, store)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
"""The ``--json`` flag of the commands that can print their answer as one JSON document."""


def short_time(stamp: str | None) -> str:
    """A stored UTC timestamp, shortened for people: ``2026-11-27 04:16:37Z``."""
    return f"{stamp[:19].replace('T', ' ')}Z" if stamp else "-"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def echo_json(document: object) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="MONITOR_CONFIG", default=DEFAULT_CONFIG, show_default=True,
              help="Config file (env MONITOR_CONFIG).")
@click.option("--db", "db_path", envvar="MONITOR_DB",
              help="Database file or postgresql:// URL; overrides [monitor] database (env MONITOR_DB).")
@click.option("-v", "--verbose", count=True, help="More logging: -v info, -vv debug.")
@click.option("--log-format", type=click.Choice(FORMATS), envvar="MONITOR_LOG_FORMAT",
              help="text (message key=value) or json (one object per line); default: [monitor] log_format.")
@click.version_option(__version__, prog_name="news-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: str, db_path: str | None, verbose: int, log_format: str | None) -> None:
    """Track claims about pending events across news feeds and alert when the news moves them.

    \b
    Example:
      news-monitor --config config/monitor.toml run
    """
    if ctx.invoked_subcommand not in ("run", "scheduler"):  # only the daemon replays early signals
        earlysignals.release()
    configure(verbose, log_format or "text")
    ctx.obj = App(config_path, db_path)


def main() -> None:
    """Entry point: run the CLI, turning expected errors into one-line messages and exit codes."""
    try:
        code = cli.main(prog_name="news-monitor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MonitorError as exc:
        for line in str(exc).splitlines():
            click.echo(f"news-monitor: {line}" if not line.startswith("  ") else line, err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


# The commands register themselves on ``cli`` when imported; imported last, as they import the names above.
from monitor.cli import daemon, database, inspect, tuning  # noqa: E402,F401
