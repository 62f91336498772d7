"""Logging set-up: one line per event, ``message key=value …`` (text) or one JSON object per line (json).

Call sites write ``log.info("poll ok %s", kv(feed=name, new=3))``: ``kv`` keeps the fields as data, so the text
format renders them as ``key=value`` and the JSON format as object members. Nothing logged carries a secret:
URLs are redacted where they are logged (``net.urls.redact_url``: user info and query values hidden) and channel
URLs are never logged at all.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

log = logging.getLogger("monitor")
FORMATS = ("text", "json")


class KV:
    """Event fields: renders as ``key=value`` pairs, quoting values with spaces or quotes so lines stay parseable."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, object]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        parts = []
        for key, value in self.fields.items():
            text = "" if value is None else str(value)
            if not text or any(c in text for c in ' "=\n\t'):
                text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
            parts.append(f"{key}={text}")
        return " ".join(parts)


def kv(**fields: object) -> KV:
    return KV(fields)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "event", …fields}``: the event is the message without its fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {}
        args = record.args if isinstance(record.args, tuple) else ()
        event = record.msg if isinstance(record.msg, str) else str(record.msg)
        for arg in args:
            if isinstance(arg, KV):
                fields.update({k: v if isinstance(v, (int, float, bool)) or v is None else str(v)
                               for k, v in arg.fields.items()})
        if any(isinstance(a, KV) for a in args):
            event = event.replace(" %s", "").replace("%s", "")
        else:
            event = record.getMessage()
        document = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="seconds"),
                    "level": record.levelname.lower(), "event": event, "logger": record.name, **fields}
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def configure(verbosity: int = 0, fmt: str = "text") -> None:
    """Log to stderr: warnings by default, info with -v, debug with -vv. Library chatter stays at warning."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    log.setLevel(level)
