"""Alert text rendering for the chat channels: escaping feed-supplied text and cutting it to size. Pure."""

from __future__ import annotations

import pytest

from monitor.notify.render import discord_escape, fit, plain_safe, slack_escape, truncate

ZW = "\u200b"


@pytest.mark.parametrize(("raw", "expected"), [
    ("a & b", "a &amp; b"),
    ("<!channel> <!here>", "&lt;!channel&gt; &lt;!here&gt;"),
    ("<@U123> <#C1> <https://evil|click>", "&lt;@U123&gt; &lt;#C1&gt; &lt;https://evil|click&gt;"),
    ("@channel @Here @everyone", f"@{ZW}channel @{ZW}Here @{ZW}everyone"),
    ("mail@herevia.example", "mail@herevia.example"),
])
def test_slack_escape(raw, expected):
    assert slack_escape(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("@everyone @here", f"@{ZW}everyone @{ZW}here"),
    ("<@123> <@!4> <@&9>", f"<@{ZW}123\\> <@!{ZW}4\\> <@&{ZW}9\\>"),
    ("<#5>", f"<\\#{ZW}5\\>"),
    ("*b* _i_ ~s~ `c` |x| > q \\", "\\*b\\* \\_i\\_ \\~s\\~ \\`c\\` \\|x\\| \\> q \\\\"),
    ("[click](https://evil)", "\\[click\\](https://evil)"),
])
def test_discord_escape(raw, expected):
    assert discord_escape(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("@everyone @room ok", f"@{ZW}everyone @{ZW}room ok"),
    ("<!here> <@U1>", f"<!{ZW}here> <@{ZW}U1>"),
    ("a <b> & c", "a <b> & c"),
])
def test_plain_safe(raw, expected):
    assert plain_safe(raw) == expected


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("short", 10, "short"),
    ("exactly10!", 10, "exactly10!"),
    ("abcdefghijk", 10, "abcdefghi…"),
    ("abc    defghijk", 8, "abc…"),
    ("ab", 1, "a"),
])
def test_truncate(text, limit, expected):
    assert truncate(text, limit) == expected and len(truncate(text, limit)) <= limit


def test_fit_never_cuts_inside_an_escape():
    assert fit("&&&&&&", 10, slack_escape) == "&amp;…"
    assert fit("*" * 10, 7, discord_escape) == "\\*\\*\\*…"
