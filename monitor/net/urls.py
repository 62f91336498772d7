"""URL and address text: the one http(s) URL check, and the ways a URL is shown without its secrets. Pure.

- ``is_http_url``: whether a text is an absolute http or https URL with a host (and, if any, a valid port).
- ``redact_url``: a feed URL for messages and logs, its user info and query values hidden.
- ``host_only``: a channel URL reduced to scheme and host (a destination's path or query is its credential).
- ``parse_listen``: ``[monitor] listen`` (``HOST:PORT``) as (host, port).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL (scheme in any case) with a host and, if given, a port in
    0-65535. Never raises, whatever the text."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:  # "http://[::1", a port out of range
        return False


def redact_url(url: str) -> str:
    """``url`` with what can be a secret hidden, fit for messages, logs and status output: the user info
    (``user:password@``) and every query and fragment value become ``***``; scheme, host, path and the
    parameter names stay, so a reader can still tell feeds apart and see which parameter is set
    (``https://***@example.com/rss?key=***&page=***``). Never raises, whatever the text."""
    url = _USERINFO.sub(r"\1***@", url)
    rest, hash_, fragment = url.partition("#")
    base, mark, query = rest.partition("?")
    return base + (mark + _redact_values(query) if mark else "") + (hash_ + _redact_values(fragment) if hash_ else "")


def search_url_shown(url: str, bases: tuple[str, ...]) -> str:
    """A search feed's URL for output: whole when it starts with one of ``bases`` (the engines' base URLs) and
    that base holds nothing that can be a secret (no user info, query or fragment): its query is the claim's
    words, which the reader needs to see. Else redacted like any URL (``redact_url``)."""
    for base in bases:
        if url.startswith(base + "?") and not any(mark in base for mark in "@?#"):
            return url
    return redact_url(url)


def _redact_values(pairs: str) -> str:
    """``a=1&b&c=`` → ``a=***&***&c=***``: names kept, values (and bare tokens, which may be keys) hidden."""
    def one(pair: str) -> str:
        name, equals, _ = pair.partition("=")
        return f"{name}=***" if equals else "***" if pair else ""
    return "&".join(one(p) for p in pairs.split("&"))


def host_only(url: str) -> str:
    """Keep scheme and host so a reader can tell destinations apart; hide credentials, path and query (a
    channel's path is usually its secret). ``redact_url`` only strips credentials, for feed URLs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    hidden = parts.username or parts.password or parts.path not in ("", "/") or parts.query
    return f"{parts.scheme}://{host}/…" if hidden else f"{parts.scheme}://{host}/"


def channel_url_shown(url: str) -> str | None:
    """A channel URL as an error may show it: scheme and host at most (its path or query is the credential);
    None when it has no recognisable host, so nothing of it can be shown."""
    try:
        parts = urlsplit(url)
        return host_only(url) if parts.scheme and parts.hostname else None
    except ValueError:
        return None


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9464"``, ``"[::1]:9464"``, ``"localhost:9464"`` or ``":9464"`` (all addresses) → (host,
    port). Raises ValueError with a readable message for anything else."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {listen!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"put an IPv6 address in brackets, e.g. [::1]:{port_text}; got {listen!r}")
    return host or "0.0.0.0", int(port_text)
