"""HTTP response headers read as numbers and times: freshness (``cache_seconds``), ``Retry-After`` and HTTP
dates. Pure: the moment to measure from is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

_MAX_AGE = re.compile(r"(?:^|,)\s*(s-maxage|max-age)\s*=\s*\"?(\d+)", re.I)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:[,=]|$)", re.I)
_DELTA_SECONDS_CAP = 2**31  # RFC 9111 §1.2.2: a larger delta-seconds means this many


def cache_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """How long a response with these (lowercase-keyed) headers says it stays fresh; see ``FetchResult``."""
    control = headers.get("cache-control", "")
    if _NO_CACHE.search(control):
        return None
    ages = {name.lower(): int(value.lstrip("0")[:12] or 0) for name, value in _MAX_AGE.findall(control)}
    age = ages.get("max-age", ages.get("s-maxage"))
    if age is not None:
        return float(min(age, _DELTA_SECONDS_CAP))
    expires = headers.get("expires")
    if expires is None:
        return None
    when = http_date(expires)
    if when is None:
        return 0.0  # RFC 9111 §5.3: an invalid Expires (often "0" or "-1") means already expired
    # Against the server's own Date when it sent one: both stamps come from its clock, so skew cancels out.
    base = http_date(headers.get("date", "")) or now
    return min(max(0.0, (when - base).total_seconds()), float(_DELTA_SECONDS_CAP))


def http_date(value: str) -> datetime | None:
    """An HTTP date (RFC 9110 §5.6.7, and the obsolete forms) as an aware datetime; None when it is not one."""
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (from ``now``); None when
    absent or bad. Never negative; not capped here."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = http_date(value)
    return None if when is None else max(0.0, (when - now).total_seconds())
