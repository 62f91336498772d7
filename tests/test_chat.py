"""Slack, Discord and Apprise channels against real HTTP on loopback: message shape and limits, escaping of feed
text, truncation, and how each answer (2xx, 3xx, 4xx, 429, 5xx, no answer) becomes success or DeliveryError."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor import alerts
from monitor.errors import DeliveryError
from monitor.models import Hit, Story, Verdict
from monitor.notify.apprise import AppriseNotifier
from monitor.notify.render import MARKER
from monitor.notify.discord import DiscordNotifier
from monitor.notify.slack import SlackNotifier

ZW = "\u200b"
EVIL = "<!channel> @everyone <@U123> *bold* <https://evil|click>"
SLACK_PATH = "/services/T000/B000/SLACKSECRET"
DISCORD_PATH = "/api/webhooks/123/DISCORDSECRET"
KINDS = ("claim.state_changed", "claim.hit", "claim.overdue")


@dataclass(frozen=True)
class Claim:  # the two ClaimConfig attributes monitor.alerts reads
    id: str
    text: str


def payloads(title: str = "Iraq and US sign agreement on withdrawal of US-led coalition",
             sentence: str = "Iraq and the United States signed an agreement on Thursday.",
             outlet: str = "wire-one") -> dict[str, dict]:
    """One payload of each type, built by monitor.alerts as the pipeline does."""
    now = datetime(2026, 11, 27, 4, 26, 9, tzinfo=timezone.utc)
    claim = Claim("iraq-us-coalition-signing", "Iraq and the United States sign the coalition-withdrawal agreement")
    story = Story(id="s1", feed=outlet, title=title, summary="", link="https://wire-one.example.com/c1?a=1&b=2",
                  published_at=datetime(2026, 11, 27, 2, 26, 7, tzinfo=timezone.utc))
    hit = Hit(story_id="s1", claim_id=claim.id, score=86.8, matched_terms=("agreement", "coalition", "iraq"),
              verdict=Verdict.CONFIRMED, cue="signed", sentence=sentence, group_id="g1")
    evidence = [alerts.story_ref(story, "confirmed"),
                {"id": "s2", "outlet": "wire-two", "title": "Iraq, United States sign deal", "link": None,
                 "published_at": None, "verdict": "confirmed"}]
    made = [alerts.state_changed(claim, "delayed", "confirmed", hit, story, evidence, now, now),
            alerts.new_story(claim, "pending", hit, story, now),
            alerts.overdue(claim, "pending", date(2026, 12, 31), now)]
    return {a.kind: a.payload for a in made}


@dataclass
class Seen:
    path: str
    query: dict
    raw: str

    @property
    def json(self) -> dict:
        return json.loads(self.raw)


@dataclass
class Endpoint:
    """A fake chat service: records every request and answers with the scripted response."""

    server: HTTPServer
    status: int = 200
    body: str = "ok"
    content_type: str = "text/plain"
    headers: dict = field(default_factory=dict)
    stall: threading.Event | None = None  # when set up, the answer waits until it is set (or 5 s pass)
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.server.url_for(path)

    def handle(self, request: Request) -> Response:
        self.seen.append(Seen(request.path, dict(request.args), request.get_data(as_text=True)))
        if self.stall is not None:
            self.stall.wait(timeout=5)
        return Response(self.body, status=self.status, headers=self.headers, content_type=self.content_type)


@pytest.fixture(scope="module")
def server():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)  # threaded: a stalled answer blocks no other
    server.start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(server):
    ep = Endpoint(server)
    server.expect_request(re.compile(".*")).respond_with_handler(ep.handle)
    yield ep
    if ep.stall is not None:
        ep.stall.set()
    server.clear()


def slack(endpoint: Endpoint, timeout: float = 5.0) -> SlackNotifier:
    return SlackNotifier(endpoint.url(SLACK_PATH), timeout_seconds=timeout, allow_private_networks=True)


def discord(endpoint: Endpoint, timeout: float = 5.0) -> DiscordNotifier:
    return DiscordNotifier(endpoint.url(DISCORD_PATH), timeout_seconds=timeout, allow_private_networks=True)


def send(notifier, payload: dict) -> None:
    notifier.send(payload["id"], payload)


def failure(notifier, payload: dict | None = None) -> DeliveryError:
    payload = payload or payloads()["claim.state_changed"]
    with pytest.raises(DeliveryError) as info:
        send(notifier, payload)
    assert "SECRET" not in str(info.value) and "\n" not in str(info.value)  # one line, never the URL's token
    return info.value


def block_texts(message: dict) -> list[str]:
    texts = []
    for block in message["blocks"]:
        texts += [block["text"]["text"]] if "text" in block else [e["text"] for e in block["elements"]]
    return texts


def embed_total(embed: dict) -> int:
    return (len(embed["title"]) + len(embed.get("description", "")) + len(embed["footer"]["text"])
            + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", [])))


def check_slack_limits(message: dict, alert_id: str) -> None:
    assert isinstance(message["text"], str) and message["text"].strip() and len(message["text"]) <= 4000
    types = [b["type"] for b in message["blocks"]]
    assert types[0] == "header" and types[-1] == "context" and set(types[1:-1]) == {"section"}
    assert message["blocks"][0]["text"]["type"] == "plain_text" and len(message["blocks"][0]["text"]["text"]) <= 150
    assert all(len(t) <= 3000 for t in block_texts(message))
    assert alert_id in message["blocks"][-1]["elements"][0]["text"]


def check_discord_limits(message: dict, alert_id: str) -> dict:
    assert message["allowed_mentions"] == {"parse": []} and 0 < len(message["content"]) <= 2000
    [embed] = message["embeds"]
    assert 0 < len(embed["title"]) <= 256 and len(embed.get("description", "")) <= 4096
    assert len(embed.get("fields", [])) <= 25
    assert all(0 < len(f["name"]) <= 256 and 0 < len(f["value"]) <= 1024 for f in embed.get("fields", []))
    assert embed_total(embed) <= 6000 and alert_id in embed["footer"]["text"]
    return embed


@pytest.mark.parametrize("kind", KINDS)
def test_slack_message_shape(endpoint, kind):
    payload = payloads()[kind]
    send(slack(endpoint), payload)
    [seen] = endpoint.seen
    assert seen.path == SLACK_PATH
    message = seen.json
    check_slack_limits(message, payload["id"])
    header = message["blocks"][0]["text"]["text"]
    assert header.startswith("iraq-us-coalition-signing: ")
    if kind == "claim.state_changed":
        assert header == "iraq-us-coalition-signing: delayed → CONFIRMED"
    if kind != "claim.overdue":
        story = message["blocks"][2]["text"]["text"]
        assert "<https://wire-one.example.com/c1?a=1&amp;b=2|Iraq and US sign agreement" in story
        assert "Relevance 87" in story and ("also reported by wire-two" in story) == (kind == "claim.state_changed")
        assert "signed an agreement on Thursday" in message["blocks"][1]["text"]["text"]
    else:
        assert "2026-12-31" in message["blocks"][1]["text"]["text"]


@pytest.mark.parametrize("kind", KINDS)
def test_discord_message_shape(endpoint, kind):
    payload = payloads()[kind]
    send(discord(endpoint), payload)
    [seen] = endpoint.seen
    assert seen.path == DISCORD_PATH and seen.query == {"wait": "true"}
    embed = check_discord_limits(seen.json, payload["id"])
    assert isinstance(embed["color"], int) and embed["timestamp"].startswith("2026-11-27T04:26:09")
    if kind != "claim.overdue":
        assert embed["url"] == "https://wire-one.example.com/c1?a=1&b=2"
        assert "signed an agreement on Thursday" in embed["description"]
        outlets = next(f["value"] for f in embed["fields"] if f["name"] == "Reported by")
        assert outlets.startswith("wire-one")
        assert ("also reported by wire-two" in outlets) == (kind == "claim.state_changed")
    if kind == "claim.state_changed":
        assert embed["color"] == 0x2ECC71 and "delayed → CONFIRMED" in seen.json["content"]


def test_discord_keeps_other_query_parameters(endpoint):
    url = endpoint.url(DISCORD_PATH) + "?thread_id=42&wait=false"
    send(DiscordNotifier(url, timeout_seconds=5, allow_private_networks=True), payloads()["claim.hit"])
    assert endpoint.seen[0].query == {"thread_id": "42", "wait": "true"}


@pytest.mark.parametrize("make", [slack, discord])
def test_feed_text_cannot_ping_link_or_format(endpoint, make):
    payload = payloads(title=EVIL, sentence=EVIL, outlet=EVIL)["claim.state_changed"]
    send(make(endpoint), payload)
    raw = endpoint.seen[0].raw
    for bad in ("<!channel>", "@everyone", "<@U123>", "<https://evil|click>"):
        assert bad not in raw
    if make is discord:
        embed = endpoint.seen[0].json["embeds"][0]
        assert "*bold*" not in raw and "\\*bold\\*" in embed["title"] and "\\*bold\\*" in embed["description"]
    else:
        assert f"&lt;{ZW}!channel&gt;" in endpoint.seen[0].json["blocks"][2]["text"]["text"]


def test_slack_defuses_mattermost_and_rocketchat_markup(endpoint):
    """Mentions and links Mattermost and Rocket.Chat act on arrive defused in every text the webhook receives."""
    hostile = "@all @here @Room [Official](https://evil.example) &lt;https://evil.example|x&gt;"
    send(slack(endpoint), payloads(title=hostile, sentence=hostile, outlet=hostile)["claim.state_changed"])
    message = endpoint.seen[0].json
    for text in [message["text"], *block_texts(message)]:
        assert not re.search(r"@(all|here|room)\b|\]\(|&lt;https:", text, re.IGNORECASE), text
    assert f"@{ZW}all @{ZW}here @{ZW}Room [Official]{ZW}(https://evil.example)" in message["text"]
    assert f"<https://wire-one.example.com/c1?a=1&amp;b=2|@{ZW}all" in block_texts(message)[2]  # own link intact


@pytest.mark.parametrize("make", [slack, discord])
def test_overlong_text_is_truncated_not_dropped(endpoint, make):
    payload = payloads(title="T" * 10_000, sentence="S" * 10_000, outlet="O" * 10_000)["claim.state_changed"]
    send(make(endpoint), payload)
    message = endpoint.seen[0].json
    if make is slack:
        check_slack_limits(message, payload["id"])
        assert f"T{MARKER}" in block_texts(message)[2] and f"S{MARKER}" in block_texts(message)[1]
    else:
        embed = check_discord_limits(message, payload["id"])
        assert embed["title"].endswith(MARKER) and f"S{MARKER}" in embed["description"]


@pytest.mark.parametrize("make", [slack, discord])
@pytest.mark.parametrize(("status", "transient"), [(500, True), (503, True), (404, False), (400, False)])
def test_refusals(endpoint, make, status, transient):
    endpoint.status = status
    exc = failure(make(endpoint))
    assert (exc.status, exc.transient, exc.maybe_delivered) == (status, transient, False)


@pytest.mark.parametrize("make", [slack, discord])
def test_redirect_is_a_failure_and_not_followed(endpoint, make):
    endpoint.status, endpoint.headers = 301, {"Location": "/elsewhere"}
    exc = failure(make(endpoint))
    assert exc.status == 301 and not exc.transient and len(endpoint.seen) == 1


def test_slack_error_text_is_reported(endpoint):
    endpoint.status, endpoint.body = 400, "invalid_blocks"
    assert str(failure(slack(endpoint))).endswith("invalid_blocks")


def test_slack_429_uses_retry_after_header(endpoint):
    endpoint.status, endpoint.headers = 429, {"Retry-After": "7"}
    exc = failure(slack(endpoint))
    assert (exc.status, exc.retry_after, exc.transient) == (429, 7.0, True)


def test_discord_429_prefers_the_body_retry_after(endpoint):
    endpoint.status, endpoint.headers, endpoint.content_type = 429, {"Retry-After": "2"}, "application/json"
    endpoint.body = json.dumps({"message": "You are being rate limited.", "retry_after": 1.5, "global": True})
    exc = failure(discord(endpoint))
    assert (exc.status, exc.retry_after, exc.transient) == (429, 1.5, True)


@pytest.mark.parametrize(("status", "body"), [(204, ""), (200, '{"id": "1"}')])
def test_discord_200_and_204_are_success(endpoint, status, body):
    endpoint.status, endpoint.body = status, body
    send(discord(endpoint), payloads()["claim.overdue"])
    assert len(endpoint.seen) == 1


@pytest.mark.parametrize("make", [slack, discord])
def test_read_timeout_may_have_delivered(endpoint, make):
    endpoint.stall = threading.Event()
    exc = failure(make(endpoint, timeout=0.3))
    assert exc.maybe_delivered and exc.transient and exc.status is None
    assert not endpoint.stall.is_set()  # the client gave up on its own; the service never answered


def test_connection_refused_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the send: nothing listens there
    notifier = SlackNotifier(f"http://127.0.0.1:{port}{SLACK_PATH}", timeout_seconds=2, allow_private_networks=True)
    exc = failure(notifier)
    assert exc.transient and exc.status is None and not exc.maybe_delivered


def test_loopback_refused_unless_allowed(endpoint):
    notifier = SlackNotifier(endpoint.url(SLACK_PATH), timeout_seconds=2, allow_private_networks=False)
    exc = failure(notifier)
    assert "refused" in str(exc) and not exc.transient and endpoint.seen == []


# --- Apprise: a real Apprise JSON target (json://) pointed at the loopback endpoint -----------------------


def apprise_url(endpoint: Endpoint) -> str:
    return f"json://127.0.0.1:{endpoint.server.port}/apprise/APPRISESECRET"


def test_apprise_delivers_title_and_body(endpoint):
    payload = payloads(sentence="Signed today @everyone")["claim.state_changed"]
    send(AppriseNotifier(apprise_url(endpoint), timeout_seconds=5, allow_private_networks=True), payload)
    [seen] = endpoint.seen
    assert seen.path == "/apprise/APPRISESECRET"
    assert seen.json["title"] == "iraq-us-coalition-signing: delayed → CONFIRMED"
    message = seen.json["message"]
    assert f"@{ZW}everyone" in message and "@everyone" not in message
    assert "also reported by wire-two" in message and message.endswith(f"alert:    {payload['id']}")


def test_apprise_failure_is_transient_without_status(endpoint, caplog):
    caplog.set_level(logging.DEBUG, logger="apprise")
    endpoint.status = 500
    exc = failure(AppriseNotifier(apprise_url(endpoint), timeout_seconds=5, allow_private_networks=True))
    assert exc.transient and exc.status is None and "500" in str(exc)
    assert all("SECRET" not in r.getMessage() for r in caplog.records if r.name == "apprise")


def test_apprise_read_timeout_is_applied(endpoint):
    endpoint.stall = threading.Event()
    exc = failure(AppriseNotifier(apprise_url(endpoint), timeout_seconds=0.3, allow_private_networks=True))
    assert exc.transient and len(endpoint.seen) == 1 and not endpoint.stall.is_set()


def test_apprise_past_its_deadline_may_have_delivered(endpoint):
    # rto=5 in the URL wins over timeout_seconds, so the call deadline (3 × 0.2 s) is what stops the wait.
    endpoint.stall = threading.Event()
    url = apprise_url(endpoint) + "?rto=5"
    exc = failure(AppriseNotifier(url, timeout_seconds=0.2, allow_private_networks=True))
    assert exc.maybe_delivered and exc.transient and not endpoint.stall.is_set()


def test_apprise_invalid_url_is_permanent():
    exc = failure(AppriseNotifier("tgram://not-a-token/APPRISESECRET", timeout_seconds=1, allow_private_networks=True))
    assert not exc.transient and "not a valid Apprise URL" in str(exc)


def test_apprise_loopback_refused_before_any_request(endpoint):
    exc = failure(AppriseNotifier(apprise_url(endpoint), timeout_seconds=1, allow_private_networks=False))
    assert "refused: 127.0.0.1 is a loopback address" in str(exc) and not exc.transient and endpoint.seen == []
