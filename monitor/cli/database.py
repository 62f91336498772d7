"""``migrate-db``: copy the configured database into another, empty one (SQLite to PostgreSQL, or back)."""

from __future__ import annotations

import click

from monitor.cli import App, cli, counted
from monitor.config.database import database_option


@cli.command("migrate-db")
@click.option("--to", "target_text", required=True, metavar="URL|PATH",
              help="The empty database to copy into: postgresql://user@host:port/dbname or a SQLite file.")
@click.pass_obj
def migrate_db(app: App, target_text: str) -> None:
    """Copy every feed, story, hit, claim state, history entry and queued alert into an empty database.

    Stop the daemon first: the copy holds the database's lock, as the daemon does. The target is created and
    migrated to the current schema; the copy is one transaction, so a failure leaves it empty. The password of
    a PostgreSQL database is read by libpq from PGPASSWORD or ~/.pgpass, never from the URL. Then point
    [monitor] database at the new database.

    \b
    Example:
      PGPASSWORD=… news-monitor migrate-db --to postgresql://newsmonitor@db.example/news
    """
    from monitor.dblock import hold
    from monitor.store import Store
    from monitor.store.migrate import copy_store

    source_db = app.reading().database
    target_db = database_option(target_text)
    if str(target_db) == str(source_db):
        raise click.UsageError("--to names the database being copied")
    with hold(source_db, "migrate-db"), Store(source_db, create=False) as source, Store(target_db) as target:
        copied = copy_store(source, target, on_table=lambda table, rows: click.echo(
            f"{table}: {counted(rows, 'row')}"))
    click.echo(f"copied {counted(sum(copied.values()), 'row')} from {source_db} to {target_db}; set [monitor] "
               f"database = \"{target_text}\" in the config to use it")
