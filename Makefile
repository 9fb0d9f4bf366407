# Two commands do all the set-up on a fresh Debian/Ubuntu machine:
#   make run    bootstrap, migrate, load the demo archive on first run, serve on :8000
#   make test   bootstrap, lint (ruff, mypy), then the whole suite (SQLite; PostgreSQL too when
#               TEST_DATABASE_URL is set)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres bootstrap system-deps check lint bench clean help

help:
	@echo "make run     - set up everything and serve http://$(HOST):$(PORT)"
	@echo "make test    - set up everything and run the whole suite"
	@echo "make check   - ruff (lint + format check) and mypy"
	@echo "make bench   - run the benchmarks in bench/"

bootstrap: system-deps $(STAMP)

# Python deps: a venv with both pinned locks (requirements.lock: runtime, the Docker image
# installs only that; requirements-dev.lock: tests and lint); re-installed only when a lock
# changes.
$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed ($(PYTHON) is $$($(PYTHON) --version))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
	  -r requirements.lock -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# System packages: ffmpeg always; chromium for the browser tests. Installed with apt-get
# when missing and we are root; otherwise we stop and print the exact command.
system-deps:
	@missing=""; \
	command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing="$$missing ffmpeg"; \
	if [ "$(MAKECMDGOALS)" != "run" ] && [ ! -x /usr/bin/chromium ]; then missing="$$missing chromium"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing with apt-get"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "run:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

run: bootstrap
	$(BIN)/archive migrate
	$(BIN)/archive demo --if-empty
	$(BIN)/archive users ensure-admin
	$(BIN)/archive serve --host $(HOST) --port $(PORT)

test: bootstrap
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	 else echo "TEST_DATABASE_URL not set: the PostgreSQL pass was skipped"; fi

test-sqlite:
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The same suite again with PostgreSQL as the app's database (video-only tests need no DB).
test-postgres:
	TEST_DB=postgres $(BIN)/python -m pytest $(PYTEST_ARGS)

check: bootstrap lint

# Part of `make test` (so CI enforces it): lint, formatting and types.
lint:
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy app

bench: bootstrap
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
