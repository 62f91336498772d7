"""Relevance matching speed, single thread: pairs per second, and the cost of one new story against every claim.

Usage (from the repository root):
    /work/venv/bin/python bench/match_speed.py [--claims 1000] [--stories 10000] [--per-story 300] [--json]

Claims and stories come from the feed farm's generator (bench/feed_farm.py): claims about agreements, companies
and local news; stories with headlines in the same vocabulary and plain-text summaries (monitor.feeds.parse.plain_text
of the farm's HTML), so a share of the pairs match. 10% of the claims carry the shipped alias table (shared).

Rows:
    prepare_claim            claims prepared per second (done once per config load)
    match, story-major       match(claim, title, summary) over every claim for each story in turn — the order the
                             pipeline uses; each story is new, so its preparation (normalise, stem, aliases) is in it
    score, cache warm        score() over every pair with every story already prepared (the cost per extra claim)
    relevant per story       reading.relevant(rules, story) with --claims claims as the pipeline prepares them (the
                             claim index prefilters), --per-story new
                             stories: ms per new story (target ≤ 1 ms with 1,000 claims)
    … distinct alias tables  the same when every claim with aliases has its own table (each table re-prepares the
                             story)
    judge per hit            verdict.judge on the pairs that matched (the next stage, paid per hit)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from feed_farm import Newsroom, make_claims  # noqa: E402


def _stories(n: int, seed: int) -> list[tuple[str, str]]:
    from monitor.feeds.parse import plain_text

    room = Newsroom(seed)
    out = []
    for k in range(n):
        title, html = room.story()
        out.append((f"{title} ({k})", plain_text(html)))  # "(k)": every story distinct, so never cached
    return out


def _config_claims(claims: list[dict]):
    """ClaimConfigs as load_config makes them (validated, defaults filled in)."""
    from monitor.config import parse_config

    document = {"claims": claims, "channels": [{"name": "console", "kind": "console"}]}
    return list(parse_config(document, path=Path("bench.toml"), environ={}).claims)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--stories", type=int, default=10000)
    parser.add_argument("--per-story", type=int, default=300, help="new stories for the relevant rows")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from monitor.reading import relevance as match
    from monitor.models import Story
    from monitor.runtime import TrackedClaim
    from monitor.reading import Rules, relevant
    from monitor.reading.verdict import judge

    claims = make_claims(args.claims)
    stories = _stories(args.stories, seed=11)
    rows: dict[str, dict] = {}

    t = time.perf_counter()
    prepared = [match.prepare_claim(c["id"], c["text"], aliases=c.get("aliases", {})) for c in claims]
    dt = time.perf_counter() - t
    rows["prepare_claim"] = {"n": len(prepared), "s": dt, "per_s": len(prepared) / dt}

    # Pipeline order: each (new) story against every claim.
    hits = []
    t = time.perf_counter()
    for title, summary in stories:
        for claim in prepared:
            r = match.match(claim, title, summary)
            if r is not None:
                hits.append((claim, title, summary))
    dt = time.perf_counter() - t
    pairs = len(stories) * len(prepared)
    rows["match, story-major (new stories)"] = {"n": pairs, "s": dt, "per_s": pairs / dt,
                                                "ms_per_story": 1000 * dt / len(stories), "hits": len(hits)}

    # score() with every story prepared. The story cache is keyed by alias table too: score a subset that fits
    # for every table, or claim-major order would thrash it.
    tables = {id(c.aliases): c for c in prepared}
    subset = stories[: min(len(stories), (match._story.cache_info().maxsize - 16) // len(tables))]
    for claim in tables.values():
        for title, summary in subset:
            match.score(claim, title, summary)
    t = time.perf_counter()
    for claim in prepared:
        for title, summary in subset:
            match.score(claim, title, summary)
    dt = time.perf_counter() - t
    pairs = len(subset) * len(prepared)
    rows["score, stories prepared (cache warm)"] = {"n": pairs, "s": dt, "per_s": pairs / dt}

    # Relevance as the pipeline's readers find it, with the rules as the pipeline prepares them.
    def per_story(config_claims, seed: int) -> dict:
        tracked = tuple(TrackedClaim.prepare(c) for c in config_claims)
        rules = Rules(tuple((c.relevance, c.verdict) for c in tracked))
        new = [Story(id=f"s{k}", feed="bench", title=title, summary=summary)
               for k, (title, summary) in enumerate(_stories(args.per_story, seed))]
        t = time.perf_counter()
        found = sum(len(relevant(rules, s)) for s in new)
        dt = time.perf_counter() - t
        return {"n": len(new), "s": dt, "per_s": len(new) * len(tracked) / dt, "ms_per_story": 1000 * dt / len(new),
                "hits": found}

    rows[f"relevant per new story ({args.claims} claims)"] = per_story(_config_claims(claims), seed=21)
    distinct = [dict(c, aliases={**c["aliases"], f"claim{k}": [f"variant{k}"]}) if "aliases" in c else c
                for k, c in enumerate(claims)]
    n_tables = sum("aliases" in c for c in distinct)
    rows[f"… {n_tables} distinct alias tables"] = per_story(_config_claims(distinct), seed=22)

    verdicts = [match.prepare_claim(c["id"], c["text"]) for c in claims[:1]]  # noqa: F841 - warm imports
    from monitor.reading.verdict import prepare_verdict
    prepared_verdicts = {}
    sample = hits[:2000]
    for claim, _, _ in sample:
        prepared_verdicts.setdefault(claim.id, prepare_verdict(claim.text))
    t = time.perf_counter()
    for claim, title, summary in sample:
        judge(prepared_verdicts[claim.id], title, summary)
    dt = time.perf_counter() - t
    if sample:
        rows["judge per hit"] = {"n": len(sample), "s": dt, "per_s": len(sample) / dt,
                                 "ms_per_story": 1000 * dt / len(sample)}

    if args.json:
        print(json.dumps({"claims": args.claims, "stories": args.stories, "rows": rows}, indent=2))
        return 0
    print(f"match speed, single thread: {args.claims} claims x {args.stories} stories "
          f"({rows['match, story-major (new stories)']['hits']} hits)")
    print(f"{'row':44} {'count':>10} {'s':>8} {'per s':>12} {'ms/story':>9}")
    for name, r in rows.items():
        ms = f"{r['ms_per_story']:9.3f}" if "ms_per_story" in r else f"{'':9}"
        print(f"{name:44} {r['n']:10d} {r['s']:8.2f} {r['per_s']:12,.0f} {ms}")
    print("pairs/s for match and score rows; items/s for prepare_claim and judge; the 'relevant' rows count "
          "story x claim pairs per second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
