"""PostgreSQL as the store: its connections, their write transactions, and the SQL the queries share.

The query modules are written once, in the SQL both databases accept, with SQLite's parameter marks (``?`` and
``:name``); ``translate`` gives PostgreSQL's form of a statement: ``%s`` / ``%(name)s`` marks, and ``x IS y`` /
``x IS NOT y`` between two values written ``IS [NOT] DISTINCT FROM`` (SQLite's ``IS`` compares NULLs as equal).

Write transactions take one advisory lock for the database (``pg_advisory_xact_lock``) before their first
statement, so writers run one at a time across every process and machine, exactly as SQLite's ``BEGIN IMMEDIATE``
makes them do: every guarantee reasoned for SQLite (one transaction per poll result, the outbox's leases and
order) holds unchanged. Reads run outside transactions (autocommit) and never wait for a writer.

psycopg 3 comes with the ``postgresql`` extra; without it, opening a PostgreSQL database is one clear error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache

from monitor.config.database import PostgresDatabase
from monitor.errors import StoreError

INSTALL_HINT = "pip install 'news-monitor[postgresql]'"

# The key of the advisory lock every write transaction holds: writers queue on it as on SQLite's write lock.
WRITER_LOCK_KEY = 0x6E6D0001
# How long a writer waits for that lock (and any row lock) before its transaction fails with StoreError.
LOCK_TIMEOUT_MS = 30_000


def psycopg_module():
    """psycopg, or StoreError naming the extra that brings it."""
    try:
        import psycopg
    except ImportError:
        raise StoreError(f"a PostgreSQL database needs the postgresql extra: {INSTALL_HINT}") from None
    return psycopg


def database_errors() -> tuple[type[BaseException], ...]:
    """psycopg's base error when it is installed (for callers that catch database failures of either kind)."""
    try:
        import psycopg
    except ImportError:
        return ()
    return (psycopg.Error,)


# --- SQL ---------------------------------------------------------------------------------------------------

_LITERAL_OR_MARK = re.compile(r"""'(?:[^']|'')*'|"[^"]*"|::|\?|(?<![:\w]):([A-Za-z_]\w*)""")
_IS_VALUE = re.compile(r"\bIS(\s+NOT)?\s+(?!NULL\b|NOT\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """PostgreSQL's form of a statement written for SQLite (see the module's docstring). Marks and ``IS`` inside
    quotes are left alone; every ``%`` is doubled, quoted or not, since psycopg reads its marks everywhere (the
    statement always goes with parameters, so psycopg turns ``%%`` back into ``%``)."""
    out, last = [], 0
    for match in _LITERAL_OR_MARK.finditer(sql):
        out.append(_IS_VALUE.sub(_distinct, sql[last:match.start()]).replace("%", "%%"))
        token = match.group(0)
        if token == "?":
            token = "%s"
        elif match.group(1):
            token = f"%({match.group(1)})s"
        else:  # a quoted literal or name, or a cast
            token = token.replace("%", "%%")
        out.append(token)
        last = match.end()
    out.append(_IS_VALUE.sub(_distinct, sql[last:]).replace("%", "%%"))
    return "".join(out)


def _distinct(match: re.Match) -> str:
    return "IS DISTINCT FROM " if match.group(1) else "IS NOT DISTINCT FROM "


# --- connections -------------------------------------------------------------------------------------------


class PostgresSql:
    """One PostgreSQL connection with the interface the query modules use (the same as ``SqliteSql``'s)."""

    def __init__(self, target: PostgresDatabase, *, read_only: bool = False,
                 application_name: str = "news-monitor") -> None:
        psycopg = psycopg_module()
        self.target = target
        self._errors = psycopg.Error
        self._idle = psycopg.pq.TransactionStatus.IDLE
        options = [f"-c lock_timeout={LOCK_TIMEOUT_MS}", "-c client_encoding=UTF8", "-c timezone=UTC"]
        if read_only:
            options.append("-c default_transaction_read_only=on")
        try:
            # Client-side binding: values are quoted into the statement as psycopg2 does, so an untyped NULL
            # parameter (``CASE WHEN ? IS NULL``) needs no cast, and statements are sent as written.
            self.conn = psycopg.connect(**target.conninfo(), autocommit=True, cursor_factory=psycopg.ClientCursor,
                                        options=" ".join(options), connect_timeout=10,
                                        application_name=application_name)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open database {target}: {error_message(exc)}") from None

    def execute(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()):
        return self.conn.execute(translate(sql), params)  # never None: see translate

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        """Run ``sql`` once per row; returns the rows changed."""
        cursor = self.conn.cursor()
        cursor.executemany(translate(sql), list(rows))
        return max(cursor.rowcount, 0)

    def query(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> Iterator[dict]:
        cursor = self.execute(sql, params)
        columns = [column.name for column in cursor.description]
        return (dict(zip(columns, row)) for row in cursor)

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != self._idle

    @contextmanager
    def transaction(self) -> Iterator[PostgresSql]:
        """One write transaction holding the database's writer lock (see the module's docstring); raises
        StoreError when it cannot be had within LOCK_TIMEOUT_MS or the database refuses the writes."""
        if self.in_transaction:
            raise StoreError(f"database write on {self.target} started inside another transaction")
        try:
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITER_LOCK_KEY])
                yield self
        except self._errors as exc:
            raise StoreError(f"database write failed ({self.target}): {error_message(exc)}") from None

    @property
    def usable(self) -> bool:
        """Whether the connection can still be used: not closed, and not broken (the server went away)."""
        return not (self.conn.closed or self.conn.broken)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PostgresSql:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def error_message(exc: BaseException) -> str:
    """psycopg's message, first line: the server's words, without the statement or its values."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
