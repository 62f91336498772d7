"""A loopback feed farm for the benchmarks: N generated news feeds served over HTTP with per-response latency.

Usage (from the repository root):
    /work/venv/bin/python bench/feed_farm.py [--feeds 500] [--items 50] [--latency-ms 50] [--conditional 0.8]
        [--atom 0.5] [--no-gzip] [--hosts 1] [--churn-share 0.1] [--churn-items 5] [--churn-every 0] [--max-seconds 600]
        [--seed 1]

Serves ``http://127.0.0.1:PORT/feeds/NNNN.xml`` (RSS 2.0 for about half the feeds, Atom 1.0 for the rest), each
with ``--items`` entries: realistic headlines about governments, companies and agreements, HTML summaries with
entities, links, guids/ids and dates. A share of the feeds (``--conditional``) sends ETag and Last-Modified and
answers a matching conditional GET with 304; the others send the full body every time. Every response to a
feed URL waits ``--latency-ms`` first (a sleeping thread, no CPU). The farm binds 127.0.0.1 on a free port,
prints one JSON line ``{"port": …, "feeds": …}``, and stops by itself after ``--max-seconds`` (or, with
``--parent-stdin``, when its standard input closes: the benchmarks start it that way, so it never outlives them).
On stop it prints a table: requests, 200s, 304s, bytes, and its own CPU time.

Control endpoints (JSON, used by the other benchmarks through ``FarmProcess``):
    GET  /_farm/info                 the feed URLs and formats
    POST /_farm/churn {share, items} prepend ``items`` new entries to a random share of the feeds
    POST /_farm/add {feed, title, summary}   one new entry on one feed; answers the time it appeared
    GET  /_farm/stats                counters, the farm's CPU time and peak RSS, per-feed request times (?log=1)

The module also holds what the benchmarks share: the text generator (``Newsroom``), ``make_claims`` and
``write_config`` (a news-monitor config for the farm's feeds).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import Request, urlopen
from xml.sax.saxutils import escape

# ------------------------------------------------------------------------------------------------ text generator

COUNTRIES = [
    "Iraq", "the United States", "Germany", "France", "Japan", "China", "India", "Brazil", "Mexico", "Canada",
    "Turkey", "Iran", "Israel", "Egypt", "Saudi Arabia", "South Korea", "Ukraine", "Russia", "Poland", "Spain",
    "Italy", "Nigeria", "Kenya", "Australia", "Indonesia", "Argentina", "Chile", "Pakistan", "Vietnam",
    "the United Kingdom", "Norway", "Qatar", "Ethiopia", "the Philippines", "South Africa", "Colombia",
]
# For claims the farm's stories never name a party of (``make_claims(quiet=True)``): what most tracked claims look
# like against the general news flow, which shares their common words but not their subject.
QUIET_PARTIES = ["Iceland", "Bhutan", "Uruguay", "Mongolia", "Fiji", "Namibia", "Laos", "Estonia", "Malta",
                 "Paraguay", "Oman", "Tunisia", "Nepal", "Latvia", "Senegal", "Bolivia", "Armenia", "Botswana"]
QUIET_COMPANIES = ["Ericsson", "Maersk", "Nestle", "Rolls-Royce", "Hitachi", "Lufthansa", "Novartis", "Danone"]
QUIET_CITIES = ["Reykjavik", "Thimphu", "Montevideo", "Ulaanbaatar", "Suva", "Windhoek", "Vientiane", "Tallinn"]
ORGS = ["the European Union", "NATO", "the United Nations", "the IMF", "OPEC", "the World Bank", "the African Union",
        "ASEAN", "the WHO", "the G20"]
COMPANIES = ["Apple", "Microsoft", "Boeing", "Airbus", "Tesla", "Toyota", "Volkswagen", "Shell", "BP", "Amazon",
             "Google", "Nvidia", "Intel", "Samsung", "Pfizer", "Moderna", "SpaceX", "Siemens", "Aramco", "Unilever"]
EVENTS = [
    "trade agreement", "ceasefire deal", "coalition withdrawal agreement", "climate accord", "gas pipeline contract",
    "security pact", "nuclear deal", "arms sale", "debt restructuring plan", "free trade pact", "border agreement",
    "fisheries treaty", "energy partnership", "prisoner exchange", "grain export deal", "defence cooperation accord",
    "visa waiver agreement", "investment treaty", "water sharing agreement", "peace accord",
]
CORPORATE = ["merger", "takeover bid", "chip plant", "recall", "share buyback", "battery factory", "layoff plan",
             "satellite launch", "vaccine approval", "bond sale", "joint venture", "price increase"]
CITIES = ["Baghdad", "Washington", "Berlin", "Paris", "Tokyo", "Beijing", "Delhi", "Brasilia", "Nairobi", "Lagos",
          "Madrid", "Rome", "Warsaw", "Kyiv", "Cairo", "Riyadh", "Seoul", "Jakarta", "Lima", "Oslo", "Doha"]
PEOPLE = ["the prime minister", "the foreign minister", "the president", "the finance minister", "officials",
          "negotiators", "diplomats", "the central bank", "lawmakers", "the defence minister"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
OUTLETS = ["Reuters", "AP", "AFP", "BBC", "Al Jazeera", "The Guardian", "DW", "NHK", "Le Monde", "El País"]

STATE_TEMPLATES = [
    "{a} and {b} sign {event}", "{a} and {b} sign {event} after months of talks",
    "{a} postpones signing of {event} with {b}", "{a} and {b} delay {event} until {month}",
    "{a} rejects {b}'s proposal for {event}", "Talks between {a} and {b} on {event} collapse",
    "{a} inks {event} with {b}", "{a} and {b} yet to sign {event}, {people} say",
    "{a} set to sign {event} with {b} next week", "{a} and {b} agree draft of {event}",
    "{a} parliament approves {event} with {b}", "{a} walks away from {event} with {b}",
    "{a}, {b} to sign {event} in {city}", "{b} says {event} with {a} is off",
    "{a} and {b} finalise {event}", "{people} from {a} and {b} meet over {event}",
    "Analysis: what the {event} between {a} and {b} means", "Live: {a} and {b} leaders meet in {city}",
    "{a} suspends {event} with {b} amid dispute", "{a} ratifies {event} with {b}",
]
CORP_TEMPLATES = [
    "{co} announces {corp} in {country}", "{co} shares jump after {corp} news",
    "{co} scraps {corp} plan", "{co} delays {corp} to {month}", "{co} completes {corp}",
    "{country} regulators approve {co} {corp}", "{co} and {co2} agree {corp}",
    "{co} {corp} blocked by {country}", "{co} confirms {corp} as profits fall",
]
NOISE_TEMPLATES = [
    "Storms bring flooding to {city}", "{city} marathon draws record crowd", "Heatwave grips {country}",
    "{country} beat {country2} in World Cup qualifier", "Museum in {city} returns looted artefacts",
    "{city} mayor unveils plan for cheaper housing", "Train strike disrupts travel across {country}",
    "Scientists in {country} report rare bird sighting", "Opinion: the week in {country} politics",
    "Festival season opens in {city}", "Inflation in {country} eases to {n} per cent",
    "{city} zoo welcomes twin panda cubs", "Wildfire forces evacuations near {city}",
    "{country} wins {n} medals at swimming championships", "New metro line opens in {city} after {n} years",
    "Review: the best new novels from {country} this season", "Astronomers spot comet visible from {country}",
    "{co} unveils new phone with longer battery life", "Chess prodigy from {country} wins title aged {n}",
    "Recipe: a {country} stew for cold evenings", "{city} airport reports record summer traffic",
    "Football: {city} club sacks coach after {n} defeats", "Drought cuts olive harvest in {country}",
    "Study links city noise to poor sleep", "{country} election campaign enters final week",
    "Teachers in {country} vote to strike over pay", "Hospital in {city} trials robot surgery",
    "Tennis: {country} star reaches semi-final", "Ancient shipwreck found off {country} coast",
    "Housing prices in {city} fall for {n}th month", "{co} faces lawsuit over data breach",
]
SENTENCES = [
    "{people} in {city} said the text had been agreed after {n} rounds of talks.",
    "The {event} covers {n} areas, according to a statement seen by {outlet}.",
    "{a} has pushed for the deal since {month}, while {b} wanted more time.",
    "A spokesperson for {b} declined to comment on the timing.",
    "Markets in {city} rose {n} per cent on the news.",
    "Critics say the {event} leaves key questions open.",
    "The signing ceremony had been expected in {month} but was moved twice.",
    "{outlet} could not independently verify the reports.",
]


def _pick(rng: random.Random, seq: list[str]) -> str:
    return seq[rng.randrange(len(seq))]


def _cap_first(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class Newsroom:
    """Generates headlines and HTML summaries. About 10% are about two parties and an agreement (the kind of
    story a tracked claim is about), 10% corporate news, 80% other news (sport, weather, culture, local)."""

    seed: int = 1
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _fill(self) -> dict[str, str]:
        r = self.rng
        a, b = r.sample(COUNTRIES + ORGS[:3], 2)
        country, country2 = r.sample(COUNTRIES, 2)
        co, co2 = r.sample(COMPANIES, 2)
        return {"a": a, "b": b, "event": _pick(r, EVENTS), "month": _pick(r, MONTHS), "city": _pick(r, CITIES),
                "people": _pick(r, PEOPLE), "country": country, "country2": country2, "co": co, "co2": co2,
                "corp": _pick(r, CORPORATE), "n": str(r.randint(2, 40)), "outlet": _pick(r, OUTLETS)}

    def story(self) -> tuple[str, str]:
        """(headline, HTML summary)."""
        r = self.rng
        words = self._fill()
        roll = r.random()
        template = _pick(r, STATE_TEMPLATES if roll < 0.1 else CORP_TEMPLATES if roll < 0.2 else NOISE_TEMPLATES)
        title = _cap_first(template.format(**words))
        body = " ".join(_cap_first(_pick(r, SENTENCES).format(**words)) for _ in range(r.randint(2, 4)))
        summary = (f"<p>{escape(body)}</p><p>{escape(words['outlet'])} &amp; agencies &#8212; "
                   f"<a href=\"https://example.org/{r.randrange(10**6)}\">read more</a></p>")
        if r.random() < 0.3:
            summary = f'<img src="https://img.example.org/{r.randrange(10**6)}.jpg" alt="" />' + summary
        return title, summary

    def claim(self, quiet: bool = False) -> str:
        """A claim text: an event that has not happened yet, in the vocabulary of the stories. ``quiet``: about
        parties, companies and cities no story names (QUIET_PARTIES …), so only its common words are shared."""
        r = self.rng
        words = self._fill()
        if quiet:
            a, b, country, country2 = r.sample(QUIET_PARTIES, 4)
            co, co2 = r.sample(QUIET_COMPANIES, 2)
            words.update(a=a, b=b, country=country, country2=country2, co=co, co2=co2, city=_pick(r, QUIET_CITIES))
        roll = r.random()
        if roll < 0.7:
            template = _pick(r, ["{a} and {b} will sign the {event}", "{a} and {b} sign the {event} by {month}",
                                 "{a} signs the {event} with {b}", "{a} and {b} finalise the {event}",
                                 "{a} ratifies the {event} with {b}"])
        elif roll < 0.9:
            template = _pick(r, ["{co} completes the {corp}", "{country} approves the {co} {corp}",
                                 "{co} and {co2} agree the {corp}"])
        else:
            template = _pick(r, ["The {city} mayor unveils a cheaper housing plan",
                                 "Inflation in {country} falls below {n} per cent"])
        return _cap_first(template.format(**words))


def make_claims(n: int, seed: int = 7, *, aliases_share: float = 0.1, quiet: bool = False) -> list[dict]:
    """``n`` claim tables for a config, with distinct texts. A share carries the shipped config's alias table
    (one shared table, as most users copy it); the rest have none. ``quiet``: see ``Newsroom.claim``; each such
    claim also requires one of its subjects' names in the story (``require_any``), as the shipped claim does."""
    room = Newsroom(seed)
    seen: set[str] = set()
    claims: list[dict] = []
    rng = random.Random(seed)
    while len(claims) < n:
        text = room.claim(quiet)
        if text in seen:
            continue
        seen.add(text)
        claim = {"id": f"claim-{len(claims) + 1:04d}", "text": text}
        if quiet:  # gated on its subject, as the shipped claim is on "iraq"
            claim["require_any"] = [name.lower() for name in QUIET_PARTIES + QUIET_COMPANIES + QUIET_CITIES
                                    if name in text]
        if rng.random() < aliases_share:
            claim["aliases"] = {"united states": ["US", "U.S.", "USA", "United States", "Washington", "American"],
                                "agreement": ["deal", "accord", "pact"], "sign": ["ink", "seal"]}
        claims.append(claim)
    return claims


# ------------------------------------------------------------------------------------------------ bench scripts

def farm_arguments(doc: str, *, feeds: int, items: int, latency_ms: float = 50,
                   cycle: bool = False) -> argparse.ArgumentParser:
    """The command line of a script that runs news-monitor against the farm: its docstring as description and
    epilog; ``--feeds``, ``--items``, ``--latency-ms`` with the script's defaults; with ``cycle``, also what a
    poll cycle works with (``--threads``, ``--claims``, ``--churn-share``, ``--churn-items``, ``--hosts``)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=doc)
    parser.add_argument("--feeds", type=int, default=feeds)
    parser.add_argument("--items", type=int, default=items)
    parser.add_argument("--latency-ms", type=float, default=latency_ms)
    if cycle:
        parser.add_argument("--threads", type=int, default=32)
        parser.add_argument("--claims", type=int, default=100)
        parser.add_argument("--churn-share", type=float, default=0.1)
        parser.add_argument("--churn-items", type=int, default=5)
        parser.add_argument("--hosts", type=int, default=0,
                            help="loopback hosts the farm spreads its feeds over (default: one per 5 feeds)")
    return parser


# ------------------------------------------------------------------------------------------------ config writer

def write_config(folder: Path, feed_urls: list[str], claims: list[dict], *, hook_url: str = "http://127.0.0.1:9/hook",
                 monitor: dict | None = None, defaults: dict | None = None, semantic: dict | None = None) -> Path:
    """A news-monitor config for the farm: every feed, the claims, one webhook channel; loopback allowed.
    ``monitor`` adds [monitor] settings (pass them through ``supported_monitor_keys``), ``semantic`` a
    [semantic] table."""
    from monitor.configtext import toml_document  # imported here: the farm server itself runs without monitor
    document = {
        "monitor": {"database": str(folder / "monitor.db"), "allow_private_networks": True, **(monitor or {})},
        "defaults": defaults or {},
        "feeds": [{"name": f"farm-{i:04d}", "url": url} for i, url in enumerate(feed_urls)],
        "claims": claims,
        "channels": [{"name": "hook", "kind": "webhook", "url": hook_url}],
    }
    if not document["defaults"]:
        del document["defaults"]
    if semantic:
        document["semantic"] = semantic
    path = folder / "monitor.toml"
    path.write_text(toml_document(document), encoding="utf-8")
    return path


def supported_monitor_keys(**wanted: object) -> dict:
    """The subset of [monitor] settings this version of news-monitor knows (the config refuses unknown keys)."""
    from monitor.config import Config

    return {k: v for k, v in wanted.items() if k in Config.__dataclass_fields__}


# ------------------------------------------------------------------------------------------------ process usage

_TICK = os.sysconf("SC_CLK_TCK")


def poll_waiting_for_host(poll_feed, *args, **kwargs):
    """``poll_feed(*args, **kwargs)``, waiting in this thread while the feed's host is busy: a poll returns
    "host_busy" at once instead (news-monitor versions whose ``poll_feed`` takes a ``waiter``), and a bench
    thread pool over every feed, as poll-once, must still poll each of them."""
    import inspect

    if "waiter" not in inspect.signature(poll_feed).parameters:
        return poll_feed(*args, **kwargs)
    while True:
        freed = threading.Event()
        result = poll_feed(*args, waiter=freed.set, **kwargs)
        if result.status != "host_busy":
            return result
        freed.wait()


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _proc_mem(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    rss = hwm = 0.0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, hwm


def _proc_pss(pid: int) -> float:
    """Proportional set size in MB: resident pages, each page shared by n processes counted 1/n (so the PSS of a
    process tree adds up to the memory it really holds, unlike RSS, which counts shared pages in every process)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(exclude: set[int] = frozenset()) -> list[int]:
    """Live descendant processes of this one (parse workers, fork servers …), without ``exclude`` and theirs."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat:
                parents[int(entry)] = stat[0]
    found, frontier = [], {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier and pid not in exclude}
        found += frontier
    return found


def tree_usage(exclude: set[int] = frozenset()) -> dict:
    """CPU seconds of this process, its reaped children and its live descendants; RSS and peak RSS (MB) of this
    process and of its live descendants (a helper process pool shows up there)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    kids = descendants(exclude)
    kid_cpu = sum((_proc_stat(pid) or (0, 0.0))[1] for pid in kids)
    mem = [_proc_mem(pid) for pid in kids]
    return {"cpu_s": me.ru_utime + me.ru_stime + reaped.ru_utime + reaped.ru_stime + kid_cpu,
            "self_cpu_s": me.ru_utime + me.ru_stime, "children_cpu_s": reaped.ru_utime + reaped.ru_stime + kid_cpu,
            "rss_mb": _proc_mem(os.getpid())[0], "peak_rss_mb": me.ru_maxrss / 1024,
            "children": len(kids), "children_rss_mb": sum(m[0] for m in mem),
            "children_peak_rss_mb": sum(m[1] for m in mem),
            "pss_mb": _proc_pss(os.getpid()), "children_pss_mb": sum(_proc_pss(pid) for pid in kids)}


# ------------------------------------------------------------------------------------------------ the farm

@dataclass
class Entry:
    guid: str
    title: str
    summary: str
    link: str
    published: datetime


@dataclass
class Rendered:
    body: bytes
    gz: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str


class Farm:
    """The feeds and their current bodies. Thread-safe: a response reads one ``Rendered`` snapshot."""

    def __init__(self, feeds: int, items: int, *, conditional: float, atom: float, use_gzip: bool, seed: int,
                 now: datetime | None = None) -> None:
        self.items = items
        self.use_gzip = use_gzip
        self.room = Newsroom(seed)
        rng = random.Random(seed + 1)
        self.rng = random.Random(seed + 2)
        self.lock = threading.Lock()
        now = now or datetime.now(timezone.utc)
        self.is_atom = [rng.random() < atom for _ in range(feeds)]
        self.conditional = [rng.random() < conditional for _ in range(feeds)]
        self.entries: list[list[Entry]] = []
        self.changed_at: list[datetime] = []
        self.serial = 0
        for i in range(feeds):
            entries = []
            for k in range(items):
                published = now - timedelta(minutes=7 * k + rng.randint(0, 6), seconds=rng.randint(0, 59))
                entries.append(self._entry(i, published))
            self.entries.append(entries)
            self.changed_at.append(now)
        self.rendered = [self._render(i) for i in range(feeds)]
        self.counters = {"requests": 0, "200": 0, "304": 0, "bytes": 0}
        self.addresses: list[tuple[str, int]] = []  # (host, port) of every server, set by main()
        self.request_log: list[list[float]] = [[] for _ in range(feeds)]

    def _entry(self, feed: int, published: datetime, title: str | None = None, summary: str | None = None) -> Entry:
        self.serial += 1
        if title is None:
            title, summary = self.room.story()
        slug = hashlib.sha1(f"{feed}-{self.serial}".encode()).hexdigest()[:12]
        return Entry(guid=f"urn:farm:{feed}:{self.serial}", title=title, summary=summary or "",
                     link=f"https://news{feed % 97}.example.com/{published:%Y/%m/%d}/{slug}.html", published=published)

    def _render(self, i: int) -> Rendered:
        entries = self.entries[i]
        if self.is_atom[i]:
            parts = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
                     f"<title>Farm news {i}</title><id>urn:farm:{i}</id>",
                     f'<link href="https://news{i % 97}.example.com/"/>',
                     f"<updated>{entries[0].published.isoformat()}</updated>"]
            for e in entries:
                parts.append(f"<entry><title>{escape(e.title)}</title><id>{e.guid}</id>"
                             f'<link rel="alternate" type="text/html" href="{escape(e.link)}"/>'
                             f"<published>{e.published.isoformat()}</published>"
                             f"<updated>{e.published.isoformat()}</updated>"
                             f"<author><name>Farm desk</name></author>"
                             f'<summary type="html">{escape(e.summary)}</summary></entry>')
            parts.append("</feed>")
            content_type = "application/atom+xml; charset=utf-8"
        else:
            parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
                     'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
                     f"<title>Farm news {i}</title><link>https://news{i % 97}.example.com/</link>",
                     "<description>Generated feed</description><language>en</language>"]
            for e in entries:
                parts.append(f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
                             f'<guid isPermaLink="false">{e.guid}</guid>'
                             f"<pubDate>{format_datetime(e.published)}</pubDate><dc:creator>Farm desk</dc:creator>"
                             f"<description>{escape(e.summary)}</description></item>")
            parts.append("</channel></rss>")
            content_type = "application/rss+xml; charset=utf-8"
        body = "".join(parts).encode("utf-8")
        etag = last_modified = None
        if self.conditional[i]:
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            last_modified = format_datetime(self.changed_at[i].astimezone(timezone.utc), usegmt=True)
        gz = gzip.compress(body, compresslevel=6, mtime=0) if self.use_gzip else None
        return Rendered(body, gz, etag, last_modified, content_type)

    def add(self, i: int, title: str | None = None, summary: str | None = None, count: int = 1) -> list[str]:
        """Prepend ``count`` new entries to feed ``i`` (dropping as many of the oldest); return their titles."""
        with self.lock:
            now = datetime.now(timezone.utc)
            new = [self._entry(i, now - timedelta(seconds=k), title, summary) for k in range(count)]
            self.entries[i] = (new + self.entries[i])[: max(self.items, len(new))]
            # Last-Modified has one-second resolution: make sure a change within the same second still shows.
            self.changed_at[i] = max(now, self.changed_at[i] + timedelta(seconds=1))
            rendered = self._render(i)
        self.rendered[i] = rendered  # one reference swap: readers see the old or the new body, never a mix
        return [e.title for e in new]

    def churn(self, share: float, items: int) -> dict:
        chosen = sorted(self.rng.sample(range(len(self.entries)), round(share * len(self.entries))))
        for i in chosen:
            self.add(i, count=items)
        return {"feeds": chosen, "new_items": len(chosen) * items}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FarmServer
    timeout = 120  # an idle keep-alive connection is closed after this

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, document: object, status: int = 200) -> None:
        self._send(status, json.dumps(document).encode(), {"Content-Type": "application/json"})

    def do_GET(self) -> None:  # noqa: N802
        farm = self.server.farm
        path, _, query = self.path.partition("?")
        if path.startswith("/feeds/") and path.endswith(".xml"):
            try:
                i = int(path[7:-4])
                r = farm.rendered[i]
            except (ValueError, IndexError):
                self._send(404, b"not found", {"Content-Type": "text/plain"})
                return
            received = time.time()
            time.sleep(self.server.latency)
            with farm.lock:
                farm.counters["requests"] += 1
                farm.request_log[i].append(received)
                if len(farm.request_log[i]) > 2000:
                    del farm.request_log[i][:1000]
            if r.etag and (self.headers.get("If-None-Match") == r.etag or (
                    not self.headers.get("If-None-Match") and self.headers.get("If-Modified-Since")
                    and _not_after(r.last_modified, self.headers["If-Modified-Since"]))):
                with farm.lock:
                    farm.counters["304"] += 1
                self._send(304, b"", {"ETag": r.etag, "Last-Modified": r.last_modified})
                return
            headers = {"Content-Type": r.content_type, "Vary": "Accept-Encoding"}
            if r.etag:
                headers.update({"ETag": r.etag, "Last-Modified": r.last_modified})
            body = r.body
            if r.gz is not None and "gzip" in self.headers.get("Accept-Encoding", ""):
                body = r.gz
                headers["Content-Encoding"] = "gzip"
            with farm.lock:
                farm.counters["200"] += 1
                farm.counters["bytes"] += len(body)
            self._send(200, body, headers)
        elif path == "/_farm/info":
            bases = [f"http://{host}:{port}" for host, port in farm.addresses]
            self._json({"feeds": [f"{bases[i % len(bases)]}/feeds/{i:04d}.xml" for i in range(len(farm.entries))],
                        "atom": farm.is_atom, "conditional": farm.conditional, "items": farm.items,
                        "hosts": len(bases)})
        elif path == "/_farm/stats":
            self._json(self.server.stats(with_log="log=1" in query))
        else:
            self._send(404, b"not found", {"Content-Type": "text/plain"})

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        farm = self.server.farm
        length = int(self.headers.get("Content-Length") or 0)
        args = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/_farm/churn":
            self._json(farm.churn(float(args.get("share", 0.1)), int(args.get("items", 5))))
        elif self.path == "/_farm/add":
            titles = farm.add(int(args["feed"]), args.get("title"), args.get("summary"), int(args.get("count", 1)))
            self._json({"titles": titles, "at": time.time()})
        else:
            self._send(404, b"not found", {"Content-Type": "text/plain"})


def _not_after(last_modified: str | None, since: str) -> bool:
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def loopback_address(j: int) -> str:
    """The j-th loopback address: 127.0.0.1, 127.0.0.2, … (all of 127/8 is loopback on Linux)."""
    return f"127.{j // 62500}.{j // 250 % 250}.{j % 250 + 1}"


class FarmServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, farm: Farm, latency: float, address: str = "127.0.0.1") -> None:
        super().__init__((address, 0), Handler)
        self.farm = farm
        self.latency = latency
        self.started = time.time()

    def stats(self, with_log: bool = False) -> dict:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with self.farm.lock:
            doc = {**self.farm.counters, "cpu_s": usage.ru_utime + usage.ru_stime,
                   "peak_rss_mb": usage.ru_maxrss / 1024, "uptime_s": time.time() - self.started,
                   "threads": threading.active_count()}
            if with_log:
                doc["log"] = [list(times) for times in self.farm.request_log]
        return doc


class FarmProcess:
    """Runs the farm in a child process (its CPU is not the benchmark's) and talks to its control endpoints.

    The child reads its standard input and exits when it closes, so it cannot outlive this object's process.
    """

    def __init__(self, feeds: int = 500, items: int = 50, *, latency_ms: float = 50, conditional: float = 0.8,
                 atom: float = 0.5, use_gzip: bool = True, seed: int = 1, max_seconds: float = 3600,
                 hosts: int = 1) -> None:
        self.args = [sys.executable, str(Path(__file__).resolve()), "--feeds", str(feeds), "--items", str(items),
                     "--hosts", str(hosts),
                     "--latency-ms", str(latency_ms), "--conditional", str(conditional), "--atom", str(atom),
                     "--seed", str(seed), "--max-seconds", str(max_seconds), "--parent-stdin", "--quiet"]
        if not use_gzip:
            self.args.append("--no-gzip")
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.urls: list[str] = []

    def __enter__(self) -> FarmProcess:
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("feed farm did not start")
        self.port = json.loads(line)["port"]
        self.urls = self.get("/_farm/info")["feeds"]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> dict:
        with urlopen(self.base() + path, timeout=60) as resp:
            return json.loads(resp.read())

    def post(self, path: str, document: dict) -> dict:
        request = Request(self.base() + path, data=json.dumps(document).encode(), method="POST",
                          headers={"Content-Type": "application/json"})
        with urlopen(request, timeout=120) as resp:
            return json.loads(resp.read())

    def churn(self, share: float, items: int) -> dict:
        return self.post("/_farm/churn", {"share": share, "items": items})

    def add(self, feed: int, title: str, summary: str = "") -> dict:
        return self.post("/_farm/add", {"feed": feed, "title": title, "summary": summary})

    def stats(self, with_log: bool = False) -> dict:
        return self.get("/_farm/stats" + ("?log=1" if with_log else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50, help="entries per feed")
    parser.add_argument("--latency-ms", type=float, default=50, help="delay before every feed response")
    parser.add_argument("--conditional", type=float, default=0.8, help="share of feeds with ETag/Last-Modified")
    parser.add_argument("--atom", type=float, default=0.5, help="share of feeds in Atom (the rest RSS 2.0)")
    parser.add_argument("--no-gzip", action="store_true", help="never gzip (default: gzip when accepted)")
    parser.add_argument("--churn-share", type=float, default=0.1, help="share of feeds changed every --churn-every")
    parser.add_argument("--churn-items", type=int, default=5)
    parser.add_argument("--churn-every", type=float, default=0, help="seconds; 0: only on POST /_farm/churn")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop after this long")
    parser.add_argument("--hosts", type=int, default=1,
                        help="spread the feeds over this many loopback addresses (127.0.0.1, 127.0.0.2, …), one "
                             "server each, so per-host politeness limits see many hosts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--parent-stdin", action="store_true", help="also stop when standard input closes")
    parser.add_argument("--quiet", action="store_true", help="no table at the end")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    farm = Farm(args.feeds, args.items, conditional=args.conditional, atom=args.atom, use_gzip=not args.no_gzip,
                seed=args.seed)
    servers = [FarmServer(farm, args.latency_ms / 1000, loopback_address(j)) for j in range(max(1, args.hosts))]
    server = servers[0]
    farm.addresses = [s.server_address[:2] for s in servers]
    build_s = time.perf_counter() - started
    print(json.dumps({"port": server.server_address[1], "feeds": args.feeds, "hosts": len(servers),
                      "build_s": round(build_s, 3)}), flush=True)
    stop = threading.Event()
    threading.Timer(args.max_seconds, stop.set).start() if args.max_seconds else None
    if args.parent_stdin:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    if args.churn_every > 0:
        def churner() -> None:
            while not stop.wait(args.churn_every):
                farm.churn(args.churn_share, args.churn_items)
        threading.Thread(target=churner, daemon=True).start()
    for srv in servers:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    if not args.parent_stdin:
        print(f"serving {args.feeds} feeds x {args.items} items on {len(servers)} loopback host(s), "
              f"http://127.0.0.1:{server.server_address[1]}/feeds/0000.xml … (feed i on host i mod {len(servers)}; "
              f"GET /_farm/info lists them) for {args.max_seconds:g}s (Ctrl-C stops)", file=sys.stderr)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    # No server.shutdown(): it waits out each loop's poll interval, one server after the other; os._exit below
    # ends the serving threads (daemons) at once.
    if not args.quiet:
        s = server.stats()
        print(f"{'requests':>9} {'200':>7} {'304':>7} {'MB sent':>8} {'CPU s':>7} {'peak RSS MB':>12}", file=sys.stderr)
        print(f"{s['requests']:9d} {s['200']:7d} {s['304']:7d} {s['bytes'] / 1e6:8.1f} {s['cpu_s']:7.2f} "
              f"{s['peak_rss_mb']:12.1f}", file=sys.stderr)
    os._exit(0)  # keep-alive handler threads are daemons; do not wait for idle connections


if __name__ == "__main__":
    sys.exit(main())
