"""The commands that read the database: ``status``, ``feeds``, ``hits``, ``claims``, ``explain``, ``outbox``."""

from __future__ import annotations

from datetime import timedelta

import click

from monitor import views
from monitor.cli import App, Duration, cli, echo_json, json_option, short_time
from monitor.models import Verdict
from monitor.runtime import utc_now
from monitor.store import outbox, to_db_time


@cli.command()
@json_option
@click.pass_obj
def status(app: App, as_json: bool) -> None:
    """Show each feed's health (as `feeds` does), the channels disabled or paused, and the outbox counts.

    \b
    Example:
      news-monitor status --json
    """
    source = app.reading()
    with source.open() as store:
        feeds = views.feed_rows(source, store)
        counts = outbox.counts(store)
        channels = views.channel_rows(source, outbox.channel_states(store), outbox.held_behind_dead(store))
    if as_json:
        echo_json({"feeds": feeds, "channels": channels, "outbox": counts})
        return
    for row in feeds:
        click.echo(feed_line(row))
    now = to_db_time(utc_now())
    for c in channels:
        if c["disabled_reason"]:
            click.echo(f"channel {c['name']}: DISABLED since {short_time(c['disabled_at'])}: {c['disabled_reason']} "
                       "(its alerts are kept; change its URL in the config to enable it)")
        elif c["paused_until"] and c["paused_until"] > now:
            click.echo(f"channel {c['name']}: paused until {short_time(c['paused_until'])}: {c['pause_reason']}")
        if c["held_back"]:
            click.echo(f"channel {c['name']}: {c['held_back']} alert{'s' if c['held_back'] != 1 else ''} held behind "
                       "a dead alert of their claim (`news-monitor outbox retry --all-dead` sends them in order)")
    click.echo("outbox: " + ", ".join(f"{n} {s}" for s, n in counts.items()))


@cli.command()
@json_option
@click.pass_obj
def feeds(app: App, as_json: bool) -> None:
    """Each feed's health: state, last success, last error, error streak, next poll, where it is polled.

    \b
    Example:
      news-monitor feeds --json
    """
    rows = app.read(views.feed_rows)
    if as_json:
        echo_json({"feeds": rows})
        return
    for row in rows:
        click.echo(feed_line(row))


def feed_line(row: dict) -> str:
    """One feed's health, as ``feeds`` and ``status`` both print it: ``wire: FAILING; last ok …; next poll …;
    3 errors since …: HTTP 404 Not Found``, with the reason a feed was disabled and where a moved one is polled."""
    state = row["state"].upper()
    if row["state"] == "disabled" and row["disabled_reason"]:
        state += f" ({row['disabled_reason']})"
    line = f"{row['name']}{' (search for claim ' + row['claim'] + ')' if row.get('claim') else ''}: {state}; last ok {short_time(row['last_ok_at'])}; next poll {short_time(row['next_poll_at'])}"
    if row["error_count"]:
        line += f"; {row['error_count']} errors since {short_time(row['failing_since'])}: {row['last_error']}"
    if row["polled_url"] != row["url"]:
        line += f"; moved to {row['polled_url']}"
    return line


@cli.command()
@click.option("--since", type=Duration(), default="24h", show_default=True, help="How far back: 90m, 24h, 30d, 2w.")
@click.option("--claim", "claim_id", metavar="ID", help="Only hits for this claim.")
@json_option
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
        echo_json({"hits": rows})
        return
    if not rows:
        click.echo("no hits")
    for row in rows:
        click.echo(f"{short_time(row['created_at'])}  {row['claim_id']}  score {row['score']:.0f}  {row['verdict']:<9}  [{outlet_via(row)}] "
                   f"{row['title']}\n    {row['link'] or ''}")


def outlet_via(row: dict) -> str:
    """``reuters.com via google-news-iraq``: the publisher, and the feed it came through when that is another."""
    outlet, feed = row.get("outlet") or row["feed"], row["feed"]
    return outlet if outlet == feed else f"{outlet} via {feed}"


@cli.group("claims", invoke_without_command=True)
@json_option
@click.pass_context
def claims_command(ctx: click.Context, as_json: bool) -> None:
    """Show each claim's state, since when, its evidence counts by verdict and its last hit; or act on a claim
    with `claims mute`, `claims unmute` and `claims reset`.

    \b
    Example:
      news-monitor claims --json
      news-monitor claims mute iraq-us-coalition-signing --for 1d
    """
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    rows = app.read(views.claim_rows)
    if as_json:
        echo_json({"claims": rows})
        return
    now = to_db_time(utc_now())
    for row in rows:
        counts = ", ".join(f"{n} {v}" for v, n in sorted(row["hits"].items())) or "no hits"
        since = f" since {short_time(row['since_at'])}" if row["since_at"] else ""
        muted = f"; MUTED until {short_time(row['muted_until'])}" if (row["muted_until"] or "") > now else ""
        click.echo(f"{row['id']}: {row['state'].upper()}{since}; {counts}; last hit {short_time(row['last_hit_at'])}"
                   f"{muted}")
        for change in row["history"]:
            by_hand = f" ({change['kind']}: {change['note']})" if change["kind"] != "change" and change["note"] else (
                f" ({change['kind']})" if change["kind"] != "change" else "")
            click.echo(f"    {short_time(change['at'])}  {change['previous_state']} → {change['state']}{by_hand}")


def _known_claim(app: App, claim_id: str):
    source = app.reading()
    store = source.open()
    try:
        views.check_claim_known(source, store, claim_id)
    except BaseException:
        store.close()
        raise
    return store


@claims_command.command("mute")
@click.argument("claim_id", metavar="ID")
@click.option("--for", "duration", type=Duration(), required=True, help="How long: 90m, 24h, 1d, 2w.")
@click.pass_obj
def claims_mute(app: App, claim_id: str, duration: timedelta) -> None:
    """Send no alerts for a claim for a while. Its state is still tracked and recorded; alerts it would have
    sent meanwhile are dropped, not sent when the mute ends. Recorded in the claim's history.

    \b
    Example:
      news-monitor claims mute iraq-us-coalition-signing --for 1d
    """
    now = utc_now()
    with _known_claim(app, claim_id) as store:
        record = store.mute_claim(claim_id, now + duration, now)
    click.echo(f"{claim_id}: muted until {short_time(to_db_time(record.muted_until))}")


@claims_command.command("unmute")
@click.argument("claim_id", metavar="ID")
@click.pass_obj
def claims_unmute(app: App, claim_id: str) -> None:
    """End a claim's mute now. Recorded in the claim's history.

    \b
    Example:
      news-monitor claims unmute iraq-us-coalition-signing
    """
    with _known_claim(app, claim_id) as store:
        ended = store.unmute_claim(claim_id, utc_now())
    click.echo(f"{claim_id}: {'unmuted' if ended else 'was not muted'}")


@claims_command.command("reset")
@click.argument("claim_id", metavar="ID")
@click.option("--to", "state", type=click.Choice([str(v) for v in Verdict]), default="pending", show_default=True,
              help="The state to put the claim in.")
@click.option("--why", required=True, help="Why, in your words: kept in the claim's history.")
@click.pass_obj
def claims_reset(app: App, claim_id: str, state: str, why: str) -> None:
    """Put a claim back in a state by hand, e.g. to undo a false CONFIRMED. Evidence stored before now no longer
    counts; news seen from now on moves the claim again. Recorded, with the reason, in the claim's history.

    \b
    Example:
      news-monitor claims reset iraq-us-coalition-signing --to pending --why "the signing was a draft"
    """
    if not why.strip():
        raise click.UsageError("--why must say why")
    with _known_claim(app, claim_id) as store:
        left = store.reset_claim(claim_id, Verdict(state), utc_now(), why.strip())
    click.echo(f"{claim_id}: {left} → {state} (reset by hand: {why.strip()})")


@cli.command()
@click.argument("story")
@json_option
@click.pass_obj
def explain(app: App, story: str, as_json: bool) -> None:
    """Why a story matched or missed: its hits (score, matched terms, verdict and cue sentence, story group),
    and for every other configured claim its score, the claim's min_score and the check that turned it down.

    STORY is a story id (from `hits --json`) or the story's link.

    \b
    Example:
      news-monitor explain https://www.example.com/news/iraq-us-sign-agreement
    """
    stories = app.read(lambda source, store: views.explain(source, store, story))
    if as_json:
        echo_json({"stories": stories})
        return
    for row in stories:
        click.echo(f"{row['title']}\n  id {row['id']}, outlet {outlet_via(row)}, seen {short_time(row['seen_at'])}")
        if row["link"]:
            click.echo(f"  {row['link']}")
        if row.get("article_text"):
            click.echo(f"  article page read: {len(row['article_text'])} characters of text")
        elif row.get("article_error"):
            click.echo(f"  article page not read: {row['article_error']}")
        checks = {c["claim_id"]: c for c in row["checks"]}
        for hit in row["hits"]:
            now = checks.get(hit["claim_id"])
            cosine = f", cosine {now['cosine']:.2f}" if now and "cosine" in now else ""
            click.echo(f"  claim {hit['claim_id']}: score {hit['score']:.0f}, matched "
                       f"{', '.join(hit['matched_terms'])}{cosine}")
            cue = f" (cue: {hit['cue']})" if hit["cue"] else ""
            source = " (from the article page)" if hit.get("sentence_source") == "article" else ""
            click.echo(f"    verdict {hit['verdict']}{cue}"
                       + (f": \"{hit['sentence']}\"{source}" if hit["sentence"] else ""))
            if not hit["fresh"]:
                click.echo("    too old to alert (published longer than max_age_hours before it was seen): "
                           "kept, but it neither alerted nor moved the claim")
            others = [m for m in hit["group"] if m["story_id"] != row["id"]]
            if others:
                click.echo("    same story also reported by: " + ", ".join(m["outlet"] for m in others))
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
                terms = ", ".join(check["matched_terms"]) or "none"
                cosine = f" (cosine {check['cosine']:.2f}, matched {terms})" if "cosine" in check else ""
                click.echo(f"  claim {check['claim_id']}: no hit; {scores}{check['reason']}{cosine}")
        if not row["hits"] and not row["checks"]:
            click.echo("  no claim matched this story")


@cli.group("outbox", invoke_without_command=True)
@click.option("--status", type=click.Choice(["pending", "dead", "sent"]), help="Only rows with this status.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True)
@json_option
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
        found = views.outbox_rows(outbox.rows(store, status=status, limit=limit), outbox.held_behind_dead(store))
        channels = views.stored_channels(outbox.channel_states(store))
    if as_json:
        echo_json({"outbox": found, "channels": list(channels.values())})
        return
    for r in found:
        detail = f"; {r['attempts']} attempts, last error: {r['last_error']}" if r["last_error"] else ""
        retry = f", next {short_time(r['next_attempt_at'])}" if r["status"] == "pending" else ""
        if r["held_by"]:
            retry = f", held behind dead alert {r['held_by']}"
        elif r["lease_until"] and r["lease_until"] > to_db_time(utc_now()):
            retry = f", being sent (by {r['lease_owner'].rpartition(':')[0]})"
        click.echo(f"{r['id']}  {r['status']:<7} {r['kind']} {r['claim_id'] or ''} → {r['state'] or ''}"
                   f"  [{r['title'] or ''}]{retry}{detail}")
    for name, state in channels.items():
        if state["disabled_reason"]:
            click.echo(f"channel {name} DISABLED since {short_time(state['disabled_at'])}: {state['disabled_reason']}")
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
