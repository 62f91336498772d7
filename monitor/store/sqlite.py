"""SQLite as the store (the default): the file, its connections and their write transactions.

The database is a plain SQLite file (WAL journal, ``synchronous=FULL``) that other tools such as sqlite-utils
or Datasette can open. Writes that belong together run inside ``transaction()`` (``BEGIN IMMEDIATE`` …
``COMMIT``), so a crash leaves either all of a poll's rows or none of them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from monitor.errors import NoDatabaseError, StoreError
from monitor.store.schema import upgrade

PAGE_CACHE_KIB = 256  # SQLite page cache per connection

# Seconds a writer waits for the write lock (another thread's in this process, then another process's) before
# the write fails with StoreError.
WRITE_WAIT_SECONDS = 30.0

_writer_locks: dict[str, threading.Lock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(path: str | Path) -> threading.Lock:
    """The one lock that writers to this database file in this process queue on.

    SQLite's own busy handler makes a waiting writer sleep and retry with growing pauses: under many polling
    threads, writers wake late, the lock sits idle between them, and some time out ("database is locked") while
    the disk is free. Threads waiting on a Python lock are woken the moment it is released. SQLite's lock still
    arbitrates between processes (a daemon and a ``poll-once`` side by side).
    """
    if str(path) == ":memory:":
        return threading.Lock()  # every connection is its own database
    key = os.path.realpath(path)
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, threading.Lock())


class SqliteSql:
    """One connection to the database file, migrated to the current schema on open; ``db`` is the same
    connection as sqlite-utils' ``Database``.

    The file (and its folder) is created when missing, unless ``create`` is False: then a missing file raises
    ``NoDatabaseError`` and nothing is written to disk (the read commands, so that a mistyped path says so).
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and str(path) != ":memory:" and not self.path.is_file():
            raise NoDatabaseError(str(path))
        self._writer = _writer_lock(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit outside ``transaction()``, as on PostgreSQL: a statement on its own is committed at
            # once, instead of opening a transaction the sqlite3 module would leave open until some later commit.
            self.conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
            self.db = sqlite_utils.Database(self.conn)
            self.conn.execute("PRAGMA busy_timeout = 30000")
            if str(path) != ":memory:":
                self.db.enable_wal()
            self.conn.execute("PRAGMA synchronous = FULL")
            # Every polling thread has its own connection: SQLite's default 2 MB page cache each was a third of
            # the daemon's memory at 32 threads. The OS caches the file anyway; polls read few, indexed rows.
            self.conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            # The version is read inside the write transaction: several jobs may open a new file at once, and
            # only the first may run the migrations.
            with self.transaction():
                upgrade(self.db, self.path)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc

    def execute(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        """Run ``sql`` once per row; returns the rows changed."""
        return max(self.conn.executemany(sql, rows).rowcount, 0)

    def query(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> Iterator[dict]:
        """The rows as dicts keyed by column name: what sqlite-utils' ``query`` gives, without its per-call
        parsing of the statement (claim tracking runs several queries for every claim a poll hits)."""
        cursor = self.conn.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        return (dict(zip(columns, row)) for row in cursor)

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    @contextmanager
    def transaction(self) -> Iterator[SqliteSql]:
        """Run the block as one write transaction; roll back everything if it raises.

        Writers in this process queue on one lock per file (see ``_writer_lock``); ``BEGIN IMMEDIATE`` then takes
        SQLite's write lock up front, so concurrent jobs wait instead of failing half-way when a read turns into a
        write. Raises StoreError when the lock is not free within ``WRITE_WAIT_SECONDS``.
        """
        if self.conn.in_transaction:  # a nested transaction would wait for the lock this thread holds
            raise StoreError(f"database write on {self.path} started inside another transaction")
        if not self._writer.acquire(timeout=WRITE_WAIT_SECONDS):
            raise StoreError(f"cannot write to the database {self.path}: busy with other writes for "
                             f"{WRITE_WAIT_SECONDS:g} s")
        try:
            yield from self._transaction()
        finally:
            self._writer.release()

    def _transaction(self) -> Iterator[SqliteSql]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:  # locked past the busy timeout, disk full, read-only …
            raise StoreError(f"cannot write to the database {self.path}: {exc}") from exc
        try:
            yield self
        except sqlite3.Error as exc:
            self.conn.rollback()
            raise StoreError(f"database write failed ({self.path}): {exc}") from exc
        except BaseException:
            self.conn.rollback()
            raise
        else:
            try:
                self.conn.commit()
            except sqlite3.Error as exc:
                self.conn.rollback()
                raise StoreError(f"database commit failed ({self.path}): {exc}") from exc

    def close(self) -> None:
        self.conn.close()


@contextmanager
def read_only(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A bare connection that can only read (``mode=ro``): it never creates, migrates or locks the file for
    writing, so a metrics scrape cannot disturb the daemon. Raises sqlite3.Error for a missing file."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        yield conn
    finally:
        conn.close()
