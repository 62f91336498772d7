"""Copy a whole store into an empty one (``news-monitor migrate-db``): SQLite to PostgreSQL, or back.

Both ends are opened (and so migrated) to the current schema first; the copy is one transaction on the target,
so a failure leaves it as empty as it was. Tables go parents first, rows in the order they were stored: hits
and the outbox by their insertion order, which the outbox's per-claim order and the grouping of hits stored at
one moment depend on; claim history keeps its ids. Afterwards every table's row count is compared.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.errors import StoreError
from monitor.store import Store

# Parents before children (hits refer to stories); each with the order its rows are read in.
TABLES = (("feeds", "name"), ("stories", "seen_at, id"), ("hits", "rowid"), ("claims", "id"),
          ("claim_history", "id"), ("channels", "name"), ("outbox", "rowid"))
BATCH_ROWS = 1000


def row_counts(store: Store) -> dict[str, int]:
    return {table: store.sql.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table, _ in TABLES}


def copy_store(source: Store, target: Store, *, on_table: Callable[[str, int], None] = lambda table, rows: None
               ) -> dict[str, int]:
    """Copy every row of ``source`` into ``target``, which must hold none; returns rows copied per table.
    Raises StoreError when the target is not empty or the counts differ afterwards (the copy is then undone)."""
    held = {table: n for table, n in row_counts(target).items() if n}
    if held:
        listed = ", ".join(f"{n} {table}" for table, n in held.items())
        raise StoreError(f"database {target.path} is not empty ({listed} rows); migrate into an empty database")
    counts = row_counts(source)
    with target.transaction():
        for table, order in TABLES:
            _copy_table(source, target, table, order)
            on_table(table, counts[table])
        copied = row_counts(target)
        if copied != counts:
            raise StoreError(f"copy incomplete: {copied} rows in {target.path}, {counts} in {source.path}")
        if target.is_postgres:  # ids copied explicitly: the next one must follow them
            target.sql.execute("SELECT setval(pg_get_serial_sequence('claim_history', 'id'), "
                               "COALESCE((SELECT MAX(id) FROM claim_history), 0) + 1, false)")
    return counts


def _copy_table(source: Store, target: Store, table: str, order: str) -> None:
    # Only the columns the schema declares: SQLite's implicit rowid is not one, and PostgreSQL numbers its rowid
    # identity column itself, in insertion order.
    columns = [c for c in _columns(source, table) if c != "rowid"]
    listed = ", ".join(columns)
    insert = f"INSERT INTO {table} ({listed}) VALUES ({', '.join('?' for _ in columns)})"
    cursor = source.sql.execute(f"SELECT {listed} FROM {table} ORDER BY {order}")
    while rows := cursor.fetchmany(BATCH_ROWS):
        target.sql.executemany(insert, rows)


def _columns(store: Store, table: str) -> list[str]:
    cursor = store.sql.execute(f"SELECT * FROM {table} LIMIT 0")
    return [d[0] for d in cursor.description]
