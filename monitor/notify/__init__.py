"""Destinations for alerts: one small module per channel kind, all behind the ``Notifier`` protocol, and the
builder of the configured ones.

A notifier sends one alert payload and returns normally only when the destination accepted it; anything else
raises ``DeliveryError``. Notifiers never touch the database: the outbox decides what to send and records the
result.

``KINDS`` (``monitor.config.kinds``) is the one list of channel kinds: the config takes the valid ``kind``
values, the keys a channel of each kind takes and its default sending pace from it, and ``build_notifiers`` the
class to build. A new destination is its module plus one line there. This module imports no notifier (and so
none of their libraries: Apprise loads its plugins when imported): a notifier's module is imported when a
channel of its kind is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from monitor.config.kinds import KINDS, ChannelKind

if TYPE_CHECKING:
    from monitor.config import ChannelConfig

__all__ = ["KINDS", "ChannelKind", "Notifier", "build_notifiers"]


class Notifier(Protocol):
    def send(self, alert_id: str, payload: dict) -> None:
        """Deliver one alert; raise ``DeliveryError`` unless the destination accepted it."""


def _build(kind: ChannelKind, channel: ChannelConfig, *, allow_private_networks: bool) -> Notifier:
    module, _, name = kind.notifier.partition(":")
    cls = getattr(importlib.import_module(module), name)
    if kind.url == "none":
        return cls()
    extra = {"secrets": channel.secrets} if kind.signed else {}
    return cls(channel.url or "", timeout_seconds=channel.timeout_seconds,
               allow_private_networks=allow_private_networks, **extra)


def build_notifiers(channels: Iterable[ChannelConfig], *, allow_private_networks: bool) -> dict[str, Notifier]:
    """One notifier per configured channel, keyed by channel name."""
    notifiers: dict[str, Notifier] = {}
    for channel in channels:
        kind = KINDS.get(channel.kind)
        if kind is None:  # config validation rejects unknown kinds; this guards a programming error
            raise ValueError(f"no notifier for channel kind {channel.kind!r}")
        notifiers[channel.name] = _build(kind, channel, allow_private_networks=allow_private_networks)
    return notifiers
