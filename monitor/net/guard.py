"""Which network addresses news-monitor may connect to, and enforcing that on the socket actually connected.

Feed and webhook URLs come from a config file, and a feed can redirect anywhere, so an outbound request must not
be able to reach the host's own services, the LAN or a cloud metadata endpoint (169.254.169.254) unless the
operator allows it. Two parts:

- ``refusal_reason(ip)`` / ``is_public_address(ip)``: a pure policy on one IP address. Anything that is not
  ordinary public unicast is refused: loopback, RFC 1918 / ULA private, link-local, CGNAT (100.64/10),
  unspecified, multicast, reserved and other special-purpose ranges. IPv6 addresses that embed an IPv4 address
  (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by the embedded one.
- ``guarded_session(policy)``: a ``requests.Session`` whose connections check the policy against
  ``sock.getpeername()`` right after the TCP connect and before a single byte (TLS hello included) is sent.
  Checking the connected peer, rather than resolving the host name beforehand, closes the DNS-rebinding gap
  (a name that resolves to a public address when checked and to 127.0.0.1 when connected), covers every
  redirect hop and every address ``getaddrinfo`` returns, and leaves Host and SNI untouched because urllib3
  still connects by name. Proxies from the environment are ignored (``trust_env = False``): through a proxy the
  peer is the proxy, so the policy could not be enforced; it also keeps ``~/.netrc`` credentials out of requests.

Deadlines on the sockets these sessions open are ``net.deadline``'s: a guarded connection hands each socket it
opens or reuses to ``deadline.watch``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import requests
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter

from monitor.net.deadline import watch as _watch

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# (ip, port) -> None to allow, or a one-line reason to refuse.
AddressPolicy = Callable[[str, int], "str | None"]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598; not in ipaddress.is_private on every 3.11 patch
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the low 32 bits are an IPv4 address
_RFC1918_AND_ULA = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _kind(ip: IPAddress) -> str | None:
    """The kind of non-public address ``ip`` is, or None when it is public unicast."""
    if ip.is_unspecified:
        return "an unspecified"
    if ip.is_loopback:
        return "a loopback"
    if ip.is_link_local:
        return "a link-local"
    if ip in _CGNAT:
        return "a shared (CGNAT)"
    if ip.is_multicast:
        return "a multicast"
    if any(ip in net for net in _RFC1918_AND_ULA):
        return "a private"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local"
    if ip.is_reserved:
        return "a reserved"
    if not ip.is_global:
        # Documentation, benchmarking, protocol-assignment ranges and the like: never a real feed server.
        return "a special-purpose"
    return None


def refusal_reason(ip: str | IPAddress) -> str | None:
    """None when ``ip`` is a public unicast address, else why not, e.g. "127.0.0.1 is a loopback address".

    Accepts a string (an IPv6 zone such as ``fe80::1%eth0`` is allowed) or an ``ipaddress`` object; raises
    ValueError for anything that is not an IP address.
    """
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    shown = ip if isinstance(ip, str) else str(addr)  # keep "::ffff:10.0.0.1" as given, not "::ffff:a00:1"
    embedded = _embedded_ipv4(addr)
    if embedded is not None:
        kind = _kind(embedded)
        return f"{shown} embeds {embedded}, {kind} address" if kind else None
    kind = _kind(addr)
    return f"{shown} is {kind} address" if kind else None


def is_public_address(ip: str | IPAddress) -> bool:
    """True when ``ip`` is ordinary public unicast, i.e. ``refusal_reason(ip)`` is None."""
    return refusal_reason(ip) is None


def default_policy(allow_private_networks: bool = False) -> AddressPolicy:
    """The policy set by the ``allow_private_networks`` config switch: allow everything, or public addresses only."""
    if allow_private_networks:
        return lambda ip, port: None

    def public_only(ip: str, port: int) -> str | None:
        reason = refusal_reason(ip)
        return f"{reason}; set allow_private_networks = true to allow it" if reason else None

    return public_only


class AddressRefused(Exception):
    """A connection reached an address the policy refuses. Deliberately not an OSError, so urllib3 neither
    retries it nor wraps it: it propagates unchanged out of ``Session.send`` for the caller to report."""

    def __init__(self, ip: str, port: int, reason: str) -> None:
        super().__init__(reason)
        self.ip = ip
        self.port = port
        self.reason = reason


class _GuardedConnectionMixin:
    """Checks the connected peer right after ``_new_conn`` (used for plain HTTP and, before the TLS handshake,
    for HTTPS) and closes the socket if the policy refuses it."""

    address_policy: AddressPolicy

    def _new_conn(self):  # type: ignore[no-untyped-def]
        sock = super()._new_conn()  # type: ignore[misc]
        ip, port = sock.getpeername()[:2]
        reason = self.address_policy(ip, port)
        if reason is not None:
            sock.close()
            raise AddressRefused(ip, port, reason)
        _watch(sock)  # before TLS wraps it, so a stalled handshake is cut too
        return sock

    def request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.sock is not None:  # a kept-alive connection, opened under an earlier deadline
            _watch(self.sock)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: AddressPolicy, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # Per-adapter subclasses carry the policy: urllib3 builds connections from a class, and unknown pool
        # keyword arguments are rejected by its pool-key normaliser, so a class attribute is the clean channel.
        attrs = {"address_policy": staticmethod(policy)}
        conn = urllib3.connection
        pools = urllib3.connectionpool
        http_conn = type("GuardedHTTPConnection", (_GuardedConnectionMixin, conn.HTTPConnection), attrs)
        https_conn = type("GuardedHTTPSConnection", (_GuardedConnectionMixin, conn.HTTPSConnection), attrs)
        self._pool_classes = {
            "http": type("GuardedHTTPPool", (pools.HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("GuardedHTTPSPool", (pools.HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes


def guarded_session(policy: AddressPolicy) -> requests.Session:
    """A Session that enforces ``policy`` on every connection it opens (raising ``AddressRefused``), ignores
    proxy/netrc settings from the environment, and does not retry. Do not pass ``proxies=`` to it: the policy
    would then judge the proxy, not the destination."""
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter(policy, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
