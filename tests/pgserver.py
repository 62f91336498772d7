"""A throw-away PostgreSQL database per test, on the server NEWS_MONITOR_TEST_POSTGRES names.

That variable holds a libpq connection string for a role that may create databases (``.ci/postgres start DIR``
prints one for a local cluster). Without it the ``postgres`` tests are skipped with one reason line;
NEWS_MONITOR_REQUIRE_POSTGRES=1 (set in CI) makes them fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

SERVER_ENV = "NEWS_MONITOR_TEST_POSTGRES"
REQUIRE_ENV = "NEWS_MONITOR_REQUIRE_POSTGRES"


def server() -> str | None:
    return os.environ.get(SERVER_ENV) or None


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def missing_reason() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None when they can."""
    if server() is None:
        return f"no PostgreSQL server to test on: {SERVER_ENV} is not set (see .ci/postgres)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    return None


def url(conninfo: str, dbname: str) -> str:
    """A postgresql:// URL for ``dbname`` on the server ``conninfo`` names (its other parameters in the query)."""
    from psycopg.conninfo import conninfo_to_dict

    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if k != "dbname"}
    return f"postgresql:///{dbname}?{urlencode(params)}"


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped (with any connection left open to it) afterwards."""
    import psycopg

    conninfo = server()
    assert conninfo, missing_reason()
    name = f"nm_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url(conninfo, name)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
