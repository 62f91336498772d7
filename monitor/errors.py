"""Every error news-monitor raises on purpose.

    MonitorError                 base; the CLI prints it as one line
    ├── ConfigError              the config file is unreadable or invalid (exit code 2)
    ├── FetchError               a feed could not be fetched (HTTP status, timeout, size cap, refused address)
    ├── ParseError               fetched bytes hold no usable stories
    ├── StoreError               the database cannot be opened or migrated
    │   └── NoDatabaseError      a read command was pointed at a database that does not exist (exit code 2)
    ├── DeliveryError            a channel refused or could not take an alert
    └── NotFoundError            a story or claim named on the command line is unknown (exit code 2)
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class: an expected failure with a message fit for one line of output."""

    exit_code = 1


class ConfigError(MonitorError):
    """The configuration cannot be used. ``problems`` lists every problem found, each with its key path."""

    exit_code = 2

    def __init__(self, problems: list[str] | str, *, path: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.path = path
        where = f"{path}: " if path else ""
        if len(self.problems) == 1:
            message = f"{where}{self.problems[0]}"
        else:
            listed = "\n".join(f"  {p}" for p in self.problems)
            message = f"{where}{len(self.problems)} problems:\n{listed}"
        super().__init__(message)


class FetchError(MonitorError):
    """A feed fetch failed. ``status`` is the HTTP status when the server answered; ``retry_after`` the raw
    ``Retry-After`` header and ``retry_after_seconds`` its parsed value, when it sent one. ``timed_out``: the
    server was too slow (a connect or read timeout, or the fetch's overall deadline cut a drip), as opposed to
    refusing, failing or answering with an error status."""

    retry_after_seconds: float | None = None

    def __init__(self, message: str, *, status: int | None = None, retry_after: str | None = None,
                 timed_out: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.timed_out = timed_out


class ParseError(MonitorError):
    """The fetched body could not be read as a feed, or held no usable entries."""


class StoreError(MonitorError):
    """The database could not be opened, migrated or written."""


class NoDatabaseError(StoreError):
    """There is no database file where a command that only reads was told to look: a mistyped ``--db``, or a
    daemon that has not run yet. Nothing is created."""

    exit_code = 2

    def __init__(self, path: str) -> None:
        super().__init__(f"no database at {path} (has the daemon run yet? check --db / [monitor] database)")
        self.path = path


class DeliveryError(MonitorError):
    """A channel did not accept an alert.

    ``status`` is the HTTP status when the destination answered; ``retry_after`` the delay in seconds it asked
    for (``Retry-After`` header, or Discord's ``retry_after``), already parsed; ``transient`` whether trying
    again later may succeed (timeouts, connection errors, 408/425/429/5xx); ``maybe_delivered`` whether the
    request may have reached the receiver (a read timeout after the body was sent), so a retry must carry the
    same alert id.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 transient: bool | None = None, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.transient = is_transient_status(status) if transient is None else transient
        self.maybe_delivered = maybe_delivered


class NotFoundError(MonitorError):
    """A story or claim named on the command line is neither stored nor configured."""

    exit_code = 2


def is_transient_status(status: int | None) -> bool:
    """Whether an HTTP answer (None: no answer at all) is worth retrying on the long schedule."""
    return status is None or status in (408, 425, 429) or status >= 500


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` as one line for a message or log: every run of whitespace (newlines included) collapsed to one
    space; when longer than ``limit`` characters, its first ``limit - 1`` and "…"."""
    line = " ".join(str(text or "").split())
    return line if limit is None or len(line) <= limit else line[:limit - 1] + "…"
