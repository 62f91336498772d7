"""What the read commands show (status, feeds, hits, claims, outbox, explain, backtest), built from the database
and as much of the config as can be read.

These commands only read: they must work while the config file holds an edit the daemon refused or names an
environment variable that is unset here, so they load it leniently (``runtime.load_leniently``) and
report its problem once as a warning. They open an existing database only: a mistyped ``--db`` is an error,
never a new empty file. ``backtest`` and ``explain`` need the claims' definitions: a claim whose own entry is
broken is refused (``backtest``) or reported as not checked (``explain``), never run with a default in place
of the value written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from pathlib import Path

from monitor.reading import relevance as match
from monitor.reading.fulltext import with_lead
from monitor.config import ClaimConfig, Config
from monitor.config.database import Database, database_option
from monitor.errors import ConfigError, NotFoundError
from monitor.net.urls import redact_url, search_url_shown
from monitor.pipeline import run_backtest
from monitor.runtime import TrackedClaim, load_leniently, prepare_semantic
from monitor.semantic.judging import assess as semantic_assess
from monitor.semantic.judging import cosine as semantic_cosine
from monitor.semantic.stage import SemanticRules
from monitor.store import ClaimSummary, HitRecord, Store, to_db_time
from monitor.store.outbox import ChannelState, OutboxRow

_CLAIM_KEY = re.compile(r"claims\[(\d+)\][.:]")


@dataclass(frozen=True, slots=True)
class ReadSource:
    """Where a read command reads: the database, and the config as far as it could be read (None: not at all).
    ``problem`` is what is wrong with the config file, if anything."""

    database: Database
    config: Config | None
    problem: ConfigError | None = None

    @classmethod
    def load(cls, config_path: str | Path, db_path: str | Path | None, *,
             environ: Mapping[str, str] | None = None) -> ReadSource:
        """The database is ``db_path`` when given, else the config's ``[monitor] database``; raises the config's
        ConfigError when that cannot be known (the file unreadable or not TOML, or its database key invalid)."""
        config, problem = load_leniently(config_path, environ=environ)
        if db_path:
            return cls(database_option(str(db_path)), config, problem)
        if config is None or (problem and any(p.startswith("monitor.database") for p in problem.problems)):
            assert problem is not None
            raise ConfigError([*problem.problems[:-1], f"{problem.problems[-1]} (pass --db to read a database "
                                                       "regardless)"], path=problem.path)
        return cls(config.database, config, problem)

    def warning(self) -> str | None:
        """One line naming the config's problem (see ``config_warning``), or None."""
        return config_warning(self.problem)

    def open(self) -> Store:
        """The database, which must exist (``NoDatabaseError`` otherwise)."""
        return Store(self.database, create=False)

    def claim_problems(self, position: int) -> list[str]:
        """See ``claim_problems``."""
        return claim_problems(self.problem, position)

    def tracked_claim(self, claim_id: str) -> TrackedClaim:
        """See ``configured_claim``."""
        return configured_claim(self.config, self.problem, claim_id)

    def semantic(self) -> SemanticRules | None:
        """The config's ``[semantic]`` stage, or None (no table, or one that cannot be used: a problem the
        config's warning names)."""
        return prepare_semantic(self.config)[0] if self.config is not None else None


def config_warning(problem: ConfigError | None) -> str | None:
    """One line naming the config's problem (the first, and how many more), or None. Problems never hold a
    secret: they name keys and environment variables, not their values."""
    if problem is None:
        return None
    more = f" (and {len(problem.problems) - 1} more)" if len(problem.problems) > 1 else ""
    return f"warning: {problem.path}: {problem.problems[0]}{more}; carrying on (check-config lists every problem)"


def claim_problems(problem: ConfigError | None, position: int) -> list[str]:
    """The config's problems with the claim at ``position``, or with what every claim inherits."""
    if problem is None:
        return []
    return [p for p in problem.problems if p.startswith("defaults.min_score")
            or ((found := _CLAIM_KEY.match(p)) is not None and int(found.group(1)) == position)]


def configured_claim(config: Config | None, problem: ConfigError | None, claim_id: str) -> TrackedClaim:
    """The configured claim, prepared. NotFoundError when no claim has this id; ConfigError when its entry is
    broken (it is never run with a default in place of a value written wrong) or the claims cannot be read."""
    if config is None:
        assert problem is not None
        raise ConfigError([*problem.problems, "the claims cannot be read"], path=problem.path)
    position = next((i for i, c in enumerate(config.claims) if c.id == claim_id), None)
    if position is None:
        raise NotFoundError(f"no claim with id {claim_id!r} in {config.path}")
    broken = claim_problems(problem, position)
    if broken:
        raise ConfigError([*broken, f"claim {claim_id!r} cannot be used until its entry is fixed"],
                          path=str(config.path))
    return TrackedClaim.prepare(config.claims[position])


def load_claim(config_path: str | Path, claim_id: str, *,
               environ: Mapping[str, str] | None = None) -> tuple[TrackedClaim, str | None]:
    """A configured claim, prepared, for a command that needs only it (``eval --claim``), and the warning
    about the rest of the config, if any."""
    config, problem = load_leniently(config_path, environ=environ)
    return configured_claim(config, problem, claim_id), config_warning(problem)


def configured_semantic(config_path: str | Path, *,
                        environ: Mapping[str, str] | None = None) -> SemanticRules | None:
    """The ``[semantic]`` stage of the config at ``config_path`` for ``eval``: None when the file is absent or has
    no such table; ConfigError when it has one that cannot be used (measuring it lexically would mislead)."""
    if not Path(config_path).is_file():
        return None
    config, _ = load_leniently(config_path, environ=environ)
    if config is None or config.semantic is None:
        return None
    semantic, problems, _ = prepare_semantic(config)
    if problems:
        raise ConfigError(problems, path=str(config_path))
    return semantic


def feed_rows(source: ReadSource, store: Store) -> list[dict]:
    """Each configured feed's health from its stored state (a feed whose URL changed in the config is new), or
    each stored feed's when the config could not be read at all. A claim's search feed names its claim
    (``claim``; None for a configured feed)."""
    states = {s.name: s for s in store.feed_states()}
    feeds = ([(f.name, f.url, f.claim) for f in source.config.feeds] if source.config is not None
             else [(s.name, s.url, _search_claim(s.name)) for s in states.values()])
    rows = []
    for name, url, claim in feeds:
        s = states.get(name)
        current = s if s is not None and s.url == url else None
        state = ("new" if current is None else "disabled" if current.disabled_reason
                 else "failing" if current.error_count else "ok")
        shown = (search_url_shown(url, (source.config.search.google_news_url, source.config.search.gdelt_url))
                 if claim and source.config is not None else redact_url(url))
        rows.append({"name": name, "claim": claim, "url": shown, "state": state,
                     "polled_url": redact_url(current.fetch_url if current and current.fetch_url else url),
                     "last_ok_at": to_db_time(current.last_ok_at) if current else None,
                     "last_error": current.last_error if current else None,
                     "last_error_at": to_db_time(current.last_error_at) if current else None,
                     "error_count": current.error_count if current else 0,
                     "failing_since": to_db_time(current.failing_since) if current else None,
                     "next_poll_at": to_db_time(current.next_poll_at) if current else None,
                     "disabled_reason": current.disabled_reason if current else None})
    return rows


def _search_claim(feed_name: str) -> str | None:
    """The claim of a stored search feed, from its name (``search:<claim-id>:<engine>``)."""
    if not feed_name.startswith("search:"):
        return None
    claim, _, engine = feed_name[len("search:"):].rpartition(":")
    return claim if claim and engine else None


def stored_text(value: object) -> object:
    """A record's value as the commands print it: a moment as stored (``store.to_db_time``), an enum as its
    text, a tuple as a list; anything else as it is."""
    if isinstance(value, datetime):
        return to_db_time(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def record_fields(record: object, names: Iterable[str] | None = None) -> dict:
    """A store record (a dataclass) as a dict of ``stored_text`` values, in field order (or ``names``' order)."""
    return {name: stored_text(getattr(record, name))
            for name in (names if names is not None else (f.name for f in fields(record)))}


def channel_rows(source: ReadSource, states: Mapping[str, ChannelState],
                 held: Mapping[str, str] | None = None) -> list[dict]:
    """Each configured channel (each stored one when the config could not be read) with its delivery state and
    ``held_back``: its pending alerts waiting behind a dead one (``outbox.held_behind_dead``)."""
    channels = ([(c.name, c.kind) for c in source.config.channels] if source.config is not None
                else [(name, None) for name in states])
    keys = ("disabled_reason", "disabled_at", "paused_until", "pause_reason")
    held_back = Counter(row_id.partition("/")[2] for row_id in (held or {}))  # ids are alert/channel
    return [{"name": name, "kind": kind,
             **(record_fields(states[name], keys) if name in states else dict.fromkeys(keys)),
             "held_back": held_back.get(name, 0)}
            for name, kind in channels]


def stored_channels(states: Mapping[str, ChannelState]) -> dict[str, dict]:
    """Each stored channel's state row, by name, for the ``outbox`` command."""
    return {name: record_fields(state) for name, state in states.items()}


def outbox_rows(rows: Iterable[OutboxRow], held: Mapping[str, str] | None = None) -> list[dict]:
    """The ``outbox`` listing's rows: every stored column but the payload, then the story title and claim state,
    and ``held_by``: the dead alert this pending row waits behind (``outbox.held_behind_dead``), else None."""
    held = held or {}
    return [{**record_fields(row, (f.name for f in fields(row) if f.name != "payload")),
             "title": (row.payload.get("story") or {}).get("title"), "state": row.payload.get("state"),
             "held_by": held.get(row.id)}
            for row in rows]


def claim_rows(source: ReadSource, store: Store) -> list[dict]:
    """Each configured claim's state, evidence counts, last hit and history (each stored claim's, without its
    text, when the config could not be read)."""
    summaries = store.claim_summaries()
    claims = ([(c.id, c.text, c.expect_by) for c in source.config.claims] if source.config is not None
              else [(claim_id, None, None) for claim_id in sorted(store.claim_ids())])
    rows = []
    for claim_id, text, expect_by in claims:
        record = store.claim_state(claim_id)
        summary = summaries.get(claim_id, ClaimSummary())
        rows.append({"id": claim_id, "text": text, "state": str(record.state) if record else "pending",
                     "since_at": to_db_time(record.since_at) if record else None,
                     "hits": {str(verdict): count for verdict, count in summary.hits.items()},
                     "last_hit_at": to_db_time(summary.last_hit_at),
                     "expect_by": expect_by.isoformat() if expect_by else None,
                     "muted_until": to_db_time(record.muted_until) if record else None,
                     "history": [record_fields(h, ("previous_state", "state", "at", "story_id", "kind", "note"))
                                 for h in store.claim_history(claim_id)]})
    return rows


def check_claim_known(source: ReadSource, store: Store, claim_id: str) -> None:
    """Raise NotFoundError unless the claim is configured or the database holds something of it."""
    configured = source.config is not None and source.config.claim(claim_id) is not None
    if not configured and claim_id not in store.claim_ids():
        where = f"in {source.config.path} or " if source.config is not None else ""
        raise NotFoundError(f"unknown claim {claim_id!r}: no claim with that id {where}in the database "
                          f"{source.database}")


def miss_reason(claim: ClaimConfig, assessment: match.Assessment) -> str:
    """Why the matcher turned the story down, in the claim's own words (its gate phrases as configured)."""
    failed = assessment.failed
    if failed == match.REQUIRE_ANY:
        return "require_any: the story has none of " + ", ".join(repr(p) for p in claim.require_any)
    if failed == match.EXCLUDE:
        return f"exclude: the story has {claim.exclude[assessment.phrase or 0]!r}"
    if failed == match.NO_SHARED_TERM:
        return "the story shares no term with the claim"
    if failed == match.BELOW_MIN_SCORE:
        return f"score {assessment.score:.1f} is below min_score {assessment.min_score:g}"
    return ("it would hit now: the claim was added or changed after the story was seen "
            f"(score {assessment.score:.1f}, min_score {assessment.min_score:g})")


def _assessment(claim: ClaimConfig, assessment: match.Assessment, cosine: float | None = None) -> dict:
    out = {"score": assessment.score, "min_score": assessment.min_score,
           "matched_terms": list(assessment.matched_terms), "failed": assessment.failed,
           "reason": miss_reason(claim, assessment)}
    if cosine is not None:  # the semantic stage's: shown beside the lexical terms
        out["cosine"] = round(cosine, 4)
    return out


def explain(source: ReadSource, store: Store, story_ref: str) -> list[dict]:
    """The stored stories with this id or link, each with its stored hits (and their story groups) and, per
    configured claim, what the matcher says of it now: ``checks`` (score, min_score, the check that failed and
    why), or ``problem`` for a claim whose entry is broken. Raises NotFoundError for an unknown story."""
    by_id = store.story(story_ref)
    found = [by_id] if by_id else store.stories_by_link(story_ref)
    if not found:
        raise NotFoundError(f"no stored story with id or link {story_ref!r} in {source.database}")
    prepared: list[tuple[ClaimConfig, TrackedClaim | None, list[str]]] = []
    for position, claim in enumerate(source.config.claims if source.config is not None else ()):
        broken = source.claim_problems(position)
        prepared.append((claim, None if broken else TrackedClaim.prepare(claim), broken))
    semantic = source.semantic()
    stories = []
    for story in found:
        hits = store.hits(story_id=story.id)
        read = with_lead(story.summary or "", story.article_text)  # as the poll read it: with the article's lead
        shown = [{**record_fields(hit), "group": [record_fields(m, ("outlet", "title", "link", "story_id"))
                                                  for m in store.claim_evidence(hit.claim_id, group_id=hit.group_id)]}
                 for hit in hits]
        checks = []
        for claim, tracked, broken in prepared:
            check: dict = {"claim_id": claim.id, "hit": any(h.claim_id == claim.id for h in hits)}
            if tracked is None:
                check["problem"] = "; ".join(broken)
            elif semantic is not None:
                cosine = semantic_cosine(semantic, claim.text, story.title, read)
                check.update(_assessment(claim, semantic_assess(semantic, tracked.relevance, cosine, story.title,
                                                                read), cosine))
            else:
                check.update(_assessment(claim, match.assess(tracked.relevance, story.title, read)))
            checks.append(check)
        stories.append({**record_fields(story), "outlet": story.reported_by, "hits": shown, "checks": checks})
    return stories


def hit_rows(hits: Iterable[HitRecord]) -> list[dict]:
    """The ``hits`` listing's rows: each hit's columns, then its story's."""
    return [record_fields(hit) for hit in hits]


def backtest(claim: TrackedClaim, store: Store, since: datetime, *, near_misses: int = 0,
             semantic: SemanticRules | None = None) -> dict:
    """``pipeline.run_backtest`` over the stories stored since ``since`` (with the ``semantic`` stage when
    given), each near miss with its reason."""
    result = run_backtest(claim, store.stories_since(since), near_misses=near_misses, semantic=semantic)
    for miss in result.get("near_misses", ()):
        assessment = miss.pop("assessment")
        miss.update(_assessment(claim.config, assessment))
    return result
