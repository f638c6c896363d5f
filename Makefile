# Two commands on a fresh clone: `make run` and `make test`. Both set everything up themselves.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help install run test lint typecheck check check-contract check-examples schema sdl bench clean

help:
	@echo "make run    serve the API with GraphiQL on http://127.0.0.1:8000 and demo data"
	@echo "make test   lint, type-check and run the whole test suite"
	@echo "make check  lint + type check;  make bench  run the benchmarks;  make sdl  print the schema"
	@echo "make check-contract  no breaking change against the contract and schema/served.graphql"
	@echo "make schema  rewrite schema/served.graphql from the served schema (after check-contract)"

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet "uv==$(UV_VERSION)"

# The virtualenv follows the lock file; it is rebuilt whenever uv.lock or pyproject.toml change.
$(VENV)/.installed: $(UV) uv.lock pyproject.toml
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet
	@touch $@

# The browser assets (GraphiQL, graphql-ws) follow web/package-lock.json; served by the API itself.
# Without npm the API still runs and tests still pass: /graphiql and /pos answer 503 with how to
# install the assets, and the tests that need them are skipped and say so.
web/node_modules/.installed: web/package-lock.json web/package.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix web --no-audit --no-fund --loglevel=error && touch $@; \
	else \
	  echo "warning: npm not found: GraphiQL and /pos need it (apt-get install npm), skipping"; \
	fi

install: $(VENV)/.installed web/node_modules/.installed

run: install
	$(PY) app.py serve --seed

test: check check-contract check-examples
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

check: lint typecheck

check-contract: install
	$(PY) -m tools.check_contract

# The TypeScript client example of docs/clients.md: type-checked and compiled for its test.
docs/examples/node_modules/.installed: docs/examples/package-lock.json docs/examples/package.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix docs/examples --no-audit --no-fund --loglevel=error && touch $@; \
	fi

check-examples: docs/examples/node_modules/.installed
	@if [ -f docs/examples/node_modules/.installed ]; then \
	  cd docs/examples && node_modules/.bin/tsc -p .; \
	else \
	  echo "check-examples: skipped, npm not found (apt-get install npm)"; \
	fi

schema: install
	$(PY) -m tools.check_contract --update

sdl: install
	@$(PY) app.py sdl

bench: install
	$(PY) benchmarks/bench.py

clean:
	rm -rf .data .pytest_cache .mypy_cache .ruff_cache
