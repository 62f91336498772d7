"""A host's politeness state shared by the workers: its backoff after timeouts and when its last request began,
in ``news_monitor_hosts``.

A poll job runs under its host's lock (``dispatch.poll_lock``), so while it runs no other worker asks that
host (or that share of it): the job reads the host's row into its process's ``HostSlots`` before the poll
(``adopt``) and writes what the poll left there back after it. So a host that timed out for one worker is
left alone by all of them, and a host with a minimum spacing (GDELT's API) keeps it across workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from monitor.feeds.politeness import HostSlots, SharedHost, host_of
from monitor.store.postgres import PostgresSql


@contextmanager
def shared_host(sql: PostgresSql, slots: HostSlots, url: str) -> Iterator[None]:
    """Around one poll of ``url``: the host's shared state into ``slots`` first, back into the database after,
    on the poll's own connection (``sql``, outside its transactions). Times are the database's (``now()``), so
    workers whose clocks differ still space a host's requests as it asks."""
    host = host_of(url)
    row = sql.execute("""SELECT timeouts, EXTRACT(EPOCH FROM backoff_until - now()),
                                EXTRACT(EPOCH FROM now() - last_start)
                         FROM news_monitor_hosts WHERE host = ?""", [host]).fetchone()
    if row is not None:
        timeouts, left, since = (row[0], *(None if v is None else float(v) for v in row[1:]))
        slots.adopt(url, SharedHost(timeouts, left if left is not None and left > 0 else None, since))
    before = slots.shared_state(url)
    try:
        yield
    finally:
        state = slots.shared_state(url)
        # Written when it matters to the others: a backoff begun or ended, or a host that must be spaced.
        if (state.timeouts, state.backoff_left is None) != (before.timeouts, before.backoff_left is None) \
                or host in slots.spacing:
            sql.execute(
                """INSERT INTO news_monitor_hosts (host, timeouts, backoff_until, last_start)
                   VALUES (?, ?, now() + make_interval(secs => ?), now() - make_interval(secs => ?))
                   ON CONFLICT (host) DO UPDATE SET timeouts = excluded.timeouts,
                       backoff_until = excluded.backoff_until,
                       last_start = GREATEST(news_monitor_hosts.last_start, excluded.last_start)""",
                [host, state.timeouts, state.backoff_left, state.since_last_start])
