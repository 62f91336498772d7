"""The status pages, Atom feeds and JSON API over real loopback HTTP, on a real SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
import requests

from monitor.config import load_config
from monitor.daemon.health import HealthServer
from monitor.store import Store
from monitor.web.routes import StatusSite
from webdata import CLAIM, HOSTILE_LINK, HOSTILE_TITLE, NOW, fill, write_site

TOKEN = "s3cret-status-token-value"


@pytest.fixture
def site(tmp_path: Path, database_setting, database):
    """A filled database (SQLite, then PostgreSQL) and a factory serving it: ``start(listen_host=…, environ=…)``
    gives the base URL."""
    config_path = write_site(tmp_path, token_env="STATUS_TOKEN", database=database_setting)
    environ = {"STATUS_TOKEN": TOKEN}
    fill(database, config_path, environ=environ)
    servers: list[HealthServer] = []

    def start(*, listen_host: str = "127.0.0.1", config_error: str | None = None, token: bool = True) -> str:
        config = load_config(config_path, environ=environ if token else {"STATUS_TOKEN": ""}) if token else \
            load_config(write_site(tmp_path / "plain", listen="0.0.0.0:0"), environ={})
        status = StatusSite(listen_host=listen_host, config=lambda: config, database=database,
                            config_error=lambda: config_error, clock=lambda: NOW)
        server = HealthServer("127.0.0.1:0", database=database, last_tick=lambda: NOW.timestamp(),
                              max_tick_age_seconds=60, clock=lambda: NOW.timestamp(), site=status)
        server.start()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    (tmp_path / "plain").mkdir()
    yield start, tmp_path
    for server in servers:
        server.stop()


def test_overview_shows_the_claim_its_last_evidence_and_what_is_broken(site):
    start, _ = site
    page = requests.get(start(config_error="claims[0].min_score: must be at most 100") + "/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert f'href="/claims/{CLAIM}"' in html
    assert '<span class="state confirmed">confirmed</span>' in html
    assert "outlet0" in html and "<mark>opens</mark>" in html  # the last evidence: outlet, verdict, sentence with cue
    assert "1 confirmed, 1 delayed, 1 pending" in html
    assert "Config reload refused: claims[0].min_score: must be at most 100" in html
    assert "1 of 2 feeds failing" in html and "HTTP 500 Internal Server Error" in html
    assert "2 pending" in html  # the outbox: an alert per move, waiting
    # Relative time on the page, the UTC time in the title; the claim moved to confirmed a day before NOW.
    assert 'title="2031-05-05 12:00:00 UTC">1 d ago</time>' in html
    assert '<meta name="viewport"' in html and "<script" not in html.replace("&lt;script", "")


def test_hostile_story_fields_show_as_text(site):
    start, _ = site
    base = start()
    for path in ("/", f"/claims/{CLAIM}"):
        html = requests.get(base + path, timeout=5).text
        assert "<script>" not in html and "<img" not in html and "onmouseover=\"" not in html
        assert "&lt;b onmouseover=" in html
    claim_page = requests.get(f"{base}/claims/{CLAIM}", timeout=5).text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=" in claim_page
    assert 'href="javascript:' not in claim_page and HOSTILE_LINK in claim_page  # shown, never a link
    assert requests.get(base + "/", timeout=5).headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_claim_page_draws_the_timeline_and_pages_the_evidence(site):
    start, tmp_path = site
    html = requests.get(f"{start()}/claims/{CLAIM}", timeout=5).text
    assert '<svg id="timeline"' in html
    bands = [part.split('"')[0] for part in html.split('<rect class="band ')[1:]]
    assert bands == ["pending", "delayed", "confirmed"]
    assert "Evidence (3)" in html and "postponed" in html and "g-s2" in html
    assert html.index("Bridge opening postponed") > html.index("Bridge opens")  # newest first

    from monitor.web import pages
    with Store(load_config(tmp_path / "monitor.toml", environ={"STATUS_TOKEN": TOKEN}).database) as store:
        assert len(store.latest_evidence(CLAIM, limit=pages.EVIDENCE_PAGE)) == 3
        assert [e.story_id for e in store.latest_evidence(CLAIM, limit=1, offset=1)] == ["s2"]


def test_feeds_outbox_and_unknown_pages(site):
    start, _ = site
    base = start()
    feeds = requests.get(base + "/feeds", timeout=5).text
    assert "outlet1" in feeds and "failing" in feeds and CLAIM in feeds  # outlet0 is trusted by the claim
    outbox_page = requests.get(base + "/outbox?status=pending", timeout=5).text
    assert outbox_page.count("claim.state_changed") == 2
    assert requests.get(base + "/outbox?status=bogus", timeout=5).status_code == 404
    missing = requests.get(base + "/claims/no-such-claim", timeout=5)
    assert missing.status_code == 404 and "unknown claim" in missing.text
    assert requests.get(base + "/nothing-here", timeout=5).status_code == 404


def test_atom_feeds_parse_and_carry_the_alerts(site):
    start, _ = site
    base = start()
    parsed = feedparser.parse(requests.get(base + "/alerts.atom", timeout=5).content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    titles = [e.title for e in parsed.entries]
    assert titles[0].startswith(f"{CLAIM}: delayed → confirmed: ") and "<script>" in titles[0]  # as text
    assert len(titles) == 2
    assert all(not e.get("link", "").startswith("javascript:") for e in parsed.entries)
    one = feedparser.parse(requests.get(f"{base}/claims/{CLAIM}.atom", timeout=5).content)
    assert not one.bozo and len(one.entries) == 2
    assert requests.get(f"{base}/claims/nope.atom", timeout=5).status_code == 404


def test_api_mirrors_the_cli_documents(site):
    from conftest import run_cli

    start, tmp_path = site
    base = start()
    claims = requests.get(base + "/api/claims", timeout=5).json()
    cli = run_cli("claims", "--json", config=tmp_path / "monitor.toml", env={"STATUS_TOKEN": TOKEN})
    assert cli.returncode == 0, cli.stderr
    assert claims == json.loads(cli.stdout)
    status = requests.get(base + "/api/status", timeout=5).json()
    assert set(status) >= {"feeds", "channels", "outbox"} and status["outbox"]["pending"] == 2
    assert requests.get(base + "/api/outbox?status=pending", timeout=5).json()["outbox"][0]["status"] == "pending"
    assert requests.get(base + "/api/nothing", timeout=5).json()["error"].startswith("no API document")


def test_off_loopback_the_pages_need_the_token_and_never_show_it(site):
    start, _ = site
    base = start(listen_host="0.0.0.0")
    assert requests.get(base + "/", timeout=5).status_code == 401
    assert requests.get(base + "/api/claims", timeout=5).status_code == 401
    assert requests.get(base + "/?token=wrong", timeout=5).status_code == 401
    assert requests.get(base + "/", headers={"Authorization": "Bearer nope"}, timeout=5).status_code == 401
    for answer in (requests.get(base + "/", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5),
                   requests.get(f"{base}/claims/{CLAIM}?token={TOKEN}", timeout=5),
                   requests.get(f"{base}/api/status?token={TOKEN}", timeout=5)):
        assert answer.status_code == 200
        assert TOKEN not in answer.text
    assert requests.get(base + "/healthz", timeout=5).status_code == 200  # probes stay open, as before
    assert requests.get(base + "/metrics", timeout=5).status_code == 200


def test_off_loopback_without_a_token_configured_the_pages_are_refused(site):
    start, _ = site
    base = start(listen_host="0.0.0.0", token=False)
    refused = requests.get(base + "/", timeout=5)
    assert refused.status_code == 403 and "status_token_env" in refused.text
    assert requests.get(base + "/healthz", timeout=5).status_code == 200


def test_status_token_env_must_be_set(tmp_path):
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError) as raised:
        load_config(write_site(tmp_path, token_env="STATUS_TOKEN"), environ={})
    assert "monitor.status_token_env: environment variable STATUS_TOKEN is not set" in str(raised.value)
    config = load_config(tmp_path / "monitor.toml", environ={"STATUS_TOKEN": TOKEN})
    assert TOKEN not in repr(config)


def test_relative_times():
    from monitor.web.render import ago

    assert [ago(s) for s in (5, 59, 60, 3599, 7200, 86400 * 3, -120)] == [
        "5 s ago", "59 s ago", "1 min ago", "59 min ago", "2 h ago", "3 d ago", "in 2 min"]


def test_hostile_requests_get_a_clear_answer_and_inject_nothing(site):
    start, _ = site
    base = start()
    echoed = requests.get(base + "/claims/%3Cscript%3Ealert(1)%3C%2Fscript%3E", timeout=5)
    assert echoed.status_code == 404 and "<script>" not in echoed.text and "&lt;script&gt;" in echoed.text
    for path in ("/claims/" + CLAIM + "?page=abc", "/claims/" + CLAIM + "?page=-5", "/feeds?page=99999",
                 "/outbox?page=%00", "/api/outbox?limit=abc"):
        assert requests.get(base + path, timeout=5).status_code == 200, path
    assert requests.get(base + "/claims/" + "x" * 5000, timeout=5).status_code == 404
    assert requests.post(base + "/", timeout=5).status_code == 501  # read-only: no method but GET
    assert requests.get(base + "/healthz", timeout=5).status_code == 200  # and the server still answers


def test_the_feeds_page_names_the_claim_a_search_feed_was_built_from(tmp_path):
    from conftest import write_config
    from monitor.feeds.search import with_search_feeds

    path = write_config(tmp_path, {"monitor": {"database": "monitor.db"},
                                   "claims": [{"id": "bridge-opening", "text": "The Harbour Bridge opens",
                                               "search": ["gdelt"]}]})
    config = with_search_feeds(load_config(path, environ={}))
    Store(tmp_path / "monitor.db").close()
    status = StatusSite(listen_host="127.0.0.1", config=lambda: config, database=tmp_path / "monitor.db",
                        config_error=lambda: None, clock=lambda: NOW)
    server = HealthServer("127.0.0.1:0", database=tmp_path / "monitor.db", last_tick=lambda: NOW.timestamp(),
                          max_tick_age_seconds=60, clock=lambda: NOW.timestamp(), site=status)
    server.start()
    try:
        page = requests.get(f"http://127.0.0.1:{server.port}/feeds", timeout=5)
    finally:
        server.stop()
    assert page.status_code == 200
    assert "search:bridge-opening:gdelt" in page.text
    assert 'search feed of <a href="/claims/bridge-opening">bridge-opening</a>' in page.text
