"""Storage: the connection, its write transactions and the writer lock; the queries live per table.

Two databases hold the same schema behind one interface: a SQLite file (the default, ``store.sqlite``) and
PostgreSQL (``store.postgres``: ``database = "postgresql://…"``, for several processes or machines on one
store). The query modules are written once, in the SQL both accept (``PostgresSql`` translates the parameter
marks), and run on ``store.sql``: ``execute``, ``executemany``, ``query`` and ``transaction``.

Writes that belong together run inside ``Store.transaction()``, so a crash leaves either all of a poll's rows or
none of them; on either database writers run one at a time. Ids are content-derived and inserts ignore
duplicates, so repeating a poll changes nothing.

``Store`` is one connection with every table's queries mixed in (``store.feeds``, ``store.stories``,
``store.claims``), so a caller holds one object and a transaction spans tables; the migrations are in
``store.schema`` (and ``store.postgres_schema``), the outbox's queries in ``store.outbox``. Reads return typed
records (``FeedState``, ``ClaimRecord``, ``EvidenceRecord``, …) with datetimes and ``Verdict``s, never stored text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from monitor.config.database import Database, PostgresDatabase
from monitor.errors import NoDatabaseError
from monitor.store import postgres_schema
from monitor.store.claims import ClaimChange, ClaimQueries, ClaimRecord, ClaimSummary, EvidenceRecord
from monitor.store.feeds import FeedQueries, FeedState
from monitor.store.postgres import PostgresSql, database_errors
from monitor.store.schema import MIGRATIONS, from_db_time, to_db_time
from monitor.store.sqlite import PAGE_CACHE_KIB, WRITE_WAIT_SECONDS, SqliteSql
from monitor.store.sqlite import read_only as sqlite_read_only
from monitor.store.stories import GROUP_CANDIDATES_LIMIT, HitRecord, StoredStory, StoryQueries

__all__ = ["DATABASE_ERRORS", "GROUP_CANDIDATES_LIMIT", "MIGRATIONS", "PAGE_CACHE_KIB", "WRITE_WAIT_SECONDS",
           "ClaimChange", "ClaimRecord", "ClaimSummary", "Database", "EvidenceRecord", "FeedState", "HitRecord",
           "PostgresDatabase", "Store", "StoredStory", "from_db_time", "read_only", "to_db_time"]

# What a failed read of either database raises (for callers that read without a Store: metrics, health).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, *database_errors())


class Store(FeedQueries, StoryQueries, ClaimQueries):
    """One connection to the database, migrated to the current schema on open.

    A SQLite file (and its folder) is created when missing, unless ``create`` is False: then a missing file raises
    ``NoDatabaseError`` and nothing is written to disk (the read commands, so that a mistyped path says so). A
    PostgreSQL database must exist; its tables are created on first open, unless ``create`` is False (then a
    database without them raises ``NoDatabaseError``). ``db`` is sqlite-utils' ``Database`` of a SQLite file (None
    on PostgreSQL).
    """

    def __init__(self, target: str | Path | PostgresDatabase, *, create: bool = True) -> None:
        if isinstance(target, PostgresDatabase):
            self.sql = PostgresSql(target)
            self.path = target
            self.db = None
            try:
                current = postgres_schema.version(self.sql)
                if current is None and not create:
                    raise NoDatabaseError(str(target))
                if current != len(postgres_schema.MIGRATIONS):  # a reader of a current schema takes no lock
                    with self.sql.transaction():
                        postgres_schema.upgrade(self.sql, target)
            except BaseException:
                self.sql.close()
                raise
        else:
            self.sql = SqliteSql(target, create=create)
            self.path = self.sql.path
            self.db = self.sql.db

    @property
    def is_postgres(self) -> bool:
        return isinstance(self.path, PostgresDatabase)

    def close(self) -> None:
        self.sql.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def transaction(self):
        """Run the block as one write transaction; roll back everything if it raises (see ``SqliteSql`` and
        ``PostgresSql``). Raises StoreError when the writer lock is not free in time or the write fails."""
        return self.sql.transaction()


@contextmanager
def read_only(target: str | Path | PostgresDatabase) -> Iterator:
    """A bare connection that can only read: it never creates, migrates or locks the database for writing, so a
    metrics scrape cannot disturb the daemon. Raises one of DATABASE_ERRORS (or StoreError) when it cannot."""
    if isinstance(target, PostgresDatabase):
        sql = PostgresSql(target, read_only=True)
        try:
            yield sql
        finally:
            sql.close()
    else:
        with sqlite_read_only(target) as conn:
            yield conn
