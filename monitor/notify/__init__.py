"""Destinations for alerts: one small module per channel kind, all behind the ``Notifier`` protocol, and the
registry of kinds.

A notifier sends one alert payload and returns normally only when the destination accepted it; anything else
raises ``DeliveryError``. Notifiers never touch the database: the outbox decides what to send and records the
result.

``KINDS`` is the one list of channel kinds: the config takes the valid ``kind`` values, the keys a channel of
each kind takes and its default sending pace from it, and ``build_notifiers`` the class to build. A new
destination is its module plus one line here. This module imports no notifier (and so none of their
libraries: Apprise loads its plugins when imported): a notifier's module is imported when a channel of its
kind is built, so the config can use the table cheaply.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from monitor.config import ChannelConfig


class Notifier(Protocol):
    def send(self, alert_id: str, payload: dict) -> None:
        """Deliver one alert; raise ``DeliveryError`` unless the destination accepted it."""


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

    def build(self, channel: ChannelConfig, *, allow_private_networks: bool) -> Notifier:
        module, _, name = self.notifier.partition(":")
        cls = getattr(importlib.import_module(module), name)
        if self.url == "none":
            return cls()
        extra = {"secrets": channel.secrets} if self.signed else {}
        return cls(channel.url or "", timeout_seconds=channel.timeout_seconds,
                   allow_private_networks=allow_private_networks, **extra)


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


def build_notifiers(channels: Iterable[ChannelConfig], *, allow_private_networks: bool) -> dict[str, Notifier]:
    """One notifier per configured channel, keyed by channel name."""
    notifiers: dict[str, Notifier] = {}
    for channel in channels:
        kind = KINDS.get(channel.kind)
        if kind is None:  # config validation rejects unknown kinds; this guards a programming error
            raise ValueError(f"no notifier for channel kind {channel.kind!r}")
        notifiers[channel.name] = kind.build(channel, allow_private_networks=allow_private_networks)
    return notifiers
