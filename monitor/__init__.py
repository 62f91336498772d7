"""news-monitor: a self-hosted daemon that tracks claims about pending events across news feeds."""

__version__ = "0.1.0"
