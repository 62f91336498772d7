"""Alert latency: from a new story appearing in a farm feed to the webhook receiver getting its alert, through the
real daemon (monitor.daemon.scheduler.Daemon with its APScheduler wiring and the shipped scheduling defaults).

Usage (from the repository root):
    /work/venv/bin/python bench/latency.py [--feeds 20] [--items 20] [--latency-ms 50] [--probes 30]
        [--interval 300] [--window 0] [--json]

The daemon polls --feeds farm feeds every --interval seconds (the shipped default is 300 s; the minimum the config
allows is 10), with the jitter, worker pool and immediate delivery exactly as shipped. After every feed has been
polled once, --probes stories are added at random moments over --window seconds (default: one interval plus its
jitter), each on a random feed and each matching its own claim (notify = "all", confirm_after_outlets = 1), so
each must raise one alert. Reported per probe, and as min / median / p90 / max:

    wait        story added → the daemon's next request for that feed (from the farm's request log)
    processing  that request → the webhook POST arrives (fetch, parse, match, store, outbox, deliver)
    latency     story added → webhook POST arrives (the sum)

and the gaps between consecutive polls of a feed. The target is latency ≤ interval + 1 s. The run takes about
--window plus one interval and its jitter; with --interval 10 the ratios of the shipped schedule (jitter = 10% of
the interval, at most 60 s) are kept in a ~1-minute run.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from feed_farm import EVENTS, FarmProcess, Newsroom, farm_arguments, make_claims, write_config  # noqa: E402


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[tuple[float, dict]] = []
        self.arrived = threading.Condition()
        super().__init__(("127.0.0.1", 0), _Hook)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        at = time.time()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        with self.server.arrived:
            self.server.received.append((at, body))
            self.server.arrived.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    v = sorted(values)
    p90 = v[min(len(v) - 1, round(0.9 * (len(v) - 1)))]
    return f"{v[0]:8.2f} {statistics.median(v):8.2f} {p90:8.2f} {v[-1]:8.2f}"


def main() -> int:
    parser = farm_arguments(__doc__, feeds=20, items=20)
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--hosts", type=int, default=0, help="loopback hosts for the feeds (default: one per 4 feeds)")
    parser.add_argument("--interval", type=int, default=None, help="poll interval; default: the shipped default")
    parser.add_argument("--window", type=float, default=0, help="seconds to spread the probes over")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from apscheduler.schedulers.background import BackgroundScheduler

    from monitor.daemon import scheduler as sched
    from monitor.config import DEFAULT_INTERVAL_SECONDS, load_config

    interval = args.interval or DEFAULT_INTERVAL_SECONDS
    jitter = min(interval // 10, sched.MAX_JITTER_SECONDS)  # as Daemon.schedule computes it
    window = args.window or interval + jitter
    rng = random.Random(args.seed)

    # Probe claims: worded like the farm's claims, between invented countries, so that no background story of the
    # farm touches them (a probe that was a near-duplicate of an earlier hit would rightly raise no alert).
    syllables = ["zan", "tor", "vel", "mora", "quin", "taris", "bel", "dova", "kir", "una", "sol", "varia"]
    claims = []
    for k, c in enumerate(make_claims(args.probes, seed=args.seed + 100, aliases_share=0)):
        a = (syllables[k % 12] + syllables[(k // 12 + 3) % 12]).capitalize()
        b = (syllables[(k + 5) % 12] + syllables[(k // 12 + 7) % 12] + "ia").capitalize()
        event = EVENTS[k % len(EVENTS)]
        claims.append({"id": c["id"], "text": f"{a} and {b} sign the {event}", "notify": "all"})
    room = Newsroom(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="nm-bench-latency-"))
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    daemon = None
    probes: list[dict] = []
    try:
        with FarmProcess(args.feeds, args.items, latency_ms=args.latency_ms, max_seconds=4 * window + 600,
                         hosts=args.hosts or max(1, args.feeds // 4)) as farm:
            path = write_config(tmp, farm.urls, claims, hook_url=receiver.url,
                                defaults={"interval_seconds": interval})
            config = load_config(path)
            workers = getattr(config, "workers", None) or getattr(sched, "MAX_WORKERS", None)
            daemon = sched.Daemon(config, scheduler=BackgroundScheduler(timezone=timezone.utc))
            started = time.time()
            daemon.schedule()
            daemon.scheduler.start()
            # Wait until every feed has had its first poll (first polls may alert on the farm's own stories).
            while True:
                log = farm.stats(with_log=True)["log"]
                if all(log) or time.time() - started > 120:
                    break
                time.sleep(0.5)
            time.sleep(2)
            first_round_s = max(t[0] for t in log if t) - started
            moments = sorted(rng.uniform(0, window) for _ in range(args.probes))
            t0 = time.time()
            for k, (claim, at) in enumerate(zip(claims, moments)):
                time.sleep(max(0.0, t0 + at - time.time()))
                feed = rng.randrange(args.feeds)
                # The marker makes the title unique without a number (a number the claim lacks lowers the score).
                marker = chr(97 + k // 26 % 26) + chr(97 + k % 26)
                title = f"{claim['text']}, {room.story()[0].split()[0]} officials say (probe {marker})"
                added = farm.add(feed, title, f"<p>{claim['text']} today, according to a statement.</p>")
                probes.append({"probe": k, "feed": feed, "title": added["titles"][0], "added_at": added["at"]})
            deadline = time.time() + interval + jitter + 30
            wanted = {p["title"] for p in probes}
            while time.time() < deadline:
                with receiver.arrived:
                    got = {b.get("story", {}).get("title") for _, b in receiver.received}
                    if wanted <= got:
                        break
                    receiver.arrived.wait(timeout=1)
            log = farm.stats(with_log=True)["log"]
            daemon.stop()
            daemon.ctx.close()
    finally:
        receiver.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    arrivals = {}
    for at, body in receiver.received:
        title = body.get("story", {}).get("title")
        arrivals.setdefault(title, at)
    for p in probes:
        polled = next((t for t in log[p["feed"]] if t >= p["added_at"]), None)
        got = arrivals.get(p["title"])
        p["wait_s"] = polled - p["added_at"] if polled else None
        p["latency_s"] = got - p["added_at"] if got else None
        p["processing_s"] = got - polled if got and polled else None
    gaps = [b - a for times in log for a, b in zip(times, times[1:])]
    done = [p for p in probes if p["latency_s"] is not None]
    missing = [p for p in probes if p["latency_s"] is None]
    summary = {
        "interval_s": interval, "jitter_s": jitter, "feeds": args.feeds, "workers": workers, "probes": len(probes),
        "received": len(done), "first_round_s": first_round_s,
        "latency_max_s": max((p["latency_s"] for p in done), default=None),
        "latency_median_s": statistics.median(p["latency_s"] for p in done) if done else None,
        "processing_max_s": max((p["processing_s"] for p in done), default=None),
        "poll_gap_max_s": max(gaps, default=None), "poll_gap_min_s": min(gaps, default=None),
        "target_s": interval + 1, "probes_detail": probes,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"alert latency: {args.feeds} feeds, interval {interval} s (jitter up to {jitter} s, "
          f"{workers} workers), {len(probes)} probes over {window:.0f} s; first round of polls took "
          f"{first_round_s:.1f} s")
    print(f"{'seconds':24} {'min':>8} {'median':>8} {'p90':>8} {'max':>8}")
    print(f"{'wait (added → polled)':24} {_stats([p['wait_s'] for p in done if p['wait_s'] is not None])}")
    print(f"{'processing (→ webhook)':24} {_stats([p['processing_s'] for p in done if p['processing_s'] is not None])}")
    print(f"{'latency (added → webhook)':24} {_stats([p['latency_s'] for p in done])}")
    print(f"{'gap between polls':24} {_stats(gaps)}")
    worst = summary["latency_max_s"]
    print(f"received {len(done)}/{len(probes)}; target latency ≤ interval + 1 s = {interval + 1} s: "
          + ("met" if worst is not None and worst <= interval + 1 and not missing else
             f"NOT met (max {worst:.1f} s)" if worst is not None else "no alert received"))
    for p in missing:
        print(f"  no alert for probe {p['probe']} on feed {p['feed']} (polled after: {p['wait_s']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
