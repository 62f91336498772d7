"""systemd's notify protocol (``sd_notify``), stdlib only.

Under ``Type=notify`` systemd passes a datagram socket in ``NOTIFY_SOCKET`` (a path, or ``@name`` for the
abstract namespace) and waits for ``READY=1`` before it calls the service started; with ``WatchdogSec=`` it
also passes ``WATCHDOG_USEC`` and kills the service when ``WATCHDOG=1`` stops arriving for that long.

Outside systemd (no ``NOTIFY_SOCKET``: a terminal, Docker, the tests) every call is a no-op. A failed send is
logged once and otherwise ignored: losing contact with systemd must not stop the daemon (if it matters, the
watchdog will say so).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

from monitor.logs import kv, log


class Notifier:
    """Sends state changes to systemd over ``NOTIFY_SOCKET``; does nothing when that is unset."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self._environ = env
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def ready(self, status: str | None = None) -> bool:
        """Start-up (or a reload) is complete: systemd considers the unit active from now on."""
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        """A reload has begun; send ``ready()`` when it is over (the unit shows "reloading" until then)."""
        # MONOTONIC_USEC lets systemd ≥ 253 tell this reload from an older one; older versions ignore it.
        return self.send("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def stopping(self) -> bool:
        """Shut-down has begun (systemd shows "deactivating" and stops expecting watchdog pings)."""
        return self.send("STOPPING=1")

    def watchdog(self) -> bool:
        """Keep-alive: the service is healthy. Send at least every ``watchdog_interval()`` seconds."""
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status``."""
        return self.send(f"STATUS={text}")

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines as one datagram; True if sent, False when disabled or the send failed."""
        if self._address is None:
            return False
        message = "\n".join(a.replace("\n", " ") for a in assignments).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(message)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("cannot notify systemd %s", kv(socket=self._address, error=exc))
            return False
        return True

    def watchdog_interval(self) -> float | None:
        """The watchdog timeout in seconds (``WATCHDOG_USEC``), or None when no watchdog is asked of us.

        A ``WATCHDOG_PID`` naming another process means the watchdog is someone else's (it was inherited), so
        None as well. Ping at half this interval so one late ping does not get the service killed.
        """
        try:
            usec = int(self._environ.get("WATCHDOG_USEC", ""))
        except ValueError:
            return None
        pid = self._environ.get("WATCHDOG_PID")
        if usec <= 0 or (pid is not None and pid.strip() != str(os.getpid())):
            return None
        return usec / 1_000_000

    def keep_alive(self, healthy: Callable[[], str | None], stop: threading.Event) -> threading.Thread | None:
        """Start a daemon thread that sends ``WATCHDOG=1`` every half watchdog interval while ``healthy()``
        returns None (no problem); while it returns a reason, no ping is sent and the reason becomes the
        unit's status, so a stuck scheduler gets the service restarted. Returns None (no thread) when systemd
        asked for no watchdog. Set ``stop`` to end the thread.
        """
        interval = self.watchdog_interval()
        if interval is None or not self.enabled:
            return None

        def loop() -> None:
            was_unhealthy = False
            while True:
                problem = _safely(healthy)
                if problem is None:
                    self.watchdog()
                    if was_unhealthy:
                        self.status("running")
                else:
                    self.status(f"unhealthy: {problem}")
                    log.warning("watchdog ping withheld %s", kv(reason=problem))
                was_unhealthy = problem is not None
                if stop.wait(interval / 2):
                    return

        thread = threading.Thread(target=loop, name="systemd-watchdog", daemon=True)
        thread.start()
        return thread


def _safely(healthy: Callable[[], str | None]) -> str | None:
    try:
        return healthy()
    except Exception as exc:  # a broken check must read as unhealthy, not kill the keep-alive thread
        return f"health check failed: {type(exc).__name__}: {exc}"


def _socket_address(value: str) -> str | bytes | None:
    """``/run/systemd/notify`` as is; ``@name`` → the abstract address ``\\0name``; anything else → None."""
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return b"\0" + value[1:].encode()
    if value:  # e.g. "vsock:…" (systemd ≥ 254 for VMs): not a transport this daemon needs
        log.warning("unsupported NOTIFY_SOCKET ignored %s", kv(value=value))
    return None
