# Nautilus TLS — the two commands a newcomer needs:
#   make demo   set up .venv (first time only) and run the demo
#   make test   set up .venv (first time only), then lint, type-check and run the tests
# Only python3 (>= 3.11) is needed; everything else comes from pyproject.toml.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Rewritten whenever pyproject.toml changes, so repeated runs skip the install.
STAMP  := $(VENV)/.nautilus-installed
PYTEST_ARGS ?=
INTEROP_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help setup demo test lint typecheck pytest interop interop-matrix format clean

help:
	@echo "make demo      set up .venv and run 'nautilus-tls demo'"
	@echo "make test      set up .venv, then ruff check, mypy --strict (src) and pytest"
	@echo "make interop   only the tests against real peers (pytest -m interop)"
	@echo "make interop-matrix  the interop matrix as a table, into docs/interop/latest.{md,json}"
	@echo "make format    ruff format"
	@echo "make clean     remove .venv and caches"

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[test]'
	@touch $@

demo: $(STAMP)
	$(BIN)/nautilus-tls demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

interop: $(STAMP)
	$(BIN)/python -m pytest -m interop $(PYTEST_ARGS)

# The same cases as `make interop`, run in parallel and printed as a table (tools/interop).
interop-matrix: $(STAMP)
	$(BIN)/python -m tools.interop $(INTEROP_ARGS)

format: $(STAMP)
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find src tests -name __pycache__ -type d -prune -exec rm -rf {} +
