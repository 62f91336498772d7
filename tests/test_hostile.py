"""Fetch and parse against a hostile server (tests/hostile.py): every attack ends in a clean result or a
one-line error, within the caps, and nothing reaches the "internal" canary service."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone

import pytest
from hostile import BOMB_BYTES, FEED, RETRY_AFTER_DATE, HostileServer, brotli

from monitor.errors import FetchError, ParseError
from monitor.feeds.fetch import ACCEPT_ENCODING, Fetcher, FetchStatusError
from monitor.feeds.parse import MAX_TITLE_CHARS, parse_feed
from monitor.feeds.workers import ParsePool

MB = 1024 * 1024
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
# A guard against a hang, not a timing assertion: each of these must stop at a 0.5 s deadline, and without the
# deadline would run for minutes.
HANG = 10.0


def only_port(port: int):
    """An address policy that allows the hostile server itself and refuses everything else, the canary too."""
    return lambda ip, p: None if (ip, p) == ("127.0.0.1", port) else f"{ip}:{p} is not the hostile server"


@pytest.fixture
def server():
    with HostileServer() as hostile:
        yield hostile


@pytest.fixture
def fetcher(server):
    with Fetcher(address_policy=only_port(server.port), max_body_bytes=MB, deadline_seconds=0.5,
                 read_timeout_seconds=5) as f:
        yield f


def fetch_error(fetcher: Fetcher, url: str) -> FetchError:
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetcher.fetch(url, now=NOW)
    assert time.monotonic() - started < HANG
    assert "\n" not in str(info.value)
    return info.value


# --- compression ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/gzip-bomb",
    "/gzip-gzip-bomb",
    pytest.param("/brotli-bomb", marks=pytest.mark.skipif(brotli is None, reason="brotli not installed")),
])
def test_compression_bombs_are_cut_at_the_cap_without_inflating(server, path):
    # In a fresh interpreter, so tracemalloc sees this one fetch and not the servers of other tests.
    probe = textwrap.dedent(f"""
        import tracemalloc
        from monitor.errors import FetchError
        from monitor.feeds.fetch import Fetcher
        tracemalloc.start()
        try:
            Fetcher(allow_private_networks=True, max_body_bytes={MB}).fetch({server.url(path)!r})
        except FetchError as exc:
            print(tracemalloc.get_traced_memory()[1], exc)
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout
    peak, _, message = out.strip().partition(" ")
    assert message.endswith(f"body exceeds {MB} bytes"), out
    assert int(peak) < 6 * MB < BOMB_BYTES


def test_chained_gzip_is_decoded(server, fetcher):
    result = fetcher.fetch(server.url("/gzip-gzip"))
    assert result.body == FEED and result.headers["content-encoding"] == "gzip, gzip"
    assert [s.title for s in parse_feed(result.body, feed_name="h")] == ["First story", "Second story"]


@pytest.mark.skipif(brotli is None, reason="brotli not installed")
def test_brotli_is_advertised_and_decoded(server, fetcher):
    assert "br" in ACCEPT_ENCODING.split(", ")
    assert fetcher.fetch(server.url("/brotli")).body == FEED


# --- time ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/slow-drip", "/slow-headers", "/endless-trickle"])
def test_dripping_servers_are_cut_at_the_deadline(server, fetcher, path):
    # /slow-headers never finishes its header block: each byte arrives well within the 5 s read timeout, so only
    # the deadline watchdog, which shuts the socket down in the middle of http.client's read, can end it.
    error = fetch_error(fetcher, server.url(path))
    assert str(error) == f"{server.url(path)}: deadline of 0.5s exceeded"
    assert error.status is None
    assert server.finished.get(timeout=HANG) == (path, False)  # cut off, not waited out


def test_endless_chunked_body_is_cut_at_the_cap(server, fetcher):
    error = fetch_error(fetcher, server.url("/endless-chunked"))
    assert str(error).endswith(f"body exceeds {MB} bytes")


# --- redirects and addresses -----------------------------------------------------------------------------


def test_redirect_loop(server, fetcher):
    assert str(fetch_error(fetcher, server.url("/redirect-loop"))).endswith("too many redirects (6)")
    assert server.log == ["/redirect-loop", "/redirect-loop-b"] * 3


def test_redirect_to_loopback_is_refused_before_a_byte_is_sent(server, fetcher):
    error = fetch_error(fetcher, server.url("/redirect-to-loopback"))
    target = server.canary.url("/internal")
    assert str(error) == (f"{server.url('/redirect-to-loopback')} (redirected to {target}): refused: "
                          f"127.0.0.1:{server.canary.port} is not the hostile server")
    assert server.canary.hits == []


def test_default_policy_refuses_the_loopback_server_itself(server):
    with Fetcher() as default:
        error = fetch_error(default, server.url("/feed"))
    assert "127.0.0.1 is a loopback address" in str(error) and server.log == []


@pytest.mark.parametrize("path, hops, permanent", [
    ("/301-chain", [(301, "/301-chain-b"), (308, "/feed")], True),
    ("/302", [(302, "/feed")], False),
    ("/301-then-302", [(301, "/302"), (302, "/feed")], False),
    ("/feed", [], False),
])
def test_redirect_hops_and_permanent_url(server, fetcher, path, hops, permanent):
    result = fetcher.fetch(server.url(path))
    assert result.body == FEED and result.url == server.url("/feed")
    assert result.redirects == tuple((status, server.url(p)) for status, p in hops)
    assert result.permanent_url == (server.url("/feed") if permanent else None)


# --- statuses --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, status, raw, seconds", [
    ("/429", 429, "120", 120.0),
    ("/503-date", 503, RETRY_AFTER_DATE, (datetime(2037, 10, 21, 7, 28, tzinfo=timezone.utc) - NOW).total_seconds()),
    ("/410", 410, None, None),
])
def test_error_statuses_carry_retry_after(server, fetcher, path, status, raw, seconds):
    error = fetch_error(fetcher, server.url(path))
    assert isinstance(error, FetchStatusError)
    assert (error.status, error.retry_after, error.retry_after_seconds) == (status, raw, seconds)
    if status == 410:
        assert str(error) == f"{server.url('/410')}: HTTP 410 Gone"


# --- hostile XML -----------------------------------------------------------------------------------------


def fetch_and_parse(fetcher: Fetcher, url: str) -> list:
    result = fetcher.fetch(url)
    return parse_feed(result.body, feed_name="h", headers=result.headers, url=result.url)


@pytest.mark.parametrize("path", ["/billion-laughs", "/quadratic"])
def test_entity_bombs_are_not_expanded(server, fetcher, path):
    (story,) = fetch_and_parse(fetcher, server.url(path))
    assert len(story.title) <= MAX_TITLE_CHARS
    assert "lollol" not in story.title and "AAAA" not in story.title


def test_xxe_file_is_not_read(server, fetcher):
    (story,) = fetch_and_parse(fetcher, server.url("/xxe-file"))
    assert story.title == "file &xxe; end" and "root:" not in story.title


def test_xxe_and_external_dtds_are_never_fetched(server, fetcher):
    (story,) = fetch_and_parse(fetcher, server.url("/xxe-http"))
    assert story.title == "http &xxe; end"
    assert server.canary.hits == []


def test_huge_title_is_capped(server):
    with Fetcher(address_policy=only_port(server.port)) as f:
        (story,) = fetch_and_parse(f, server.url("/huge-title"))
    assert len(story.title) <= MAX_TITLE_CHARS and story.title.startswith("word word")


def test_redos_feed_is_stopped_at_the_parse_budget_and_the_pool_recovers(server, fetcher):
    body = fetcher.fetch(server.url("/redos")).body
    with ParsePool(workers=2, budget_seconds=1) as pool:
        started = time.monotonic()
        with pytest.raises(ParseError, match=r"^parse budget of 1s exceeded$"):
            pool.parse(body, feed_name="h")
        assert time.monotonic() - started < HANG  # in-process this parse takes ~25 s
        # The stuck worker was killed and replaced: the next feeds parse normally, in both workers.
        for _ in range(3):
            assert [s.title for s in pool.parse(FEED, feed_name="h")] == ["First story", "Second story"]
