"""A host's politeness state shared by the workers: its backoff after timeouts and when its last request began,
in ``news_monitor_hosts``.

A poll job runs under its host's lock (``dispatch.poll_locks``), so while it runs no other worker asks that
host (or that share of it): the job reads the host's row into its process's ``HostSlots`` before the poll
(``adopt``) and writes what the poll left there back after it. So a host that timed out for one worker is
left alone by all of them, and a host with a minimum spacing (GDELT's API) keeps it across workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from monitor.feeds.politeness import HostSlots, SharedHost, host_of
from monitor.store.postgres import PostgresSql


@contextmanager
def shared_host(sql: PostgresSql, slots: HostSlots, url: str, clock: Callable[[], datetime]) -> Iterator[None]:
    """Around one poll of ``url``: the host's shared state into ``slots`` first, back into the database after,
    on the poll's own connection (``sql``, outside its transactions). Times in the table are the workers' wall
    clocks (``clock``)."""
    host, now = host_of(url), clock()
    row = sql.execute("SELECT timeouts, backoff_until, last_start FROM news_monitor_hosts WHERE host = ?",
                      [host]).fetchone()
    if row is not None:
        timeouts, backoff_until, last_start = row
        left = (backoff_until - now).total_seconds() if backoff_until is not None else None
        slots.adopt(url, SharedHost(timeouts, left if left is not None and left > 0 else None,
                                    None if last_start is None else (now - last_start).total_seconds()))
    before = slots.shared_state(url)
    try:
        yield
    finally:
        state = slots.shared_state(url)
        # Written when it matters to the others: a backoff begun or ended, or a host that must be spaced.
        if (state.timeouts, state.backoff_left is None) != (before.timeouts, before.backoff_left is None) \
                or host in slots.spacing:
            end = clock()
            sql.execute(
                """INSERT INTO news_monitor_hosts (host, timeouts, backoff_until, last_start) VALUES (?, ?, ?, ?)
                   ON CONFLICT (host) DO UPDATE SET timeouts = excluded.timeouts,
                       backoff_until = excluded.backoff_until,
                       last_start = GREATEST(news_monitor_hosts.last_start, excluded.last_start)""",
                [host, state.timeouts,
                 None if state.backoff_left is None else end + timedelta(seconds=state.backoff_left),
                 None if state.since_last_start is None else end - timedelta(seconds=state.since_last_start)])
