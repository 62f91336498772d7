"""Alert text rendering for the chat channels: escaping feed-supplied text and cutting it to size. Pure."""

from __future__ import annotations

import re

import pytest

from monitor.notify.render import discord_escape, fit, plain_safe, slack_escape, truncate
from monitor.notify.slack import slack_message

ZW = "\u200b"


@pytest.mark.parametrize(("raw", "expected"), [
    ("a & b", "a &amp; b"),
    ("<!channel> <!here>", f"&lt;{ZW}!channel&gt; &lt;{ZW}!here&gt;"),
    ("<@U123> <#C1> <https://evil|click>", f"&lt;{ZW}@U123&gt; &lt;{ZW}#C1&gt; &lt;{ZW}https://evil|click&gt;"),
    ("@channel @Here @everyone", f"@{ZW}channel @{ZW}Here @{ZW}everyone"),
    ("@ALL hands, @room: now", f"@{ZW}ALL hands, @{ZW}room: now"),
    ("[click](https://evil) ![i](https://evil/p.png)", f"[click]{ZW}(https://evil) ![i]{ZW}(https://evil/p.png)"),
    ("[click][1]", f"[click]{ZW}[1]"),
    ("mail@herevia.example @alligator [sic] (ok) a]b", "mail@herevia.example @alligator [sic] (ok) a]b"),
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


# What Slack, Mattermost or Rocket.Chat would act on in a webhook message's text.
LIVE_MARKUP = [
    re.compile(r"@(all|here|channel|everyone|room)\b", re.IGNORECASE),  # mass mention
    re.compile(r"\][(\[]"),  # Markdown inline or reference link, image (CommonMark allows no space between)
    re.compile(r"<[^>]*\|"),  # Slack link <url|label>
    re.compile(r"<[!@#]"),  # Slack special mention, user, channel
    re.compile(r"&lt;(https?|mailto|ftp):", re.IGNORECASE),  # Rocket.Chat's &lt;url|label&gt;
]
HOSTILE = [
    "@all read this", "@HERE", "@Channel!", "@everyone:", "ping @room now",
    "[Official statement](https://evil.example/x)", "![pic](https://evil.example/p.png)", "[a][ref]",
    "<https://evil.example|Official statement>", "<!channel> <!here> <@U123> <#C1>",
    "&lt;https://evil.example|click&gt;",
]
STORY_LINK = "https://wire.example/story?a=1&b=2"


def rendered_slack(field: str, hostile: str) -> list[str]:
    """Every mrkdwn text of the Slack message for a confirmed state change whose ``field`` is ``hostile``,
    with the message's own link to the story taken out."""
    story = {"id": "s1", "title": "Deal signed", "outlet": "wire-one", "link": STORY_LINK,
             "published_at": "2026-11-27T02:26:07Z"}
    payload = {"id": "a1", "type": "claim.state_changed", "created_at": "2026-11-27T04:26:09Z",
               "claim": {"id": "deal", "text": "The deal is signed"}, "previous_state": "pending",
               "state": "confirmed", "sentence": "They signed.", "cue": "signed", "story": story,
               "evidence": [{"id": "s2", "outlet": "wire-two"}], "score": 90.0, "matched_terms": ["deal"]}
    if field in ("title", "outlet"):
        story[field] = hostile
    elif field == "evidence":
        payload["evidence"][0]["outlet"] = hostile
    elif field == "claim":
        payload["claim"]["text"] = hostile
    else:
        payload[field] = hostile
    message = slack_message("a1", payload)
    texts = [message["text"]] + [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    own_link = "<" + STORY_LINK.replace("&", "&amp;") + "|"
    assert sum(own_link in t for t in texts) == 1  # the story link itself still works
    return [t.replace(own_link, "") for t in texts]


@pytest.mark.parametrize("field", ["title", "sentence", "outlet", "evidence", "cue", "claim", "matched_terms"])
@pytest.mark.parametrize("hostile", HOSTILE)
def test_slack_message_has_no_live_mention_or_link(field, hostile):
    value = [hostile] if field == "matched_terms" else hostile
    texts = rendered_slack(field, value)
    word = re.search(r"[A-Za-z]{3,}", hostile).group()
    assert any(word in t.replace(ZW, "") for t in texts)  # the text is still shown, only defused
    for text in texts:
        for pattern in LIVE_MARKUP:
            assert not pattern.search(text), (pattern.pattern, text)
