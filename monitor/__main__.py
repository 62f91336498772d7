"""``python -m monitor``: the same as the ``news-monitor`` command."""

from monitor.cli import main

if __name__ == "__main__":  # parse workers import the main module; they must not start the CLI
    main()
