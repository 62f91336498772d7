"""Deadlines on a whole fetch, enforced by shutting its sockets down.

``deadline(seconds)``: while the block runs, every socket a guarded connection (``net.guard``) opens or reuses in
this thread is shut down once ``seconds`` have passed. Socket timeouts bound each read, not their sum: a server
sending one byte of its status line or headers every few seconds, or stalling a TLS handshake, would otherwise
hold a fetch far past its deadline inside a single ``http.client`` call. One watchdog thread fires every
deadline in time order.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Deadline:
    """One active deadline: ``fired`` tells whether it cut the sockets it watched."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.fired = False
        self.closed = False
        self._lock = threading.Lock()
        self._handles: list[socket.socket] = []

    def watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor: it stays valid when TLS detaches the original socket object or urllib3 closes
        # it, and, being ours until close(), it can never name another connection's reused descriptor number.
        try:
            handle = socket.socket(fileno=os.dup(sock.fileno()))
        except OSError:
            return  # already closed: nothing left to cut
        with self._lock:
            if self.closed:
                handle.close()
                return
            self._handles.append(handle)
            if self.fired:
                _shutdown(handle)

    def fire(self) -> None:
        """Shut down every watched socket: a read blocked on one returns at once (EOF or an error)."""
        # Under the lock, as close() is: a shutdown racing a close could hit a descriptor number reused meanwhile.
        with self._lock:
            if self.closed:
                return
            self.fired = True
            for handle in self._handles:
                _shutdown(handle)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            for handle in self._handles:
                handle.close()
            self._handles = []


def _shutdown(handle: socket.socket) -> None:
    try:
        handle.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected any more


class _Watchdog:
    """One daemon thread firing deadlines in time order; finished deadlines are skipped when their time comes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].closed:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                due = heapq.heappop(self._heap)[2]
            due.fire()


_watchdog = _Watchdog()
_local = threading.local()


def watch(sock: socket.socket) -> None:
    """Put ``sock`` under this thread's active deadline, if there is one (guarded connections call this)."""
    active: Deadline | None = getattr(_local, "deadline", None)
    if active is not None:
        active.watch(sock)


@contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Within the block, sockets that guarded sessions connect or reuse in this thread are shut down when
    ``seconds`` (real, monotonic time) have passed. The caller turns the resulting error into a deadline message
    by checking ``fired``. Deadlines nest: the inner one applies inside its block."""
    active = Deadline(seconds)
    outer = getattr(_local, "deadline", None)
    _local.deadline = active
    _watchdog.add(active)
    try:
        yield active
    finally:
        _local.deadline = outer
        active.close()
