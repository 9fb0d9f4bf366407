# The archive as a container: Python slim + Debian's ffmpeg, running as a non-root user.
# Migrations are their own command:  docker run --rm IMAGE archive migrate
#
# Stages (tests/test_packaging.py checks that the runtime stage installs only the runtime
# lock):
#   base     python:3.11-slim with ffmpeg and curl (the health check)
#   build    a virtualenv with the runtime lock (requirements.lock) and the app
#   dev      build + the development lock (tests, lint):  docker build --target dev .
#   runtime  base + the build stage's virtualenv + the code (the default target)
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app


FROM base AS build
RUN python -m venv /opt/venv
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
RUN pip install --no-deps -e .


FROM build AS dev
COPY requirements-dev.lock ./
RUN pip install -r requirements.lock -r requirements-dev.lock
COPY migrations ./migrations
COPY tests ./tests
COPY bench ./bench


FROM base AS runtime
ENV ARCHIVE_ENVIRONMENT=production \
    ARCHIVE_MEDIA_ROOT=/app/media \
    ARCHIVE_VAR_DIR=/app/var
COPY --from=build /opt/venv /opt/venv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN useradd --system --uid 10001 --home-dir /app archive \
 && mkdir -p /app/media /app/var \
 && chown -R archive:archive /app/media /app/var

USER archive
VOLUME ["/app/media"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1

CMD ["archive", "serve", "--host", "0.0.0.0", "--port", "8000"]
