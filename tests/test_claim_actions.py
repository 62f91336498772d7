"""Acting on a claim by hand: ``claims mute``, ``claims unmute`` and ``claims reset``, recorded in its history,
shown on its page, and a muted claim sending no alerts while its state still moves (the real ``poll-once``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from conftest import OWN_SCENARIO, read_scenario, run_cli, shipped_claims, write_config
from monitor.config import load_config
from monitor.models import Verdict
from monitor.store import Store
from monitor.web.routes import StatusSite
from test_scenario import Timeline, feed_for
from webdata import CLAIM, fill, write_site


def claims_json(config: Path) -> dict:
    result = run_cli("claims", "--json", config=config)
    assert result.returncode == 0, result.stderr
    return {row["id"]: row for row in json.loads(result.stdout)["claims"]}


def test_mute_unmute_and_reset_are_recorded_and_shown(tmp_path):
    config = write_site(tmp_path)
    # The CLI stamps its actions with the real clock: the story ends a minute before it.
    fill(tmp_path / "monitor.db", config, now=datetime.now(timezone.utc) - timedelta(minutes=1))
    muted = run_cli("claims", "mute", CLAIM, "--for", "1d", config=config)
    assert muted.returncode == 0 and "muted until" in muted.stdout, muted.stderr
    row = claims_json(config)[CLAIM]
    assert row["muted_until"] is not None and row["history"][-1]["kind"] == "mute"
    listed = run_cli("claims", config=config).stdout
    assert "MUTED until" in listed and "(mute: until" in listed

    assert "unmuted" in run_cli("claims", "unmute", CLAIM, config=config).stdout
    assert "was not muted" in run_cli("claims", "unmute", CLAIM, config=config).stdout  # nothing recorded twice

    reset = run_cli("claims", "reset", CLAIM, "--to", "pending", "--why", "the opening was a rehearsal",
                    config=config)
    assert reset.returncode == 0 and "confirmed → pending" in reset.stdout, reset.stderr
    row = claims_json(config)[CLAIM]
    assert row["state"] == "pending"
    assert [(h["kind"], h["state"]) for h in row["history"]] == [
        ("change", "delayed"), ("change", "confirmed"), ("mute", "confirmed"), ("unmute", "confirmed"),
        ("reset", "pending")]
    assert row["history"][-1]["note"] == "the opening was a rehearsal"

    later = datetime.now(timezone.utc)  # the CLI stamped the actions with the real clock
    site = StatusSite(listen_host="127.0.0.1", config=lambda: load_config(config, environ={}),
                      database=tmp_path / "monitor.db", clock=lambda: later)
    page = site.answer(f"/claims/{CLAIM}", "", {}).body.decode()
    assert "reset by hand: the opening was a rehearsal" in page and "mute by hand" in page
    assert [part.split('"')[0] for part in page.split('<rect class="band ')[1:]] == ["pending", "delayed",
                                                                                     "confirmed", "pending"]
    assert page.count('<line class="mark ') == 3


def test_reset_needs_a_reason_and_a_known_claim(tmp_path):
    config = write_site(tmp_path)
    fill(tmp_path / "monitor.db", config)
    assert run_cli("claims", "reset", CLAIM, "--why", "  ", config=config).returncode != 0
    unknown = run_cli("claims", "mute", "no-such-claim", "--for", "1d", config=config)
    assert unknown.returncode != 0 and "unknown claim 'no-such-claim'" in unknown.stderr
    with Store(tmp_path / "monitor.db") as store:
        assert store.claim_state(CLAIM).state == Verdict.CONFIRMED  # nothing changed


def test_a_muted_claim_moves_but_sends_nothing(tmp_path, httpserver, receiver):
    timeline = Timeline(read_scenario(Path(OWN_SCENARIO)), ("k1", "k3", "k2"), "s1")
    claim = shipped_claims()[0]
    document = {"monitor": {"database": "monitor.db", "allow_private_networks": True},
                "feeds": [{"name": o, "url": httpserver.url_for(f"/{o}.xml")} for o in timeline.outlets],
                "claims": [{**claim, "channels": ["hook"]}],
                "channels": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout_seconds": 5}]}
    config = write_config(tmp_path, document)
    now = datetime.now(timezone.utc)

    def poll(day: int) -> None:
        httpserver.clear()
        for outlet in timeline.outlets:
            httpserver.expect_request(f"/{outlet}.xml").respond_with_data(
                feed_for(timeline, outlet, day, now), content_type="application/rss+xml")
        result = run_cli("poll-once", config=config)
        assert result.returncode == 0, result.stdout + result.stderr

    poll(1)
    assert run_cli("claims", "mute", claim["id"], "--for", "1d", config=config).returncode == 0
    poll(2)  # the delay is reported while muted
    row = claims_json(config)[claim["id"]]
    assert row["state"] == "delayed"  # the state is tracked
    assert receiver.received == []  # and nothing was sent
    with Store(tmp_path / "monitor.db") as store:
        assert store.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0

    assert run_cli("claims", "unmute", claim["id"], config=config).returncode == 0
    poll(3)  # the signing, after the mute: alerted as usual
    assert [(a.body["previous_state"], a.body["state"]) for a in receiver.received] == [("delayed", "confirmed")]
