"""Noticing that the config file changed: in place, renamed into place, or a symlink swapped, debounced.

The daemon checks every ``WATCH_SECONDS``; a change counts once the file has stayed the same for one more check,
so an editor's write in several steps gives one reload, of the finished file.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.logs import kv, log

WATCH_SECONDS = 2
RESTART_KEYS = ("database", "listen", "workers", "log_format")  # set up once at start


def log_refused(exc: ConfigError, reason: str) -> None:
    """A reload refused: why, one line per problem; the previous config keeps running."""
    log.error("config reload refused, still running the previous config %s",
              kv(reason=reason, problems=len(exc.problems)))
    for problem in exc.problems:
        log.error("config problem %s", kv(problem=problem))


def keep_restart_keys(new: Config, current: Config) -> Config:
    """``new`` with the settings that only a restart applies (``RESTART_KEYS``) kept from ``current``, each one
    that changed logged."""
    fixed = [key for key in RESTART_KEYS if getattr(new, key) != getattr(current, key)]
    if not fixed:
        return new
    log.warning("config reload: these take effect at the next restart %s", kv(keys=",".join(fixed)))
    return replace(new, **{key: getattr(current, key) for key in RESTART_KEYS})


def signature(path: Path) -> tuple:
    """What identifies the config file's content: the resolved target (a swapped symlink), its inode (a rename
    into place), and its size and modification time (an edit in place)."""
    try:
        stat = os.stat(path)
    except OSError:
        return ("missing",)
    return (os.path.realpath(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


class ConfigWatch:
    """The config file as last read, and a change seen once but not yet confirmed by a second check."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read = signature(path)
        self._pending: tuple | None = None

    def settled_change(self) -> bool:
        """One check: True when the file differs from the one last read and has not changed since the previous
        check (until ``read`` is called, later checks keep saying so)."""
        now = signature(self.path)
        if now == self._read:
            self._pending = None
            return False
        if now == self._pending:
            return True
        self._pending = now
        return False

    def read(self, seen: tuple) -> None:
        """The file with signature ``seen`` (taken before reading it) was read, valid or not: it is the one to
        compare with from now on, so a broken file is reported once, not at every check."""
        self._read, self._pending = seen, None
