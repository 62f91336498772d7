"""Logging set-up: one line per event, ``message key=value …``."""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("monitor")


def kv(**fields: object) -> str:
    """Render fields as ``key=value`` pairs; values with spaces or quotes are quoted so lines stay parseable."""
    parts = []
    for key, value in fields.items():
        text = "" if value is None else str(value)
        if not text or any(c in text for c in ' "=\n\t'):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


def configure(verbosity: int = 0) -> None:
    """Log to stderr: warnings by default, info with -v, debug with -vv. Library chatter stays at warning."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    log.setLevel(level)
