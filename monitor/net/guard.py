"""Which network addresses news-monitor may connect to, and enforcing that on the socket actually connected.

Feed and webhook URLs come from a config file, and a feed can redirect anywhere, so an outbound request must not
be able to reach the host's own services, the LAN or a cloud metadata endpoint (169.254.169.254) unless the
operator allows it. Two parts:

- ``refusal_reason(ip)`` / ``is_public_address(ip)``: a pure policy on one IP address. Anything that is not
  ordinary public unicast is refused: loopback, RFC 1918 / ULA private, link-local, CGNAT (100.64/10),
  unspecified, multicast, reserved and other special-purpose ranges. IPv6 addresses that embed an IPv4 address
  (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by the embedded one.
- ``guarded_session(policy)``: a ``requests.Session`` whose connections resolve the host themselves, judge every
  address ``getaddrinfo`` returns before any connect, and connect only to allowed ones, in order, as urllib3
  would. Nothing reaches a refused address, not even a TCP handshake, so the error cannot tell an open port from
  a closed one: every address refused gives the same ``AddressRefused``. The connected peer
  (``sock.getpeername()``) is checked again before a single byte (TLS hello included) is sent, as a second line.
  Checking the addresses actually connected to, rather than a separate lookup beforehand, closes the
  DNS-rebinding gap (a name that resolves to a public address when checked and to 127.0.0.1 when connected) and
  covers every redirect hop; Host and SNI stay by name, because urllib3 still builds the request from the URL.
  Proxies from the environment are ignored (``trust_env = False``): through a proxy the peer is the proxy, so the
  policy could not be enforced; it also keeps ``~/.netrc`` credentials out of requests.

Deadlines on the sockets these sessions open are ``net.deadline``'s: a guarded connection hands each socket it
opens or reuses to ``deadline.watch``.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable, Sequence

import requests
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, LocationParseError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

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


# One getaddrinfo result: (family, type, proto, canonname, sockaddr).
AddrInfo = tuple


def checked_addresses(host: str, port: int, policy: AddressPolicy,
                      family: int = socket.AF_UNSPEC) -> tuple[list[AddrInfo], list[AddressRefused]]:
    """Resolve ``host``:``port`` for a TCP connection and judge every address: (allowed getaddrinfo results in
    resolver order, one ``AddressRefused`` per refused address). Raises ``socket.gaierror`` as getaddrinfo does."""
    allowed: list[AddrInfo] = []
    refused: list[AddressRefused] = []
    for info in socket.getaddrinfo(host, port, family, socket.SOCK_STREAM):
        ip, ip_port = info[4][:2]
        reason = policy(ip, ip_port)
        if reason is None:
            allowed.append(info)
        else:
            refused.append(AddressRefused(ip, ip_port, reason))
    return allowed, refused


def connect_first(addresses: Sequence[AddrInfo], timeout, source_address=None,  # type: ignore[no-untyped-def]
                  socket_options=None) -> socket.socket:
    """Connect to the first of ``addresses`` that answers, trying them in order as urllib3's
    ``create_connection`` does (same socket options, timeout and source address); raise the last OSError."""
    err: OSError | None = None
    for family, socktype, proto, _canonname, sockaddr in addresses:
        sock = None
        try:
            sock = socket.socket(family, socktype, proto)
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            err = exc
            if sock is not None:
                sock.close()
    try:
        raise err if err is not None else OSError("getaddrinfo returns an empty list")
    finally:
        err = None  # break the traceback reference cycle, as urllib3 does


class _GuardedConnectionMixin:
    """Replaces how urllib3 makes the socket (used for plain HTTP and, before the TLS handshake, for HTTPS):
    every resolved address is judged first and only allowed ones are connected to; the connected peer is checked
    again. Connect failures become urllib3's own exceptions, exactly as ``HTTPConnection._new_conn`` raises them,
    so requests maps them as usual."""

    address_policy: AddressPolicy

    def _new_conn(self):  # type: ignore[no-untyped-def]
        host = self._dns_host
        if host.startswith("["):
            host = host.strip("[]")
        try:
            host.encode("idna")
        except UnicodeError:
            raise LocationParseError(f"'{host}', label empty or too long") from None
        try:
            allowed, refused = checked_addresses(host, self.port, self.address_policy, allowed_gai_family())
            if refused and not allowed:
                raise refused[0]  # no connect at all: an open and a closed port give the same error
            sock = connect_first(allowed, self.timeout, self.source_address, self.socket_options)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except socket.timeout as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        ip, port = sock.getpeername()[:2]  # a second line of defence: judge the peer actually connected
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
