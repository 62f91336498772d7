"""The commands that poll and deliver: ``run``, ``scheduler``, ``worker``, ``healthcheck``, ``poll-once``,
``deliver``, ``test-alert``."""

from __future__ import annotations

import sys

import click

from monitor import alerts
from monitor.cli import App, cli, counted
from monitor.delivery import DeliveryResult, deliver_due
from monitor.config.database import PostgresDatabase
from monitor.errors import ConfigError, DeliveryError
from monitor.logs import configure
from monitor.pipeline import check_deadlines
from monitor.runtime import Loaded, utc_now


@cli.command()
@click.pass_obj
def run(app: App) -> None:
    """Run the daemon: poll every feed on its interval and deliver alerts, until SIGTERM or Ctrl-C.

    \b
    Example:
      news-monitor --config config/monitor.toml run
    """
    from monitor.daemon.scheduler import Daemon  # imported here: only the daemon needs APScheduler

    loaded = app.load()
    root = click.get_current_context().find_root().params
    configure(max(1, root.get("verbose", 0)), root.get("log_format") or loaded.config.log_format)
    Daemon(loaded.config, claims=loaded.claims, load=app.load).run()


@cli.command()
@click.pass_obj
def scheduler(app: App) -> None:
    """Run the daemon for workers: queue each feed's polls and each channel's deliveries for `worker` processes
    (on a PostgreSQL database; one scheduler per database), until SIGTERM or Ctrl-C.

    \b
    Example:
      news-monitor --config /config/monitor.toml scheduler
    """
    from monitor.daemon.scheduler import Daemon
    from monitor.queue.dispatch import Scheduling

    loaded = _for_workers(app, "scheduler")
    Daemon(loaded.config, claims=loaded.claims, load=app.load, queue=Scheduling(loaded.config.database)).run()


@cli.command()
@click.pass_obj
def worker(app: App) -> None:
    """Take poll and delivery jobs queued by the scheduler, until SIGTERM or Ctrl-C. Start any number, on any
    machine that reaches the database; each runs [monitor] workers jobs at once.

    \b
    Example:
      news-monitor --config /config/monitor.toml worker
    """
    from monitor.queue.worker import Worker

    loaded = _for_workers(app, "worker")
    Worker(loaded.config, claims=loaded.claims, load=app.load).run()


def _for_workers(app: App, command: str) -> Loaded:
    """The config for ``scheduler`` or ``worker``: logging set up, and a PostgreSQL database, or ConfigError."""
    loaded = app.load()
    if not isinstance(loaded.config.database, PostgresDatabase):
        raise ConfigError([f"monitor.database: {command} needs a PostgreSQL database (postgresql://…) shared with "
                           f"the other processes; on SQLite, run polls and delivers in one process"],
                          path=str(loaded.config.path))
    root = click.get_current_context().find_root().params
    configure(max(1, root.get("verbose", 0)), root.get("log_format") or loaded.config.log_format)
    return loaded


@cli.command()
@click.pass_obj
def healthcheck(app: App) -> None:
    """Exit 0 when the daemon is healthy, 1 when not (for Docker's HEALTHCHECK and other probes).

    Asks the daemon's /healthz when [monitor] listen is set; otherwise checks that the database is writable.

    \b
    Example:
      news-monitor --config /config/monitor.toml healthcheck
    """
    from monitor.daemon.health import check_health, healthz_url

    config = app.config()
    ok, reason = check_health(healthz_url(config.listen) if config.listen else None, config.database)
    click.echo(reason, err=not ok)
    if not ok:
        sys.exit(1)


@cli.command("poll-once")
@click.option("--feed", "feed_names", multiple=True, metavar="NAME", help="Poll only this feed (repeatable).")
@click.option("--no-deliver", is_flag=True, help="Queue alerts but do not send them.")
@click.pass_obj
def poll_once(app: App, feed_names: tuple[str, ...], no_deliver: bool) -> None:
    """Poll every feed once, deliver what is due, and exit.

    Exits 1 when a feed failed or an alert could not be delivered (it stays queued for the next run), 2 when
    the daemon (or another poll-once) is using the database, 130 when interrupted (Ctrl-C: polls in flight are
    dropped and recorded as nothing; press it twice to quit at once).

    \b
    Example:
      news-monitor poll-once --feed google-news
    """
    from monitor.dblock import hold
    from monitor.oneshot import INTERRUPTED_EXIT, Interrupted, Progress, interruptible, poll_all

    loaded = app.load()
    config = loaded.config
    feeds = config.feeds
    if feed_names:
        unknown = [n for n in feed_names if config.feed(n) is None]
        if unknown:
            raise click.UsageError(f"no feed named {', '.join(unknown)} in {config.path}")
        feeds = tuple(f for f in feeds if f.name in feed_names)
    with hold(config.database, "poll-once"):
        context = loaded.context()
        progress = Progress(sys.stderr)
        delivery = None
        try:
            with interruptible(context):
                try:
                    results = poll_all(context, feeds, workers=config.workers, now=utc_now, on_progress=progress)
                finally:
                    progress.clear()
                for r in results:
                    click.echo(_poll_line(r))
                with app.store(config) as store:
                    check_deadlines(context, store, utc_now())
                    if not no_deliver:
                        delivery = deliver_due(context, store)
        except Interrupted as stopped:
            for r in stopped.results:
                click.echo(_poll_line(r))
            click.echo(f"interrupted: {stopped.total - len(stopped.results)} of {counted(stopped.total, 'feed')} "
                       "not polled (polls in flight were dropped; nothing was recorded for them)", err=True)
            sys.exit(INTERRUPTED_EXIT)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(INTERRUPTED_EXIT)
        finally:
            context.close()
    if delivery:
        click.echo(_delivery_line(delivery))
    if any(r.status == "error" for r in results) or (delivery and delivery.failed):
        sys.exit(1)


def _poll_line(r) -> str:
    """``wire: ok (2 stories, 1 new, 1 hit, 1 alert (2 deliveries))``: an alert to two channels is one alert."""
    if r.error:
        return f"{r.feed}: {r.status.replace('_', ' ')} ({r.error})"
    alerts = counted(r.alerts, "alert")
    if r.deliveries != r.alerts:
        alerts += f" ({counted(r.deliveries, 'delivery', 'deliveries')})"
    return (f"{r.feed}: {r.status.replace('_', ' ')} ({counted(r.stories, 'story', 'stories')}, {r.new_stories} new, "
            f"{counted(r.hits, 'hit')}, {alerts})")


def _delivery_line(result: DeliveryResult) -> str:
    return (f"delivered {result.sent}, failed {result.failed} (will retry), dead {result.dead}, "
            f"waiting {result.waiting}")


@cli.command()
@click.option("--now", "ignore_backoff", is_flag=True, help="Send every pending alert now, ignoring its backoff.")
@click.pass_obj
def deliver(app: App, ignore_backoff: bool) -> None:
    """Send the alerts that are due, once, and exit (exit 1 if any could not be delivered).

    \b
    Example:
      news-monitor deliver --now
    """
    loaded = app.load()
    config, context = loaded.config, loaded.context()
    try:
        with app.store(config) as store:
            result = deliver_due(context, store, ignore_backoff=ignore_backoff)
    finally:
        context.close()
    click.echo(_delivery_line(result))
    if result.failed or result.dead:
        sys.exit(1)


@cli.command("test-alert")
@click.argument("channel")
@click.pass_obj
def test_alert(app: App, channel: str) -> None:
    """Send a sample alert to CHANNEL now and report what the destination answered (exit 1 on failure).

    The sample does not go through the outbox and is not retried.

    \b
    Example:
      news-monitor test-alert team-webhook
    """
    loaded = app.load()
    config = loaded.config
    if config.channel(channel) is None:
        raise click.UsageError(f"no channel named {channel!r} in {config.path}")
    claim = config.claims[0] if config.claims else None
    sample = alerts.sample(claim.id if claim else "test", claim.text if claim else "A test claim", utc_now())
    context = loaded.context()
    try:
        context.notifiers[channel].send(sample.id, sample.payload)
    except DeliveryError as exc:
        click.echo(f"{channel}: FAILED: {exc}", err=True)
        sys.exit(1)
    finally:
        context.close()
    click.echo(f"{channel}: delivered (alert {sample.id})")
