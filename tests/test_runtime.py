"""runtime: a config's claims compiled once per load, the problems of claims that do not compile reported with
the settings' (by check-config, and by a reload, which refuses them), and the doors between config, alerts and
the stages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from conftest import REPO, run_cli, write_config
from monitor import config as config_module
from monitor import runtime
from monitor.daemon.scheduler import Daemon
from monitor.errors import ConfigError
from monitor.reading import relevance

CONFIG = {
    "monitor": {"database": "monitor.db"},
    "feeds": [{"name": "wire", "url": "https://example.com/feed.xml"}],
    "claims": [{"id": "signing", "text": "Iraq and the United States sign the agreement"}],
    "channels": [{"name": "console", "kind": "console"},
                 {"name": "hook", "kind": "webhook", "url_env": "TEST_HOOK_URL"}],
}
ENV = {"TEST_HOOK_URL": "https://h.example.com/x"}
STOP_WORDS = {"id": "empty", "text": "the of and"}  # no content word for the matcher to use


def test_load_compiles_each_claim_once_and_the_context_uses_those(tmp_path):
    loaded = runtime.load(write_config(tmp_path, CONFIG), environ=ENV)
    assert [c.id for c in loaded.claims] == ["signing"]
    assert loaded.claims[0].config is loaded.config.claims[0]
    context = loaded.context()
    try:
        assert context.claims[0] is loaded.claims[0]  # not compiled again
    finally:
        context.close()


def test_claims_that_do_not_compile_are_reported_with_the_settings_problems(tmp_path):
    document = {**CONFIG, "feeds": [{"name": "wire", "url": "ftp://example.com/feed"}],
                "claims": [CONFIG["claims"][0], STOP_WORDS,
                           {"id": "cue", "text": "Iraq signs the deal", "outcomes": {"delayed": ["-"]}}]}
    path = write_config(tmp_path, document)
    with pytest.raises(ConfigError) as caught:
        runtime.load(path, environ=ENV)
    assert caught.value.problems == [
        "feeds[0].url: must be an http or https URL with a host, got 'ftp://example.com/feed'",
        "claims[1]: claim 'empty' has no content words",
        "claims[2]: outcome 'delayed': empty cue '-'",
    ]
    assert caught.value.path == str(path)
    settings, settings_error = config_module.load_config_leniently(path, environ=ENV)
    assert settings_error.problems == caught.value.problems[:1]  # the settings alone do not compile claims
    with pytest.raises(ConfigError, match=r"claims\[1\]: claim 'empty' has no content words"):
        runtime.Context.build(settings)  # a context compiles the claims it was not given


def test_check_config_reports_a_claim_that_does_not_compile(tmp_path):
    result = run_cli("check-config", config=write_config(tmp_path, {**CONFIG, "claims": [STOP_WORDS]}), env=ENV)
    assert result.returncode == 2
    assert "claims[0]: claim 'empty' has no content words" in result.stderr
    assert "Traceback" not in result.stderr


def test_read_commands_name_a_claim_that_does_not_compile_and_go_on(tmp_path):
    document = {**CONFIG, "claims": [CONFIG["claims"][0], STOP_WORDS]}
    config, problem = runtime.load_leniently(write_config(tmp_path, document), environ=ENV)
    assert [c.id for c in config.claims] == ["signing", "empty"]
    assert problem.problems == ["claims[1]: claim 'empty' has no content words"]


def test_reload_refuses_claims_that_do_not_compile_and_keeps_the_old_ones(tmp_path):
    path = write_config(tmp_path, CONFIG)
    loaded = runtime.load(path, environ=ENV)
    daemon = Daemon(loaded.config, claims=loaded.claims, scheduler=BackgroundScheduler(),
                    load=lambda: runtime.load(path, environ=ENV))
    try:
        assert daemon.ctx.claims[0] is loaded.claims[0]
        write_config(tmp_path, {**CONFIG, "claims": [STOP_WORDS]})
        assert daemon.reload() is False
        assert "claims[0]: claim 'empty' has no content words" in daemon.reload_error
        assert [c.id for c in daemon.ctx.claims] == ["signing"]
        fixed = {**CONFIG, "claims": [{"id": "vote", "text": "The senate votes on the bill"}]}
        write_config(tmp_path, fixed)
        assert daemon.reload() is True
        assert [c.id for c in daemon.ctx.claims] == ["vote"] and daemon.reload_error is None
    finally:
        daemon.ctx.close()


def _monitor_modules_after_import(module: str) -> set[str]:
    code = f"import json, sys, {module}; print(json.dumps(sorted(m for m in sys.modules if m.startswith('monitor'))))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_config_imports_none_of_the_stages():
    loaded = _monitor_modules_after_import("monitor.config")
    stages = ("monitor.reading", "monitor.feeds", "monitor.notify", "monitor.daemon", "monitor.store",
              "monitor.pipeline", "monitor.runtime", "monitor.delivery")
    assert not {m for m in loaded if m.startswith(stages)}, loaded


def test_alerts_depends_on_models_only():
    assert _monitor_modules_after_import("monitor.alerts") == {"monitor", "monitor.alerts", "monitor.models"}


def test_config_default_threshold_is_the_matchers():
    assert config_module.DEFAULT_MIN_SCORE == relevance.DEFAULT_MIN_SCORE


def test_check_config_warns_only_where_it_cannot_find_the_claims_event(tmp_path):
    claims = [{"id": "question", "text": "Will Iraq and the United States sign the withdrawal agreement?"},
              {"id": "noun", "text": "Signing of the withdrawal agreement by Iraq and the United States"},
              {"id": "expected", "text": "Iraq and the US are expected to sign the withdrawal agreement"},
              {"id": "eventless", "text": "Two office workers in an epic battle over a stolen sandwich"},
              {"id": "cued", "text": "Two office workers in an epic battle over a stolen sandwich",
               "outcomes": {"confirmed": ["feud"]}}]
    config = write_config(tmp_path, {**CONFIG, "claims": claims})
    result = run_cli("check-config", config=config, env={"TEST_HOOK_URL": "https://h.example.com/x"})
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and warnings[0].startswith("warning: claims[3].text: no event found"), result.stderr
    loaded = runtime.load(config, environ={"TEST_HOOK_URL": "https://h.example.com/x"})
    assert loaded.config.warnings == (warnings[0][9:],)
