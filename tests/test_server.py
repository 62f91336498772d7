"""/healthz and /metrics over real loopback HTTP, against a real SQLite file made by Store."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from monitor import metrics, retry

from monitor.store import outbox
from monitor.models import Alert
from monitor.backlog import channel_health
from monitor.daemon.health import HealthServer, check_health, database_problem, healthz_url
from monitor.store import Store, read_only

REPO = Path(__file__).resolve().parents[1]
NOW = 1_800_000_000.0


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.db"
    Store(path).close()
    return path


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def serve(database: Path):
    """Start a HealthServer on 127.0.0.1:0 with an injected clock and tick; yields a factory."""
    started: list[HealthServer] = []

    def start(*, last_tick: float | None = NOW, clock: Clock | None = None, config_error: str | None = None,
              db: Path = database, lock_timeout_seconds: float = 0.2, channels=list) -> tuple[HealthServer, str]:
        server = HealthServer("127.0.0.1:0", database=db, last_tick=lambda: last_tick,
                              max_tick_age_seconds=60, config_error=lambda: config_error, clock=clock or Clock(),
                              lock_timeout_seconds=lock_timeout_seconds, channels=channels)
        server.start()
        started.append(server)
        return server, f"http://127.0.0.1:{server.port}"

    yield start
    for server in started:
        server.stop()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def alert(n: int) -> Alert:
    return Alert(id=f"alert-{n}", claim_id="deal", story_id=None, kind="claim.overdue", payload={"n": n})


# --- /healthz ------------------------------------------------------------------------------------------------


def test_healthy_daemon_answers_200_with_details(serve):
    server, base = serve(last_tick=NOW - 5)
    response = requests.get(f"{base}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "last_tick_age_seconds": 5.0, "config_error": None, "channels": {}}
    assert server.port > 0


def test_a_channel_behind_with_its_alerts_makes_the_daemon_degraded_not_unhealthy(serve, database):
    queued = datetime.fromtimestamp(NOW, timezone.utc) - timedelta(seconds=400)
    with Store(database) as store:
        outbox.enqueue(store, alert(1), ["hook", "chat"], queued)
        [row] = outbox.due(store, queued, channel="hook")
        outbox.record_failure(store, row, queued, "webhook answered HTTP 503 Service Unavailable",
                              retry.Decision("pending", queued + timedelta(hours=1)))
        outbox.pause_channel(store, "hook", queued + timedelta(hours=1), "HTTP 503")
        [row] = outbox.due(store, queued, channel="chat")
        outbox.mark_sent(store, row, queued)
    limits = {"hook": 300.0, "chat": 300.0, "quiet": 300.0}

    def health():
        with read_only(database) as conn:
            return channel_health(conn, limits, datetime.fromtimestamp(NOW, timezone.utc))

    _, base = serve(channels=health)
    response = requests.get(f"{base}/healthz", timeout=5)
    assert response.status_code == 200  # a restart would not make the receiver answer
    body = response.json()
    assert body["status"] == "degraded"
    assert body["reason"] == ("delivery behind on hook: 1 alert waiting for 400 s (paused: webhook answered "
                              "HTTP 503 Service Unavailable)")
    assert body["channels"]["hook"]["state"] == "paused" and body["channels"]["hook"]["pending"] == 1
    assert body["channels"]["chat"]["state"] == body["channels"]["quiet"]["state"] == "ok"

    limits["hook"] = 500.0  # the same wait within a longer limit is not behind
    assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"


def test_channel_states_say_why_a_channel_is_behind(database):
    at = datetime.fromtimestamp(NOW, timezone.utc)
    old = at - timedelta(minutes=10)
    with Store(database) as store:
        for name in ("stuck", "held", "gone"):
            outbox.enqueue(store, Alert(f"{name}-1", "deal", None, "claim.overdue", {}), [name], old)
            outbox.enqueue(store, Alert(f"{name}-2", "deal", None, "claim.overdue", {}), [name], old)
        first = outbox.due(store, old, channel="held")[0]
        outbox.record_failure(store, first, old, "HTTP 422", retry.Decision("dead", old))
        outbox.disable_channel(store, "gone", "fp", "webhook answered HTTP 410 Gone", old)
    with read_only(database) as conn:
        found = {h.name: h for h in channel_health(conn, {"stuck": 60, "held": 60, "gone": 3600}, at)}
    assert found["stuck"].state == "stuck" and found["stuck"].pending == 2
    assert (found["held"].state, found["held"].held_back, found["held"].dead) == ("held", 1, 1)
    assert found["gone"].state == "disabled"  # at once, whatever the limit: nothing goes until the URL changes
    assert found["gone"].last_error == "webhook answered HTTP 410 Gone"


def test_old_tick_is_unhealthy(serve):
    _, base = serve(last_tick=NOW - 61)
    response = requests.get(f"{base}/healthz", timeout=5)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["reason"] == "scheduler last ticked 61 s ago (limit 60 s)"


def test_health_follows_the_clock(serve):
    clock = Clock()
    _, base = serve(last_tick=NOW, clock=clock)
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    clock.now += 120
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 503


def test_no_tick_yet_is_healthy_only_during_the_start_up_grace(serve):
    clock = Clock()
    _, base = serve(last_tick=None, clock=clock)
    assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
    clock.now += 61
    response = requests.get(f"{base}/healthz", timeout=5)
    assert response.status_code == 503
    assert "not ticked since start-up" in response.json()["reason"]


def test_failed_reload_is_reported_but_not_unhealthy(serve):
    _, base = serve(config_error="claims[0].min_score: must be between 0 and 100")
    response = requests.get(f"{base}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json()["config_error"] == "claims[0].min_score: must be between 0 and 100"


def test_database_write_locked_by_a_stuck_writer_is_unhealthy(serve, database):
    # A real condition that makes the database unwritable even for root: another connection holds the write
    # lock. The probe's BEGIN IMMEDIATE waits for it (here 0.2 s) and gives up.
    _, base = serve()
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        response = requests.get(f"{base}/healthz", timeout=5)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 503
    assert "database is locked" in response.json()["reason"]
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200


def test_missing_database_is_unhealthy_and_not_created(serve, tmp_path):
    missing = tmp_path / "gone" / "monitor.db"
    _, base = serve(db=missing)
    response = requests.get(f"{base}/healthz", timeout=5)
    assert response.status_code == 503
    assert response.json()["reason"] == f"database {missing} does not exist"
    assert not missing.parent.exists()


def test_both_problems_are_reported(serve, tmp_path):
    _, base = serve(last_tick=NOW - 600, db=tmp_path / "none.db")
    reason = requests.get(f"{base}/healthz", timeout=5).json()["reason"]
    assert reason.startswith("scheduler last ticked 600 s ago") and "does not exist" in reason


READ_ONLY_PROBE = """
import json, sys
from pathlib import Path
from monitor.daemon.health import HealthServer, check_health
db = Path(sys.argv[1])
server = HealthServer("127.0.0.1:0", database=db, last_tick=lambda: 1e12, max_tick_age_seconds=1e12,
                      clock=lambda: 1e12)
server.start()
try:
    print(json.dumps({"direct": check_health(None, db),
                      "http": check_health(f"http://127.0.0.1:{server.port}/healthz", db)}))
finally:
    server.stop()
"""


def run_as_unprivileged(database: Path) -> dict:
    """Run the probe in a process that file permissions apply to.

    Root ignores permission bits (CAP_DAC_OVERRIDE), so chmod alone proves nothing in CI, which runs as root.
    As root, the probe runs with the capabilities that bypass permissions dropped from its bounding set
    (``setpriv``, util-linux), so the kernel refuses the write exactly as it would for the daemon's own
    user; the python it runs stays readable (root still owns it). As another user, chmod is enough.
    """
    command = [sys.executable, "-c", READ_ONLY_PROBE, str(database)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's permission override for this test"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner,-linux_immutable", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def shared_folder():
    """A folder the unprivileged probe can enter (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="news-monitor-ro-"))
    folder.chmod(0o755)
    yield folder
    folder.chmod(0o755)
    shutil.rmtree(folder)


def test_read_only_database_is_unhealthy(shared_folder):
    database = shared_folder / "monitor.db"
    Store(database).close()
    # Control: the same probe, same process set-up, on the writable file says healthy; so the failure below
    # comes from the permissions and nothing else.
    assert run_as_unprivileged(database) == {"direct": [True, f"database {database} is writable"],
                                             "http": [True, "ok"]}

    database.chmod(0o444)
    shared_folder.chmod(0o555)  # nor may the WAL and shared-memory files be created beside it
    result = run_as_unprivileged(database)
    assert result["direct"][0] is False and "readonly database" in result["direct"][1]
    assert result["http"][0] is False and "readonly database" in result["http"][1]


def test_database_problem_on_a_directory(tmp_path):
    assert database_problem(tmp_path) == f"database {tmp_path} is not a file"


# --- /metrics ------------------------------------------------------------------------------------------------


def test_metrics_exposes_counters_and_database_gauges(serve, database):
    metrics.bind_database(database, feeds=["bad-feed", "good-feed"], channels={"hook": 60, "slack": 600})
    before = samples(requests.get(f"{serve()[1]}/metrics", timeout=5).text)
    metrics.fetch("ok")
    metrics.fetch("error")
    metrics.stories(3)
    metrics.hit("confirmed")
    metrics.state_change("confirmed")
    metrics.delivery("sent", 2)
    metrics.reload(False, NOW)
    metrics.tick(NOW + 1)

    now = datetime.now(timezone.utc)
    with Store(database) as store:
        outbox.enqueue(store, alert(1), ["hook", "slack"], now - timedelta(seconds=120))
        outbox.enqueue(store, alert(2), ["hook"], now)
        outbox.enqueue(store, alert(3), ["hook"], now - timedelta(days=4))
        for row in outbox.due(store, now):
            if row.alert_id == "alert-2":
                outbox.mark_sent(store, row, now)
            elif row.alert_id == "alert-3":  # failing after three days: dead
                decision = retry.decide(attempts=row.attempts + 1, retry_after=None,
                                        created_at=row.budget_since, now=now)
                assert decision.status == "dead"
                outbox.record_failure(store, row, now, "down", decision)
        store.record_feed_error("bad-feed", "https://bad.example.com/rss", now, "timeout")
        store.record_feed_error("bad-feed", "https://bad.example.com/rss", now, "timeout")
        store.record_feed_ok("good-feed", "https://good.example.com/rss", now, etag=None, last_modified=None)
        store.record_feed_error("removed-feed", "https://old.example.com/rss", now, "gone")

    response = requests.get(f"{serve()[1]}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    after = samples(response.text)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after[key] - before.get(key, 0.0)

    assert delta("news_monitor_fetches_total", result="ok") == 1
    assert delta("news_monitor_fetches_total", result="error") == 1
    assert delta("news_monitor_fetches_total", result="unchanged") == 0  # present before its first event
    assert delta("news_monitor_stories_total") == 3
    assert delta("news_monitor_hits_total", verdict="confirmed") == 1
    assert delta("news_monitor_claim_state_changes_total", state="confirmed") == 1
    assert delta("news_monitor_delivery_attempts_total", result="sent") == 2
    assert delta("news_monitor_config_reloads_total", result="failure") == 1
    assert after[("news_monitor_config_last_reload_success", ())] == 0
    assert after[("news_monitor_config_last_reload_timestamp_seconds", ())] == NOW
    assert after[("news_monitor_scheduler_last_tick_timestamp_seconds", ())] == NOW + 1

    assert after[("news_monitor_database_up", ())] == 1
    assert after[("news_monitor_outbox_alerts", (("status", "pending"),))] == 2
    assert after[("news_monitor_outbox_alerts", (("status", "sent"),))] == 1
    assert after[("news_monitor_outbox_alerts", (("status", "dead"),))] == 1
    assert 119 < after[("news_monitor_outbox_oldest_pending_age_seconds", ())] < 600
    assert after[("news_monitor_feeds_failing", ())] == 1  # removed-feed is no longer configured
    assert after[("news_monitor_feed_consecutive_errors", (("feed", "bad-feed"),))] == 2
    assert after[("news_monitor_feed_consecutive_errors", (("feed", "good-feed"),))] == 0
    assert ("news_monitor_feed_consecutive_errors", (("feed", "removed-feed"),)) not in after
    assert after[("news_monitor_feed_last_success_timestamp_seconds", (("feed", "good-feed"),))] == \
        pytest.approx(now.timestamp())
    assert after[("news_monitor_channel_stuck", (("channel", "hook"),))] == 1  # 120 s waiting, limit 60 s
    assert after[("news_monitor_channel_stuck", (("channel", "slack"),))] == 0  # the same wait, limit 600 s
    assert 119 < after[("news_monitor_channel_oldest_pending_age_seconds", (("channel", "slack"),))] < 600


def test_empty_outbox_reports_zeros(serve, database):
    metrics.bind_database(database)
    after = samples(requests.get(f"{serve()[1]}/metrics", timeout=5).text)
    assert after[("news_monitor_outbox_alerts", (("status", "pending"),))] == 0
    assert after[("news_monitor_outbox_oldest_pending_age_seconds", ())] == 0
    assert after[("news_monitor_feeds_failing", ())] == 0


def test_unreadable_database_gives_database_up_0_not_a_failed_scrape(serve, tmp_path):
    metrics.bind_database(tmp_path / "missing.db")
    response = requests.get(f"{serve()[1]}/metrics", timeout=5)
    assert response.status_code == 200
    after = samples(response.text)
    assert after[("news_monitor_database_up", ())] == 0
    assert ("news_monitor_fetches_total", (("result", "ok"),)) in after
    assert not (tmp_path / "missing.db").exists()


def test_metrics_speaks_openmetrics_when_asked(serve, database):
    metrics.bind_database(database)
    response = requests.get(f"{serve()[1]}/metrics", timeout=5,
                            headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_process_metrics_are_opt_in(serve):
    _, base = serve()
    assert "process_resident_memory_bytes" not in requests.get(f"{base}/metrics", timeout=5).text
    metrics.enable_process_metrics()
    metrics.enable_process_metrics()  # twice is harmless
    try:
        text = requests.get(f"{base}/metrics", timeout=5).text
        assert "process_resident_memory_bytes" in text and "python_info" in text
    finally:
        from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            metrics.REGISTRY.unregister(collector)


def test_ipv6_loopback(database):
    server = HealthServer("[::1]:0", database=database, last_tick=lambda: NOW, max_tick_age_seconds=60,
                          clock=Clock())
    server.start()
    try:
        assert check_health(f"http://[::1]:{server.port}/healthz", database) == (True, "ok")
    finally:
        server.stop()


def test_unknown_paths_are_404_and_requests_are_not_logged_at_info(serve, caplog):
    _, base = serve()
    with caplog.at_level(logging.INFO, logger="monitor"):
        assert requests.get(f"{base}/", timeout=5).status_code == 404
        assert requests.get(f"{base}/healthz/../admin", timeout=5).status_code == 404
        assert requests.get(f"{base}/healthz?verbose=1", timeout=5).status_code == 200
    assert not [r for r in caplog.records if "GET" in r.getMessage()]


# --- check_health (news-monitor healthcheck) ---------------------------------------------------------------


def test_check_health_through_the_endpoint(serve):
    _, base = serve()
    assert check_health(f"{base}/healthz", Path("/nonexistent")) == (True, "ok")
    _, stale = serve(last_tick=NOW - 3600, config_error="bad toml")
    ok, reason = check_health(f"{stale}/healthz", Path("/nonexistent"))
    assert not ok
    assert reason == "scheduler last ticked 3600 s ago (limit 60 s) (config reload failed: bad toml)"


def test_check_health_when_nothing_listens(serve):
    server, base = serve()
    server.stop()
    ok, reason = check_health(f"{base}/healthz", Path("/nonexistent"))
    assert not ok and reason.startswith(f"cannot reach {base}/healthz")


def test_check_health_refuses_non_loopback_urls(database):
    assert check_health("http://192.0.2.1:9464/healthz", database) == (
        False, "refusing to check http://192.0.2.1:9464/healthz: not a loopback address")


def test_check_health_ignores_proxy_settings(serve, monkeypatch):
    _, base = serve()
    monkeypatch.setenv("http_proxy", "http://192.0.2.1:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://192.0.2.1:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert check_health(f"{base}/healthz", Path("/nonexistent")) == (True, "ok")


def test_check_health_from_the_database(database, tmp_path):
    assert check_health(None, database) == (True, f"database {database} is writable")
    assert check_health(None, tmp_path / "nope.db") == (False, f"database {tmp_path / 'nope.db'} does not exist")




@pytest.mark.parametrize(("listen", "url"), [
    ("127.0.0.1:9464", "http://127.0.0.1:9464/healthz"),
    ("0.0.0.0:9464", "http://127.0.0.1:9464/healthz"),
    ("[::]:9464", "http://[::1]:9464/healthz"),
    (":9464", "http://127.0.0.1:9464/healthz"),
])
def test_healthz_url(listen, url):
    assert healthz_url(listen) == url
