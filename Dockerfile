FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MONITOR_DB=/data/monitor.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
# The package is this repository (its dependencies pinned to ranges in pyproject.toml), with the PostgreSQL
# driver and the job queue, so one image serves either store and runs as daemon, scheduler or worker; hadolint
# reads the extras as an unpinned package from an index.
# hadolint ignore=DL3013
RUN pip install "./[postgresql,workers]" \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin monitor \
    && mkdir -p /data /config \
    && chown monitor /data
COPY config/monitor.toml /config/monitor.toml

USER 10001
VOLUME /data
# Asks the daemon's /healthz when [monitor] listen is set, else checks the database is writable.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["news-monitor", "--config", "/config/monitor.toml", "healthcheck"]
# Exec form, so SIGTERM from `docker stop` reaches news-monitor itself and it shuts down cleanly.
CMD ["news-monitor", "--config", "/config/monitor.toml", "run"]
