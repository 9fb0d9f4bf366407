# The archive as a container: Python slim + Debian's ffmpeg, running as a non-root user.
# Migrations are their own command:  docker run --rm IMAGE archive migrate
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ARCHIVE_ENVIRONMENT=production \
    ARCHIVE_MEDIA_ROOT=/app/media \
    ARCHIVE_VAR_DIR=/app/var

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-deps -e . \
 && useradd --system --uid 10001 --home-dir /app archive \
 && mkdir -p /app/media /app/var \
 && chown -R archive:archive /app/media /app/var

USER archive
VOLUME ["/app/media"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1

CMD ["archive", "serve", "--host", "0.0.0.0", "--port", "8000"]
