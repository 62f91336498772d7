"""Destinations for alerts: one small module per channel kind, all behind the ``Notifier`` protocol.

A notifier sends one alert payload and returns normally only when the destination accepted it; anything else
raises ``DeliveryError``. Notifiers never touch the database: the outbox decides what to send and records the
result.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from monitor.config import ChannelConfig
from monitor.notify.console import ConsoleNotifier
from monitor.notify.discord import DiscordNotifier
from monitor.notify.slack import SlackNotifier
from monitor.notify.webhook import WebhookNotifier

_CHAT = {"slack": SlackNotifier, "discord": DiscordNotifier}


class Notifier(Protocol):
    def send(self, alert_id: str, payload: dict) -> None:
        """Deliver one alert; raise ``DeliveryError`` unless the destination accepted it."""


def build_notifiers(channels: Iterable[ChannelConfig], *, allow_private_networks: bool) -> dict[str, Notifier]:
    """One notifier per configured channel, keyed by channel name."""
    notifiers: dict[str, Notifier] = {}
    for channel in channels:
        if channel.kind == "console":
            notifiers[channel.name] = ConsoleNotifier()
        elif channel.kind == "webhook":
            notifiers[channel.name] = WebhookNotifier(channel.url or "", timeout_seconds=channel.timeout_seconds,
                                                      allow_private_networks=allow_private_networks,
                                                      secrets=channel.secrets)
        elif channel.kind in _CHAT or channel.kind == "apprise":
            notifiers[channel.name] = _chat_notifier(channel.kind)(channel.url or "", timeout_seconds=channel.timeout_seconds,
                                                          allow_private_networks=allow_private_networks)
        else:  # config validation rejects unknown kinds; this guards a programming error
            raise ValueError(f"no notifier for channel kind {channel.kind!r}")
    return notifiers


def _chat_notifier(kind: str) -> type:
    if kind == "apprise":  # imported on demand: Apprise loads its plugins, a cost only its users should pay
        from monitor.notify.apprise import AppriseNotifier
        return AppriseNotifier
    return _CHAT[kind]
