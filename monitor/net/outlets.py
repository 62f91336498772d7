"""Who published a story: the outlet that corroboration counts, alerts name and ``trusted_outlets`` picks out.

An outlet is named by its registrable domain ("bbc.co.uk" for www.bbc.co.uk and feeds.bbci.co.uk's links stay
"bbci.co.uk"): the part of a host name one publisher registers, found with the Public Suffix List. The list is
the copy bundled with the ``publicsuffixlist`` package, read once per process and never fetched, so naming an
outlet needs no network. Private-section suffixes count too (two blogs on blogspot.com are two publishers).

Where a story names its publisher, that wins over its link: an aggregator's item (Google News, Bing News) links
to the aggregator and names the publisher in ``<source url="…">``; a GDELT article carries its ``domain``.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")  # as feeds.text

_MAX_NAME_CHARS = 200
_DOMAIN_LIKE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@lru_cache(maxsize=1)
def _suffixes(accept_unknown: bool) -> PublicSuffixList:
    # ~30 ms to read the bundled list: done once per process, at the first story that needs it.
    return PublicSuffixList(accept_unknown=accept_unknown)


@lru_cache(maxsize=8192)
def registrable_domain(host: str) -> str:
    """The registrable domain of a host name, lower case ("news.bbc.co.uk" → "bbc.co.uk"). A host under a
    suffix the list does not know (``.example``, ``.internal``) keeps its last two labels, as the list's default
    rule says; an IP address, a single label ("localhost") or a public suffix itself stays as it is. "" for ""."""
    host = host.strip().rstrip(".").lower()
    if not host:
        return ""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    return _suffixes(True).privatesuffix(host) or host


def domain_of_url(url: object) -> str:
    """The registrable domain of an http(s) URL's host, or "" when it has none."""
    if not isinstance(url, str) or not url:
        return ""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return ""
    return registrable_domain(host) if host else ""


def story_outlet(*, source_url: object = None, source_name: object = None, domain: object = None,
                 link: object = None) -> str:
    """The outlet of one entry: the domain of its ``<source url>``, else a domain field it carries (GDELT's
    ``domain``), else its source's name when the source has no URL, else its link's domain; "" when none of
    them names one (the feed is then the outlet)."""
    found = domain_of_url(source_url)
    if not found and isinstance(domain, str) and domain.strip():
        name = domain.strip().lower()
        found = domain_of_url(name if "//" in name else f"http://{name}")
    if not found and isinstance(source_name, str) and source_name.strip():
        found = " ".join(_CONTROL.sub("", source_name).split())[:_MAX_NAME_CHARS]
    return found or domain_of_url(link)


def looks_like_domain(name: str) -> bool:
    """Whether ``name`` is written as a domain name ("reuters.com", "bbc.co.uk"), not a feed name."""
    return bool(_DOMAIN_LIKE.match(name.strip().lower()))


def known_suffix(name: str) -> bool:
    """Whether a domain-like name ends in a public suffix the list knows: "reuters.con" does not."""
    return _suffixes(False).publicsuffix(name.strip().lower()) is not None


def outlet_name(name: str) -> str:
    """A ``trusted_outlets`` entry as outlets are named: a domain-like entry by its registrable domain
    ("www.reuters.com" → "reuters.com"), any other (a feed name or a feed's ``outlet``) as written."""
    return registrable_domain(name) if looks_like_domain(name) else name.strip()
