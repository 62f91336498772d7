"""A channel that cannot be reached says why, in the words a feed error uses: refused, timed out, TLS, DNS.

Every case is a real connection on loopback (or a name under ``.invalid``, which never resolves); the URLs carry
a secret in their path and query, which no message may repeat.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from monitor.errors import DeliveryError, FetchError
from monitor.feeds.fetch import Fetcher
from monitor.notify.slack import SlackNotifier
from monitor.notify.webhook import WebhookNotifier

SECRET = "T0KEN5ECRET"
PAYLOAD = {"type": "claim.state_changed", "id": "a1", "claim": {"id": "c", "text": "A claim"}, "state": "confirmed",
           "previous_state": "pending", "evidence": []}


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port():
    """A loopback port that accepts connections (in the kernel's backlog) and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        yield silent.getsockname()[1]


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory):
    """A certificate and key for 127.0.0.1 that no trust store knows."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "36500", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_port(self_signed):
    """A loopback HTTPS server with the self-signed certificate: the client's verification fails."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # the listener was closed: the test is over
                return
            with conn:
                try:
                    context.wrap_socket(conn, server_side=True).close()
                except (ssl.SSLError, OSError):
                    pass  # the client rejected the certificate, as it should

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone would leave it waiting
    listener.close()
    thread.join(timeout=5)


def webhook_error(url: str, timeout: float = 5) -> DeliveryError:
    notifier = WebhookNotifier(url, timeout_seconds=timeout, allow_private_networks=True)
    with pytest.raises(DeliveryError) as info:
        notifier.send("a1", PAYLOAD)
    assert SECRET not in str(info.value)
    return info.value


def test_refused():
    error = webhook_error(f"http://127.0.0.1:{closed_port()}/hooks/{SECRET}?token={SECRET}")
    assert str(error) == "webhook connection failed: connection refused"
    assert error.transient


def test_timeout(silent_port):
    error = webhook_error(f"http://127.0.0.1:{silent_port}/hooks/{SECRET}", timeout=1)
    assert str(error) == "webhook timed out after 1s waiting for an answer" and error.maybe_delivered


def test_tls_certificate_not_trusted(tls_port):
    error = webhook_error(f"https://127.0.0.1:{tls_port}/hooks/{SECRET}?token={SECRET}")
    assert str(error).startswith("webhook connection failed: TLS certificate verify failed: ")
    assert "self-signed" in str(error) or "self signed" in str(error)


def test_dns():
    error = webhook_error(f"https://hooks.news-monitor.invalid/hooks/{SECRET}")
    assert str(error).startswith("webhook connection failed: DNS lookup failed for host 'hooks.news-monitor.invalid'")


def test_chat_channels_say_the_same(tls_port):
    notifier = SlackNotifier(f"https://127.0.0.1:{tls_port}/services/{SECRET}", timeout_seconds=5,
                             allow_private_networks=True)
    with pytest.raises(DeliveryError) as info:
        notifier.send("a1", PAYLOAD)
    assert str(info.value).startswith("slack connection failed: TLS certificate verify failed: ")
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("kind", ["refused", "tls", "dns"])
def test_a_feed_and_a_webhook_describe_a_failure_alike(kind, request):
    url = {"refused": lambda: f"http://127.0.0.1:{closed_port()}/x",
           "tls": lambda: f"https://127.0.0.1:{request.getfixturevalue('tls_port')}/x",
           "dns": lambda: "https://feeds.news-monitor.invalid/x"}[kind]()
    with Fetcher(allow_private_networks=True, deadline_seconds=10) as fetcher, pytest.raises(FetchError) as feed:
        fetcher.fetch(url)
    delivery = webhook_error(url)
    feed_reason = str(feed.value).split(": connection failed: ", 1)[1]
    assert str(delivery) == f"webhook connection failed: {feed_reason}"
