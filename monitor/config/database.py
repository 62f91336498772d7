"""What ``monitor.database`` names: a SQLite file (a ``Path``) or a PostgreSQL database (``PostgresDatabase``).

A PostgreSQL URL never holds the password: the config names an environment variable
(``monitor.database_password_env``) and the password is read from it when connecting, so the file can be kept
under version control and no message, page or log line ever shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from monitor.errors import ConfigError, StoreError

URL_SCHEMES = ("postgresql", "postgres")


def is_postgres_url(text: str) -> bool:
    return urlsplit(text).scheme in URL_SCHEMES


@dataclass(frozen=True)
class PostgresDatabase:
    """A PostgreSQL database: its URL (which holds no password) and the password, read from the environment
    variable ``password_env`` when the config was loaded. ``str()`` is the URL without its query."""

    url: str
    password_env: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return shown_url(self.url)

    def conninfo(self) -> dict[str, Any]:
        """What ``psycopg.connect`` takes: the URL, and the password when one is configured."""
        options: dict[str, Any] = {"conninfo": self.url}
        if self.password_env:
            if not self.password:
                raise StoreError(f"cannot open database {self}: environment variable {self.password_env} is not set")
            options["password"] = self.password
        return options


def shown_url(url: str) -> str:
    """The URL as messages and pages show it: scheme, user, host, port and database; never a password or the
    query (where libpq also takes one)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username:
        host = f"{parts.username}@{host}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


CONFIG_PASSWORD_HINT = "set it in an environment variable and name that variable in monitor.database_password_env"


def url_problem(url: str, *, password_hint: str = CONFIG_PASSWORD_HINT) -> str | None:
    """Why ``url`` cannot name the store's PostgreSQL database, in words that never repeat it; None if it can.
    A password belongs in the environment, not in a file kept under version control: ``password_hint`` says
    where it goes instead."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises ValueError for a port that is not a number
    except ValueError:
        return "is not a valid PostgreSQL URL (postgresql://user@host:port/dbname)"
    if parts.password is not None or "password=" in parts.query.lower():
        return f"holds a password; {password_hint}"
    if not parts.path.strip("/"):
        return "names no database (postgresql://user@host:port/dbname)"
    return None


Database = Path | PostgresDatabase


def database_option(text: str) -> Database:
    """What ``--db`` names: a SQLite file or a PostgreSQL URL (whose password, if any, libpq reads from
    ``PGPASSWORD`` or ``~/.pgpass``). Raises ConfigError, in words that never repeat the URL, when a URL is
    unusable."""
    if is_postgres_url(text):
        problem = url_problem(text, password_hint="set it in PGPASSWORD instead")
        if problem:
            raise ConfigError(f"--db: the PostgreSQL URL {problem}")
        return PostgresDatabase(text)
    return Path(text)
