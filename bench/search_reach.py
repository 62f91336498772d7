"""How much of a claim's relevant news the search query built from it would let through.

For every claim of the hand-written verdict table (tests/fixtures/verdicts/table.tsv, 34 claims, no aliases), the
query ``monitor.feeds.search`` builds, and the share of the claim's stories a keyword engine would return for it:
a story passes when its title and summary hold, for every AND group of the query, at least one of the group's
words (case-insensitive, whole words, a word also matching its inflections by prefix: "sign" matches "signed").
Relevant stories (label 1; every row of the table is one) should pass: the share that does is the reach. No engine
stems exactly so; the figure is an estimate of the query's breadth, not of Google's or GDELT's answers.

The query builder was not tuned on this table; the table's own split is reported as it stands (tune / heldout).

    .venv/bin/python bench/search_reach.py [--show]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path
from types import MappingProxyType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from verdict_table import rows  # noqa: E402

from monitor.config import ClaimConfig  # noqa: E402
from monitor.feeds.search import query_groups  # noqa: E402


def claim_config(text: str) -> ClaimConfig:
    return ClaimConfig(id="c", text=text, aliases=MappingProxyType({}), require_any=(), exclude=(), channels=(),
                       min_score=43, outcomes=MappingProxyType({}), replace_outcomes=False, confirm_after_outlets=1,
                       trusted_outlets=(), notify="changes", expect_by=None, search=("google-news",))


def passes(groups: list[list[str]], text: str) -> bool:
    words = re.findall(r"[^\W_]+", text.lower())
    def has(term: str) -> bool:
        parts = re.findall(r"[^\W_]+", term.lower())
        return any(all(i + k < len(words) and words[i + k].startswith(p) for k, p in enumerate(parts))
                   for i in range(len(words)))
    return all(any(has(term) for term in group) for group in groups)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print each claim's query")
    args = parser.parse_args()
    by_claim: dict[str, list] = defaultdict(list)
    for row in rows():
        by_claim[row.eval.claim].append(row)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # split -> relevant passed/all, other passed/all
    for claim, claim_rows in by_claim.items():
        groups = query_groups(claim_config(claim))
        if args.show:
            print(f"{claim}\n    {groups}")
        for row in claim_rows:
            hit = passes(groups, f"{row.eval.story} {row.eval.summary}")
            c = counts[row.split]
            if row.eval.label == 1:
                c[0] += hit
                c[1] += 1
            elif row.eval.label == 0:
                c[2] += hit
                c[3] += 1
    print(f"{len(by_claim)} claims")
    for split, (rp, ra, op, oa) in sorted(counts.items()):
        line = f"{split:8} relevant stories let through {rp}/{ra} ({rp / ra:.0%})" if ra else f"{split}: none relevant"
        if oa:
            line += f"; irrelevant let through {op}/{oa} ({op / oa:.0%})"
        print(line)


if __name__ == "__main__":
    main()
