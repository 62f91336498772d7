"""What reading article pages (``full_text = "hits"``) costs, and what it changes on the seed story.

Usage (from the repository root):
    .venv/bin/python bench/fulltext_cost.py [--pages 20] [--seed ../shared/scenario/seed_article.txt]

1. Extraction: ``monitor.feeds.article.extract`` (trafilatura and htmldate) on generated article pages of about
   20 kB, 200 kB and 2 MB (the body cap), in this process: milliseconds per page, median and worst of ``--pages``.
2. One candidate end to end: a loopback page server, ``ArticleReader.read_page`` through the shared parse
   workers (fetch, worker hand-over, extraction), milliseconds per page after the first (which starts the worker).
3. The seed story: its headline alone, and its headline with the article's text as a page, read by the shipped
   claim; the verdict and the sentence each gives. (The seed is the story that motivated the feature: this is a
   demonstration on it, not a held-out figure.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.feeds.article import ArticleReader, extract  # noqa: E402
from monitor.feeds.politeness import HostSlots  # noqa: E402
from monitor.models import Story  # noqa: E402
from monitor.reading.fulltext import judge_with_article  # noqa: E402
from monitor.reading.verdict import judge  # noqa: E402
from monitor.runtime import load  # noqa: E402

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
PARAGRAPH = ("The delegations met again on Monday in the capital and described the remaining gaps as small, "
             "according to two officials who asked not to be named because the talks were private. ")


def page(paragraphs: list[str], extra_bytes: int = 0) -> bytes:
    filler = "<div class='related'>" + "<a href='/x'>Related story headline here</a> " * (extra_bytes // 45) + "</div>"
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (f"<html><head><title>t</title><script>var x = 1;</script></head><body><nav>Home World</nav>"
            f"<article>{body}</article>{filler}<footer>Copyright</footer></body></html>").encode()


def timed(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--seed", default=str(REPO.parent / "shared" / "scenario" / "seed_article.txt"))
    args = parser.parse_args()

    print("extraction in this process (trafilatura + htmldate):")
    for label, extra in (("~20 kB", 15_000), ("~200 kB", 200_000), ("~2 MB", 2_000_000)):
        html = page([PARAGRAPH * 3] * 8, extra)
        median, worst = timed(lambda: extract(html, url=None, now=NOW), args.pages)
        print(f"  {label:8} ({len(html) / 1024:7.0f} KiB): median {median:7.1f} ms, worst {worst:7.1f} ms")

    html = page([PARAGRAPH * 3] * 8, 15_000)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *a) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/a"
    with ArticleReader(allow_private_networks=True, pace=None) as reader:
        reader.pace.per_minute = 10**6
        story = Story(id="s", feed="w", title="t", summary="", link=url)
        reader.read_page(story, hosts=HostSlots(), now=NOW)  # starts a worker, imports trafilatura there
        median, worst = timed(lambda: reader.read_page(story, hosts=HostSlots(), now=NOW), args.pages)
    server.shutdown()
    print(f"one ~20 kB page end to end (loopback fetch + parse worker): median {median:.1f} ms, worst {worst:.1f} ms")

    seed = Path(args.seed)
    if not seed.is_file():
        print(f"seed story: {seed} not found (a shared/ folder beside the clone); skipped")
        return
    lines = [line.strip() for line in seed.read_text(encoding="utf-8").splitlines() if line.strip()]
    title, body = lines[0], lines[1:]
    claim = load(REPO / "config" / "monitor.toml").claims[0]
    text, _ = extract(page(body), url=None, now=NOW)
    alone = judge(claim.verdict, title, "")
    read = judge_with_article(claim.verdict, title, "", text or "")
    print(f"seed story headline: {title!r}")
    print(f"  headline alone:      {alone.verdict} (cue {alone.cue!r})")
    print(f"  with the article:    {read.verdict} (cue {read.cue!r}): {read.sentence!r}")


if __name__ == "__main__":
    main()
