"""``python -m monitor``: the same as the ``news-monitor`` command."""

if __name__ == "__main__":  # parse workers import the main module; they must not start the CLI or take signals
    from monitor.entry import main

    main()
