"""Throw-away PostgreSQL databases for the benches that run the store on PostgreSQL (``--postgres CONNINFO``).

``CONNINFO`` is a libpq connection string of a role that may create databases, such as the one
``.ci/postgres start DIR`` prints.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode


def create(conninfo: str) -> tuple[str, str]:
    """A new, empty database on that server: (its name, its postgresql:// URL)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    name = f"nm_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if k != "dbname"}
    return name, f"postgresql:///{name}?{urlencode(params)}"


def drop(conninfo: str, names: list[str]) -> None:
    import psycopg
    with psycopg.connect(conninfo, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh(conninfo: str) -> Iterator[str]:
    """The URL of a new database, dropped afterwards."""
    name, url = create(conninfo)
    try:
        yield url
    finally:
        drop(conninfo, [name])
