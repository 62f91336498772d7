"""The documentation matches the program: every command, flag and config key it names exists, everything that
exists is documented, and the links between the pages resolve.

Commands and flags are checked against the real click tree (``monitor.cli.cli``); config keys by feeding the
real config loader a document that uses them (a key it does not know is an "unknown key" problem, and that
problem's hint lists the keys a table accepts).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from monitor.cli import cli
from monitor.config import parse_config
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
CLI_DOC = DOCS / "cli.md"
CONFIG_DOC = DOCS / "configuration.md"
PAGES = [REPO / "README.md", REPO / "bench" / "README.md", *sorted(DOCS.glob("*.md"))]


# --- the click tree ------------------------------------------------------------------------------------------


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], click.Command]:
    """Every command path in the tree (``("outbox", "retry")``), the root as ``()``."""
    found: dict[tuple[str, ...], click.Command] = {prefix: group}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(commands(command, prefix + (name,)))
        else:
            found[prefix + (name,)] = command
    return found


def flags(command: click.Command) -> set[str]:
    """The option spellings a command accepts (``--json``, ``-v``), without the help option."""
    return {spelling for param in command.params if isinstance(param, click.Option)
            for spelling in param.opts + param.secondary_opts} - {"--help", "-h"}


def takes_value(command: click.Command, flag: str) -> bool:
    option = next(p for p in command.params if isinstance(p, click.Option) and flag in p.opts + p.secondary_opts)
    return not (option.is_flag or option.count)


# --- usages written in the docs ------------------------------------------------------------------------------


def usages(text: str) -> list[list[str]]:
    """The argument lists after ``news-monitor`` in code: commands in code blocks (a leading ``$`` dropped, each
    part of an ``&&`` chain, the program maybe given by path) and inline code spans. Usage notation is kept as written (``[--since 24h]``, ``ID… | --all-dead``)."""
    found: list[str] = []
    in_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            for part in re.sub(r"^\s*\$\s+", "", line).split(" && "):
                match = re.match(r"\s*(?:\S+=\S+\s+)*(?:\S*/)?news-monitor(\s.*|)$", part)
                if match:
                    found.append(match.group(1))
        else:
            found += re.findall(r"`news-monitor(\s[^`]*|)`", line)
    out = []
    for args in found:
        if re.match(r"\s*[^\s-]*:", args):
            continue  # output, not a command: "news-monitor: no database at …", "news-monitor eval: FILE"
        args = re.split(r"\s(?:>|\||&&)\s", args)[0]  # a redirection or a pipe ends the command
        out.append(shlex.split(re.sub(r"[\[\]]", " ", args), posix=False))
    return out


def resolve(args: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """The command path an argument list names, and each flag it uses with the command path it follows. A word
    naming a subcommand descends; a root option's value is skipped; other words are arguments."""
    tree = commands()
    path: tuple[str, ...] = ()
    used: list[tuple[tuple[str, ...], str]] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("-"):
            flag = word.split("=")[0]
            used.append((path, flag))
            owner = tree[path]
            if flag in flags(owner) and takes_value(owner, flag) and "=" not in word:
                i += 1
        elif path + (word,) in tree and isinstance(tree[path], click.Group):
            path += (word,)
        elif not path and word != "COMMAND":
            pytest.fail(f"`news-monitor {' '.join(args)}`: no command {word!r} "
                        f"(commands: {', '.join(sorted(cli.commands))})")
        i += 1
    return path, used


def documented_usages() -> list[tuple[Path, list[str]]]:
    return [(page, args) for page in PAGES for args in usages(page.read_text(encoding="utf-8"))]


def test_the_docs_show_usages_of_every_command():
    seen = {resolve(args)[0] for _, args in documented_usages()}
    missing = [" ".join(p) for p in commands() if p and p not in seen and not isinstance(commands()[p], click.Group)]
    assert not missing, f"no `news-monitor …` usage in the docs for: {', '.join(missing)}"


def test_every_documented_command_and_flag_exists():
    tree = commands()
    wrong = []
    for page, args in documented_usages():
        _, used = resolve(args)
        for path, flag in used:
            # A flag may belong to the command it follows or to the root group (given before the command).
            if flag not in flags(tree[path]) and flag not in flags(cli) | {"--help", "-h", "--version"}:
                wrong.append(f"{page.relative_to(REPO)}: `news-monitor {' '.join(args)}`: "
                             f"{' '.join(path) or 'news-monitor'} has no option {flag}")
    assert not wrong, "\n".join(wrong)


def cli_sections() -> dict[str, str]:
    """docs/cli.md's ``## `` sections: heading → text."""
    parts = re.split(r"^## (.+)$", CLI_DOC.read_text(encoding="utf-8"), flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_command_has_a_section_in_cli_md_naming_each_of_its_flags():
    sections = cli_sections()
    problems = []
    for path, command in commands().items():
        if not path:
            title, text = "Global options", sections.get("Global options")
        else:
            title = " ".join(path)
            text = next((body for heading, body in sections.items()
                         if re.search(rf"(^| ){re.escape(title)}( |$)", heading)), None)
        if text is None:
            problems.append(f"no section for `{title}`")
            continue
        for flag in sorted(flags(command)):
            if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text):
                problems.append(f"`{title}`: {flag} is not documented in its section")
    assert not problems, "docs/cli.md:\n" + "\n".join(problems)


def test_the_usage_parser_reads_what_the_docs_write():
    """The checks above are only as good as the parsing: it must see commands and flags where they are."""
    assert resolve(usages("```\n$ news-monitor --config m.toml poll-once --feed wire\n```")[0]) == \
        (("poll-once",), [((), "--config"), (("poll-once",), "--feed")])
    assert resolve(usages("`news-monitor outbox retry --all-dead`")[0]) == \
        (("outbox", "retry"), [(("outbox", "retry"), "--all-dead")])
    assert resolve(usages("```\nnews-monitor export-opml > feeds.opml\n```")[0]) == (("export-opml",), [])
    assert usages("```\npython3 -m venv .venv && .venv/bin/news-monitor --config c.toml run\n"
                  "news-monitor: no database at data/monitr.db\n```") == [["--config", "c.toml", "run"]]
    assert resolve(usages("`news-monitor hits [--since 24h] [--claim ID]`")[0])[1] == \
        [(("hits",), "--since"), (("hits",), "--claim")]


# --- config keys ---------------------------------------------------------------------------------------------

PROBE = "zz_not_a_key"


def document_for(key: str, value: object) -> tuple[dict, str]:
    """A config document that sets ``key`` (``monitor.listen``, ``feeds[].url``, ``claims[].outcomes.delayed``),
    and the key path the loader reports it under (``feeds[0].url``)."""
    parts = key.split(".")
    document: dict = {}
    cursor = document
    where = []
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        name = part[:-2] if part.endswith("[]") else part
        child: object = value if last else {}
        if part.endswith("[]"):
            cursor[name] = [child]
            where.append(f"{name}[0]")
        else:
            cursor[name] = child
            where.append(name)
        cursor = child if isinstance(child, dict) else cursor
    return document, ".".join(where)


def problems_of(document: dict, tmp_path: Path) -> list[str]:
    try:
        parse_config(document, path=tmp_path / "monitor.toml", environ={})
    except ConfigError as exc:
        return exc.problems
    return []


def documented_keys() -> list[str]:
    """The keys in docs/configuration.md's key table: every backticked key path in a row's first cell."""
    keys = []
    for line in CONFIG_DOC.read_text(encoding="utf-8").splitlines():
        cell = re.match(r"\|\s*(`[^|]+)\|", line)
        if cell:
            keys += re.findall(r"`((?:monitor|defaults|semantic|search|feeds\[\]|claims\[\]|channels\[\])\.[a-z0-9_.]+)`", cell.group(1))
    return keys


def accepted_keys(tmp_path: Path) -> dict[str, set[str]]:
    """What the loader accepts, table by table (``monitor``, ``feeds[]``, ``claims[].outcomes``, and ``""`` for
    the top level), read from the hint of the "unknown key" problem a probe key raises in each table."""
    document = {PROBE: 1, "monitor": {PROBE: 1}, "defaults": {PROBE: 1}, "semantic": {PROBE: 1},
                "search": {PROBE: 1}, "feeds": [{PROBE: 1}],
                "claims": [{PROBE: 1, "outcomes": {PROBE: []}}], "channels": [{PROBE: 1}]}
    accepted = {}
    for problem in problems_of(document, tmp_path):
        found = re.fullmatch(rf"(?:(.+)\.)?{PROBE}: unknown key; expected one of (.+)", problem)
        if found:
            table = re.sub(r"\[\d+\]", "[]", found.group(1) or "")
            accepted[table] = set(found.group(2).split(", "))
    return accepted


def test_config_keys_are_listed():
    keys = documented_keys()
    assert len(keys) > 40 and len(keys) == len(set(keys)), keys


@pytest.mark.parametrize("key", documented_keys())
def test_every_documented_config_key_is_accepted(key, tmp_path):
    document, where = document_for(key, "x")
    unknown = [p for p in problems_of(document, tmp_path) if p.startswith(f"{where}: unknown key")]
    assert not unknown, f"docs/configuration.md documents {key}, which the loader refuses: {unknown[0]}"


def test_every_accepted_config_key_is_documented(tmp_path):
    accepted = accepted_keys(tmp_path)
    assert set(accepted) == {"", "monitor", "defaults", "semantic", "search", "feeds[]", "claims[]", "claims[].outcomes",
                             "channels[]"}, \
        f"the probe found these tables only: {sorted(accepted)}"
    documented = set(documented_keys())
    text = CONFIG_DOC.read_text(encoding="utf-8")
    missing = [f"{table}.{key}" for table, keys in accepted.items() if table for key in sorted(keys)
               if f"{table}.{key}" not in documented]
    missing += [f"[{key}]" for key in accepted[""] if f"[{key}]" not in text]  # [monitor], [[feeds]] …
    assert not missing, f"docs/configuration.md does not document: {', '.join(missing)}"


def test_the_key_checks_catch_a_mistake(tmp_path):
    document, where = document_for("monitor.databse", "x")
    assert where == "monitor.databse"
    assert any(p.startswith("monitor.databse: unknown key") for p in problems_of(document, tmp_path))
    document, where = document_for("claims[].outcomes.delayed", ["put off"])
    assert document == {"claims": [{"outcomes": {"delayed": ["put off"]}}]} and where == "claims[0].outcomes.delayed"


# --- links ---------------------------------------------------------------------------------------------------


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    slugs = set()
    in_block = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif not in_block and (heading := re.match(r"#+\s+(.*)", line)):
            slugs.add(re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-"))
    return slugs


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_links_between_pages_resolve(page):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # an external address
        file, _, anchor = target.partition("#")
        linked = (page.parent / file).resolve() if file else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(REPO) if linked.is_relative_to(REPO) else linked}")
        elif anchor and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}:\n" + "\n".join(broken)


def test_every_docs_page_is_linked_from_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    unlinked = [p.name for p in DOCS.glob("*.md") if f"(docs/{p.name}" not in readme]
    assert not unlinked and (DOCS / "cli.md").exists(), f"README.md does not point to: {unlinked}"
