"""Signals that arrive before the daemon can act on them: recorded from the first moments, replayed later.

Starting ``news-monitor run`` imports click, requests, APScheduler and the rest (about 0.4 s) before the daemon
installs its own handlers. Without this module a SIGHUP in that window kills the process (the default action of
SIGHUP is to terminate), and a SIGTERM ends it without a clean stop.

- ``install()``, run by the entry points (``monitor.entry``) before anything heavy is imported: SIGHUP, SIGTERM
  and SIGINT are recorded instead of acted on, and unblocked in the signal mask, so that a daemon whose parent
  blocked them (a pending signal stays pending across exec) still sees them.
- ``take()``, for the daemon, once its own handlers are installed: the signals recorded, in arrival order, and
  the record retired (the daemon's handlers stay).
- ``release()``, for every other command, once the CLI knows it is not ``run``: the dispositions and signal mask
  found at ``install()`` come back (SIGINT raises KeyboardInterrupt again), and each recorded signal is raised
  again, so it has the effect it would have had without this module.

Each is a no-op when ``install()`` was not called (the library used in-process, tests). This module imports only
the standard library's ``signal`` and ``queue``: it runs before the rest of the package is imported.
"""

from __future__ import annotations

import queue
import signal

SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)

# SimpleQueue.put is reentrant: safe in a signal handler that interrupted the main thread anywhere.
_record: queue.SimpleQueue[int] = queue.SimpleQueue()
_previous: dict[int, object] = {}  # signal -> its disposition before install(); empty when not installed
_previous_mask: set[int] = set()


def _recorder(signum: int, _frame: object) -> None:
    _record.put(signum)


def install() -> None:
    """Record SIGHUP, SIGTERM and SIGINT from now on (see the module docstring); unblock them."""
    if _previous:
        return
    for sig in SIGNALS:
        _previous[sig] = signal.signal(sig, _recorder)
    _previous_mask.clear()
    _previous_mask.update(signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS))  # any pending one arrives now


def _drain() -> list[int]:
    received = []
    while True:
        try:
            received.append(_record.get_nowait())
        except queue.Empty:
            return received


def take() -> list[signal.Signals]:
    """The signals recorded so far, in arrival order, and the record retired. Call it after installing the
    handlers that replace the recorder: a signal arriving in between is then either recorded or handled."""
    _previous.clear()
    return [signal.Signals(s) for s in _drain()]


def release() -> None:
    """Give the process back the signal handling it had before ``install()`` and raise each recorded signal
    again (a signal the process ignored at ``install()`` stays ignored)."""
    if not _previous:
        return
    previous = dict(_previous)
    for sig, handler in previous.items():
        # None: a handler set outside Python, which cannot be put back; the default is the nearest.
        signal.signal(sig, signal.SIG_DFL if handler is None else handler)  # type: ignore[arg-type]
    _previous.clear()
    signal.pthread_sigmask(signal.SIG_SETMASK, _previous_mask)
    for sig in _drain():
        if previous[sig] is not signal.SIG_IGN:
            signal.raise_signal(sig)
