"""A real database for the status-page tests: one claim moved pending → delayed → confirmed by stored hits, a
hostile story among its evidence, alerts in the outbox and a failing feed. Our own invented text throughout."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from conftest import write_config
from monitor import alerts
from monitor.config import load_config
from monitor.models import Hit, Story, Verdict
from monitor.store import Store, outbox

NOW = datetime(2031, 5, 6, 12, 0, tzinfo=timezone.utc)
CLAIM = "harbour-bridge-opening"
HOSTILE_TITLE = '<script>alert("x")</script><img src=x onerror="alert(1)"> Bridge opens'
HOSTILE_LINK = "javascript:alert(document.cookie)"


def write_site(folder: Path, *, feeds: int = 2, listen: str = "127.0.0.1:0", token_env: str | None = None,
               database: str = "monitor.db") -> Path:
    monitor = {"database": database, "listen": listen}
    if token_env:
        monitor["status_token_env"] = token_env
    document = {
        "monitor": monitor,
        "feeds": [{"name": f"outlet{i}", "url": f"https://outlet{i}.example.com/rss"} for i in range(feeds)],
        "claims": [{"id": CLAIM, "text": "The new harbour bridge opens to traffic", "channels": ["hook"],
                    "trusted_outlets": ["outlet0"]}],
        "channels": [{"name": "hook", "kind": "webhook", "url": "https://hooks.example.com/in"}],
    }
    return write_config(folder, document)


def fill(database: Path, config_path: Path, *, environ: dict | None = None, now: datetime = NOW) -> None:
    """The claim's story over the three days before ``now``, ending CONFIRMED, with one alert per move."""
    NOW = now  # noqa: N806 (the module's moment, moved)
    config = load_config(config_path, environ=environ or {})
    claim = config.claims[0]
    day = timedelta(days=1)
    stories = [
        (NOW - 3 * day, Story(id="s1", feed="outlet0", title="Bridge opening set for spring", summary="",
                              link="https://outlet0.example.com/s1", published_at=NOW - 3 * day),
         Verdict.PENDING, None, None),
        (NOW - 2 * day, Story(id="s2", feed="outlet1", title="Bridge opening postponed to autumn", summary="",
                              link="https://outlet1.example.com/s2", published_at=NOW - 2 * day),
         Verdict.DELAYED, "postponed", "The opening of the bridge was postponed to autumn."),
        (NOW - day, Story(id="s3", feed="outlet0", title=HOSTILE_TITLE, summary="", link=HOSTILE_LINK,
                          published_at=NOW - day),
         Verdict.CONFIRMED, "opens", 'The bridge opens <b onmouseover="alert(2)">today</b>.'),
    ]
    with Store(database) as store:
        previous = Verdict.PENDING
        for at, story, verdict, cue, sentence in stories:
            with store.transaction():
                store.insert_stories([story], at)
                hit = Hit(story_id=story.id, claim_id=CLAIM, score=42.0, matched_terms=("bridge", "opening"),
                          verdict=verdict, cue=cue, sentence=sentence, group_id=f"g-{story.id}")
                store.insert_hits([hit], at)
                if verdict != previous:
                    store.record_transition(CLAIM, previous, verdict, at, story.id, at, [])
                    alert = alerts.state_changed(claim, str(previous), str(verdict), hit, story, [], None, at)
                    outbox.enqueue(store, alert, ["hook"], at)
                    previous = verdict
        with store.transaction():
            store.record_feed_error("outlet1", "https://outlet1.example.com/rss", NOW - timedelta(hours=2),
                                    "HTTP 500 Internal Server Error")
