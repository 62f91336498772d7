"""The daemon's delivery threads, one per channel, over real loopback receivers and a real SQLite file."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from pytest_httpserver import HTTPServer

from conftest import WebhookReceiver, write_config
from monitor.config import load_config
from monitor.daemon.deliverers import ChannelDeliverers
from monitor.models import Alert
from monitor.runtime import Context
from monitor.store import Store, outbox


@pytest.fixture
def receivers():
    made = []

    def make() -> WebhookReceiver:
        server = HTTPServer(host="127.0.0.1", port=0)
        server.start()
        hook = WebhookReceiver(server)
        server.expect_request("/hook", method="POST").respond_with_handler(hook._handle)
        made.append(hook)
        return hook

    yield make
    for hook in made:
        if hook.hold is not None:
            hook.hold.set()
        hook.server.clear()
        hook.server.stop()


def arrivals(hook: WebhookReceiver, count: int, timeout: float = 20) -> list[str]:
    """The ids received once ``count`` requests have arrived (or ``timeout`` seconds passed)."""
    end = time.monotonic() + timeout
    while len(hook.received) < count and time.monotonic() < end:
        hook.arrived.clear()
        if len(hook.received) < count:
            hook.arrived.wait(end - time.monotonic())
    return hook.ids()


def test_a_stuck_channel_delays_only_itself(tmp_path, receivers):
    stuck, healthy = receivers(), receivers()
    stuck.hold = threading.Event()  # takes the request, then answers only when told
    document = {"monitor": {"database": "monitor.db", "allow_private_networks": True},
                "claims": [{"id": "deal", "text": "Acme and Globex sign the merger agreement"}],
                "channels": [{"name": "stuck", "kind": "webhook", "url": stuck.url, "timeout_seconds": 30},
                             {"name": "healthy", "kind": "webhook", "url": healthy.url}]}
    config = load_config(write_config(tmp_path, document))
    ctx = Context.build(config)
    now = datetime.now(timezone.utc)
    with Store(config.database) as store:
        for i in range(3):
            alert = Alert(f"a{i}", "deal", None, "claim.overdue", {"id": f"a{i}", "n": i})
            outbox.enqueue(store, alert, ["stuck", "healthy"], now - timedelta(seconds=1))
    stopping = threading.Event()
    deliverers = ChannelDeliverers(lambda: ctx, lambda: datetime.now(timezone.utc), stopping)
    deliverers.sync(["stuck", "healthy"])
    try:
        deliverers.wake()
        assert stuck.arrived.wait(20), "the stuck channel never sent"
        # The healthy channel delivers everything while the other send hangs.
        assert arrivals(healthy, 3) == ["a0", "a1", "a2"]
        assert stuck.ids() == ["a0"]  # still in its first send: the claim's next alerts wait behind it
        with Store(config.database) as store:
            [held] = [r for r in outbox.rows(store) if r.channel == "stuck" and r.alert_id == "a0"]
            assert held.lease_owner and held.lease_until > now  # leased while in flight
        stuck.hold.set()
        assert arrivals(stuck, 3) == ["a0", "a1", "a2"]
    finally:
        stopping.set()
        deliverers.stop()
        assert deliverers.join(10)


def test_channels_leaving_the_config_lose_their_thread(tmp_path):
    stopping = threading.Event()
    deliverers = ChannelDeliverers(lambda: None, lambda: datetime.now(timezone.utc), stopping)
    deliverers.sync(["a", "b"])
    names = {t.name for t in threading.enumerate()}
    assert {"deliver-a", "deliver-b"} <= names
    deliverers.sync(["b"])
    try:
        for thread in threading.enumerate():
            if thread.name == "deliver-a":
                thread.join(5)
                assert not thread.is_alive()
    finally:
        stopping.set()
        deliverers.stop()
        assert deliverers.join(5)
