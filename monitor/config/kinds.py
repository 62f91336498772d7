"""The registry of channel kinds: the valid ``kind`` values of ``[[channels]]``, the keys a channel of each kind
takes, its default sending pace, and the notifier class that delivers for it (named, not imported: the config
imports no stage, and ``monitor.notify.build_notifiers`` imports a notifier's module only when a channel of its
kind is built). A new destination is its module in ``monitor/notify/`` plus one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ChannelKind:
    """One kind of channel. ``url``: "none" (takes no URL), "http" (``url`` or ``url_env``, an http(s) URL), or
    "env" (``url_env`` only: the URL is itself a credential, and not http(s)). ``signed``: takes ``secret_env``
    (signing secrets, passed to the notifier as ``secrets``). The pace is the default ``min_interval_seconds`` /
    ``max_per_minute`` of a channel of this kind."""

    name: str
    notifier: str  # "module:Class", imported when a channel of this kind is built
    url: Literal["none", "http", "env"]
    signed: bool = False
    min_interval_seconds: float = 0.0
    max_per_minute: int = 0


# Default paces: Slack allows about one message a second per webhook; Discord 30 a minute per webhook;
# Apprise's busiest common target, Telegram, one a second per chat and twenty a minute per group.
KINDS: dict[str, ChannelKind] = {kind.name: kind for kind in (
    ChannelKind("console", "monitor.notify.console:ConsoleNotifier", url="none"),
    ChannelKind("webhook", "monitor.notify.webhook:WebhookNotifier", url="http", signed=True),
    ChannelKind("slack", "monitor.notify.slack:SlackNotifier", url="http", min_interval_seconds=1.0),
    ChannelKind("discord", "monitor.notify.discord:DiscordNotifier", url="http", min_interval_seconds=0.5,
                max_per_minute=30),
    ChannelKind("apprise", "monitor.notify.apprise:AppriseNotifier", url="env", min_interval_seconds=1.0,
                max_per_minute=20),
)}

# The keys a [[channels]] entry may have, whatever its kind: a key its kind does not take gets a message
# saying so (the kind's ``url`` and ``signed``) rather than "unknown key".
CHANNEL_KEYS = frozenset({"name", "kind", "url", "url_env", "secret_env", "timeout_seconds", "min_interval_seconds",
                          "max_per_minute", "group_wait_seconds"})
