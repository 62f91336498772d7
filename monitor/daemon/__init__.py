"""The long-running process: APScheduler wiring, reload, /healthz and /metrics, systemd notifications."""
