"""The PostgreSQL store: the same schema as SQLite's, its SQL translation, migrations, and writers in turn."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from monitor.config.database import PostgresDatabase, database_option, shown_url, url_problem
from monitor.daemon.health import check_health, database_problem
from monitor.errors import ConfigError, NoDatabaseError, StoreError
from monitor.store import Store, postgres_schema
from monitor.store.postgres import PostgresSql, translate
from monitor.store.schema import MIGRATIONS


def test_translate_rewrites_marks_and_is_but_never_inside_quotes():
    assert translate("SELECT a FROM t WHERE b = ? AND c IS :c AND d IS NOT ? AND e IS NULL AND f IS NOT NULL") == \
        ("SELECT a FROM t WHERE b = %s AND c IS NOT DISTINCT FROM %(c)s AND d IS DISTINCT FROM %s "
         "AND e IS NULL AND f IS NOT NULL")
    assert translate("SELECT 'is ? :x 50%' AS \"w?\", x::text, g % 2 FROM t") == \
        "SELECT 'is ? :x 50%%' AS \"w?\", x::text, g %% 2 FROM t"


def test_a_url_with_a_password_or_without_a_database_is_refused_without_repeating_it():
    assert url_problem("postgresql://nm@db.example/news") is None
    for url in ("postgresql://nm:hunter2@db.example/news", "postgresql://nm@db.example/news?password=hunter2"):
        problem = url_problem(url)
        assert "password" in problem and "hunter2" not in problem and "database_password_env" in problem
    assert "names no database" in url_problem("postgresql://nm@db.example")
    with pytest.raises(ConfigError) as refused:
        database_option("postgresql://nm:hunter2@db.example/news")
    assert "hunter2" not in str(refused.value) and "PGPASSWORD" in str(refused.value)
    assert shown_url("postgresql://nm@db.example:5433/news?sslmode=require") == "postgresql://nm@db.example:5433/news"


def _sqlite_columns(path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    types = {"TEXT": "text", "INTEGER": "bigint", "REAL": "double precision"}
    found = {t: [(c[1], types[c[2]], bool(c[3]), c[5] > 0) for c in conn.execute(f"PRAGMA table_info({t})")
                 if c[1] != "rowid"] for t in tables}
    conn.close()
    return found


def _postgres_columns(sql: PostgresSql) -> dict[str, list[tuple]]:
    keys = {(r[0], r[1]) for r in sql.execute(
        """SELECT k.table_name, k.column_name FROM information_schema.key_column_usage k
           JOIN information_schema.table_constraints c ON c.constraint_name = k.constraint_name
           WHERE c.constraint_type = 'PRIMARY KEY' AND k.table_schema = 'public'""")}
    found: dict[str, list[tuple]] = {}
    for table, column, kind, nullable in sql.execute(
            """SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
               WHERE table_schema = 'public' AND table_name != 'news_monitor_schema' AND column_name != 'rowid'
               ORDER BY table_name, ordinal_position"""):
        found.setdefault(table, []).append((column, kind, nullable == "NO", (table, column) in keys))
    return found


@pytest.mark.postgres
def test_both_databases_get_the_same_tables_columns_and_keys(tmp_path, postgres_url):
    """Column by column: name, type, NOT NULL and primary key. Primary key columns are NOT NULL on PostgreSQL
    whether declared or not, so that flag is compared on the other columns."""
    Store(tmp_path / "schema.db").close()
    with Store(PostgresDatabase(postgres_url)) as store:
        on_postgres = _postgres_columns(store.sql)
        assert postgres_schema.version(store.sql) == len(postgres_schema.MIGRATIONS) == len(MIGRATIONS)
    on_sqlite = _sqlite_columns(tmp_path / "schema.db")
    assert sorted(on_postgres) == sorted(on_sqlite)
    for table, columns in on_sqlite.items():
        def comparable(cols):
            return [(name, kind, notnull and not key, key) for name, kind, notnull, key in cols]
        assert comparable(on_postgres[table]) == comparable(columns), table


@pytest.mark.postgres
def test_migrations_run_once_and_a_newer_database_is_refused(postgres_url):
    database = PostgresDatabase(postgres_url)
    Store(database).close()
    Store(database).close()  # a second run of migration 1 would fail: its tables exist
    with Store(database) as store:
        store.sql.execute("UPDATE news_monitor_schema SET version = ?", [len(MIGRATIONS) + 1])
    with pytest.raises(StoreError, match="newer than this news-monitor understands"):
        Store(database)


@pytest.mark.postgres
def test_a_failed_transaction_writes_nothing_and_a_nested_one_fails_at_once(postgres_url):
    with Store(PostgresDatabase(postgres_url)) as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.sql.execute("INSERT INTO claims (id, state, since_at) VALUES (?, ?, ?)",
                                  ["deal", "pending", "2026-01-01T00:00:00.000000Z"])
                raise RuntimeError("crash")
        assert store.sql.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0
        with store.transaction():
            with pytest.raises(StoreError, match="inside another transaction"):
                with store.transaction():
                    pass
        with pytest.raises(StoreError, match="database write failed"):
            with store.transaction():
                store.sql.execute("INSERT INTO nowhere VALUES (1)")


@pytest.mark.postgres
def test_writers_in_other_connections_wait_for_the_one_writing(postgres_url):
    """A second connection's write transaction waits for the first's to end (the writers' advisory lock), so a
    read-then-write in one transaction is never interleaved with another's."""
    database = PostgresDatabase(postgres_url)
    first, second, watcher = Store(database), Store(database), PostgresSql(database)
    order: list[str] = []

    def other_writer():
        with second.transaction():
            order.append("second")

    with first.transaction():
        first.sql.execute("SELECT 1")
        thread = threading.Thread(target=other_writer)
        thread.start()
        for _ in range(1000):  # until the other writer is seen waiting on a lock (or has not waited at all)
            waiting = watcher.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND datname = current_database()").fetchone()[0]
            if waiting or order:
                break
            threading.Event().wait(0.01)
        order.append("first")
    thread.join(10)
    assert order == ["first", "second"]
    for store in (first, second, watcher):
        store.close()


@pytest.mark.postgres
def test_a_database_that_cannot_be_reached_is_one_clear_error_without_the_password(tmp_path):
    database = PostgresDatabase(f"postgresql://nm@/news?host={tmp_path}", password_env="NM_DB_PASSWORD",
                                password="hunter2")
    with pytest.raises(StoreError) as failed:
        Store(database)
    assert str(failed.value).startswith("cannot open database postgresql://nm@/news") and "hunter2" not in \
        str(failed.value)
    with pytest.raises(StoreError, match="NM_DB_PASSWORD is not set"):
        Store(PostgresDatabase("postgresql://nm@db.example/news", password_env="NM_DB_PASSWORD"))


@pytest.mark.postgres
def test_the_health_probe_takes_the_writers_lock_and_says_why_it_cannot(postgres_url):
    database = PostgresDatabase(postgres_url)
    assert database_problem(database) == f"database {database} holds no news-monitor tables"
    Store(database).close()
    assert database_problem(database) is None
    with Store(database) as writer, writer.transaction():  # a writer that holds on
        problem = database_problem(database, timeout=0.2)
    assert problem.startswith(f"database {database} is not writable: ") and "lock timeout" in problem
    assert database_problem(database) is None
    healthy, reason = check_health(None, database)  # `healthcheck` without a listen address
    assert healthy and reason == f"database {database} is writable"


@pytest.mark.postgres
def test_a_read_of_a_database_without_tables_creates_nothing_and_says_so(postgres_url):
    database = PostgresDatabase(postgres_url)
    with pytest.raises(NoDatabaseError, match="has the daemon run yet"):
        Store(database, create=False)
    with PostgresSql(database) as sql:
        assert postgres_schema.version(sql) is None  # nothing was created
    Store(database).close()
    with Store(database, create=False) as store:
        assert store.feed_states() == []
