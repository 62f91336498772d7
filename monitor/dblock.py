"""One process polling a database at a time: an advisory lock on ``<database>.lock``.

``hold(database, role)`` takes an exclusive ``flock`` on the file beside the database, without waiting, and
keeps it until the block ends; the holder's pid and role ("daemon", "poll-once") are written into the file so
that a refused process can say who holds it. The kernel drops the lock when its holder exits, however it exits
(a crash, ``kill -9``, a power cut), so a lock is never left stale: the file may stay behind, and that is
harmless, since only the flock counts. The file is never removed (removing it would let a newcomer lock a new
file while the old holder still holds the old one).

On PostgreSQL the lock is a session advisory lock (``pg_try_advisory_lock``) on a connection held for the block,
so it covers every machine using the database; the server drops it when the holder's connection ends, and the
holder's pid, host and role are its connection's ``application_name``, which a refused process reads back.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from monitor.config.database import Database, PostgresDatabase
from monitor.errors import MonitorError, StoreError
from monitor.store import DATABASE_ERRORS
from monitor.store.postgres import PostgresSql

# What a refused process is told about the holder, by the holder's role.
HOLDERS = {"daemon": "another news-monitor daemon is running on {db} (pid {pid})",
           "poll-once": "a news-monitor poll-once is already polling {db} (pid {pid})",
           "migrate-db": "a news-monitor migrate-db is copying {db} (pid {pid})",
           "scheduler": "a news-monitor scheduler is running on {db} (pid {pid})"}


class DatabaseBusy(MonitorError):
    """Another news-monitor process holds the database's lock (exit code 2: nothing was done)."""

    exit_code = 2


# The key of the PostgreSQL advisory lock a polling process holds (the writers' lock is another key).
POLLER_LOCK_KEY = 0x6E6D0002
APPLICATION_PREFIX = "news-monitor "


def lock_path(database: Path | str) -> Path:
    return Path(f"{database}.lock")


class Held:
    """The lock, while the block runs. A file's flock cannot be lost; see ``PostgresLock.renew``."""

    def renew(self) -> str:
        return "held"


@contextmanager
def hold(database: Database | str, role: str) -> Iterator[Held]:
    """Hold the database's lock for the block; raise ``DatabaseBusy`` naming the holder if it is taken."""
    if isinstance(database, PostgresDatabase):
        lock = PostgresLock(database, role)
        try:
            yield lock
        finally:
            lock.close()  # ends the session, which releases the lock
        return
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
        yield Held()
    finally:
        os.close(fd)  # releases the lock


def _holder_message(fd: int, database: Path | str) -> str:
    try:
        pid, _, role = os.pread(fd, 200, 0).decode("utf-8", "replace").strip().partition(" ")
    except OSError:
        pid, role = "", ""
    template = HOLDERS.get(role, "another news-monitor process is using {db} (pid {pid})")
    return template.format(db=database, pid=pid or "unknown")


class PostgresLock(Held):
    """A session advisory lock on a connection of its own, which lives as long as the connection does."""

    def __init__(self, database: PostgresDatabase, role: str) -> None:
        self.database, self.role = database, role
        self.sql = self._take()

    def _take(self) -> PostgresSql:
        sql = PostgresSql(self.database,
                          application_name=f"{APPLICATION_PREFIX}{self.role} {os.getpid()}@{socket.gethostname()}")
        try:
            if not sql.execute("SELECT pg_try_advisory_lock(?)", [POLLER_LOCK_KEY]).fetchone()[0]:
                raise DatabaseBusy(_postgres_holder_message(sql, self.database))
        except BaseException:
            sql.close()
            raise
        return sql

    def renew(self) -> str:
        """``held`` while the session holding the lock lives. A server restart ends it, and the lock with it:
        then the lock is taken again on a new connection (``retaken``; ``unreachable`` while the server does
        not answer), and ``DatabaseBusy`` is raised if another process took it meanwhile."""
        try:
            self.sql.execute("SELECT 1")
            return "held"
        except DATABASE_ERRORS:
            self.sql.close()
        try:
            self.sql = self._take()
        except StoreError:
            return "unreachable"
        return "retaken"

    def close(self) -> None:
        self.sql.close()


def _postgres_holder_message(sql: PostgresSql, database: PostgresDatabase) -> str:
    row = sql.execute(
        """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND l.objid = ? LIMIT 1""",
        [POLLER_LOCK_KEY & 0xFFFFFFFF]).fetchone()
    name = row[0] if row else ""
    role, _, pid = name.removeprefix(APPLICATION_PREFIX).partition(" ") if name.startswith(APPLICATION_PREFIX) \
        else ("", "", "")
    pid, _, host = pid.partition("@")
    template = HOLDERS.get(role, "another news-monitor process is using {db} (pid {pid})")
    return template.format(db=database, pid=f"{pid} on {host}" if pid and host else pid or "unknown")
