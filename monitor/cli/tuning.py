"""The commands that check and tune a config: ``check-config``, ``eval``, ``backtest``, ``import-opml``,
``export-opml``."""

from __future__ import annotations

from datetime import timedelta

import click

from monitor import views
from monitor.cli import App, Duration, cli, counted, echo_json, json_option
from monitor.config import describe
from monitor.errors import ConfigError
from monitor.runtime import utc_now


@cli.command("check-config")
@click.option("--show", is_flag=True, help="Print the effective config (defaults filled in, secrets redacted).")
@click.pass_obj
def check_config(app: App, show: bool) -> None:
    """Validate the config file; print every problem with its key path (exit 2), or warnings and a summary.

    \b
    Example:
      news-monitor --config config/monitor.toml check-config --show
    """
    loaded = app.load()
    config = loaded.config
    if loaded.semantic is not None:  # found at load; here also loaded, as the reading workers will
        from monitor.semantic.stage import check
        try:
            check(loaded.semantic)
        except ConfigError as exc:
            raise ConfigError(exc.problems, path=str(config.path)) from exc
    for warning in config.warnings:
        click.echo(f"warning: {warning}", err=True)
    if show:
        echo_json(describe(config, redact=True))
    click.echo(f"{config.path}: OK ({counted(len(config.feeds), 'feed')}, {counted(len(config.claims), 'claim')}, "
               f"{counted(len(config.channels), 'channel')})", err=show)


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
    semantic = views.configured_semantic(app.config_path)
    report = evaluate_file(file, threshold=threshold, claim=claim, errors=list_errors, semantic=semantic)
    if as_json:
        echo_json(report)
    else:
        click.echo(format_report(report))


@cli.command()
@click.argument("claim_id")
@click.option("--since", type=Duration(), default="30d", show_default=True, help="How far back: 24h, 30d, 2w.")
@click.option("--near-misses", type=click.IntRange(0, 10_000), default=0, metavar="N",
              help="Also list the N highest-scoring stories that did not hit, and why.")
@json_option
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
        semantic = source.semantic()
        result = views.backtest(claim, store, utc_now() - since, near_misses=near_misses, semantic=semantic)
    min_score = semantic.min_score if semantic is not None else claim.config.min_score
    if as_json:
        echo_json({"claim": claim_id, "min_score": min_score, **result})
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
