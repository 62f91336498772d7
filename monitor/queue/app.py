"""The job queue: a procrastinate app on the config's PostgreSQL database, its two tasks, and its tables.

The tasks run in a worker process, through the handlers it registers (``handle``); the scheduler only defers
them. Both sides create the queue's tables on first use (``ensure_schema``), once, in a transaction holding the
writers' lock: procrastinate's own (all prefixed ``procrastinate_``, in the database's default schema beside
news-monitor's), ``news_monitor_queue`` (the version) and ``news_monitor_hosts`` (``hosts``). procrastinate's
schema has no version of its own in the database, so the version that created it is recorded, and a different
minor version is refused with a message instead of running against tables it may not match.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Any

from monitor.config.database import PostgresDatabase
from monitor.errors import StoreError
from monitor.store.postgres import PostgresSql

INSTALL_HINT = "pip install 'news-monitor[workers]'"
POLL_TASK = "poll"
DELIVER_TASK = "deliver"
QUEUE = "monitor"

_handlers: dict[str, Callable[..., None]] = {}


def procrastinate_module():
    """procrastinate, or StoreError naming the extra that brings it."""
    try:
        import procrastinate
    except ImportError:
        raise StoreError(f"workers need the workers extra: {INSTALL_HINT}") from None
    return procrastinate


def handle(task_name: str, handler: Callable[..., None]) -> None:
    """Run ``handler(**job arguments)`` for the jobs of ``task_name`` taken in this process (a worker's)."""
    _handlers[task_name] = handler


def _run(task_name: str, **kwargs: Any) -> None:
    handler = _handlers.get(task_name)
    if handler is None:
        raise RuntimeError(f"no handler for {task_name} jobs in this process")
    handler(**kwargs)


def build_app(database: PostgresDatabase):
    """A procrastinate app on ``database`` with the ``poll`` and ``deliver`` tasks (not yet opened)."""
    procrastinate = procrastinate_module()
    options = database.conninfo()
    conninfo = options.pop("conninfo")
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=conninfo, kwargs={**options, "application_name": "news-monitor queue"}))

    # No retries of their own: a failed poll is recorded on its feed and polled on its interval; a failed send
    # is retried by the outbox's schedule. A job only fails on a bug, which is logged with its traceback.
    @app.task(name=POLL_TASK, queue=QUEUE)
    def poll(feed: str) -> None:
        _run(POLL_TASK, feed=feed)

    @app.task(name=DELIVER_TASK, queue=QUEUE)
    def deliver(channel: str) -> None:
        _run(DELIVER_TASK, channel=channel)

    return app


def ensure_schema(database: PostgresDatabase) -> None:
    """Create the queue's tables if they are missing; StoreError when they were made by another minor version
    of procrastinate than the one installed."""
    procrastinate = procrastinate_module()
    installed = _minor(metadata.version("procrastinate"))
    with PostgresSql(database, application_name="news-monitor queue setup") as sql:
        with sql.transaction():
            if sql.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
                # Sent as it is, not through ``execute``: the schema's own SQL must not be read for parameters.
                sql.conn.execute(procrastinate.schema.SchemaManager.get_schema())
            sql.execute("CREATE TABLE IF NOT EXISTS news_monitor_queue (procrastinate_version TEXT NOT NULL)")
            row = sql.execute("SELECT procrastinate_version FROM news_monitor_queue").fetchone()
            if row is None:
                sql.execute("INSERT INTO news_monitor_queue VALUES (?)", [installed])
            elif row[0] != installed:
                raise StoreError(
                    f"the job queue's tables in {database} were made by procrastinate {row[0]}, and "
                    f"procrastinate {installed} is installed: apply procrastinate's migrations between them "
                    f"(see its docs), then set news_monitor_queue.procrastinate_version to {installed!r}")
            sql.execute("""CREATE TABLE IF NOT EXISTS news_monitor_hosts (
                               host TEXT COLLATE "C" PRIMARY KEY,
                               timeouts INTEGER NOT NULL DEFAULT 0,
                               backoff_until TIMESTAMPTZ,
                               last_start TIMESTAMPTZ)""")


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
