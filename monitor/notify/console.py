"""The ``console`` channel: one readable block per alert on standard output."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from monitor.notify.render import format_alert_text


class ConsoleNotifier:
    """Prints alerts; a write to the stream never fails in a way worth retrying, so it always succeeds."""

    _lock = threading.Lock()  # blocks from concurrent jobs must not interleave

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, alert_id: str, payload: dict) -> None:
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(format_alert_text(payload) + "\n\n")
            stream.flush()
