"""Delivery you can trust: retries, signatures, 429/410/3xx, rate limits, a killed deliverer. Real loopback HTTP."""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from conftest import REPO, run_cli, utc, write_config
from monitor import retry
from monitor.store import outbox
from monitor.config import load_config
from monitor.models import Alert
from monitor.delivery import deliver_due, lease_seconds
from monitor.runtime import Context
from monitor.ratelimit import RateLimiter
from monitor.store import Store, from_db_time

NOW = utc(2026, 11, 27, 12, 0)
SECRET_OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
SECRET_NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()


class Receiver(ThreadingHTTPServer):
    """A webhook receiver whose behaviour per request comes from a script: an int status, "slow" (answer after
    the sender's timeout), or "reset" (read the body, then drop the connection). Records what it read."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list = []
        self.received: list[tuple[dict, bytes]] = []
        self.release = threading.Event()
        self.arrived = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def delivered_ids(self) -> list[str]:
        """Alert ids as a receiver that dedupes on webhook-id sees them, in arrival order."""
        seen: list[str] = []
        for headers, _ in self.received:
            if headers["webhook-id"] not in seen:
                seen.append(headers["webhook-id"])
        return seen


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server: Receiver = self.server  # type: ignore[assignment]
        server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        server.arrived.set()
        action = server.script.pop(0) if server.script else 200
        if action == "slow":
            server.release.wait(5)
            action = 200
        if action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            return
        status, headers = (action, {}) if isinstance(action, int) else action
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook():
    server = Receiver()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def setup(tmp_path, hook, database_setting):
    def build(secrets=(SECRET_NEW,), **channel):
        env = {"HOOK_SECRET": " ".join(secrets)}
        document = {"monitor": {"database": database_setting, "allow_private_networks": True},
                    "claims": [{"id": "deal", "text": "Acme and Globex sign the merger agreement"},
                               {"id": "vote", "text": "The senate passes the budget bill"}],
                    "channels": [{"name": "hook", "kind": "webhook", "url": hook.url, "timeout_seconds": 1,
                                  "secret_env": "HOOK_SECRET", **channel}]}
        config = load_config(write_config(tmp_path, document), environ=env)
        return config, Context.build(config), Store(config.database)
    return build


def queue(store, claim_id: str, n: int, at=NOW) -> list[str]:
    ids = []
    with store.transaction():
        for i in range(n):
            alert = Alert(id=f"{claim_id}-{i}", claim_id=claim_id, story_id=None, kind="claim.overdue",
                          payload={"type": "claim.overdue", "version": 1, "id": f"{claim_id}-{i}", "seq": i,
                                   "claim": {"id": claim_id, "text": claim_id}, "state": "pending",
                                   "previous_state": "pending", "expect_by": "2026-01-01", "evidence": []})
            outbox.enqueue(store, alert, ["hook"], at)
            ids.append(alert.id)
    return ids


def run_until_empty(ctx, store, start, step=timedelta(hours=1), rounds=100):
    at = start
    for _ in range(rounds):
        deliver_due(ctx, store, at, sleep=lambda s: None)
        if outbox.counts(store)["pending"] == 0:
            return at
        at += step
    raise AssertionError(f"outbox not empty: {outbox.counts(store)}")


def test_flaky_receiver_gets_every_alert_in_order_once_with_valid_signatures(setup, hook):
    config, ctx, store = setup(secrets=(SECRET_NEW, SECRET_OLD))  # a secret rotation in progress
    ids = queue(store, "deal", 3) + queue(store, "vote", 2)
    hook.script = [500, "reset", "slow", 503, 502, 500]
    run_until_empty(ctx, store, NOW, step=timedelta(minutes=30))

    assert sorted(hook.delivered_ids()) == sorted(ids)  # every alert, each id once after dedupe
    order = hook.delivered_ids()
    assert [i for i in order if i.startswith("deal")] == ids[:3]  # order kept per claim
    assert [i for i in order if i.startswith("vote")] == ids[3:]
    assert outbox.counts(store) == {"pending": 0, "sent": 5, "dead": 0}
    for secret in (SECRET_NEW, SECRET_OLD):  # either secret verifies every request, retries included
        for headers, body in hook.received:
            assert Webhook(secret).verify(body, headers)["id"] == headers["webhook-id"]
    wrong = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(wrong).verify(hook.received[0][1], hook.received[0][0])
    first = [h["webhook-id"] for h, _ in hook.received]
    assert len(first) > 5  # there were retries, and they carried the same ids


def test_a_read_timeout_is_retried_with_the_same_id(setup, hook):
    config, ctx, store = setup()
    [alert_id] = queue(store, "deal", 1)
    hook.script = ["slow"]
    result = deliver_due(ctx, store, NOW)
    assert result.failed == 1
    hook.release.set()
    deliver_due(ctx, store, NOW + timedelta(minutes=1))
    assert [h["webhook-id"] for h, _ in hook.received] == [alert_id, alert_id]
    assert outbox.counts(store)["sent"] == 1


def test_429_retry_after_pauses_the_channel_until_then(setup, hook):
    config, ctx, store = setup()
    queue(store, "deal", 1) + queue(store, "vote", 1)
    hook.script = [(429, {"Retry-After": "600"})]
    result = deliver_due(ctx, store, NOW)
    assert (result.failed, result.waiting) == (1, 1)  # the other claim's alert waits too: the channel is paused
    assert deliver_due(ctx, store, NOW + timedelta(minutes=9)).sent == 0
    assert len(hook.received) == 1
    assert deliver_due(ctx, store, NOW + timedelta(minutes=11)).sent == 2


def test_410_disables_the_channel_and_keeps_its_alerts_until_the_url_changes(setup, hook, tmp_path):
    config, ctx, store = setup()
    queue(store, "deal", 2)
    hook.script = [410]
    result = deliver_due(ctx, store, NOW)
    assert result.sent == 0 and len(hook.received) == 1
    assert outbox.counts(store)["pending"] == 2
    assert outbox.channel_states(store)["hook"].disabled_reason.startswith("webhook answered HTTP 410")
    deliver_due(ctx, store, NOW + timedelta(days=1))
    assert len(hook.received) == 1  # nothing more is sent to a disabled channel
    status = json.loads(run_cli("status", "--json", config=config.path,
                                env={"HOOK_SECRET": SECRET_NEW}).stdout)
    assert status["channels"][0]["disabled_reason"]

    other = Receiver()
    try:  # the operator points the channel somewhere else: it is enabled again, nothing was lost
        config2, ctx2, store2 = setup(url=other.url)
        deliver_due(ctx2, store2, NOW + timedelta(days=1))
        assert len(other.received) == 2
    finally:
        other.shutdown()
        other.server_close()


def kill_after_retry_window(ctx, store, at):
    """Deliver at ``at``, then once more past the retry window: the alert's last attempt, which makes it dead."""
    deliver_due(ctx, store, at)
    deliver_due(ctx, store, at + retry.GIVE_UP_AFTER + timedelta(hours=7))
    return at + retry.GIVE_UP_AFTER + timedelta(hours=7)


def test_redirects_are_not_followed_and_a_refusal_is_retried_until_the_window_ends(setup, hook):
    config, ctx, store = setup()
    queue(store, "deal", 1)
    hook.script = [(301, {"Location": "http://127.0.0.1:1/elsewhere"})] + [404] * 10
    deliver_due(ctx, store, NOW)
    first_error = store.sql.execute("SELECT last_error FROM outbox").fetchone()[0]
    assert "HTTP 301" in first_error and "not followed" in first_error
    at = NOW
    for _ in range(5):  # a receiver answering 404 for hours (its own deploy, a URL being fixed) loses nothing
        at += timedelta(hours=1)
        deliver_due(ctx, store, at)
    row = store.sql.execute("SELECT status, attempts, last_error FROM outbox").fetchone()
    assert row[0] == "pending" and row[1] == 6 and "404" in row[2]
    at = kill_after_retry_window(ctx, store, at)
    row = store.sql.execute("SELECT status, attempts FROM outbox").fetchone()
    assert row == ("dead", 7) and len(hook.received) == 7  # the redirect target was never asked
    listed = run_cli("outbox", "--status", "dead", config=config.path, env={"HOOK_SECRET": SECRET_NEW})
    assert "dead" in listed.stdout and "404" in listed.stdout
    before = datetime.now(timezone.utc)
    again = run_cli("outbox", "retry", "--all-dead", config=config.path, env={"HOOK_SECRET": SECRET_NEW})
    assert "requeued 1 alert" in again.stdout
    # The command reads the real clock, once: the row is due from that moment, whatever this test's clock says.
    due = from_db_time(store.sql.execute("SELECT next_attempt_at FROM outbox").fetchone()[0])
    assert before - timedelta(seconds=1) <= due <= datetime.now(timezone.utc)
    hook.script = []
    assert deliver_due(ctx, store, max(at, due)).sent == 1


def test_requeue_makes_dead_rows_due_at_the_given_moment(setup, hook):
    config, ctx, store = setup()
    queue(store, "deal", 1)
    hook.script = [404] * 2
    kill_after_retry_window(ctx, store, NOW)
    assert outbox.counts(store)["dead"] == 1
    later = NOW + timedelta(days=30)
    assert outbox.requeue(store, later, all_dead=True) == 1
    row = store.sql.execute("SELECT status, attempts, next_attempt_at, requeued_at FROM outbox").fetchone()
    assert row[:2] == ("pending", 0) and from_db_time(row[2]) == from_db_time(row[3]) == later
    assert deliver_due(ctx, store, later - timedelta(seconds=1)).sent == 0  # not due before that moment
    assert deliver_due(ctx, store, later).sent == 1


def test_transient_failures_give_up_after_about_three_days(setup, hook):
    config, ctx, store = setup()
    queue(store, "deal", 1)
    hook.script = [503] * 100
    at, attempts = NOW, 0
    while outbox.counts(store)["pending"] and at < NOW + timedelta(days=5):
        attempts += deliver_due(ctx, store, at).failed
        at += timedelta(minutes=20)
    assert outbox.counts(store)["dead"] == 1
    assert retry.GIVE_UP_AFTER <= at - NOW <= retry.GIVE_UP_AFTER + timedelta(hours=7)
    assert 10 <= attempts <= 30  # seconds, minutes, then hours apart


def test_test_alert_reports_the_real_result(setup, hook):
    config, ctx, store = setup()
    hook.script = [404]
    result = run_cli("test-alert", "hook", config=config.path, env={"HOOK_SECRET": SECRET_NEW})
    assert result.returncode == 1 and "404" in result.stderr
    ok = run_cli("test-alert", "hook", config=config.path, env={"HOOK_SECRET": SECRET_NEW})
    assert ok.returncode == 0 and "delivered" in ok.stdout
    assert json.loads(hook.received[-1][1])["test"] is True


def test_killed_deliverer_loses_nothing_and_the_resend_carries_the_same_id(setup, hook):
    config, ctx, store = setup()
    [alert_id] = queue(store, "deal", 1, at=datetime.now(timezone.utc) - timedelta(seconds=1))
    hook.script = ["slow"]
    env = {**os.environ, "HOOK_SECRET": SECRET_NEW}
    process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config.path), "deliver"],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert hook.arrived.wait(20), "the deliverer never sent"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert outbox.counts(store) == {"pending": 1, "sent": 0, "dead": 0}  # nothing lost
    restarted = run_cli("deliver", "--now", config=config.path, env={"HOOK_SECRET": SECRET_NEW})
    assert restarted.returncode == 0, restarted.stderr
    assert [h["webhook-id"] for h, _ in hook.received] == [alert_id, alert_id]
    assert outbox.counts(store)["sent"] == 1


def test_rate_limit_makes_alerts_wait_not_vanish(setup, hook):
    config, ctx, store = setup(min_interval_seconds=1.0)
    queue(store, "deal", 3)
    slept: list[float] = []
    clock = [0.0]
    limiter = RateLimiter(min_interval_seconds=1.0, clock=lambda: clock[0])
    ctx = Context(config=ctx.config, claims=ctx.claims, fetcher=ctx.fetcher, notifiers=ctx.notifiers,
                  limiters={"hook": limiter})

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    assert deliver_due(ctx, store, NOW, sleep=sleep).sent == 3
    assert slept == [1.0, 1.0]


@pytest.mark.parametrize("interval,per_minute,times,expected_waits", [
    (1.0, 0, [0, 0, 0], [0, 1, 2]),
    (0.0, 2, [0, 0, 0], [0, 0, 60]),
    (1.0, 0, [0, 5], [0, 0]),
])
def test_rate_limiter(interval, per_minute, times, expected_waits):
    now = [0.0]
    limiter = RateLimiter(min_interval_seconds=interval, max_per_minute=per_minute, clock=lambda: now[0])
    waits = []
    for t in times:
        now[0] = t
        waits.append(limiter.reserve())
    assert waits == expected_waits


@pytest.mark.parametrize("attempts,retry_after,age,status,min_s,max_s", [
    (1, None, timedelta(0), "pending", 8, 12),
    (3, None, timedelta(0), "pending", 72, 108),
    (20, None, timedelta(hours=1), "pending", 4.8 * 3600, 7.2 * 3600),  # capped at 6 h
    (1, 120, timedelta(0), "pending", 120, 120),  # Retry-After honoured
    (1, 10 ** 9, timedelta(0), "pending", 86400, 86400),  # absurd Retry-After capped
    (5, None, timedelta(days=3), "dead", 0, 0),
    (50, None, timedelta(days=2), "pending", 4.8 * 3600, 7.2 * 3600),  # many attempts alone never give up
])
def test_retry_decisions(attempts, retry_after, age, status, min_s, max_s):
    decision = retry.decide(attempts=attempts, retry_after=retry_after, created_at=NOW - age, now=NOW,
                            rng=random.Random(7))
    assert decision.status == status
    assert min_s <= (decision.next_attempt_at - NOW).total_seconds() <= max_s




def test_bad_webhook_secret_is_a_config_error(tmp_path):
    from monitor.errors import ConfigError
    document = {"channels": [{"name": "hook", "kind": "webhook", "url": "https://example.com/h",
                              "secret_env": "S"}]}
    with pytest.raises(ConfigError, match=r"channels\[0\]\.secret_env: secret 1 in \$S is not whsec_<base64>"):
        load_config(write_config(tmp_path, document), environ={"S": "hunter2"})


def test_group_wait_sends_one_digest_accounting_for_every_alert(setup, hook):
    config, ctx, store = setup(group_wait_seconds=60)
    ids = queue(store, "deal", 2) + queue(store, "vote", 1)
    assert deliver_due(ctx, store, NOW + timedelta(seconds=10)).waiting == 3  # still gathering
    assert hook.received == []
    result = deliver_due(ctx, store, NOW + timedelta(seconds=61))
    assert result.sent == 3
    [(headers, body)] = hook.received
    digest = json.loads(body)
    assert digest["type"] == "digest" and headers["webhook-id"] == digest["id"]
    assert digest["alert_ids"] == ids and [a["id"] for a in digest["alerts"]] == ids
    assert Webhook(SECRET_NEW).verify(body, headers)


@pytest.mark.parametrize("kind,shape", [("slack", "blocks"), ("discord", "embeds")])
def test_chat_channels_are_wired_from_the_config(tmp_path, hook, kind, shape):
    document = {"monitor": {"database": "monitor.db", "allow_private_networks": True},
                "claims": [{"id": "deal", "text": "Acme and Globex sign the merger agreement"}],
                "channels": [{"name": "chat", "kind": kind, "url_env": "CHAT_URL"}]}
    config = load_config(write_config(tmp_path, document), environ={"CHAT_URL": hook.url})
    ctx = Context.build(config)
    with Store(config.database) as store:
        with store.transaction():
            outbox.enqueue(store, Alert(id="a1", claim_id="deal", story_id=None, kind="claim.overdue",
                                        payload={"type": "claim.overdue", "version": 1, "id": "a1",
                                                 "claim": {"id": "deal", "text": "Acme and Globex merge"},
                                                 "state": "pending", "expect_by": "2026-01-01", "evidence": []}),
                           ["chat"], NOW)
        assert deliver_due(ctx, store, NOW, sleep=lambda s: None).sent == 1
    assert shape in json.loads(hook.received[0][1])


def test_a_receiver_answering_404_during_its_deploy_loses_nothing_and_gets_every_alert_in_order(setup, hook):
    config, ctx, store = setup()
    ids = queue(store, "deal", 2) + queue(store, "vote", 2)
    hook.script = [404, 403, 404]  # a few minutes of the receiver's own deploy
    at = NOW
    first = deliver_due(ctx, store, at)
    assert (first.failed, first.sent) == (1, 0)  # the channel pauses: the other claim does not hammer it
    assert outbox.channel_states(store)["hook"].paused_until > at
    while outbox.counts(store)["pending"]:
        at += timedelta(minutes=1)
        deliver_due(ctx, store, at, sleep=lambda s: None)
        assert at < NOW + timedelta(hours=1)
    assert outbox.counts(store) == {"pending": 0, "sent": 4, "dead": 0}
    delivered = hook.delivered_ids()
    assert [i for i in delivered if i.startswith("deal")] == ids[:2]
    assert [i for i in delivered if i.startswith("vote")] == ids[2:]


def test_a_message_refused_as_malformed_holds_its_claim_not_the_channel(setup, hook):
    config, ctx, store = setup()
    deal = queue(store, "deal", 2)
    vote = queue(store, "vote", 1)
    hook.script = [422]
    result = deliver_due(ctx, store, NOW)
    assert (result.failed, result.sent, result.waiting) == (1, 1, 1)
    assert hook.delivered_ids() == [deal[0], vote[0]]  # deal's second alert waits behind its first
    assert outbox.channel_states(store).get("hook") is None or \
        outbox.channel_states(store)["hook"].paused_until is None


def test_a_dead_alert_holds_back_its_claims_later_alerts_until_it_is_retried(setup, hook):
    config, ctx, store = setup()
    first, second = queue(store, "deal", 2)
    [other] = queue(store, "vote", 1)
    hook.script = [422, 200, 422]  # the claim's first alert is refused until it dies; the other claim goes
    at = kill_after_retry_window(ctx, store, NOW)
    assert store.sql.execute("SELECT status FROM outbox WHERE alert_id = ?", [first]).fetchone()[0] == "dead"
    for _ in range(3):  # however long it waits, the claim's next alert does not overtake the dead one
        at += timedelta(days=1)
        deliver_due(ctx, store, at)
    assert hook.delivered_ids() == [first, other]
    assert outbox.counts(store) == {"pending": 1, "sent": 1, "dead": 1}
    env = {"HOOK_SECRET": SECRET_NEW}
    listed = run_cli("outbox", config=config.path, env=env).stdout
    assert f"{second}/hook  pending" in listed and f"held behind dead alert {first}" in listed
    shown = run_cli("status", config=config.path, env=env).stdout
    assert "channel hook: 1 alert held behind a dead alert of their claim" in shown
    assert outbox.requeue(store, at, all_dead=True) == 1
    assert deliver_due(ctx, store, at).sent == 2
    assert hook.delivered_ids() == [first, other, second]  # the receiver ends on the claim's latest alert
    assert [h["webhook-id"] for h, _ in hook.received][-2:] == [first, second]


def test_deliver_now_beside_a_live_deliverer_never_takes_the_row_it_holds(setup, hook):
    config, ctx, store = setup()
    first, second = queue(store, "deal", 2, at=datetime.now(timezone.utc) - timedelta(seconds=1))
    now = datetime.now(timezone.utc)
    # This test process is the live deliverer: it holds the claim's first alert, as if mid-send.
    [held] = outbox.lease(store, outbox.due(store, now)[:1], outbox.new_holder(), now, 600)
    assert held.alert_id == first
    beside = run_cli("deliver", "--now", config=config.path, env={"HOOK_SECRET": SECRET_NEW})
    assert beside.returncode == 0, beside.stderr
    assert hook.received == []  # neither the held row nor the claim's next one behind it
    outbox.release(store, [held], now)  # the send ends without an answer: the row is free again
    assert run_cli("deliver", "--now", config=config.path, env={"HOOK_SECRET": SECRET_NEW}).returncode == 0
    assert [h["webhook-id"] for h, _ in hook.received] == [first, second]


def test_a_lease_from_another_machine_runs_out_one_send_deadline_later(setup, hook):
    config, ctx, store = setup()
    [alert_id] = queue(store, "deal", 1)
    seconds = lease_seconds(ctx, "hook")
    assert seconds == config.channel("hook").timeout_seconds + 1 + outbox.LEASE_MARGIN_SECONDS
    outbox.lease(store, outbox.due(store, NOW), "another-host:77:x", NOW, seconds)
    assert deliver_due(ctx, store, NOW + timedelta(seconds=seconds - 0.5), ignore_backoff=True).sent == 0
    assert deliver_due(ctx, store, NOW + timedelta(seconds=seconds)).sent == 1
    assert hook.delivered_ids() == [alert_id]
