"""Shared test fixtures: feed documents, a config writer, a webhook receiver on loopback, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config.database import database_option
from monitor.configtext import toml_document  # noqa: F401  (the tests' config writer)
import pgserver as postgres

REPO = Path(__file__).resolve().parents[1]


def _sleep_on_an_event(seconds: float) -> None:
    threading.Event().wait(seconds)


# CI runs the suite under ``faketime -f '+400d'`` with FAKETIME_DONT_FAKE_MONOTONIC=1 (a faked monotonic clock
# makes every timed wait endless). There libfaketime 0.9.10 fails time.sleep, Python's absolute
# clock_nanosleep on the monotonic clock, with EINVAL; a timed Event wait is the same sleep on that clock.
if "faketime" in os.environ.get("LD_PRELOAD", "") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":
    time.sleep = _sleep_on_an_event

# The external corpora and labelled data (feeds/, eval/, scenario/) live in a ``shared/`` folder beside the clone,
# not in the repository. Tests that read them are marked ``corpus``; every other test runs on fixtures in tests/.
SHARED = (REPO.parent / "shared").resolve()
REQUIRE_CORPUS = "NEWS_MONITOR_REQUIRE_CORPUS"
FIXTURES = REPO / "tests" / "fixtures"


def shared_path(*parts: str) -> Path:
    """A path inside the shared data folder. Safe at import time: it reads nothing, and a missing folder only
    matters to the ``corpus`` tests, which the hooks below skip (or fail, when the corpus is required)."""
    return SHARED.joinpath(*parts)


def corpus_required() -> bool:
    return os.environ.get(REQUIRE_CORPUS, "") not in ("", "0")


def corpus_missing_reason() -> str | None:
    """One line saying why the corpus tests cannot run here, or None when the shared folder is present."""
    if SHARED.is_dir():
        return None
    return f"corpus data not found: no shared/ folder at {SHARED} (beside the clone)"


# The pending-signing timeline: ours (tests/fixtures/, always run) and the shared one (a ``corpus`` test).
OWN_SCENARIO = FIXTURES / "signing_scenario.jsonl"
SHARED_SCENARIO = shared_path("scenario", "iraq_signing_stories.jsonl")


def read_scenario(path: Path) -> list[dict]:
    """The stories of a scenario file: one JSON object a line (id, day, outlet, title, summary, expected,
    cluster, lang), in timeline order."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scenario_story_params(keep=lambda story: True) -> list:
    """pytest params, one per story ``keep`` accepts: our scenario's, then the shared one's (marked ``corpus``;
    a single placeholder that is skipped when the shared folder is absent, so collection never reads it)."""
    params = [pytest.param(s, id=f"own-{s['id']}") for s in read_scenario(OWN_SCENARIO) if keep(s)]
    if not SHARED_SCENARIO.is_file():
        return params + [pytest.param(None, id="shared", marks=pytest.mark.corpus)]
    return params + [pytest.param(s, id=f"shared-{s['id']}", marks=pytest.mark.corpus)
                     for s in read_scenario(SHARED_SCENARIO) if keep(s)]


# What each optional kind of test needs: (mark, why it cannot run here or None, whether it must, the variable).
def _optional_needs() -> list[tuple[str, str | None, bool, str]]:
    return [("corpus", corpus_missing_reason(), corpus_required(), REQUIRE_CORPUS),
            ("postgres", postgres.missing_reason(), postgres.required(), postgres.REQUIRE_ENV)]


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for mark, reason, must, variable in _optional_needs():
        if reason is None:
            lines.append(f"{mark}: {SHARED if mark == 'corpus' else 'on ' + postgres.SERVER_ENV}")
        else:
            action = "they fail" if must else f"they are skipped; {variable}=1 makes them fail"
            lines.append(f"{mark}: {reason}: {action}")
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the shared folder (or a PostgreSQL server), every ``corpus`` (``postgres``) test is skipped with
    the one reason line, ahead of any other mark (an empty parameter list over a missing corpus skips with this
    reason too)."""
    for mark, reason, must, _ in _optional_needs():
        if reason is None or must:
            continue
        for item in items:
            if item.get_closest_marker(mark):
                item.add_marker(pytest.mark.skip(reason=reason), append=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """With NEWS_MONITOR_REQUIRE_CORPUS=1 (NEWS_MONITOR_REQUIRE_POSTGRES=1) a missing corpus (server) fails
    every ``corpus`` (``postgres``) test instead of skipping it."""
    for mark, reason, must, variable in _optional_needs():
        if reason is not None and must and item.get_closest_marker(mark):
            pytest.fail(f"{reason}, and {variable} is set", pytrace=False)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database's URL (for tests marked ``postgres``)."""
    with postgres.fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_setting(request) -> Iterator[str]:
    """``monitor.database`` for a test run on each store: a SQLite file in the config's folder, then a new
    PostgreSQL database."""
    if request.param == "sqlite":
        yield "monitor.db"
    else:
        with postgres.fresh_database() as url:
            yield url


@pytest.fixture
def database(database_setting, tmp_path):
    """What ``Store`` opens, on each store in turn (see ``database_setting``)."""
    return database_option(str(tmp_path / database_setting) if database_setting == "monitor.db" else database_setting)


def rss(items: Iterable[dict], *, title: str = "Test feed") -> bytes:
    """An RSS 2.0 document; each item may have guid, title, summary, link, published (datetime) and source: a
    (publisher name, publisher URL) pair, as an aggregator such as Google News names each item's publisher."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
             "<link>http://example.com/</link><description>test</description>"]
    for item in items:
        parts.append("<item>")
        if "guid" in item:
            parts.append(f'<guid isPermaLink="false">{escape(item["guid"])}</guid>')
        for key, tag in (("title", "title"), ("summary", "description"), ("link", "link")):
            if item.get(key):
                parts.append(f"<{tag}>{escape(item[key])}</{tag}>")
        if item.get("published"):
            parts.append(f"<pubDate>{format_datetime(item['published'])}</pubDate>")
        if item.get("source"):
            name, url = item["source"]
            parts.append(f'<source url="{escape(url, {chr(34): "&quot;"})}">{escape(name)}</source>')
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def write_config(folder: Path, document: dict) -> Path:
    path = folder / "monitor.toml"
    path.write_text(toml_document(document), encoding="utf-8")
    return path


def shipped_claims() -> list[dict]:
    import tomllib
    return tomllib.loads((REPO / "config" / "monitor.toml").read_text(encoding="utf-8"))["claims"]


@dataclass
class Received:
    headers: dict
    body: dict


@dataclass
class WebhookReceiver:
    """A loopback HTTP endpoint that records every POST and answers with scripted status codes."""

    server: HTTPServer
    statuses: list[int] = field(default_factory=list)  # consumed one per request; 200 once empty
    received: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None  # when set up, requests block until it is set
    arrived: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return self.server.url_for("/hook")

    def _handle(self, request: Request) -> Response:
        self.received.append(Received(headers=dict(request.headers), body=json.loads(request.get_data())))
        self.arrived.set()
        if self.hold is not None:
            self.hold.wait(timeout=30)
        status = self.statuses.pop(0) if self.statuses else 200
        return Response("ok" if status < 300 else "no", status=status)

    def ids(self) -> list[str]:
        return [r.body["id"] for r in self.received]


@pytest.fixture
def receiver():
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    hook = WebhookReceiver(server)
    server.expect_request("/hook", method="POST").respond_with_handler(hook._handle)
    yield hook
    if hook.hold is not None:
        hook.hold.set()
    server.clear()
    server.stop()


def run_cli(*args: str, config: Path | None = None, timeout: float = 60,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m monitor`` for real, in a subprocess, and capture its output."""
    command = [sys.executable, "-m", "monitor"]
    if config is not None:
        command += ["--config", str(config)]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("MONITOR_CONFIG", None) if config is not None else None
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=REPO)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
