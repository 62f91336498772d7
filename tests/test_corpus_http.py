"""The whole shared feed corpus, served over loopback HTTP, fetched and parsed as the daemon does it.

Every file under ../shared/feeds/ is served by one threaded server (Content-Type from the extension, plus the
headers a feedparser test file says it was served with in its leading ``Header:`` comment lines), fetched by a
``Fetcher`` on 8 threads and parsed in a ``ParsePool``. Every file must end with stories, an empty feed, or a
FetchError/ParseError to record; no other exception may escape. The fastfeedparser reference outputs must match
what comes back over HTTP, as they do from disk (tests/test_parse.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from conftest import shared_path
from test_parse import _norm, _reference_pairs

from monitor.errors import FetchError, ParseError
from monitor.feeds.fetch import Fetcher
from monitor.feeds.parse import MAX_SUMMARY_CHARS, MAX_TITLE_CHARS
from monitor.feeds.workers import ParsePool

FEEDS = shared_path("feeds")  # resolved: a symlinked shared/ too
FILES = sorted(p for p in FEEDS.rglob("*") if p.is_file()) if FEEDS.is_dir() else []
TYPES = {".xml": "application/xml", ".rss": "application/xml", ".atom": "application/xml",
         ".json": "application/json"}
_HEADER = re.compile(rb"^Header:\s*([\w-]+):[ \t]*(.*?)\s*$", re.M)
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)  # the reference outputs keep dates up to the present


class CorpusHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = (FEEDS / unquote(self.path.lstrip("/"))).resolve()
        if not path.is_relative_to(FEEDS) or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        headers = {"Content-Type": TYPES.get(path.suffix, "application/octet-stream")}
        # Only feedparser's test files carry these; they are how its own test server served each file.
        headers.update({k.decode().title(): v.decode("latin-1") for k, v in _HEADER.findall(body[:2000])
                        if k.lower() != b"content-length"})
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def corpus_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), CorpusHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def outcomes(corpus_server):
    """relative path → ("parsed", stories) | ("empty", []) | ("fetch-error" / "parse-error", message)."""
    with Fetcher(allow_private_networks=True) as fetcher, ParsePool(workers=4, budget_seconds=30) as pool:
        def poll(path: Path) -> tuple[str, object]:
            url = corpus_server + quote(str(path.relative_to(FEEDS)))
            try:
                result = fetcher.fetch(url)
            except FetchError as exc:
                return "fetch-error", str(exc)
            if result.body != path.read_bytes() or result.content_hash != hashlib.sha256(result.body).hexdigest():
                return "fetch-error", "body differs from the file"
            try:
                stories = pool.parse(result.body, feed_name=path.name, headers=result.headers, url=result.url,
                                     now=NOW)
            except ParseError as exc:
                return "parse-error", str(exc)
            return ("parsed" if stories else "empty"), stories

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as threads:
            # .result() re-raises here anything but the two recorded errors: that is the first assertion.
            results = dict(zip(FILES, threads.map(poll, FILES), strict=True))
        elapsed = time.monotonic() - started
    counts = Counter(kind for kind, _ in results.values())
    print(f"\ncorpus over HTTP: {len(FILES)} files in {elapsed:.1f}s: " + ", ".join(
        f"{counts[k]} {k}" for k in ("parsed", "empty", "parse-error", "fetch-error")))
    return {str(p.relative_to(FEEDS)): outcome for p, outcome in results.items()}


pytestmark = pytest.mark.corpus


def test_every_file_ends_with_stories_or_a_recorded_error(outcomes):
    assert len(outcomes) == len(FILES) > 2000
    fetch_errors = {path: detail for path, (kind, detail) in outcomes.items() if kind == "fetch-error"}
    # Every file is small and served correctly, so each must arrive byte for byte: an error here is a fetch bug.
    assert fetch_errors == {}
    for path, (kind, detail) in outcomes.items():
        if kind == "parse-error":
            assert isinstance(detail, str) and detail and "\n" not in detail, path
            continue
        assert len({s.id for s in detail}) == len(detail), path
        for story in detail:
            assert story.title and len(story.title) <= MAX_TITLE_CHARS, path
            assert len(story.summary) <= MAX_SUMMARY_CHARS, path
            assert story.link is None or story.link.startswith(("http://", "https://")), path


def test_real_world_feeds_give_stories(outcomes):
    # Guards against a regression that turns everything into recorded errors while "never crashing". Most of
    # feedparser's test files hold no entry on purpose (feed-level elements, broken markup); the real-world
    # samples are feeds: all of fastfeedparser's, and feedjira's but 11 non-feeds, the manifest and 1 empty feed.
    kinds = Counter((path.split("/")[0], kind) for path, (kind, _) in outcomes.items())
    assert kinds[("fastfeedparser_integration", "parsed")] == 14
    assert kinds[("feedjira_sample_feeds", "parsed")] == 202
    assert kinds[("feedparser_tests", "parsed")] > 400


@pytest.mark.parametrize("feed, reference", _reference_pairs() if FILES else [], ids=lambda p: p.name)
def test_fastfeedparser_reference_titles_and_links_over_http(outcomes, feed, reference):
    kind, stories = outcomes[str(feed.relative_to(FEEDS))]
    assert kind == "parsed", stories
    expected = json.loads(reference.read_text(encoding="utf-8"))["entries"]
    assert [(s.title, s.link) for s in stories] == [(_norm(e.get("title")), e.get("link") or None)
                                                   for e in expected]
