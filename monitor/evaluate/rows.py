"""Reading a labelled eval TSV file into rows, every value checked (the file format: ``monitor.evaluate``)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import MonitorError
from monitor.evaluate.metrics import VERDICTS

DEFAULT_SET = "all"


class EvalError(MonitorError):
    """The evaluation file cannot be used: missing, empty, wrong columns or a bad value (exit code 2)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class EvalRow:
    """One data row; ``line`` is its line number in the file (the header is line 1)."""

    line: int
    set: str
    claim: str
    story: str
    summary: str  # "" without a summary column
    label: int | None  # None: no label column, or an empty cell
    verdict: str | None  # None: no verdict column, or an empty cell


_DOUBLED_QUOTE_FIELD = re.compile(r'"(?:[^"]|"")*""(?:[^"]|"")*"')


def _parse(text: str, quoting: int, where: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=quoting)
    rows, start = [], 1
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise EvalError(f"{where}, line {start}: cannot read the row: {exc}") from exc
    return rows


def _looks_quoted(text: str, rows: list[tuple[int, list[str]]]) -> bool:
    """Whether a file read with QUOTE_NONE was in fact written with TSV quoting."""
    if '"' not in text:
        return False
    header = rows[0][1]
    if any(len(f) >= 2 and f.startswith('"') and f.endswith('"') for f in header):
        return True
    return any(len(fields) != len(header) or any(_DOUBLED_QUOTE_FIELD.fullmatch(f) for f in fields)
               for _, fields in rows[1:])


def load_rows(path: str | Path, *, need_claim: bool = True) -> tuple[list[str], list[EvalRow]]:
    """(column names, rows) of an eval TSV file, every value checked; raises EvalError naming file and line.
    ``need_claim`` False: the ``claim`` column may be missing (the claim comes from the config)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise EvalError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise EvalError(f"{path}: is a directory, not a TSV file") from exc
    except UnicodeDecodeError as exc:
        raise EvalError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    except OSError as exc:
        raise EvalError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not text.strip():
        raise EvalError(f"{path}: the file is empty (expected a header row with claim, story and label or verdict)")

    rows = _parse(text, csv.QUOTE_NONE, str(path))
    if _looks_quoted(text, rows):
        rows = _parse(text, csv.QUOTE_MINIMAL, str(path))
    header_line, header = rows[0]
    columns = [c.strip().lower() for c in header]
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        raise EvalError(f"{path}, line {header_line}: duplicate column {', '.join(duplicated)}")
    missing = [c for c in ("claim", "story") if c not in columns and (need_claim or c != "claim")]
    if "label" not in columns and "verdict" not in columns:
        missing.append("label or verdict")
    if missing:
        found = ", ".join(c for c in columns if c) or "none"
        raise EvalError(f"{path}, line {header_line}: missing column {', '.join(missing)} (found: {found})")
    if len(rows) == 1:
        raise EvalError(f"{path}: no rows after the header")

    index = {c: i for i, c in enumerate(columns)}
    out = []
    for line, fields in rows[1:]:
        if len(fields) != len(columns):
            raise EvalError(f"{path}, line {line}: {len(fields)} tab-separated fields, the header has {len(columns)}")
        label = verdict = None
        if "label" in index:
            raw = fields[index["label"]].strip()
            if raw in ("0", "1"):
                label = int(raw)
            elif raw:
                raise EvalError(f"{path}, line {line}: label {raw!r} is not 0 or 1")
        if "verdict" in index:
            raw = fields[index["verdict"]].strip().lower()
            if raw in VERDICTS:
                verdict = raw
            elif raw:
                raise EvalError(f"{path}, line {line}: unknown verdict {raw!r} (expected {', '.join(VERDICTS)} "
                                "or an empty cell)")
        name = fields[index["set"]].strip() if "set" in index else ""
        out.append(EvalRow(line, name or DEFAULT_SET, fields[index["claim"]] if "claim" in index else "",
                           fields[index["story"]], fields[index["summary"]] if "summary" in index else "",
                           label, verdict))
    return columns, out
