"""Debian's chromium, headless, as the status-page tests and the docs' screenshots drive it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BROWSER_TIMEOUT_SECONDS = 90


def chromium() -> str | None:
    """The chromium binary, or None where it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(url: str, *flags: str, profile: Path) -> subprocess.CompletedProcess:
    command = [chromium(), "--headless", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
               "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}", *flags, url]
    if os.geteuid() == 0:  # chromium refuses to run as root with its sandbox on (a CI container)
        command.insert(1, "--no-sandbox")
    # Without libfaketime (the suite's run 400 days ahead preloads it): chromium hangs under it, and the page
    # carries its own moments; the browser's clock plays no part.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}
    return subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_SECONDS,
                          env={**env, "HOME": str(profile)})


def dump_dom(url: str, profile: Path) -> str:
    """The DOM chromium builds from the page, serialised after parsing (what a reader's browser would show)."""
    result = _run(url, "--dump-dom", profile=profile)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(url: str, path: Path, profile: Path, *, width: int = 900, height: int = 900) -> Path:
    result = _run(url, f"--screenshot={path}", f"--window-size={width},{height}", profile=profile)
    assert result.returncode == 0 and path.is_file(), result.stderr[-2000:]
    return path
