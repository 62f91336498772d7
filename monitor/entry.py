"""The ``news-monitor`` command's entry point (and ``python -m monitor``'s): signals first, then the CLI.

Importing the CLI takes a few tenths of a second; ``earlysignals.install()`` runs before it, so that a SIGHUP or
SIGTERM sent right after start is recorded for the daemon instead of killing the process. The CLI gives other
commands their usual signal handling back as soon as it knows the command (``earlysignals.release``).
"""

from __future__ import annotations


def main() -> None:
    from monitor.daemon import earlysignals

    earlysignals.install()
    from monitor.cli import main as cli_main  # the heavy imports: click, requests, the package

    cli_main()
