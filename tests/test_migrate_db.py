"""``migrate-db``: a SQLite store copied into PostgreSQL (and back) row for row, in order, and usable after."""

from __future__ import annotations

import pytest
from webdata import CLAIM, NOW, fill, write_site

from conftest import run_cli
from monitor.config.database import PostgresDatabase
from monitor.models import Alert, Verdict
from monitor.store import Store, outbox
from monitor.store.migrate import TABLES

def rows(store: Store) -> dict[str, list[tuple]]:
    """Every table's rows in stored order, without the row numbers each database keeps its own way."""
    found = {}
    for table, order in TABLES:
        cursor = store.sql.execute(f"SELECT * FROM {table} ORDER BY {order}")
        columns = [d[0] for d in cursor.description]
        found[table] = [tuple(v for c, v in zip(columns, row) if c != "rowid") for row in cursor.fetchall()]
    return found


@pytest.mark.postgres
def test_every_row_is_copied_in_order_and_the_copy_carries_on(tmp_path, postgres_url):
    config = write_site(tmp_path)
    fill(tmp_path / "monitor.db", config)
    result = run_cli("migrate-db", "--to", postgres_url, config=config)
    assert result.returncode == 0, result.stderr
    assert "outbox: 2 rows" in result.stdout and "copied" in result.stdout

    target = PostgresDatabase(postgres_url)
    with Store(tmp_path / "monitor.db") as source, Store(target) as copy:
        copied = rows(copy)
        assert copied == rows(source) and copied["hits"] and copied["claim_history"]
        # Alerts leave in the order they were queued, and the history numbers on after the copied entries.
        assert [r.alert_id for r in outbox.due(copy, NOW)] == [r.alert_id for r in outbox.due(source, NOW)]
        with copy.transaction():
            copy.record_transition(CLAIM, Verdict.CONFIRMED, Verdict.REJECTED, NOW, None, None, [])
            outbox.enqueue(copy, Alert("later", CLAIM, None, "claim.state_changed", {}), ["hook"], NOW)
        history = copy.claim_history(CLAIM)
        assert [h.state for h in history][-1] == Verdict.REJECTED and len(history) == len(source.claim_history(CLAIM)) + 1
        assert [r.alert_id for r in outbox.due(copy, NOW)][-1] == "later"

    back = tmp_path / "back.db"
    result = run_cli("--db", postgres_url, "migrate-db", "--to", str(back), config=config)
    assert result.returncode == 0, result.stderr
    with Store(back) as returned, Store(target) as copy:
        assert rows(returned) == rows(copy)


@pytest.mark.postgres
def test_a_target_that_holds_rows_is_refused_and_left_as_it_was(tmp_path, postgres_url):
    config = write_site(tmp_path)
    fill(tmp_path / "monitor.db", config)
    assert run_cli("migrate-db", "--to", postgres_url, config=config).returncode == 0
    with Store(PostgresDatabase(postgres_url)) as copy:
        before = rows(copy)
    again = run_cli("migrate-db", "--to", postgres_url, config=config)
    assert again.returncode != 0 and "is not empty" in again.stderr and "migrate into an empty database" in again.stderr
    with Store(PostgresDatabase(postgres_url)) as copy:
        assert rows(copy) == before


def test_a_password_in_the_url_is_refused_without_being_shown(tmp_path):  # no server needed: refused first
    config = write_site(tmp_path)
    fill(tmp_path / "monitor.db", config)
    result = run_cli("migrate-db", "--to", "postgresql://nm:hunter2@db.example/news", config=config)
    assert result.returncode == 2 and "holds a password" in result.stderr and "hunter2" not in result.stderr
