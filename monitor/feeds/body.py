"""Reading a feed response's body: which content codings are inflated, and the bounded read itself.

The decoded body is capped while streaming (gzip, deflate, brotli if it can stop at a size, zstd where urllib3
has it, and chains such as ``gzip, gzip``, inflated one read's worth at a time), and the deadline is checked
between socket reads, so neither a compression bomb nor a server dripping bytes can hold a poll.
"""

from __future__ import annotations

from collections.abc import Callable

import requests
import urllib3.exceptions
import urllib3.response

from monitor.errors import FetchError, one_line

_CHUNK_BYTES = 64 * 1024


def _brotli_is_bounded() -> bool:
    """True when urllib3 decodes ``br`` and can stop inflating at a size (Brotli >= 1.2's output_buffer_limit);
    an older brotli would inflate a whole bomb in one call, so it is then neither advertised nor accepted."""
    try:  # both bindings (brotli's process, brotlicffi's decompress) take an empty input
        decompressor = urllib3.response.brotli.Decompressor()  # type: ignore[union-attr]
        (getattr(decompressor, "decompress", None) or decompressor.process)(b"", output_buffer_limit=1)
    except (AttributeError, TypeError):  # not installed, or too old to stop at a size: no br either way
        return False
    return True


# Codings we inflate, in Accept-Encoding order. zstd comes with urllib3 only where backports.zstd is installed.
DECODABLE_ENCODINGS = ("gzip", "deflate") + (("br",) if _brotli_is_bounded() else ()) + (
    ("zstd",) if getattr(urllib3.response, "HAS_ZSTD", False) else ())
ACCEPT_ENCODING = ", ".join(DECODABLE_ENCODINGS)
# Real compression codings we may be sent anyway; any other token ("utf-8", "none", "binary") is junk that
# urllib3 leaves alone on its own, so the body is taken as it is.
_COMPRESSIONS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress"})


def read_body(resp: requests.Response, where: str, *, max_bytes: int, read_timeout_seconds: float,
              time_left: Callable[[], float], failed: Callable[..., FetchError]) -> bytes:
    """Read the decoded body of ``resp``, at most ``max_bytes`` of it, checking ``time_left()`` (which raises once
    the deadline has passed) between socket reads; a failure is ``failed(what)`` (its message; a read timeout
    is ``failed(what, timed_out=True)``), or a ``FetchError`` naming ``where``."""
    too_big = f"{where}: body exceeds {max_bytes} bytes"
    declared = resp.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{too_big} (Content-Length {declared})")
    encoding = resp.headers.get("content-encoding", "")
    for coding in (c.strip().lower() for c in encoding.split(",")):
        if coding in _COMPRESSIONS and coding not in DECODABLE_ENCODINGS + ("x-gzip",):
            raise FetchError(f"{where}: cannot decode Content-Encoding {encoding.strip()!r}")
    raw = resp.raw
    # read1 returns after at most one socket read, so a server dripping bytes cannot hold us inside one call
    # (read(n) would block until n bytes arrive); urllib3 >= 2.6 also inflates at most n bytes per call, for
    # every coding in a chain, so a compression bomb is cut at the cap. Shrinking the socket timeout to the
    # time left cuts a late stall; the watchdog cuts anything else.
    sock = getattr(raw.connection, "sock", None)
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            left = time_left()
            if sock is not None:
                sock.settimeout(min(read_timeout_seconds, left))
            chunk = raw.read1(_CHUNK_BYTES, decode_content=True)
            if not chunk:
                time_left()  # an end caused by the watchdog is no end of the body
                return b"".join(chunks)
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(too_big)
            chunks.append(chunk)
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise failed(f"timed out after {read_timeout_seconds:g}s reading the body", timed_out=True) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise failed(f"could not decode the {encoding} body") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:  # ProtocolError: reset, truncated, bad chunking
        raise failed(f"connection broken while reading the body: {exception_line(exc)}") from exc


def exception_line(exc: object, limit: int = 200) -> str:
    """An exception (or text) as one line of at most ``limit`` characters."""
    if isinstance(exc, BaseException) and len(exc.args) == 2 and isinstance(exc.args[0], str):
        text = f"{exc.args[0].rstrip('.: ')}: {exc.args[1]}"  # urllib3 ProtocolError("Connection broken", cause)
    else:
        text = str(exc)
    return one_line(text, limit)
