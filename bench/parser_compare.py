"""feedparser against fastfeedparser, and monitor's parse_feed (fastfeedparser first, feedparser as the fallback)
against its feedparser-only path: speed per feed, which path each feed takes, and agreement.

Usage (from the repository root; needs `pip install fastfeedparser`):
    /work/venv/bin/python bench/parser_compare.py [--farm-feeds 200] [--items 50] [--shared ../shared/feeds]
        [--details 40] [--prepared] [--json]

Corpora: the feed farm's generated feeds (bench/feed_farm.py, RSS 2.0 and Atom) and every XML file under
--shared (JSON files are skipped: monitor reads JSON Feed itself). Each body is parsed from the same raw bytes
(or, with --prepared, as monitor/feeds/parse.py prepares them: decoded to UTF-8 by feedparser's rules, DTDs stripped) by
    feedparser      feedparser.parse(BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    fastfeedparser  fastfeedparser.parse(body)   (bytes: never taken as a URL)
    old parse_feed  monitor.feeds.parse.parse_feed_with_feedparser: every XML feed through feedparser, plus monitor's
                    own work (encoding, DTD strip, plain text, ids), as before fastfeedparser
    parse_feed      monitor.feeds.parse.parse_feed: monitor.feeds.fastparse (fastfeedparser) where it reads a feed as
                    feedparser does, else the old path
Raw parsers, per entry, aligned by position: title and summary (both through monitor.feeds.parse.plain_text), link, id
(guid) and date (published, else updated, to the second in UTC). Reported: ms per feed, how many feeds each parser
reads (≥ 1 entry), feeds where fastfeedparser raises or finds a different number of entries, and the share of
entries that agree per field, with examples of the differences. For parse_feed: how many feeds take each path,
why the others fall back (monitor.feeds.fastparse.Fallback), and feeds whose stories differ from the old path's
(id, title, link, summary, published_at; there should be none).
"""

from __future__ import annotations

import argparse
import calendar
import io
import json
import statistics
import sys
import time
import warnings
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

FIELDS = ("title", "link", "id", "date", "summary")
URL = "http://127.0.0.1:8097/feed/"  # the base every body is parsed with (relative links, permalink guids)
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def _fp_date(entry) -> str | None:
    for key in ("published_parsed", "updated_parsed"):
        value = dict.get(entry, key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            except (OverflowError, ValueError):
                return None
    return None


def _ffp_date(entry) -> str | None:
    for key in ("published", "updated"):
        value = entry.get(key)
        if value:
            try:
                d = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return f"unparsed:{value}"
            if d.tzinfo is None:
                d = d.replace(tzinfo=timezone.utc)
            return d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return None


def _fields(entry, plain_text, date) -> dict:
    content = entry.get("content") or [{}]
    summary = entry.get("summary") or entry.get("description") or (
        content[0].get("value") if isinstance(content, list) and content and isinstance(content[0], dict) else None)
    return {"title": plain_text(entry.get("title") or ""), "link": (entry.get("link") or "").strip() or None,
            "id": (entry.get("id") or "").strip() or None, "date": date(entry),
            "summary": plain_text(summary or "")[:300]}


def prepared(body: bytes) -> bytes:
    """The bytes monitor/feeds/parse.py hands either parser: decoded to UTF-8 by feedparser's rules, DTDs stripped."""
    from monitor.errors import ParseError
    from monitor.feeds.parse import prepare_xml

    try:
        return prepare_xml(body, {})
    except ParseError:
        return body


def _stories(parse, body: bytes) -> tuple[object, str | None]:
    """Comparable stories (or the error) of one parse, and the parser parse_feed_traced names."""
    from monitor.errors import ParseError

    try:
        result = parse(body, feed_name="cmp", url=URL, now=NOW)
    except ParseError as exc:
        return f"ParseError: {exc}", None
    stories, parser = result if isinstance(result, tuple) else (result, None)
    return [(s.id, s.title, s.link, s.summary, s.published_at) for s in stories], parser


def _fallback_reason(body: bytes) -> str:
    import re

    from monitor.feeds import fastparse
    from monitor.errors import ParseError
    from monitor.feeds.parse import prepare_xml

    try:
        fastparse.read(prepare_xml(body, {}), URL)
    except fastparse.Fallback as exc:
        # One line per rule: drop the positions and quoted names of the particular document.
        return re.sub(r", line \d+.*|\(<string>.*", "", str(exc)).split("\n")[0][:70]
    except ParseError as exc:
        return f"ParseError: {exc}"[:70]
    return "read (no usable story: feedparser decides)"


def compare(name: str, bodies: list[tuple[str, bytes]], details: int, raw: bool = False) -> dict:
    import fastfeedparser
    import feedparser
    from lxml import etree

    from monitor.feeds.parse import parse_feed_traced, parse_feed_with_feedparser, plain_text

    strict = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

    times = {"feedparser": [], "fastfeedparser": [], "old parse_feed": [], "parse_feed": []}
    paths: Counter = Counter()
    reasons: Counter = Counter()
    story_differences: list[str] = []
    read = Counter()
    entries_compared = 0
    agree = Counter()
    problems: list[tuple[str, str]] = []
    differences: dict[str, list[str]] = {f: [] for f in FIELDS}
    for path, original in bodies:
        body = original if raw else prepared(original)
        try:
            etree.fromstring(body, strict)
        except etree.XMLSyntaxError:
            read["not_well_formed"] += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            try:
                fp = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
                fp_entries = fp.entries
            except Exception as exc:  # noqa: BLE001
                fp_entries, fp_error = [], exc
            times["feedparser"].append(time.perf_counter() - t)
            t = time.perf_counter()
            ffp_error = None
            try:
                ffp_entries = fastfeedparser.parse(body).get("entries") or []
            except Exception as exc:  # noqa: BLE001
                ffp_entries, ffp_error = [], f"{type(exc).__name__}: {str(exc)[:100]}"
            times["fastfeedparser"].append(time.perf_counter() - t)
            t = time.perf_counter()
            old, _ = _stories(parse_feed_with_feedparser, original)
            times["old parse_feed"].append(time.perf_counter() - t)
            t = time.perf_counter()
            new, parser = _stories(parse_feed_traced, original)
            times["parse_feed"].append(time.perf_counter() - t)
        paths[parser or "error"] += 1
        if parser == "feedparser":
            reasons[_fallback_reason(original)] += 1
        if new != old:
            story_differences.append(path)
        read["feedparser"] += bool(fp_entries)
        read["fastfeedparser"] += bool(ffp_entries)
        if fp_entries and not ffp_entries:
            read["ffp_cannot_read"] += 1
            problems.append((path, f"fastfeedparser reads no entry ({ffp_error or 'no error'}); feedparser "
                                   f"{len(fp_entries)}"))
        elif ffp_entries and not fp_entries:
            read["ffp_only"] += 1
            problems.append((path, f"only fastfeedparser reads entries ({len(ffp_entries)})"))
        elif len(fp_entries) != len(ffp_entries):
            read["count_differs"] += 1
            problems.append((path, f"entries: feedparser {len(fp_entries)}, fastfeedparser {len(ffp_entries)}"))
        for a, b in zip(fp_entries, ffp_entries):
            fa, fb = _fields(a, plain_text, _fp_date), _fields(b, plain_text, _ffp_date)
            entries_compared += 1
            for f in FIELDS:
                if fa[f] == fb[f]:
                    agree[f] += 1
                elif len(differences[f]) < 1000:
                    differences[f].append(f"{path}: {fa[f]!r:.90} | {fb[f]!r:.90}")
    ms = {k: (1000 * statistics.mean(v), 1000 * statistics.median(v), 1000 * sum(v)) for k, v in times.items()}
    return {"name": name, "feeds": len(bodies), "ms": ms, "read": dict(read), "entries": entries_compared,
            "paths": dict(paths), "fallback_reasons": dict(reasons.most_common()),
            "story_differences": story_differences,
            "agree": {f: agree[f] / entries_compared if entries_compared else None for f in FIELDS},
            "problems": problems, "differences": {f: d[:details] for f, d in differences.items()},
            "difference_counts": {f: entries_compared - agree[f] for f in FIELDS}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--farm-feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--shared", default=str(REPO.parent / "shared" / "feeds"))
    parser.add_argument("--details", type=int, default=15, help="examples of differences per field")
    parser.add_argument("--prepared", action="store_true",
                        help="hand both parsers the bytes decoded to UTF-8 and DTD-stripped as monitor/feeds/parse.py "
                             "does before feedparser (default: the raw bytes)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from feed_farm import Farm

    farm = Farm(args.farm_feeds, args.items, conditional=0, atom=0.5, use_gzip=False, seed=5)
    corpora = [("farm (generated)", [(f"farm/{i:04d}", r.body) for i, r in enumerate(farm.rendered)])]
    shared = Path(args.shared)
    if shared.is_dir():
        for folder in sorted(p for p in shared.iterdir() if p.is_dir()):
            bodies = []
            for path in sorted(folder.rglob("*")):
                if not path.is_file() or path.suffix == ".json":
                    continue
                body = path.read_bytes()
                if body.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] in (b"{", b"["):
                    continue
                bodies.append((str(path.relative_to(shared)), body))
            corpora.append((folder.name, bodies))

    results = [compare(name, bodies, args.details, not args.prepared) for name, bodies in corpora]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'corpus':28} {'feeds':>6} {'old ms':>7} {'new ms':>7} {'speedup':>7} {'fast':>5} {'fallbk':>6} "
          f"{'error':>5} {'stories≠':>8}   (parse_feed: new = fastfeedparser first; old = feedparser only)")
    for r in results:
        old, new = r["ms"]["old parse_feed"][0], r["ms"]["parse_feed"][0]
        print(f"{r['name']:28} {r['feeds']:6d} {old:7.2f} {new:7.2f} {old / new:6.1f}x "
              f"{r['paths'].get('fastfeedparser', 0):5d} {r['paths'].get('feedparser', 0):6d} "
              f"{r['paths'].get('error', 0):5d} {len(r['story_differences']):8d}")
    print("ms = mean per feed, from the raw bytes; fast / fallbk / error = feeds parse_feed reads with fastfeedparser /"
          " with feedparser / neither (ParseError on both paths); stories≠ = feeds whose stories differ between the"
          " paths\n")
    print(f"{'corpus':28} {'feeds':>6} {'fp ms':>7} {'ffp ms':>7} {'speedup':>7} "
          f"{'not wf':>6} {'fp reads':>8} {'ffp reads':>9} {'ffp none':>8} {'count≠':>6} {'entries':>7} "
          + " ".join(f"{f:>7}" for f in FIELDS) + "   (the parsers alone)")
    for r in results:
        fp, ffp = r["ms"]["feedparser"], r["ms"]["fastfeedparser"]
        print(f"{r['name']:28} {r['feeds']:6d} {fp[0]:7.2f} {ffp[0]:7.2f} {fp[0] / ffp[0]:6.1f}x "
              f"{r['read'].get('not_well_formed', 0):6d} {r['read'].get('feedparser', 0):8d} "
              f"{r['read'].get('fastfeedparser', 0):9d} "
              f"{r['read'].get('ffp_cannot_read', 0):8d} {r['read'].get('count_differs', 0):6d} {r['entries']:7d} "
              + " ".join(f"{100 * r['agree'][f]:6.1f}%" if r["agree"][f] is not None else f"{'-':>7}"
                         for f in FIELDS))
    print("fp = feedparser, ffp = fastfeedparser (both fed the same bytes: raw, or --prepared); not wf = not "
          "well-formed XML (lxml strict); ffp none = feeds feedparser reads and fastfeedparser does not; "
          "count≠ = both read, different entry counts; agreement per entry (by position)")
    for r in results:
        if r["fallback_reasons"]:
            print(f"\n== {r['name']}: why parse_feed fell back to feedparser")
            for reason, count in list(r["fallback_reasons"].items())[: args.details]:
                print(f"  {count:5d}  {reason}")
        if r["story_differences"]:
            print(f"\n== {r['name']}: stories differ from the old path in {len(r['story_differences'])} feeds")
            for path in r["story_differences"][: args.details]:
                print(f"  {path}")
    for r in results:
        if r["problems"] or any(r["difference_counts"].values()):
            print(f"\n== {r['name']}: feeds the raw parsers read differently ({len(r['problems'])})")
            for path, what in r["problems"][: args.details * 3]:
                print(f"  {path}: {what}")
            for f in FIELDS:
                if r["differences"][f]:
                    print(f"  -- {f}: {r['difference_counts'][f]} entries differ; feedparser | fastfeedparser:")
                    for line in r["differences"][f]:
                        print(f"     {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
