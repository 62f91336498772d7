"""What the per-table query modules share: the base class ``Store`` mixes them into, and bound-list chunking."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

_IN_LIST_SIZES = (8, 32, 128, 512)  # the lengths of the ``IN (?, …)`` lists queries use


def in_lists(values: list[str]) -> Iterator[tuple[list[str | None], str]]:
    """``values`` in chunks small enough for SQLite's bound-parameter limit, each with its ``?,?,…`` list,
    padded with NULLs (which match nothing) to one of a few lengths: every connection keeps its prepared
    statements, and one per list length seen (each poll has its own number of stories and claims) held
    megabytes across the polling threads."""
    size = _IN_LIST_SIZES[-1]
    for start in range(0, len(values), size):
        chunk: list[str | None] = list(values[start:start + size])
        padded = next(n for n in _IN_LIST_SIZES if n >= len(chunk))
        chunk += [None] * (padded - len(chunk))
        yield chunk, ",".join("?" * padded)


class Queries:
    """The connection every query module reads and writes through (``Store`` opens it: ``SqliteSql`` or
    ``PostgresSql``, which take the same SQL)."""

    sql: object

    def _dicts(self, sql: str, params: Sequence[object] = ()) -> Iterator[dict]:
        """The rows of a query as dicts keyed by column name."""
        return self.sql.query(sql, params)
