"""The notifier registry: the one list of channel kinds the config validates against and notifiers are built
from, and what a new kind needs (one entry)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from conftest import REPO, write_config
from monitor import notify
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.notify import KINDS, ChannelKind, build_notifiers
from monitor.notify.console import ConsoleNotifier
from monitor.notify.webhook import WebhookNotifier

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def config_with(tmp_path, *channels: dict, environ: dict | None = None):
    path = write_config(tmp_path, {"monitor": {"database": "m.db"},
                                   "feeds": [{"name": "wire", "url": "https://example.org/rss"}],
                                   "claims": [{"id": "c", "text": "X will sign the deal"}],
                                   "channels": list(channels)})
    return load_config(path, environ=environ or {})


def test_every_registered_kind_is_a_valid_channel_kind_with_its_default_pace(tmp_path):
    channels = [{"name": "out", "kind": "console"}, {"name": "hook", "kind": "webhook", "url": "https://h.example/x"},
                {"name": "s", "kind": "slack", "url": "https://hooks.slack.example/T/B/x"},
                {"name": "d", "kind": "discord", "url": "https://discord.example/api/webhooks/1/t"},
                {"name": "a", "kind": "apprise", "url_env": "NM_APPRISE"}]
    assert sorted(c["kind"] for c in channels) == sorted(KINDS)
    config = config_with(tmp_path, *channels, environ={"NM_APPRISE": "json://127.0.0.1:9/x"})
    for channel in config.channels:
        kind = KINDS[channel.kind]
        assert (channel.min_interval_seconds, channel.max_per_minute) == (kind.min_interval_seconds,
                                                                           kind.max_per_minute)
    assert (config.channel("d").min_interval_seconds, config.channel("d").max_per_minute) == (0.5, 30)
    with pytest.raises(ConfigError) as err:
        config_with(tmp_path, {"name": "p", "kind": "pager"})
    assert f"expected one of {', '.join(KINDS)}" in str(err.value)


def test_a_new_kind_is_one_registry_entry(tmp_path, monkeypatch):
    monkeypatch.setitem(KINDS, "pager", ChannelKind("pager", "monitor.notify.webhook:WebhookNotifier", url="http",
                                                    signed=True, min_interval_seconds=2.0, max_per_minute=7))
    config = config_with(tmp_path, {"name": "p", "kind": "pager", "url": "https://pager.example/in",
                                    "secret_env": "NM_PAGER_SECRET"}, environ={"NM_PAGER_SECRET": SECRET})
    channel = config.channel("p")
    assert (channel.min_interval_seconds, channel.max_per_minute, channel.secrets) == (2.0, 7, (SECRET,))
    built = build_notifiers(config.channels, allow_private_networks=False)["p"]
    assert isinstance(built, WebhookNotifier) and built._secrets == (SECRET,)
    # The entry's url and signed settings decide which keys the kind takes.
    monkeypatch.setitem(KINDS, "beeper", ChannelKind("beeper", "monitor.notify.console:ConsoleNotifier", url="none"))
    with pytest.raises(ConfigError) as err:
        config_with(tmp_path, {"name": "b", "kind": "beeper", "url": "https://x.example/",
                               "secret_env": "NM_PAGER_SECRET"}, environ={"NM_PAGER_SECRET": SECRET})
    assert "channels[0].url: a beeper channel takes no URL" in str(err.value)
    assert "channels[0].secret_env: only webhook and pager channels are signed" in str(err.value)
    beeper = replace(channel, kind="beeper")
    assert isinstance(build_notifiers([beeper], allow_private_networks=False)[beeper.name], ConsoleNotifier)


def test_the_config_loads_no_notifier_module():
    # The registry is a table: validating a config must not pay for Apprise's plugins or the HTTP notifiers.
    code = ("import sys, monitor.config, monitor.notify; "
            "print(sorted(m for m in sys.modules if m.startswith('monitor.notify.') or m == 'apprise'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert set(notify.KINDS) == {"console", "webhook", "slack", "discord", "apprise"}
