"""Nothing that can be a secret is ever printed: not in config errors, logs, ``/healthz``, ``feeds``, ``status``,
``check-config --show`` or operator alerts.

Each secret is a distinctive string; every output is searched for it. Real CLI subprocesses, a real daemon
serving ``/healthz`` on loopback, real feeds and a real webhook receiver.
"""

from __future__ import annotations

import base64
import json
import signal
import socket

import pytest
import requests

from conftest import run_cli, shipped_claims, toml_document, write_config
from test_ops import Daemon

FEED_KEY, FEED_TOKEN, FEED_PASSWORD = "FEEDKEY7731", "FEEDTOKEN8842", "FEEDPASS9953"
SLACK_SECRET = "SLACKPATH5EC"
DISCORD_SECRET = "DISCORDPATH5EC"
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SECRETS = (FEED_KEY, FEED_TOKEN, FEED_PASSWORD, SLACK_SECRET, DISCORD_SECRET, WHSEC, WHSEC.removeprefix("whsec_"))

# Four secrets in the wrong place at once: a Slack URL with a typo in its scheme, a signing secret where its
# variable's name belongs, a URL where its variable's name belongs, a feed URL (with a key) of a bad scheme.
MISPLACED = [
    {"name": "team", "kind": "slack", "url": f"htps://hooks.slack.com/services/T0/B0/{SLACK_SECRET}"},
    {"name": "signed", "kind": "webhook", "url": "https://hooks.example.com/in", "secret_env": WHSEC},
    {"name": "chat", "kind": "discord", "url_env": f"https://discord.com/api/webhooks/1/{DISCORD_SECRET}"},
]


def assert_no_secret(*outputs: str) -> None:
    for text in outputs:
        leaked = [s for s in SECRETS if s in text]
        assert not leaked, f"{leaked} printed in:\n{text}"


def misplaced_document() -> dict:
    return {"feeds": [{"name": "wire", "url": f"ftp://feeds.example.com/rss?key={FEED_KEY}&token={FEED_TOKEN}"}],
            "claims": shipped_claims(), "channels": [*MISPLACED, {"name": "console", "kind": "console"}]}


def test_config_errors_name_each_misplaced_secret_without_printing_it(tmp_path):
    result = run_cli("check-config", config=write_config(tmp_path, misplaced_document()))
    assert result.returncode == 2
    assert_no_secret(result.stdout, result.stderr)
    err = result.stderr
    assert "channels[0].url: must be an http or https URL with a host, got 'htps://hooks.slack.com/…'" in err
    assert "/services" not in err
    assert "channels[1].secret_env: looks like a secret value, not an environment variable name" in err
    assert "channels[2].url_env: looks like a URL, not an environment variable name" in err
    assert "feeds[0].url: must be an http or https URL with a host, got 'ftp://feeds.example.com/rss?key=***&token=***'" in err


@pytest.mark.parametrize("value,expected", [
    ("SLACK_WEBHOOK_URL", None),
    ("hooks.slack.com/services/T0/B0/X", "looks like a URL, not an environment variable name"),
    ("a1b2c3d4e5f6a7b8c9d0e1f2", "looks like a secret value"),
    ("1BAD", "is not an environment variable name"),
])
def test_env_names_are_checked_without_echoing(tmp_path, value, expected):
    document = {"feeds": [{"name": "wire", "url": "https://wire.example.com/rss"}], "claims": shipped_claims(),
                "channels": [{"name": "hook", "kind": "webhook", "url_env": value},
                             {"name": "console", "kind": "console"}]}
    result = run_cli("check-config", config=write_config(tmp_path, document), env={"SLACK_WEBHOOK_URL": ""})
    if expected is None:
        assert "channels[0].url_env: environment variable SLACK_WEBHOOK_URL is not set" in result.stderr
    else:
        assert f"channels[0].url_env: {expected}" in result.stderr and value not in result.stderr


@pytest.fixture
def keyed_feed(tmp_path, httpserver, receiver):
    """A config whose feed URL carries a key, a token and a password, failing (503), with operator alerts to a
    webhook and a console channel."""
    httpserver.expect_request("/feed").respond_with_data("down", status=503)
    url = httpserver.url_for("/feed").replace("http://", f"http://reader:{FEED_PASSWORD}@")
    document = {"monitor": {"database": "monitor.db", "allow_private_networks": True, "alert_after_hours": 0,
                            "operator_channels": ["ops", "console"]},
                "feeds": [{"name": "wire", "url": f"{url}?key={FEED_KEY}&token={FEED_TOKEN}"}],
                "claims": shipped_claims(),
                "channels": [{"name": "ops", "kind": "webhook", "url": receiver.url},
                             {"name": "console", "kind": "console"}]}
    return write_config(tmp_path, document)


def test_a_feed_key_is_never_printed(keyed_feed, httpserver, receiver):
    polled = run_cli("-v", "poll-once", config=keyed_feed)
    assert polled.returncode == 1  # the feed failed
    assert httpserver.log and httpserver.log[0][0].args["key"] == FEED_KEY  # the key is still sent
    assert "poll failed" in polled.stderr and "key=***&token=***" in polled.stderr
    outputs = [polled.stdout, polled.stderr]
    for command in (["feeds"], ["feeds", "--json"], ["status"], ["status", "--json"], ["check-config", "--show"]):
        result = run_cli(*command, config=keyed_feed)
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr]
    assert "?key=***&token=***" in outputs[2]  # `feeds` names the feed's URL, redacted
    assert_no_secret(*outputs)
    # The operator alert: on the console (poll-once's output) and in the webhook's payload.
    assert "feed wire: failing since" in polled.stdout
    [alert] = [r.body for r in receiver.received if r.body["type"] == "feed.failing"]
    assert alert["feed"]["url"].endswith("/feed?key=***&token=***") and "***@" in alert["feed"]["url"]
    assert_no_secret(json.dumps(alert))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_and_the_daemon_log_never_show_a_secret(tmp_path, httpserver, receiver):
    httpserver.expect_request("/feed").respond_with_data("down", status=503)
    port = free_port()
    good = {"monitor": {"database": "monitor.db", "allow_private_networks": True, "listen": f"127.0.0.1:{port}"},
            "feeds": [{"name": "wire", "url": httpserver.url_for("/feed") + f"?key={FEED_KEY}"}],
            "claims": shipped_claims(), "channels": [{"name": "console", "kind": "console"}]}
    config = write_config(tmp_path, good)
    daemon = Daemon(config)
    try:
        daemon.wait_for("health server listening")
        daemon.wait_for("poll failed")
        config.write_text(toml_document({**misplaced_document(), "monitor": good["monitor"]}), encoding="utf-8")
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_for("config reload refused")
        response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        error = response.json()["config_error"]
        assert "channels[1].secret_env: looks like a secret value" in error
        assert "got 'htps://hooks.slack.com/…'" in error
        assert_no_secret(response.text)
        # The status pages of the real daemon: the refused reload is shown, and no secret on any page.
        overview = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert overview.status_code == 200 and "Config reload refused" in overview.text
        assert "wire" in overview.text and "failing" in overview.text
        for path in ("/", "/feeds", "/outbox", "/alerts.atom", "/api/status", "/api/feeds", "/api/claims"):
            assert_no_secret(requests.get(f"http://127.0.0.1:{port}{path}", timeout=5).text)
        code, _ = daemon.stop()
        assert code == 0
    finally:
        daemon.kill()
    assert "key=***" in "".join(daemon.lines)
    assert_no_secret("".join(daemon.lines))
