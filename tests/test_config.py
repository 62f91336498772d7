"""Config loading and validation: every problem at once, with key paths; secrets never shown."""

from __future__ import annotations

import json

import pytest

from conftest import REPO, run_cli, write_config
from monitor.config import describe, load_config
from monitor.config.database import PostgresDatabase
from monitor.errors import ConfigError

VALID = {
    "monitor": {"database": "state/monitor.db"},
    "defaults": {"interval_seconds": 120},
    "feeds": [{"name": "wire", "url": "https://example.com/feed.xml"},
              {"name": "slow", "url": "https://example.org/rss", "interval_seconds": 3600}],
    "claims": [{"id": "signing", "text": "Iraq and the United States sign the agreement",
                "aliases": {"united states": ["US", "Washington"]}, "require_any": ["iraq"], "channels": ["hook"]}],
    "channels": [{"name": "console", "kind": "console"},
                 {"name": "hook", "kind": "webhook", "url_env": "TEST_HOOK_URL"}],
}


def test_valid_config_loads_with_defaults_and_resolved_paths(tmp_path):
    path = write_config(tmp_path, VALID)
    config = load_config(path, environ={"TEST_HOOK_URL": "https://hooks.example.com/T0/secret-token"})
    assert config.database == tmp_path / "state" / "monitor.db"
    assert [f.interval_seconds for f in config.feeds] == [120, 3600]
    claim = config.claim("signing")
    assert claim.channels == ("hook",) and claim.require_any == ("iraq",)
    assert claim.aliases["united states"] == ("US", "Washington")
    assert config.channel("hook").url == "https://hooks.example.com/T0/secret-token"


def test_claim_without_channels_goes_to_every_channel(tmp_path):
    document = {**VALID, "claims": [{"id": "c", "text": "something happens"}]}
    config = load_config(write_config(tmp_path, document), environ={"TEST_HOOK_URL": "https://h.example.com/x"})
    assert config.claim("c").channels == ("console", "hook")


def test_every_problem_is_reported_at_once_with_its_key_path(tmp_path):
    document = {
        "monitor": {"databse": "x.db"},
        "defaults": {"interval_seconds": 1, "min_score": 140},
        "feeds": [{"name": "a", "url": "ftp://example.com/feed"}, {"name": "a", "url": "https://example.com/"},
                  {"url": "https://example.com/2", "interval": 60}],
        "claims": [{"id": "c1", "text": "x", "channels": ["nowhere"]}, {"id": "c1"}],
        "channels": [{"name": "hook", "kind": "webhook", "url_env": "UNSET_VARIABLE_FOR_TEST"},
                     {"name": "pager", "kind": "pager"}],
    }
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, document), environ={})
    problems = caught.value.problems
    expected = [
        "monitor.databse: unknown key",
        "defaults.interval_seconds: must be between 10",
        "defaults.min_score: must be between 0 and 100",
        "feeds[0].url: must be an http or https URL",
        "feeds[1].name: duplicate name 'a' (also feeds[0])",
        "feeds[2].name: is required",
        "feeds[2].interval: unknown key",
        "claims[0].channels: names channel 'nowhere'",
        "claims[1].text: is required",
        "claims[1].id: duplicate id 'c1'",
        "channels[0].url_env: environment variable UNSET_VARIABLE_FOR_TEST is not set",
        "channels[1].kind: unknown kind 'pager'",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected)


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "monitor.toml"
    path.write_text('[monitor]\ndatabase = "x.db"\n[[feeds]\nname = "a"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and "line 3" in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.toml")


@pytest.mark.parametrize("value,problem", [
    (True, "must be a number"), ("80", "must be a number"), (-1, "must be between 0 and 100")])
def test_number_type_and_range(tmp_path, value, problem):
    document = {**VALID, "channels": [{"name": "console", "kind": "console"}],
                "claims": [{"id": "c", "text": "t", "min_score": value}]}
    with pytest.raises(ConfigError, match=rf"claims\[0\]\.min_score: {problem}"):
        load_config(write_config(tmp_path, document))


def test_check_config_reports_problems_with_exit_code_2(tmp_path):
    document = {**VALID, "feeds": [{"name": "a", "url": "file:///etc/passwd"}]}
    result = run_cli("check-config", config=write_config(tmp_path, document), env={"TEST_HOOK_URL": "https://h.example.com/x"})
    assert result.returncode == 2
    assert "feeds[0].url: must be an http or https URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_show_redacts_secrets(tmp_path):
    secret = "https://hooks.example.com/services/T000/B000/very-secret-token"
    result = run_cli("check-config", "--show", config=write_config(tmp_path, VALID), env={"TEST_HOOK_URL": secret})
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert "very-secret-token" not in result.stdout + result.stderr
    assert shown["channels"][1]["url"] == "https://hooks.example.com/…"
    assert shown["channels"][1]["url_env"] == "TEST_HOOK_URL"


def test_secret_url_is_kept_out_of_repr(tmp_path):
    config = load_config(write_config(tmp_path, VALID), environ={"TEST_HOOK_URL": "https://h.example.com/s3cr3t"})
    assert "s3cr3t" not in repr(config)
    assert "s3cr3t" not in json.dumps(describe(config))


def test_a_postgresql_database_reads_its_password_from_the_environment_and_never_shows_it(tmp_path):
    document = {**VALID, "monitor": {"database": "postgresql://nm@db.example:5433/news",
                                     "database_password_env": "NM_DB_PASSWORD"}}
    path = write_config(tmp_path, document)
    config = load_config(path, environ={"TEST_HOOK_URL": "https://h.example.com/x", "NM_DB_PASSWORD": "hunter2"})
    assert isinstance(config.database, PostgresDatabase) and config.database.password == "hunter2"
    assert "hunter2" not in repr(config) + json.dumps(describe(config))
    assert describe(config)["monitor"]["database"] == "postgresql://nm@db.example:5433/news"
    with pytest.raises(ConfigError, match="monitor.database_password_env: environment variable NM_DB_PASSWORD is "
                                          "not set"):
        load_config(path, environ={"TEST_HOOK_URL": "https://h.example.com/x"})


@pytest.mark.parametrize("database,password_env,problem", [
    ("postgresql://nm:hunter2@db.example/news", None, "monitor.database: holds a password"),
    ("postgres://nm@db.example/news?password=hunter2", None, "monitor.database: holds a password"),
    ("postgresql://nm@db.example", None, "monitor.database: names no database"),
    ("data/monitor.db", "NM_DB_PASSWORD", "monitor.database_password_env: is only for a PostgreSQL database"),
])
def test_a_database_key_that_cannot_be_used_is_named_without_repeating_a_password(tmp_path, database, password_env,
                                                                                   problem):
    monitor = {"database": database, **({"database_password_env": password_env} if password_env else {})}
    with pytest.raises(ConfigError) as refused:
        load_config(write_config(tmp_path, {**VALID, "monitor": monitor}),
                    environ={"TEST_HOOK_URL": "https://h.example.com/x", "NM_DB_PASSWORD": "x"})
    assert problem in str(refused.value) and "hunter2" not in str(refused.value)


def test_shipped_config_is_valid():
    config = load_config(REPO / "config" / "monitor.toml", environ={})
    assert config.feeds and config.claims
    assert [c.kind for c in config.channels] == ["console"]
    claim = config.claims[0]
    assert claim.id == "iraq-us-coalition-signing"
    assert {"US", "U.S.", "Washington"} <= set(claim.aliases["united states"])


def test_claim_tracking_keys_are_validated(tmp_path):
    path = tmp_path / "monitor.toml"
    path.write_text('''
[[feeds]]
name = "wire"
url = "https://example.com/rss"
[[claims]]
id = "c"
text = "Iraq and the United States sign the agreement"
notify = "sometimes"
expect_by = "next week"
trusted_outlets = ["reuters"]
confirm_after_outlets = 0
[claims.outcomes]
confirmed = ["ink"]
maybe = ["perhaps"]
[[channels]]
name = "console"
kind = "console"
''', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = "\n".join(caught.value.problems)
    for expected in ("claims[0].notify: must be one of changes, all", "claims[0].expect_by: must be a date",
                     "claims[0].trusted_outlets: names 'reuters', which is neither a feed", "claims[0].confirm_after_outlets: must be between 1",
                     "claims[0].outcomes.maybe: unknown key"):
        assert expected in problems, problems


def test_claim_tracking_keys_load(tmp_path):
    path = tmp_path / "monitor.toml"
    path.write_text('''
[[feeds]]
name = "wire"
url = "https://example.com/rss"
[[claims]]
id = "c"
text = "Iraq and the United States sign the agreement"
notify = "all"
expect_by = 2026-12-31
trusted_outlets = ["wire"]
confirm_after_outlets = 2
replace_outcomes = true
[claims.outcomes]
confirmed = ["ink", "seal"]
''', encoding="utf-8")
    claim = load_config(path).claims[0]
    assert (claim.notify, claim.expect_by.isoformat(), claim.trusted_outlets) == ("all", "2026-12-31", ("wire",))
    assert claim.confirm_after_outlets == 2 and claim.replace_outcomes and claim.outcomes["confirmed"] == ("ink", "seal")
