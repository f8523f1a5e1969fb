# launchdeck: `make demo` tells the story, `make test` runs every suite. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
STAMP := $(VENV)/.synced
# Compile bytecode at install time: the CLI starts fast even where PYTHONDONTWRITEBYTECODE is set.
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
export UV_PYTHON_DOWNLOADS := never

.PHONY: help demo test lint bench deps services clean

help:
	@echo "make demo   apply examples/black-friday/ to an embedded store and tell the story"
	@echo "make test   install everything and run the whole suite (SQLite and PostgreSQL)"
	@echo "make lint   ruff, import-linter contracts, mypy --strict on the core"
	@echo "make bench  benchmarks under bench/ (figures and ratios to their baselines)"

$(STAMP): pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 \
		|| $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --quiet
	@$(VENV)/bin/python -m compileall -q src >/dev/null
	@touch $(STAMP)

deps: $(STAMP)

services:
	@bash scripts/ensure-services.sh

demo: deps
	@bash scripts/demo.sh

test: deps services
	$(VENV)/bin/ruff check --quiet src tests bench
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/pytest -n 2 --dist loadgroup -q

lint: deps
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

bench: deps
	@bash scripts/ensure-prometheus.sh
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache examples/black-friday/.launchdeck
