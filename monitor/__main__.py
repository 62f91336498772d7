"""``python -m monitor``: the same as the ``news-monitor`` command."""

from .cli import main

main()
