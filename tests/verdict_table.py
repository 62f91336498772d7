"""The hand-written verdict table (tests/fixtures/verdicts/table.tsv): its rows with their split and kind.

The table is an ordinary eval TSV file (``news-monitor eval`` reads its set, claim, story, summary, label and
verdict columns); this module adds what the evaluation command ignores: each row's ``split`` (``tune`` or
``heldout``, the same for every row of a claim) and ``kind`` (the phenomenon the row exercises). Tuning code must
use ``rows(split="tune")`` only and report the ``heldout`` claims separately. ``write_split`` writes one split as
a file ``news-monitor eval`` can score. The columns and the split rule: tests/fixtures/verdicts/README.md.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from monitor.evaluate import EvalError, EvalRow, load_rows

TABLE = Path(__file__).resolve().parent / "fixtures" / "verdicts" / "table.tsv"
COLUMNS = ("set", "id", "claim", "story", "summary", "label", "verdict", "split", "kind", "note")
SPLITS = ("tune", "heldout")
ROW_KINDS = ("plain", "question", "negation", "reported", "partial", "nominal", "paraphrase", "other-party", "mixed")

# What kind of event each claim tracks (set ids): the table must hold every kind issue #17 names.
CLAIM_KINDS = {
    "sign": ("veldan_trade_pact", "marovia_imf_loan", "arctic_fisheries_treaty"),
    "ratify": ("ostmark_climate_ratify", "tanoa_digital_pact", "selva_border_treaty"),
    "release": ("hostages_karsh", "nova5_phone", "tevan_release", "orbitos12_release"),
    "elect": ("dravia_election", "port_calder_mayor", "green_alliance_leader"),
    "resign": ("vessey_resign", "brightwater_ceo"),
    "launch": ("selene2_launch", "corvan_ev_launch", "tessaract_maiden"),
    "merge": ("hallam_crestline_merger", "skyreach_bluewing", "lumix_acquisition"),
    "ceasefire": ("kessaria_ceasefire", "harran_ceasefire"),
    "approve": ("velorin_approval", "estrava_budget", "dunmore_wind_approval"),
    "lift sanctions": ("talvar_sanctions", "zerak_sanctions"),
    "strike ends": ("belmora_rail_strike",),
    "rate cut": ("ardenne_rate_cut",),
    "verdict delivered": ("halden_verdict",),
    "ipo trading": ("ferrox_ipo",),
    "mission ends / troops withdraw": ("samar_mission_end", "varnese_withdrawal"),
}

# Claims written as a noun phrase ("Ratification of … by …"), the form a statement-shaped parser misses.
NOUN_PHRASE_CLAIMS = ("ostmark_climate_ratify", "corvan_ev_launch", "tanoa_digital_pact", "orbitos12_release",
                      "tessaract_maiden", "lumix_acquisition")


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row of the table: the evaluation row as ``load_rows`` reads it, plus the columns it ignores."""

    eval: EvalRow
    id: str
    split: str
    kind: str
    note: str


def load_table(path: Path = TABLE) -> list[TableRow]:
    """Every row of the table, in file order; raises EvalError if a row's split or kind is not a known value."""
    _, eval_rows = load_rows(path)
    with path.open(encoding="utf-8", newline="") as handle:
        # The table never quotes (no field holds a tab or a newline), as load_rows reads it.
        extra = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if len(extra) != len(eval_rows):
        raise EvalError(f"{path}: {len(extra)} rows by the header, {len(eval_rows)} read as eval rows")
    out = []
    for row, fields in zip(eval_rows, extra, strict=True):
        if fields["split"] not in SPLITS:
            raise EvalError(f"{path}, line {row.line}: split {fields['split']!r} is not one of {', '.join(SPLITS)}")
        if fields["kind"] not in ROW_KINDS:
            raise EvalError(f"{path}, line {row.line}: kind {fields['kind']!r} is not one of {', '.join(ROW_KINDS)}")
        out.append(TableRow(row, fields["id"], fields["split"], fields["kind"], fields["note"]))
    return out


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")


def rows(split: str | None = None, path: Path = TABLE) -> list[TableRow]:
    """The table's rows, or only those of one split (``tune`` or ``heldout``)."""
    if split is not None:
        _check_split(split)
    return [r for r in load_table(path) if split is None or r.split == split]


def write_split(destination: Path, split: str, path: Path = TABLE) -> int:
    """Write the header and the rows of one split to ``destination`` (a file ``news-monitor eval`` reads);
    returns the number of rows written."""
    _check_split(split)
    lines = path.read_text(encoding="utf-8").splitlines()
    split_at = lines[0].split("\t").index("split")
    kept = [line for line in lines[1:] if line.split("\t")[split_at] == split]
    destination.write_text("\n".join([lines[0], *kept]) + "\n", encoding="utf-8")
    return len(kept)
