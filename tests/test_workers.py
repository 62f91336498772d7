"""A scheduler and workers on one PostgreSQL database (``monitor.queue``), started for real: jobs polled and
delivered across processes, politeness and rate limits held across them, dead workers' jobs taken back."""

from __future__ import annotations

import pytest

from fault_scenarios import utc_now
from test_delivery_faults import assert_clean
from worker_scenarios import (kill_workers_mid_poll_and_send, postgresql_restart_under_workers,
                              rate_limit_across_workers, reload_across_processes)

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("seed", [3])  # bench/delivery_faults.py --worker-kills runs many seeds
def test_killing_workers_mid_poll_and_mid_send_loses_and_repeats_nothing(tmp_path, postgres_url, seed):
    outcome = kill_workers_mid_poll_and_send(tmp_path, utc_now(), postgres_url, seed=seed)
    extra = outcome.extra
    assert extra["kills"] == ["send", "poll"] and extra["send_open_at_kill"], outcome.describe()
    assert extra["all_delivered"] and extra["all_polled"], outcome.describe()
    assert extra["requeued"] >= 2, outcome.describe()  # the killed poll and the killed send, at least
    assert extra["queued_again"] >= 1, outcome.describe()  # the poll: nothing else would poll its feed again
    assert extra["stuck_jobs"] == 0, outcome.describe()
    assert extra["stories_stored"], outcome.describe()
    assert extra["most_per_host"] <= 2, outcome.describe()  # max_per_host, across every worker
    assert_clean(outcome, "hook")


def test_workers_poll_deliver_report_health_and_reload_with_the_scheduler(tmp_path, postgres_url):
    from faults import free_port

    outcome = reload_across_processes(tmp_path, utc_now(), postgres_url, listen_port=free_port())
    extra = outcome.extra
    assert extra["all_polled"] and extra["delivered"], outcome.describe()
    report = extra["health"]
    assert report and report["status"] == "ok" and report["queue"]["workers"] == 2, outcome.describe()
    assert extra["reloaded"] == 3 and extra["new_feed_polled"], outcome.describe()
    assert_clean(outcome, "hook", resent_allowed=False)


def test_a_channels_rate_limit_holds_across_worker_processes(tmp_path, postgres_url):
    outcome = rate_limit_across_workers(tmp_path, utc_now(), postgres_url)
    extra = outcome.extra
    assert extra["first_two"], outcome.describe()
    assert extra["held"] and extra["posts_while_held"] == 0, outcome.describe()


def test_a_postgresql_restart_under_the_scheduler_and_workers_is_survived(tmp_path):
    import subprocess
    import tempfile
    from pathlib import Path

    import psycopg
    from conftest import REPO
    from pgserver import url as database_url
    from test_ops import own_cluster_missing

    if own_cluster_missing():
        pytest.skip(own_cluster_missing())
    folder = Path(tempfile.mkdtemp(prefix="nm-pg-"))  # not under pytest's root-only tmp: the server's user reads it
    script = str(REPO / ".ci" / "postgres")
    conninfo = subprocess.run([script, "start", str(folder)], capture_output=True, text=True, check=True,
                              timeout=120).stdout.strip()
    try:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("CREATE DATABASE news")
        outcome = postgresql_restart_under_workers(
            tmp_path, utc_now(), database_url(conninfo, "news"),
            lambda: subprocess.run([script, "restart", str(folder)], check=True, timeout=120))
    finally:
        subprocess.run([script, "stop", str(folder)], timeout=120)
        subprocess.run(["rm", "-rf", str(folder)], timeout=60)
    extra = outcome.extra
    assert extra["first"] and extra["second"], outcome.describe()
    assert extra["polled_after"] and extra["workers_after"] == 2, outcome.describe()
    assert_clean(outcome, "hook", resent_allowed=False)
