"""One process polling a database at a time: an advisory lock on ``<database>.lock``.

``hold(database, role)`` takes an exclusive ``flock`` on the file beside the database, without waiting, and
keeps it until the block ends; the holder's pid and role ("daemon", "poll-once") are written into the file so
that a refused process can say who holds it. The kernel drops the lock when its holder exits, however it exits
(a crash, ``kill -9``, a power cut), so a lock is never left stale: the file may stay behind, and that is
harmless, since only the flock counts. The file is never removed (removing it would let a newcomer lock a new
file while the old holder still holds the old one).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from monitor.errors import MonitorError

# What a refused process is told about the holder, by the holder's role.
HOLDERS = {"daemon": "another news-monitor daemon is running on {db} (pid {pid})",
           "poll-once": "a news-monitor poll-once is already polling {db} (pid {pid})"}


class DatabaseBusy(MonitorError):
    """Another news-monitor process holds the database's lock (exit code 2: nothing was done)."""

    exit_code = 2


def lock_path(database: Path | str) -> Path:
    return Path(f"{database}.lock")


@contextmanager
def hold(database: Path | str, role: str) -> Iterator[None]:
    """Hold the database's lock for the block; raise ``DatabaseBusy`` naming the holder if it is taken."""
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBusy(_holder_message(fd, database)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {role}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _holder_message(fd: int, database: Path | str) -> str:
    try:
        pid, _, role = os.pread(fd, 200, 0).decode("utf-8", "replace").strip().partition(" ")
    except OSError:
        pid, role = "", ""
    template = HOLDERS.get(role, "another news-monitor process is using {db} (pid {pid})")
    return template.format(db=database, pid=pid or "unknown")
