"""The ``news-monitor`` command line. It parses arguments, calls the library and prints; no logic of its own.

Exit codes: 0 ok, 1 runtime error, 2 usage or config error. Expected errors (``MonitorError``) print one line
(a config error one line per problem) and no traceback.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import click

from monitor import __version__, alerts, views

from monitor.store import outbox
from monitor.config import Config, describe, load_config
from monitor.errors import DeliveryError, MonitorError
from monitor.logs import FORMATS, configure
from monitor.delivery import DeliveryResult, deliver_due
from monitor.pipeline import Context, check_deadlines, poll_feed, utc_now
from monitor.store import Store, to_db_time

DEFAULT_CONFIG = "config/monitor.toml"


class Duration(click.ParamType):
    """A span such as ``90m``, ``24h``, ``30d`` or ``2w``."""

    name = "duration"
    _units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

    def convert(self, value, param, ctx):
        if isinstance(value, timedelta):
            return value
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(value))
        if not found:
            self.fail(f"{value!r} is not a duration like 90m, 24h, 30d or 2w", param, ctx)
        return timedelta(seconds=float(found.group(1)) * self._units[found.group(2)])


class App:
    """What every command needs: where the config and the database are."""

    def __init__(self, config_path: str, db_path: str | None) -> None:
        self.config_path = config_path
        self.db_path = db_path

    def config(self) -> Config:
        config = load_config(self.config_path)
        return replace(config, database=Path(self.db_path)) if self.db_path else config

    def store(self, config: Config) -> Store:
        return Store(config.database)

    def reading(self) -> views.ReadSource:
        """For a command that only reads: the database (which must exist) and the config as far as it can be
        read, its problem printed as one warning line."""
        source = views.ReadSource.load(self.config_path, self.db_path)
        warning = source.warning()
        if warning:
            click.echo(f"news-monitor: {warning}", err=True)
        return source


def _when(stamp: str | None) -> str:
    """A stored UTC timestamp, shortened for people: ``2026-11-27 04:16:37Z``."""
    return f"{stamp[:19].replace('T', ' ')}Z" if stamp else "-"


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _echo_json(document: object) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="MONITOR_CONFIG", default=DEFAULT_CONFIG, show_default=True,
              help="Config file (env MONITOR_CONFIG).")
@click.option("--db", "db_path", envvar="MONITOR_DB", help="Database file; overrides [monitor] database (env MONITOR_DB).")
@click.option("-v", "--verbose", count=True, help="More logging: -v info, -vv debug.")
@click.option("--log-format", type=click.Choice(FORMATS), envvar="MONITOR_LOG_FORMAT",
              help="text (message key=value) or json (one object per line); default: [monitor] log_format.")
@click.version_option(__version__, prog_name="news-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: str, db_path: str | None, verbose: int, log_format: str | None) -> None:
    """Track claims about pending events across news feeds and alert when the news moves them.

    \b
    Example:
      news-monitor --config config/monitor.toml run
    """
    configure(verbose, log_format or "text")
    ctx.obj = App(config_path, db_path)


@cli.command()
@click.pass_obj
def run(app: App) -> None:
    """Run the daemon: poll every feed on its interval and deliver alerts, until SIGTERM or Ctrl-C.

    \b
    Example:
      news-monitor --config config/monitor.toml run
    """
    from monitor.daemon.scheduler import Daemon  # imported here: only the daemon needs APScheduler

    config = app.config()
    root = click.get_current_context().find_root().params
    configure(max(1, root.get("verbose", 0)), root.get("log_format") or config.log_format)
    Daemon(config, load=app.config).run()


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
    ok, reason = check_health(healthz_url(config.listen) if config.listen else None, Path(config.database))
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

    config = app.config()
    feeds = config.feeds
    if feed_names:
        unknown = [n for n in feed_names if config.feed(n) is None]
        if unknown:
            raise click.UsageError(f"no feed named {', '.join(unknown)} in {config.path}")
        feeds = tuple(f for f in feeds if f.name in feed_names)
    with hold(config.database, "poll-once"):
        context = Context.build(config)
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
            click.echo(f"interrupted: {stopped.total - len(stopped.results)} of {_count(stopped.total, 'feed')} "
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
    alerts = _count(r.alerts, "alert")
    if r.deliveries != r.alerts:
        alerts += f" ({_count(r.deliveries, 'delivery', 'deliveries')})"
    return (f"{r.feed}: {r.status.replace('_', ' ')} ({_count(r.stories, 'story', 'stories')}, {r.new_stories} new, "
            f"{_count(r.hits, 'hit')}, {alerts})")


@cli.command("check-config")
@click.option("--show", is_flag=True, help="Print the effective config (defaults filled in, secrets redacted).")
@click.pass_obj
def check_config(app: App, show: bool) -> None:
    """Validate the config file; print every problem with its key path (exit 2), or warnings and a summary.

    \b
    Example:
      news-monitor --config config/monitor.toml check-config --show
    """
    config = app.config()
    for warning in config.warnings:
        click.echo(f"warning: {warning}", err=True)
    if show:
        _echo_json(describe(config, redact=True))
    click.echo(f"{config.path}: OK ({_count(len(config.feeds), 'feed')}, {_count(len(config.claims), 'claim')}, "
               f"{_count(len(config.channels), 'channel')})", err=show)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def status(app: App, as_json: bool) -> None:
    """Show each feed's last success, last error and error streak, and the outbox counts.

    \b
    Example:
      news-monitor status --json
    """
    source = app.reading()
    with source.open() as store:
        feeds = views.feed_rows(source, store)
        counts = outbox.counts(store)
        channels = views.channel_rows(source, outbox.channel_states(store))
    if as_json:
        _echo_json({"feeds": feeds, "channels": channels, "outbox": counts})
        return
    for f in feeds:
        health = {"new": "never polled", "ok": "ok", "disabled": f"DISABLED: {f['disabled_reason']}",
                  "failing": f"failing x{f['error_count']}: {f['last_error']}"}[f["state"]]
        click.echo(f"{f['name']}: {health}; last ok {_when(f['last_ok_at'])}")
    now = to_db_time(utc_now())
    for c in channels:
        if c["disabled_reason"]:
            click.echo(f"channel {c['name']}: DISABLED since {_when(c['disabled_at'])}: {c['disabled_reason']} "
                       "(its alerts are kept; change its URL in the config to enable it)")
        elif c["paused_until"] and c["paused_until"] > now:
            click.echo(f"channel {c['name']}: paused until {_when(c['paused_until'])}: {c['pause_reason']}")
    click.echo("outbox: " + ", ".join(f"{n} {s}" for s, n in counts.items()))


@cli.command("import-opml")
@click.argument("file", type=click.File("rb"))
@click.option("--write", is_flag=True, help="Append the new [[feeds]] entries to the config file.")
@click.pass_obj
def import_opml(app: App, file, write: bool) -> None:
    """Turn an OPML subscription list into [[feeds]] entries, skipping feeds already configured.

    Prints the entries, or with --write appends them to the config file (then check it with check-config).

    \b
    Example:
      news-monitor import-opml subscriptions.opml --write
    """
    from monitor.feeds.opml import feeds_toml, read_opml

    config = app.config()
    entries = feeds_toml(read_opml(file.read()), [f.name for f in config.feeds], [f.url for f in config.feeds])
    if not entries:
        click.echo("nothing new: every feed in the list is already configured", err=True)
        return
    if write:
        with open(config.path, "a", encoding="utf-8") as out:
            out.write("\n# Imported from an OPML list\n" + entries)
        click.echo(f"appended {entries.count('[[feeds]]')} feeds to {config.path}")
    else:
        click.echo(entries, nl=False)


@cli.command("export-opml")
@click.pass_obj
def export_opml(app: App) -> None:
    """Print the configured feeds as an OPML 2.0 subscription list, for feed readers and other tools.

    \b
    Example:
      news-monitor export-opml > feeds.opml
    """
    from monitor.feeds.opml import write_opml

    config = app.config()
    click.echo(write_opml(((f.name, f.url) for f in config.feeds), "news-monitor feeds").decode("utf-8"), nl=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def feeds(app: App, as_json: bool) -> None:
    """Each feed's health: state, last success, last error, error streak, next poll, where it is polled.

    \b
    Example:
      news-monitor feeds --json
    """
    source = app.reading()
    with source.open() as store:
        rows = views.feed_rows(source, store)
    if as_json:
        _echo_json({"feeds": rows})
        return
    for r in rows:
        line = f"{r['name']}: {r['state'].upper()}; last ok {_when(r['last_ok_at'])}; next poll {_when(r['next_poll_at'])}"
        if r["error_count"]:
            line += f"; {r['error_count']} errors since {_when(r['failing_since'])}: {r['last_error']}"
        if r["polled_url"] != r["url"]:
            line += f"; moved to {r['polled_url']}"
        click.echo(line)


@cli.command()
@click.option("--since", type=Duration(), default="24h", show_default=True, help="How far back: 90m, 24h, 30d, 2w.")
@click.option("--claim", "claim_id", metavar="ID", help="Only hits for this claim.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def hits(app: App, since: timedelta, claim_id: str | None, as_json: bool) -> None:
    """List stories that matched a claim, newest first.

    \b
    Example:
      news-monitor hits --since 7d --claim iraq-us-coalition-signing
    """
    source = app.reading()
    with source.open() as store:
        if claim_id is not None:
            views.check_claim_known(source, store, claim_id)
        rows = views.hit_rows(store.hits(since=utc_now() - since, claim_id=claim_id))
    if as_json:
        _echo_json({"hits": rows})
        return
    if not rows:
        click.echo("no hits")
    for row in rows:
        click.echo(f"{_when(row['created_at'])}  {row['claim_id']}  score {row['score']:.0f}  {row['verdict']:<9}  [{row['feed']}] "
                   f"{row['title']}\n    {row['link'] or ''}")


@cli.command("claims")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def claims_command(app: App, as_json: bool) -> None:
    """Show each claim's state, since when, its evidence counts by verdict and its last hit.

    \b
    Example:
      news-monitor claims --json
    """
    source = app.reading()
    with source.open() as store:
        rows = views.claim_rows(source, store)
    if as_json:
        _echo_json({"claims": rows})
        return
    for row in rows:
        counts = ", ".join(f"{n} {v}" for v, n in sorted(row["hits"].items())) or "no hits"
        since = f" since {_when(row['since_at'])}" if row["since_at"] else ""
        click.echo(f"{row['id']}: {row['state'].upper()}{since}; {counts}; last hit {_when(row['last_hit_at'])}")
        for change in row["history"]:
            click.echo(f"    {_when(change['at'])}  {change['previous_state']} → {change['state']}")


@cli.command()
@click.argument("story")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def explain(app: App, story: str, as_json: bool) -> None:
    """Why a story matched or missed: its hits (score, matched terms, verdict and cue sentence, story group),
    and for every other configured claim its score, the claim's min_score and the check that turned it down.

    STORY is a story id (from `hits --json`) or the story's link.

    \b
    Example:
      news-monitor explain https://www.example.com/news/iraq-us-sign-agreement
    """
    source = app.reading()
    with source.open() as store:
        stories = views.explain(source, store, story)
    if as_json:
        _echo_json({"stories": stories})
        return
    for row in stories:
        click.echo(f"{row['title']}\n  id {row['id']}, outlet {row['feed']}, seen {_when(row['seen_at'])}")
        if row["link"]:
            click.echo(f"  {row['link']}")
        checks = {c["claim_id"]: c for c in row["checks"]}
        for hit in row["hits"]:
            click.echo(f"  claim {hit['claim_id']}: score {hit['score']:.0f}, matched {', '.join(hit['matched_terms'])}")
            cue = f" (cue: {hit['cue']})" if hit["cue"] else ""
            click.echo(f"    verdict {hit['verdict']}{cue}" + (f": \"{hit['sentence']}\"" if hit["sentence"] else ""))
            if not hit["fresh"]:
                click.echo("    too old to alert (published longer than max_age_hours before it was seen): "
                           "kept, but it neither alerted nor moved the claim")
            others = [m for m in hit["group"] if m["story_id"] != row["id"]]
            if others:
                click.echo("    same story also reported by: " + ", ".join(m["outlet"] for m in others))
            now = checks.get(hit["claim_id"])
            if now and now.get("failed"):
                click.echo(f"    as the claim is configured now it would not match: {now['reason']}")
        for check in row["checks"]:
            if check["hit"]:
                continue
            if "problem" in check:
                click.echo(f"  claim {check['claim_id']}: not checked, its config entry is broken: {check['problem']}")
            else:
                scores = "" if check["failed"] in (None, "min_score") else (  # else the reason gives them
                    f"score {check['score']:.1f}, min_score {check['min_score']:g}; ")
                click.echo(f"  claim {check['claim_id']}: no hit; {scores}{check['reason']}")
        if not row["hits"] and not row["checks"]:
            click.echo("  no claim matched this story")


@cli.command("eval")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--claim", "claim_id", metavar="ID",
              help="Score every row with this configured claim (aliases, gates, outcomes, min_score) instead of "
                   "the file's claim column.")
@click.option("--threshold", type=click.FloatRange(0, 100),
              help="Relevance threshold (default: the claim's min_score, else the shipped one).")
@click.option("--errors", "list_errors", is_flag=True, help="List the rows predicted wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (with the scoring rate).")
@click.pass_obj
def eval_command(app: App, file: str, claim_id: str | None, threshold: float | None, list_errors: bool,
                 as_json: bool) -> None:
    """Measure the matcher (and the verdict rules) on a labelled TSV file.

    FILE has a header with `claim` and `story` columns (`claim` is not needed with --claim), an optional
    `summary`, and `label` (1 relevant, 0 not) and/or `verdict` (confirmed, delayed, rejected, pending); an
    optional `set` column groups rows. Prints ROC-AUC, average precision, precision/recall/F1 at the threshold
    and the best-F1 threshold per set and macro-averaged, and verdict accuracy, macro-F1, per-class
    precision/recall and the confusion matrix.

    \b
    Example:
      news-monitor eval my_examples.tsv --claim iraq-us-coalition-signing --errors
    """
    from monitor.evaluate import evaluate_file, format_report  # only this command needs it

    claim = None
    if claim_id is not None:
        tracked, warning = views.load_claim(app.config_path, claim_id)
        if warning:
            click.echo(f"news-monitor: {warning}", err=True)
        claim = (claim_id, tracked.relevance, tracked.verdict)
    report = evaluate_file(file, threshold=threshold, claim=claim, errors=list_errors)
    if as_json:
        _echo_json(report)
    else:
        click.echo(format_report(report))


@cli.command()
@click.argument("claim_id")
@click.option("--since", type=Duration(), default="30d", show_default=True, help="How far back: 24h, 30d, 2w.")
@click.option("--near-misses", type=click.IntRange(0, 10_000), default=0, metavar="N",
              help="Also list the N highest-scoring stories that did not hit, and why.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
def backtest(app: App, claim_id: str, since: timedelta, near_misses: int, as_json: bool) -> None:
    """Run a claim, as now configured, over the stories already stored: which would have hit, and what verdict.

    Nothing is written and nothing is sent: use it to tune a new or edited claim on history.

    \b
    Example:
      news-monitor backtest iraq-us-coalition-signing --since 14d --near-misses 5
    """
    source = app.reading()
    claim = source.tracked_claim(claim_id)
    with source.open() as store:
        result = views.backtest(claim, store, utc_now() - since, near_misses=near_misses)
    min_score = claim.config.min_score
    if as_json:
        _echo_json({"claim": claim_id, "min_score": min_score, **result})
        return
    for hit in result["hits"]:
        click.echo(f"{hit['score']:5.1f}  {hit['verdict']:<9}  [{hit['outlet']}] {hit['title']}")
    click.echo(f"{len(result['hits'])} of {result['stories']} stories would have hit {claim_id} "
               f"(min_score {min_score:g})")
    if near_misses:
        misses = result["near_misses"]
        click.echo(f"{len(misses)} near miss{'es' if len(misses) != 1 else ''}, highest score first:")
        for miss in misses:
            click.echo(f"{miss['score']:5.1f}  [{miss['outlet']}] {miss['title']}\n         {miss['reason']}")


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
    config = app.config()
    context = Context.build(config)
    try:
        with app.store(config) as store:
            result = deliver_due(context, store, ignore_backoff=ignore_backoff)
    finally:
        context.close()
    click.echo(_delivery_line(result))
    if result.failed or result.dead:
        sys.exit(1)


@cli.group("outbox", invoke_without_command=True)
@click.option("--status", type=click.Choice(["pending", "dead", "sent"]), help="Only rows with this status.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def outbox_command(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """List queued alerts (newest first), or put failed ones back in line with `outbox retry`.

    \b
    Example:
      news-monitor outbox --status dead
      news-monitor outbox retry --all-dead
    """
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    with app.reading().open() as store:
        found = views.outbox_rows(outbox.rows(store, status=status, limit=limit))
        channels = views.stored_channels(outbox.channel_states(store))
    if as_json:
        _echo_json({"outbox": found, "channels": list(channels.values())})
        return
    for r in found:
        detail = f"; {r['attempts']} attempts, last error: {r['last_error']}" if r["last_error"] else ""
        retry = f", next {_when(r['next_attempt_at'])}" if r["status"] == "pending" else ""
        click.echo(f"{r['id']}  {r['status']:<7} {r['kind']} {r['claim_id'] or ''} → {r['state'] or ''}"
                   f"  [{r['title'] or ''}]{retry}{detail}")
    for name, state in channels.items():
        if state["disabled_reason"]:
            click.echo(f"channel {name} DISABLED since {_when(state['disabled_at'])}: {state['disabled_reason']}")
    if not found:
        click.echo("outbox is empty" if status is None else f"no {status} alerts")


@outbox_command.command("retry")
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all-dead", is_flag=True, help="Requeue every dead alert.")
@click.pass_obj
def outbox_retry(app: App, ids: tuple[str, ...], all_dead: bool) -> None:
    """Put alerts (outbox row id or alert id) back in line, due now, with a fresh retry budget.

    \b
    Example:
      news-monitor outbox retry 50b5dd99d2f858585f608d9edaa5c185
    """
    if not ids and not all_dead:
        raise click.UsageError("name the alerts to retry, or pass --all-dead")
    with app.reading().open() as store:
        changed = outbox.requeue(store, utc_now(), row_ids=ids, all_dead=all_dead)
    click.echo(f"requeued {changed} alert{'s' if changed != 1 else ''}; they go out with the next delivery")


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
    config = app.config()
    if config.channel(channel) is None:
        raise click.UsageError(f"no channel named {channel!r} in {config.path}")
    claim = config.claims[0] if config.claims else None
    sample = alerts.sample(claim.id if claim else "test", claim.text if claim else "A test claim", utc_now())
    context = Context.build(config)
    try:
        context.notifiers[channel].send(sample.id, sample.payload)
    except DeliveryError as exc:
        click.echo(f"{channel}: FAILED: {exc}", err=True)
        sys.exit(1)
    finally:
        context.close()
    click.echo(f"{channel}: delivered (alert {sample.id})")


def main() -> None:
    """Entry point: run the CLI, turning expected errors into one-line messages and exit codes."""
    try:
        code = cli.main(prog_name="news-monitor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MonitorError as exc:
        for line in str(exc).splitlines():
            click.echo(f"news-monitor: {line}" if not line.startswith("  ") else line, err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
