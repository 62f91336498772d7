"""Config documents written as TOML text, with tomli-w.

tomli-w writes a short array of tables inline (``feeds = [{ … }]``), which TOML forbids extending later; a
config file gets more ``[[feeds]]`` appended (``import-opml``), so here every array of tables at the top is
written as ``[[name]]`` sections, the way a person writes the file.
"""

from __future__ import annotations

from collections.abc import Mapping

import tomli_w


def toml_document(document: Mapping[str, object]) -> str:
    """``document`` as TOML: a mapping value as a ``[name]`` table, a list of mappings as ``[[name]]`` sections
    (tables nested in them as ``[name.key]``), anything else as ``name = value``."""
    chunks = [tomli_w.dumps({k: v for k, v in document.items() if not _is_tables(v)})]
    for name, value in document.items():
        if isinstance(value, Mapping):
            chunks.append(tomli_w.dumps({name: value}))
        elif _is_tables(value):
            chunks += [array_table(name, table) for table in value]  # type: ignore[union-attr]
    return "\n".join(chunk for chunk in chunks if chunk)


def array_table(name: str, table: Mapping[str, object]) -> str:
    """One ``[[name]]`` section holding ``table``."""
    flat = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
    nested = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    text = f"[[{name}]]\n" + tomli_w.dumps(flat)
    return text + "\n" + tomli_w.dumps({name: nested}) if nested else text


def _is_tables(value: object) -> bool:
    return isinstance(value, Mapping) or (isinstance(value, (list, tuple)) and bool(value)
                                          and all(isinstance(v, Mapping) for v in value))
