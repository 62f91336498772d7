"""Config documents written as TOML: read back equal, and open to appended [[feeds]] entries."""

from __future__ import annotations

import tomllib
from datetime import date

from monitor.configtext import array_table, toml_document


def test_a_document_reads_back_equal_with_arrays_of_tables_as_sections():
    document = {"monitor": {"database": "a \"quoted\" \\ path\n.db", "workers": 4, "allow_private_networks": True},
                "feeds": [{"name": "wire", "url": "http://127.0.0.1:1/rss"}],
                "claims": [{"id": "c1", "text": "X will sign Y", "aliases": {"sign": ["ink"]}, "exclude": [],
                            "expect_by": date(2024, 7, 1), "min_score": 72.5},
                           {"id": "c2", "text": "Z", "outcomes": {"confirmed": ["done"]}}],
                "channels": [{"name": "out", "kind": "console"}]}
    text = toml_document(document)
    assert tomllib.loads(text) == document
    assert text.count("[[feeds]]") == 1 and text.count("[[claims]]") == 2 and "[claims.aliases]" in text
    appended = text + "\n" + array_table("feeds", {"name": "more", "url": "https://example.org/feed"})
    assert [f["name"] for f in tomllib.loads(appended)["feeds"]] == ["wire", "more"]


def test_an_array_table_escapes_what_toml_must():
    text = array_table("feeds", {"name": "n", "url": "https://x.example/?q=\"a\"\\b\t\x01"})
    assert text.startswith("[[feeds]]\n")
    assert tomllib.loads(text)["feeds"] == [{"name": "n", "url": "https://x.example/?q=\"a\"\\b\t\x01"}]
