"""Polls and deliveries spread over processes and machines: one scheduler and any number of workers on one
PostgreSQL database, through procrastinate's job queue (``pip install 'news-monitor[workers]'``).

``news-monitor scheduler`` runs the daemon with its usual jobs (feed intervals, housekeeping, reload, health,
the database's lock) but, instead of polling and sending itself, queues a ``poll`` job per due feed and a
``deliver`` job per channel with alerts to send (``dispatch``). ``news-monitor worker`` takes those jobs
(``worker``) with its own config, fetcher, parse processes and notifiers. What holds across processes:

- one poll per feed at a time, and no more than ``max_per_host`` requests in flight per host: a poll job
  carries a queueing lock (one waiting per feed) and a lock per host share, which procrastinate never lets two
  workers run at once; a host's backoff and minimum spacing are kept in the database (``hosts``);
- per-channel order and rate limits: a channel's deliveries run one at a time under the channel's lock, and
  each run starts its rate limiter from the channel's sends recorded in the outbox; the outbox's leases and
  per-claim order are the store's own, as with one process;
- a worker that stops answering (killed, its machine lost) is noticed by its missing heartbeat and its jobs
  are queued again by the scheduler (``recovery``); a poll is one transaction and a send is leased, so a
  retried job repeats nothing but the one send in flight at the kill.
"""
