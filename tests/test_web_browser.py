"""The status pages in a real browser: Debian's chromium, headless, reading the daemon's pages after the own
scenario's four days were polled by the real ``poll-once``, with a hostile story added to the claim."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from browser import chromium, dump_dom, screenshot
from conftest import OWN_SCENARIO, read_scenario, run_cli, shipped_claims, write_config
from monitor.config import load_config
from monitor.daemon.health import HealthServer
from monitor.models import Hit, Story, Verdict
from monitor.store import Store
from monitor.web.routes import StatusSite
from test_scenario import Timeline, feed_for
from webdata import HOSTILE_LINK, HOSTILE_TITLE

# NEWS_MONITOR_SCREENSHOTS=docs keeps the screenshots there: the docs' pictures of the pages are made so.
SCREENSHOTS = os.environ.get("NEWS_MONITOR_SCREENSHOTS")

pytestmark = pytest.mark.skipif(chromium() is None, reason="chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def served(tmp_path_factory, request):
    from pytest_httpserver import HTTPServer

    folder = tmp_path_factory.mktemp("browser")
    timeline = Timeline(read_scenario(Path(OWN_SCENARIO)), ("k1", "k3", "k2"), "s1")
    claim = shipped_claims()[0]
    feeds = HTTPServer(host="127.0.0.1")
    feeds.start()
    request.addfinalizer(feeds.stop)
    document = {"monitor": {"database": "monitor.db", "allow_private_networks": True},
                "feeds": [{"name": o, "url": feeds.url_for(f"/{o}.xml")} for o in timeline.outlets],
                "claims": [{**claim, "channels": []}]}
    config_path = write_config(folder, document)
    now = datetime.now(timezone.utc)  # poll-once stamps with the real clock; the pages are read at its time
    for day in timeline.days:
        feeds.clear()
        for outlet in timeline.outlets:
            feeds.expect_request(f"/{outlet}.xml").respond_with_data(feed_for(timeline, outlet, day, now),
                                                                      content_type="application/rss+xml")
        result = run_cli("poll-once", config=config_path)
        assert result.returncode == 0, result.stdout + result.stderr
    database = folder / "monitor.db"
    added = datetime.now(timezone.utc)  # after the polls: the claim's newest evidence
    with Store(database) as store, store.transaction():
        hostile = Story(id="hostile", feed=timeline.outlets[0], title=HOSTILE_TITLE, summary="", link=HOSTILE_LINK)
        store.insert_stories([hostile], added)
        store.insert_hits([Hit(story_id="hostile", claim_id=claim["id"], score=50.0, verdict=Verdict.PENDING,
                               sentence=HOSTILE_TITLE)], added)
    config = load_config(config_path, environ={})
    site = StatusSite(listen_host="127.0.0.1", config=lambda: config, database=database,
                      clock=lambda: datetime.now(timezone.utc))
    server = HealthServer("127.0.0.1:0", database=database, last_tick=lambda: None, max_tick_age_seconds=60,
                          site=site)
    server.start()
    request.addfinalizer(server.stop)
    return f"http://127.0.0.1:{server.port}", claim["id"], folder


def test_the_overview_renders_the_scenario_claim(served):
    base, claim_id, folder = served
    dom = dump_dom(base + "/", folder / "profile")
    assert f'<a href="/claims/{claim_id}">{claim_id}</a>' in dom
    assert '<span class="state rejected">rejected</span>' in dom  # the scenario ends with the contradiction
    assert "<time " in dom and 'title="' in dom
    assert "<img" not in dom and "&lt;img src=x onerror=" in dom  # the hostile title is text, not an element
    if SCREENSHOTS:
        screenshot(base + "/", Path(SCREENSHOTS) / "status-overview.png", folder / "profile", height=700)


def test_the_claim_page_renders_its_states_the_chart_and_hostile_text_as_text(served, tmp_path):
    base, claim_id, folder = served
    dom = dump_dom(f"{base}/claims/{claim_id}", folder / "profile")
    assert '<svg id="timeline"' in dom
    bands = [part.split('"')[0] for part in dom.split('<rect class="band ')[1:]]
    assert bands == ["pending", "delayed", "confirmed", "rejected"]
    assert dom.count("<tr>") > 5  # the history and the evidence tables
    assert "<script" not in dom and "&lt;script&gt;alert(" in dom
    assert "<img" not in dom and 'href="javascript:' not in dom
    shot = screenshot(f"{base}/claims/{claim_id}", Path(SCREENSHOTS or tmp_path) / "status-claim.png",
                      folder / "profile")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
