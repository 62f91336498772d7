"""Parsing under a time budget: ``parse_feed`` run in a worker process that is killed when it takes too long.
The same workers read the new stories against the claims (``reading.read``: relevance, verdict, headline key),
so that CPU work runs beside the poll threads' process instead of inside it (``ParsePool.read``), and extract the
main text of article pages (``ParsePool.extract``, ``full_text = "hits"``), as untrusted as feeds.

feedparser is pure Python fed untrusted bytes, and some inputs make it slow out of all proportion (its author
e-mail regex is quadratic: an 80 kB ``<author>`` costs ~25 s, a 1 MB one hours; kurtmckee/feedparser#562). A
Python thread cannot be interrupted, so a parse running in the poll worker would hold that worker, and with it
a share of every other feed's schedule, for as long as the feed likes. A process can be killed.

``ParsePool(workers=2, budget_seconds=10)`` keeps ``workers`` long-lived worker processes, each serving one
parse at a time over a pipe. ``parse(...)`` takes a free worker (waiting for one if all are busy), hands it the
body and waits at most the budget for the stories. Past the budget it kills that worker alone, starts a fresh one
in its place and raises ``ParseError("parse budget of 10s exceeded")``; parses running in the other workers are
not disturbed. Workers are started with ``forkserver`` where available (``spawn`` elsewhere): forking a
multi-threaded daemon could copy a lock held by another thread into the child. The fork server preloads
``monitor.feeds.parse``, so a replacement worker starts in milliseconds, not the ~0.3 s a fresh interpreter needs.

Each worker also runs under an address-space limit (``memory_limit_bytes``, 1 GiB by default; Unix only), so
a parse that would exhaust memory fails as a ParseError and takes down its worker, not the daemon.

The main module must be safe to import (``if __name__ == "__main__":``), as for any ``multiprocessing`` use:
workers import it. ``python -m monitor``, the ``news-monitor`` script and pytest are.

``parse_feed_with_budget(...)`` and ``read_with_budget(...)`` do the same through one pool shared by the
process, created on first use and closed at exit.
"""

from __future__ import annotations

import atexit
import multiprocessing
import pickle
import queue
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from monitor.errors import ParseError
from monitor.logs import kv, log
from monitor.models import Story
from monitor.reading import Reading, Rules

try:
    import resource
except ImportError:  # not on Windows: no memory limit there
    resource = None  # type: ignore[assignment]

DEFAULT_BUDGET_SECONDS = 10.0
DEFAULT_WORKERS = 2
DEFAULT_MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024  # a 10 MiB body parses in well under 300 MB
# Added to a read's budget when the worker must first load a semantic model (all-mpnet-base-v2 fp32 took 7 s
# on a loaded 2-CPU machine; MiniLM int8 under one).
MODEL_LOAD_SECONDS = 120.0


def _serve(conn: Connection, memory_limit_bytes: int | None) -> None:
    """A worker's loop: one request in, one answer out: ("ok", result), ("error", message), or ("fatal", message)
    after which the worker exits (out of memory: its heap may be in any state). A request is a parse (the
    arguments of ``parse_feed``) or, with ``op="read"``, stories to read against the claims' rules (sent pickled
    with the first read of each set of rules, named by their token afterwards)."""
    from monitor import reading  # already imported in the fork server; imported here under spawn
    from monitor.feeds.parse import parse_feed

    if memory_limit_bytes and resource is not None:
        # Address space, not RSS: the only limit the kernel enforces at allocation time, turning a runaway
        # parse into a MemoryError here instead of the OOM killer picking a process (perhaps the daemon).
        # The hard limit stays open so that this worker may raise its own soft one for a semantic model.
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, resource.RLIM_INFINITY))
    rules: reading.Rules | None = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the parent closed its end or went away
        what = {"read": "reading", "extract": "article extraction"}.get(request.get("op"), "parse")
        try:
            if what == "article extraction":
                from monitor.feeds.article import extract
                answer = ("ok", extract(request["html"], url=request["url"], now=request["now"]))
            elif what == "reading":
                if request["rules"] is not None:
                    rules = pickle.loads(request["rules"])
                    if rules.semantic is not None and memory_limit_bytes and resource is not None:
                        _allow_model(rules.semantic.files.model, memory_limit_bytes)
                if rules is None or rules.token != request["token"]:
                    raise RuntimeError("the worker does not hold the rules it was asked to read with")
                answer: tuple[str, Any] = ("ok", reading.read(rules, request["stories"],
                                                              can_alert=request.get("can_alert")))
            else:
                answer = ("ok", parse_feed(**request))
        except ParseError as exc:
            answer = ("error", str(exc))
        except MemoryError:
            answer = ("fatal", f"{what} exceeded the worker's memory limit of {memory_limit_bytes} bytes")
        except Exception as exc:  # noqa: BLE001 - reported to the caller as a ParseError, as the parse boundary
            # A crash while reading is a bug of ours, not a feed's fault: its traceback goes to the daemon's log.
            answer = ("error", f"{'parser' if what == 'parse' else what} crashed: {type(exc).__name__}: "
                               f"{exc}"[:300], traceback.format_exc() if what == "reading" else None)
        conn.send(answer)
        if answer[0] == "fatal":
            return


def _allow_model(model: Path, memory_limit_bytes: int) -> None:
    """Raise this worker's address-space limit by what the semantic stage's model needs on top of a parse: about
    four times the model file (weights, onnxruntime's arenas and thread stacks) and 512 MiB. all-mpnet-base-v2
    fp32 (436 MB) does not load under the parse limit alone."""
    needed = memory_limit_bytes + 4 * model.stat().st_size + 512 * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_AS, (needed if hard == resource.RLIM_INFINITY else min(needed, hard),
                                                hard))


class _Worker:
    def __init__(self, context: multiprocessing.context.BaseContext, memory_limit_bytes: int | None) -> None:
        self.rules_token: str | None = None  # the rules this worker holds (see ParsePool.read)
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, memory_limit_bytes), name="parse-worker",
                                       daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class ParsePool:
    """Worker processes that parse feeds under a time budget. Thread-safe; see the module docstring."""

    def __init__(self, *, workers: int = DEFAULT_WORKERS, budget_seconds: float = DEFAULT_BUDGET_SECONDS,
                 memory_limit_bytes: int | None = DEFAULT_MEMORY_LIMIT_BYTES, start_method: str | None = None) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        method = start_method or ("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                  else "spawn")
        self._context = multiprocessing.get_context(method)
        if method == "forkserver":
            # Not "__main__" (the default): `python -m monitor` runs the daemon at import time.
            self._context.set_forkserver_preload(["monitor.feeds.parse", "monitor.reading"])
        self.budget_seconds = budget_seconds
        self.memory_limit_bytes = memory_limit_bytes
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(workers):
            self._idle.put(None)  # started on first use, so an unused pool costs nothing
        self._lock = threading.Lock()
        self._live: set[_Worker] = set()
        self._closed = False

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def parse(self, body: bytes, *, feed_name: str, headers: Mapping[str, str] | None = None,
              url: str | None = None, now: datetime | None = None, outlet: str | None = None,
              budget_seconds: float | None = None) -> list[Story]:
        """``parse.parse_feed`` with the same arguments and result, in a worker process. Raises ParseError as it
        does, and ParseError("parse budget of Ns exceeded") when the parse takes longer than the budget
        (``budget_seconds``, default the pool's). The budget counts from when the body has been handed over."""
        request = {"body": bytes(body), "feed_name": feed_name, "headers": dict(headers or {}), "url": url,
                   "now": now, "outlet": outlet}
        return self._run("parse", lambda worker: request, budget_seconds)

    def extract(self, html: bytes, *, url: str | None, now: datetime,
                budget_seconds: float | None = None) -> tuple[str | None, datetime | None]:
        """``article.extract(html, url=url, now=now)`` in a worker process, under a parse's budget and memory
        limit (or ``budget_seconds``): an article page is as untrusted as a feed."""
        request = {"op": "extract", "html": bytes(html), "url": url, "now": now}
        return self._run("article extraction", lambda worker: request, budget_seconds)

    def read(self, rules: Rules, stories: Sequence[Story], *, can_alert: Sequence[bool] | None = None,
             budget_seconds: float | None = None) -> list[list[Reading]]:
        """``reading.read(rules, stories, can_alert=…)`` in a worker process, under the same budget as a parse. A
        worker is sent the rules (pickled) the first time it reads with them, then only their token."""
        def request(worker: _Worker) -> dict:
            blob = None if worker.rules_token == rules.token else rules.blob
            worker.rules_token = rules.token
            return {"op": "read", "token": rules.token, "rules": blob, "stories": list(stories),
                    "can_alert": None if can_alert is None else list(can_alert)}

        def budget(worker: _Worker) -> float:
            # A worker handed new rules with a semantic model loads it first: that is not the stories' time.
            loading = rules.semantic is not None and worker.rules_token != rules.token
            base = self.budget_seconds if budget_seconds is None else budget_seconds
            return base + (MODEL_LOAD_SECONDS if loading else 0.0)
        return self._run("reading", request, budget)

    def _run(self, what: str, request: Callable[[_Worker], dict],
             budget_seconds: float | Callable[[_Worker], float] | None) -> Any:
        worker = self._take()
        budget = (budget_seconds(worker) if callable(budget_seconds)
                  else self.budget_seconds if budget_seconds is None else budget_seconds)
        try:
            answer = self._ask(worker, request(worker), budget, what)
        except BaseException:
            self._discard(worker)
            self._idle.put(None)
            raise
        kind, value, *details = answer
        if kind == "fatal":
            self._discard(worker)
        elif kind != "ok" and what == "reading":
            worker.rules_token = None  # a failed read may have left the worker without its rules: resend them
        self._idle.put(None if kind == "fatal" else worker)
        if kind != "ok":
            if details and details[0]:
                log.error("reading crashed in a worker %s\n%s", kv(error=value), details[0])
            raise ParseError(value)
        return value

    def close(self) -> None:
        """Kill every worker. Idempotent; ``parse`` afterwards raises RuntimeError."""
        with self._lock:
            self._closed = True
            workers, self._live = list(self._live), set()
        for worker in workers:
            worker.kill()

    def _take(self) -> _Worker:
        worker = self._idle.get()
        if worker is not None and worker.process.is_alive():
            return worker
        if worker is not None:
            self._discard(worker)
        try:
            return self._start()
        except BaseException:
            self._idle.put(None)
            raise

    def _start(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("ParsePool is closed")
            worker = _Worker(self._context, self.memory_limit_bytes)
            self._live.add(worker)
            return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.kill()

    def _ask(self, worker: _Worker, request: dict, budget: float, what: str) -> tuple[str, Any]:
        try:
            worker.conn.send(request)
            if not worker.conn.poll(budget):
                raise ParseError(f"{what} budget of {budget:g}s exceeded")
            return worker.conn.recv()
        except (EOFError, OSError) as exc:  # the worker died: killed by the OS (memory), or the pool closed
            raise ParseError(f"{what} worker died: {type(exc).__name__}") from exc


_shared: ParsePool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> ParsePool:
    """The process-wide pool behind ``parse_feed_with_budget``: DEFAULT_WORKERS workers, closed at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ParsePool()
            atexit.register(_shared.close)
        return _shared


def read_with_budget(rules: Rules, stories: Sequence[Story], *, can_alert: Sequence[bool] | None = None,
                     budget_seconds: float = DEFAULT_BUDGET_SECONDS) -> list[list[Reading]]:
    """``reading.read`` in the shared worker pool, killed and reported as ParseError past ``budget_seconds``."""
    return shared_pool().read(rules, stories, can_alert=can_alert, budget_seconds=budget_seconds)


def parse_feed_with_budget(body: bytes, *, feed_name: str, headers: Mapping[str, str] | None = None,
                           url: str | None = None, now: datetime | None = None, outlet: str | None = None,
                           budget_seconds: float = DEFAULT_BUDGET_SECONDS) -> list[Story]:
    """``parse.parse_feed`` in the shared worker pool, killed and reported as ParseError past ``budget_seconds``."""
    return shared_pool().parse(body, feed_name=feed_name, headers=headers, url=url, now=now, outlet=outlet,
                               budget_seconds=budget_seconds)
